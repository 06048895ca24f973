#include "gateway/router.h"

#include <cmath>
#include <vector>

#include "absl/random/random.h"
#include "server/metrics.h"
#include "server/trace_context.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "gateway/text.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gateway/chat_page.h"
#include "gateway/invocations_mapping.h"
#include "gateway/json_span.h"

namespace agentgateway::gateway {
namespace {

constexpr std::size_t kMaxRequestIdLength = 128;

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

// gRPC metadata values (and header echoes) must be printable ASCII.
bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int value = 0;
    if (i + 2 >= s.size()) return std::nullopt;
    for (int k = 1; k <= 2; ++k) {
      char c = absl::ascii_tolower(s[i + k]);
      if (!absl::ascii_isxdigit(c)) return std::nullopt;
      value = value * 16 + (absl::ascii_isdigit(c) ? c - '0' : c - 'a' + 10);
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("content-type", "application/json");
  response.body = std::move(body);
  return response;
}

// GET /: the chat page, under a policy that lets it run only its own files.
HttpResponse ChatPageResponse() {
  HttpResponse page;
  page.SetHeader("content-type", "text/html; charset=utf-8");
  page.SetHeader("cache-control", "no-cache");
  page.SetHeader("content-security-policy", std::string(kChatPageCsp));
  page.SetHeader("x-content-type-options", "nosniff");
  page.SetHeader("referrer-policy", "no-referrer");
  page.body = std::string(ChatPageHtml());
  return page;
}

HttpResponse ChatAssetResponse(const ChatAsset& asset) {
  HttpResponse response;
  response.SetHeader("content-type", std::string(asset.content_type));
  response.SetHeader("cache-control", std::string(kChatAssetCacheControl));
  response.SetHeader("x-content-type-options", "nosniff");
  response.body = std::string(asset.body);
  return response;
}

// GET /agent/whoami: the forwarded identity headers this request carried (what the Databricks
// Apps proxy sets), so the chat page can say who it runs as. Shown only behind the trusted
// proxy (`trusted_proxy`: true); otherwise calls ignore those headers, so none are shown.
// Tokens are never echoed, only whether one came. Values follow the metadata rule (printable
// ASCII) so the page shows what a call would forward.
HttpResponse WhoAmIResponse(const HttpRequest& request, bool trusted_proxy) {
  auto header = [&request, trusted_proxy](std::string_view name) {
    std::optional<std::string_view> value = request.Header(name);
    return trusted_proxy && value.has_value() && IsPrintableAscii(*value) ? *value
                                                                          : std::string_view();
  };
  HttpResponse response = JsonResponse(
      200, Cat("{\"user\":", json_span::Quote(header("x-forwarded-user")),
               ",\"email\":", json_span::Quote(header("x-forwarded-email")),
               ",\"preferred_username\":",
               json_span::Quote(header("x-forwarded-preferred-username")),
               ",\"user_token\":",
               header("x-forwarded-access-token").empty() ? "false" : "true",
               ",\"trusted_proxy\":", trusted_proxy ? "true" : "false", "}"));
  response.SetHeader("cache-control", "no-store");
  return response;
}

HttpResponse MethodNotAllowed(ApiFlavor flavor, std::string_view method, std::string_view allow) {
  HttpResponse response = MakeErrorResponse(
      flavor, 405, Cat("method ", method, " not allowed; use ", allow), "method_not_allowed");
  response.SetHeader("allow", std::string(allow));
  return response;
}

void FillMetadata(const HttpRequest& request, const std::string& request_id, RpcPlan* plan) {
  // The call's trace: the caller's when its traceparent is valid (tracestate goes with it),
  // else a new one (and the caller's tracestate is dropped, as W3C asks).
  std::optional<std::string_view> traceparent = request.Header("traceparent");
  const bool continue_trace = traceparent.has_value() && IsValidTraceparent(*traceparent);
  std::string trace = continue_trace ? std::string(*traceparent) : NewTraceparent();
  plan->trace_id = std::string(TraceIdOf(trace));
  plan->metadata.emplace_back("traceparent", std::move(trace));
  for (std::string_view name : kForwardedHeaders) {
    if (name == "x-request-id" || name == "traceparent") continue;
    if (name == "tracestate" && !continue_trace) continue;
    std::optional<std::string_view> value = request.Header(name);
    if (value.has_value() && IsPrintableAscii(*value)) {
      plan->metadata.emplace_back(std::string(name), std::string(*value));
    }
  }
  plan->metadata.emplace_back(kRouteMetadataKey, std::string(RouteTemplate(request.target)));
  plan->metadata.emplace_back("x-request-id", request_id);
  if (std::optional<std::string_view> t = request.Header("x-request-timeout"); t.has_value()) {
    double seconds = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(Av(*t)), &seconds) && std::isfinite(seconds) &&
        seconds > 0 && seconds < 86400.0 * 365) {
      plan->timeout = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000)));
    }
  }
}

RouteResult RouteInvocation(const HttpRequest& request, ApiFlavor flavor, std::string profile,
                            std::string request_id) {
  RouteResult result;
  result.request_id = request_id;
  auto parsed = ParseInvocationBody(request.body, profile);
  if (!parsed.ok()) {
    int status = parsed.status().code() == absl::StatusCode::kInvalidArgument ? 400 : 500;
    result.response = MakeErrorResponse(flavor, status, Sv(parsed.status().message()),
                                        status == 400 ? "invalid_request" : "internal");
    return result;
  }
  RpcPlan plan;
  plan.kind = parsed->stream ? RpcPlan::Kind::kStream : RpcPlan::Kind::kInvoke;
  plan.flavor = flavor;
  plan.request = std::move(parsed->request);
  plan.request_id = request_id;
  std::optional<std::string_view> trace = request.Header("x-mlflow-return-trace-id");
  plan.return_trace_id = (trace.has_value() && absl::EqualsIgnoreCase(Av(*trace), "true")) ||
                         parsed->return_trace;
  FillMetadata(request, request_id, &plan);
  result.rpc = std::move(plan);
  return result;
}

// Mirrors the engine's rule (server/supervisor_engine.h IsValidResponseId), which stays the
// authority for gRPC callers; checked here so a bad id never becomes a call.
bool IsValidResponseId(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// GET {prefix}/{id}: a background run's poll under `profile` (empty: the default).
RouteResult RoutePoll(const HttpRequest& request, ApiFlavor flavor, std::string profile,
                      std::string_view raw_id, std::string request_id) {
  RouteResult result;
  result.request_id = request_id;
  if (request.method != "GET") {
    result.response = MethodNotAllowed(flavor, request.method, "GET");
    return result;
  }
  std::optional<std::string> id = PercentDecode(raw_id);
  if (!id.has_value() || !IsValidResponseId(*id)) {
    result.response = MakeErrorResponse(
        flavor, 400, "invalid response id: expected 1 to 256 characters of [A-Za-z0-9_-]",
        "invalid_request");
    return result;
  }
  RpcPlan plan;
  plan.kind = RpcPlan::Kind::kGetResponse;
  plan.flavor = flavor;
  plan.get_response.set_id(*std::move(id));
  plan.get_response.set_profile(std::move(profile));
  plan.request_id = request_id;
  FillMetadata(request, request_id, &plan);
  result.rpc = std::move(plan);
  return result;
}

// The Supervisor API's path (kDropinPath): the drop-in profile's calls, with the caller's
// Authorization passed on as its identity.
RouteResult RouteDropin(const HttpRequest& request, std::string_view path,
                        const ServerState& state, std::string request_id) {
  RouteResult result;
  result.request_id = request_id;
  if (state.dropin_profile.empty()) {
    result.response = MakeErrorResponse(
        ApiFlavor::kResponses, 404,
        "this gateway serves no Supervisor API drop-in route: set agent_from_request: true on a "
        "profile with engine: local to run Supervisor API requests here",
        "not_found");
    return result;
  }
  if (path == kDropinPath) {
    if (request.method != "POST") {
      result.response = MethodNotAllowed(ApiFlavor::kResponses, request.method, "POST");
      return result;
    }
    result = RouteInvocation(request, ApiFlavor::kResponses, state.dropin_profile, request_id);
  } else {
    result = RoutePoll(request, ApiFlavor::kResponses, state.dropin_profile,
                       path.substr(kDropinPath.size() + 1), request_id);
  }
  if (result.rpc.has_value()) {
    if (auto authorization = request.Header("authorization");
        authorization.has_value() && IsPrintableAscii(*authorization)) {
      result.rpc->metadata.emplace_back("authorization", std::string(*authorization));
    }
  }
  return result;
}

ApiFlavor FlavorOf(absl::string_view door) {
  return door == "responses" ? ApiFlavor::kResponses : ApiFlavor::kInvocations;
}

}  // namespace

// A random (version 4) UUID: the form request ids usually take, and one that log scrubbing
// recognises as an id rather than a secret.
std::string NewRequestId() {
  thread_local absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen), lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & ~0xF000ull) | 0x4000ull;                     // version 4
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);     // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFull);
}

std::string_view RouteTemplate(std::string_view target) {
  std::string_view path = PathOf(target);
  static constexpr std::string_view kFixed[] = {
      "/invocations", "/responses",  "/health", "/health/ready", "/health/live", "/readyz",
      "/livez",       "/agent/info", "/metrics", "/",           "/agent/whoami", kDropinPath};
  if (std::optional<ChatAsset> asset = FindChatAsset(path); asset.has_value()) return asset->path;
  for (std::string_view fixed : kFixed) {
    if (path == fixed) return fixed;
  }
  if (absl::StartsWith(Av(path), Cat(kDropinPath, "/")) && path.size() > kDropinPath.size() + 1 &&
      path.find('/', kDropinPath.size() + 1) == std::string_view::npos) {
    return "/ai-gateway/mlflow/v1/responses/{id}";
  }
  std::vector<absl::string_view> segments = absl::StrSplit(Av(path), '/');
  auto is_door = [](absl::string_view s) { return s == "responses" || s == "invocations"; };
  if (segments.size() == 3 && segments[0].empty() && is_door(segments[1]) && !segments[2].empty()) {
    return segments[1] == "responses" ? "/responses/{id}" : "/invocations/{id}";
  }
  if (segments.size() >= 4 && segments[0].empty() && segments[1] == "agents" &&
      !segments[2].empty() && is_door(segments[3])) {
    const bool responses = segments[3] == "responses";
    if (segments.size() == 4) {
      return responses ? "/agents/{name}/responses" : "/agents/{name}/invocations";
    }
    if (segments.size() == 5 && !segments[4].empty()) {
      return responses ? "/agents/{name}/responses/{id}" : "/agents/{name}/invocations/{id}";
    }
  }
  return "other";
}

RouteResult Route(const HttpRequest& request, const ServerState& state) {
  std::optional<std::string_view> given_id = request.Header("x-request-id");
  std::string request_id =
      given_id.has_value() && !given_id->empty() && given_id->size() <= kMaxRequestIdLength &&
              IsPrintableAscii(*given_id)
          ? std::string(*given_id)
          : NewRequestId();
  std::string_view path = PathOf(request.target);
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  RouteResult result;
  result.request_id = request_id;

  if (path == kDropinPath || absl::StartsWith(Av(path), Cat(kDropinPath, "/"))) {
    return RouteDropin(request, path, state, std::move(request_id));
  }
  if (path == "/invocations" || path == "/responses") {
    ApiFlavor flavor = path == "/responses" ? ApiFlavor::kResponses : ApiFlavor::kInvocations;
    if (!post) {
      result.response = MethodNotAllowed(flavor, request.method, "POST");
      return result;
    }
    return RouteInvocation(request, flavor, "", request_id);
  }
  std::vector<absl::string_view> segments = absl::StrSplit(Av(path), '/');
  // GET /responses/{id}, /invocations/{id}.
  if (segments.size() == 3 && segments[0].empty() &&
      (segments[1] == "responses" || segments[1] == "invocations")) {
    return RoutePoll(request, FlavorOf(segments[1]), "", Sv(segments[2]), request_id);
  }
  // GET /agents/{name}/responses/{id}, /agents/{name}/invocations/{id}.
  if (segments.size() == 5 && segments[0].empty() && segments[1] == "agents" &&
      !segments[2].empty() && (segments[3] == "responses" || segments[3] == "invocations")) {
    std::optional<std::string> profile = PercentDecode(Sv(segments[2]));
    if (!profile.has_value() || profile->empty()) {
      result.response = MakeErrorResponse(FlavorOf(segments[3]), 400,
                                          "invalid agent name in path", "invalid_request");
      return result;
    }
    return RoutePoll(request, FlavorOf(segments[3]), *std::move(profile), Sv(segments[4]),
                     request_id);
  }
  // POST /agents/{name}/invocations, /agents/{name}/responses.
  if (segments.size() == 4 && segments[0].empty() && segments[1] == "agents" &&
      !segments[2].empty() && (segments[3] == "invocations" || segments[3] == "responses")) {
    const ApiFlavor flavor = FlavorOf(segments[3]);
    if (!post) {
      result.response = MethodNotAllowed(flavor, request.method, "POST");
      return result;
    }
    std::optional<std::string> profile = PercentDecode(Sv(segments[2]));
    if (!profile.has_value() || profile->empty()) {
      result.response =
          MakeErrorResponse(flavor, 400, "invalid agent name in path", "invalid_request");
      return result;
    }
    return RouteInvocation(request, flavor, *std::move(profile), request_id);
  }
  const bool live = path == "/health/live" || path == "/livez";
  const bool ready = path == "/health/ready" || path == "/readyz";
  const bool health = path == "/health" || live || ready;
  if (path == "/" || health || path == "/agent/info" || path == "/metrics") {
    if (!get) {
      result.response = MethodNotAllowed(ApiFlavor::kInvocations, request.method, "GET");
    } else if (path == "/") {
      result.response = ChatPageResponse();
    } else if (path == "/metrics") {
      HttpResponse page;
      page.SetHeader("content-type", std::string(kMetricsContentType));
      page.SetHeader("cache-control", "no-cache");
      page.body = Metrics::Get().Text();
      result.response = std::move(page);
    } else if (live) {
      result.response = JsonResponse(200, "{\"status\":\"alive\"}");
    } else if (health && state.draining) {
      result.response = JsonResponse(503, "{\"status\":\"draining\"}");
    } else if (ready && !state.not_ready.empty()) {
      // Readiness also needs what a call needs first: the app's upstream token.
      result.response = JsonResponse(503, Cat("{\"status\":\"not_ready\",\"reason\":",
                                              json_span::Quote(state.not_ready), "}"));
    } else if (health) {
      result.response = JsonResponse(200, "{\"status\":\"healthy\"}");
    } else {
      RpcPlan plan;
      plan.kind = RpcPlan::Kind::kAgentInfo;
      plan.request_id = request_id;
      FillMetadata(request, request_id, &plan);
      result.rpc = std::move(plan);
    }
    return result;
  }
  // The chat page's own files, and who the page's requests run as.
  std::optional<ChatAsset> asset = FindChatAsset(path);
  if (asset.has_value() || path == "/agent/whoami") {
    if (!get) {
      result.response = MethodNotAllowed(ApiFlavor::kInvocations, request.method, "GET");
    } else {
      result.response = asset.has_value() ? ChatAssetResponse(*asset)
                                         : WhoAmIResponse(request, state.trusted_proxy);
    }
    return result;
  }
  result.response = MakeErrorResponse(ApiFlavor::kInvocations, 404,
                                      Cat("no route for ", path), "not_found");
  return result;
}

HttpResponse EarlyError(std::string_view target, int http_status, std::string_view message) {
  ApiFlavor flavor =
      PathOf(target) == "/responses" ? ApiFlavor::kResponses : ApiFlavor::kInvocations;
  return MakeErrorResponse(flavor, http_status, message, "invalid_request");
}

HttpResponse InvokeResultToHttp(const RpcPlan& plan, const grpc::Status& status,
                                const v1::InvokeResponse& response, std::string_view retry_after) {
  if (!status.ok()) return ErrorResponseFromStatus(plan.flavor, status, retry_after);
  if (plan.kind == RpcPlan::Kind::kGetResponse && plan.flavor == ApiFlavor::kResponses) {
    return JsonResponse(200, response.response_json());  // the Responses object as it is
  }
  std::string body = AddCustomOutputs(response.response_json(), response.custom_outputs_json());
  if (plan.return_trace_id && plan.flavor == ApiFlavor::kInvocations) {
    body = AddTraceId(body, plan.trace_id);
  }
  return JsonResponse(200, std::move(body));
}

HttpResponse AgentInfoResultToHttp(const grpc::Status& status, const v1::AgentInfo& info,
                                   std::string_view retry_after) {
  if (!status.ok()) return ErrorResponseFromStatus(ApiFlavor::kInvocations, status, retry_after);
  std::string profiles;
  for (const v1::ProfileInfo& p : info.profiles()) {
    std::string tools, models;
    for (const std::string& t : p.tool_types()) {
      Append(&tools, tools.empty() ? "" : ",", json_span::Quote(t));
    }
    for (const std::string& m : p.allowed_models()) {
      Append(&models, models.empty() ? "" : ",", json_span::Quote(m));
    }
    Append(&profiles, profiles.empty() ? "" : ",", "{\"name\":", json_span::Quote(p.name()),
                    ",\"model\":", json_span::Quote(p.model()), ",\"engine\":",
                    json_span::Quote(p.engine()), ",\"auth\":", json_span::Quote(p.auth()),
                    ",\"tool_types\":[", tools, "],\"allowed_models\":[", models, "]}");
  }
  std::string_view api = info.agent_api().empty() ? std::string_view("responses") : info.agent_api();
  return JsonResponse(
      200, Cat("{\"name\":", json_span::Quote(info.name()), ",\"agent_api\":",
                        json_span::Quote(api), ",\"default_profile\":",
                        json_span::Quote(info.default_profile()), ",\"profiles\":[", profiles,
                        "],\"version\":", json_span::Quote(info.version()), "}"));
}

HeaderList SseResponseHeaders() {
  return {{"content-type", "text/event-stream"},
          {"cache-control", "no-cache"},
          {"x-accel-buffering", "no"}};
}

}  // namespace agentgateway::gateway
