#include "server/agent_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/invoke_reactor.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/stream_reactor.h"
#include "server/trace_context.h"

namespace agentgateway {
namespace {

constexpr const char* kForwardedKeys[] = {"x-forwarded-access-token", "x-forwarded-user",
                                          "x-forwarded-email"};

// The caller's own user claim, when its request carries one (a poll carries none).
std::string UserIdOf(const v1::InvokeRequest& request) { return request.context().user_id(); }
std::string UserIdOf(const v1::GetResponseRequest&) { return {}; }
// The request that may define its own agent (agent_from_request profiles); a poll does not.
const v1::InvokeRequest* InvokeOf(const v1::InvokeRequest& request) { return &request; }
const v1::InvokeRequest* InvokeOf(const v1::GetResponseRequest&) { return nullptr; }

// The token of an `Authorization: Bearer <token>` value, or empty.
std::string BearerToken(const std::string& authorization) {
  constexpr absl::string_view kScheme = "bearer ";
  const absl::string_view value(authorization);
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  return std::string(absl::StripAsciiWhitespace(value.substr(kScheme.size())));
}

}  // namespace

std::string GrpcCallDoor::Metadata(std::string_view key) const {
  const auto& md = context_->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

void GrpcCallDoor::AddTrailer(std::string key, std::string value) {
  context_->AddTrailingMetadata(key, value);
}

std::chrono::system_clock::time_point GrpcCallDoor::deadline() const {
  return context_->deadline();
}

void ServiceCall::Start(Engine&, const Profile&, const v1::GetResponseRequest&, RunContext) {
  Fail(absl::UnimplementedError("this call cannot poll a background run"));
}

std::string_view DenialReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound: return "unknown_profile";
    case absl::StatusCode::kUnauthenticated: return "unauthenticated";
    case absl::StatusCode::kPermissionDenied: return "permission_denied";
    case absl::StatusCode::kResourceExhausted: return "profile_limit";
    case absl::StatusCode::kInvalidArgument: return "invalid_request";
    case absl::StatusCode::kUnavailable: return "draining";
    default: return "other";
  }
}

bool DeadlinePassed(const CallInfo& info) {
  // gRPC's deadline timer may fire a little before the deadline as the system clock reads it
  // (CI saw 0.7 ms early): a cancellation that close to the deadline is the deadline's.
  constexpr auto kTimerSlack = std::chrono::milliseconds(50);
  return info.door != nullptr &&
         info.door->deadline() <= std::chrono::system_clock::now() + kTimerSlack;
}

absl::Status CallersDeadlinePassed() {
  return absl::DeadlineExceededError("the caller's deadline passed");
}

void AddRetryAfterTrailer(const CallInfo& info, const absl::Status& status) {
  if (info.door == nullptr || status.ok()) return;
  if (auto seconds = status.GetPayload(kRetryAfterPayload); seconds.has_value()) {
    info.door->AddTrailer("retry-after", std::string(*seconds));
  }
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

AgentServiceImpl::AgentServiceImpl(std::shared_ptr<const Config> config, Engine* engine,
                                   identity::TokenSource* app_tokens, ServiceOptions options)
    : config_(std::move(config)),
      engine_(engine),
      app_tokens_(app_tokens),
      options_(std::move(options)) {
  for (const auto& [name, profile] : config_->profiles) {
    if (profile.limits.max_concurrent_calls != 0) {
      profile_calls_[name] = std::make_unique<std::atomic<std::size_t>>(0);
    }
  }
}

absl::StatusOr<AgentServiceImpl::Admission> AgentServiceImpl::Admit(
    CallDoor& door, const std::string& profile_name, const std::string& user_id, CallInfo info,
    const v1::InvokeRequest* invoke) {
  Admission a;
  a.info = std::move(info);
  a.info.request_id = door.Metadata("x-request-id");
  a.info.route = door.Metadata(kRouteMetadataKey);
  if (a.info.route.size() > 64) a.info.route.resize(64);
  a.run.retries = a.info.retries;
  a.profile = config_->FindProfile(profile_name);
  if (a.profile == nullptr) {
    std::string names;
    for (const auto& [name, unused] : config_->profiles) {
      absl::StrAppend(&names, names.empty() ? "" : ", ", name);
    }
    return absl::NotFoundError(
        absl::StrCat("unknown agent profile '", profile_name, "'; known: ", names));
  }
  a.info.profile = a.profile->name;
  a.info.auth = a.profile->auth;
  if (const std::size_t cap = a.profile->limits.max_concurrent_calls; cap != 0) {
    std::atomic<std::size_t>& running = *profile_calls_.at(a.profile->name);
    if (running.fetch_add(1) >= cap) {
      running.fetch_sub(1);
      door.AddTrailer("retry-after", "1");
      return absl::ResourceExhaustedError(absl::StrCat(
          "profile '", a.profile->name, "' is at its limit of ", cap,
          " concurrent calls (profiles.", a.profile->name,
          ".limits.max_concurrent_calls); retry shortly"));
    }
    // Released with the call's admission slot (when its end is decided).
    struct Slots {
      std::shared_ptr<void> global;
      std::unique_ptr<std::atomic<std::size_t>, void (*)(std::atomic<std::size_t>*)> profile;
    };
    a.info.slot = std::make_shared<Slots>(Slots{
        std::move(a.info.slot),
        {&running, [](std::atomic<std::size_t>* n) { n->fetch_sub(1); }}});
  }

  // A drop-in profile runs the agent the request defines (its model, instructions, tools), kept
  // alive by the call and by the engine's run context.
  const bool agent_from_request = a.profile->agent_from_request;
  if (agent_from_request && invoke != nullptr) {
    absl::StatusOr<Profile> agent =
        AgentFromRequest(*a.profile, invoke->model(), invoke->extra_json());
    if (!agent.ok()) return agent.status();
    auto owned = std::make_shared<const Profile>(*std::move(agent));
    a.profile = owned.get();
    a.info.request_agent = owned;
    a.run.profile_owner = std::move(owned);
  }

  std::string user_token, forwarded_user;
  if (options_.trusted_proxy) {
    user_token = door.Metadata("x-forwarded-access-token");
    forwarded_user = door.Metadata("x-forwarded-user");
    if (forwarded_user.empty()) forwarded_user = door.Metadata("x-forwarded-email");
  } else {
    bool any = false;
    for (const char* key : kForwardedKeys) any = any || !door.Metadata(key).empty();
    if (any && !warned_untrusted_headers_.exchange(true)) {
      Log(LogLevel::kWarning, "ignoring x-forwarded-* identity headers",
          {{"reason", std::string("identity.trusted_proxy is false: this gateway is not "
                                  "configured to sit behind a trusted proxy")}});
    }
  }
  a.info.user = user_id.empty() ? forwarded_user : user_id;
  if (user_token.empty() && agent_from_request) {
    // Callers of the drop-in route send their own token, as they did to the Supervisor API.
    user_token = BearerToken(door.Metadata("authorization"));
  }

  if (a.profile->auth == "user") {
    // Never fall back to the app identity (design.md, "Never the wrong identity").
    if (user_token.empty()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "profile '", a.profile->name, "' runs tools as the requesting user, but the request has ",
          agent_from_request ? "no Authorization: Bearer token and " : "",
          "no X-Forwarded-Access-Token header (gRPC metadata x-forwarded-access-token)",
          options_.trusted_proxy ? ""
                                 : "; forwarded identity headers are only honoured when "
                                   "identity.trusted_proxy is true"));
    }
    a.run.bearer_token = identity::Secret(std::move(user_token));
    absl::Status scopes = identity::CheckTokenScopes(*a.profile, a.run.bearer_token, options_.scopes);
    if (!scopes.ok()) return scopes;
  }
  // The upstream call joins the caller's trace, or starts one (then the caller's tracestate,
  // if any, belongs to no trace and is dropped). The trace id goes back to gRPC callers in the
  // `x-trace-id` trailing metadata and into the call's log line.
  std::string traceparent = door.Metadata("traceparent");
  const bool continue_trace = IsValidTraceparent(traceparent);
  if (!continue_trace) traceparent = NewTraceparent();
  a.info.trace_id = std::string(TraceIdOf(traceparent));
  door.AddTrailer("x-trace-id", a.info.trace_id);
  a.run.forward_headers.emplace_back("traceparent", std::move(traceparent));
  // The caller's deadline also bounds the upstream call by itself. A door that ends the call at
  // its deadline (gRPC) gets a moment's margin: the caller hears gRPC's DEADLINE_EXCEEDED as
  // usual, and the upstream closes even when that cancellation comes late (a loaded machine).
  // For any other door the engine's deadline is the call's.
  if (const auto deadline = door.deadline();
      deadline != std::chrono::system_clock::time_point::max()) {
    const auto margin = door.enforces_deadline() ? std::chrono::milliseconds(100)
                                                 : std::chrono::milliseconds(0);
    a.run.deadline = std::chrono::steady_clock::now() + margin +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         deadline - std::chrono::system_clock::now());
  }
  if (const auto limit = a.profile->limits.timeout; limit.count() > 0) {
    const auto profile_deadline = std::chrono::steady_clock::now() + limit;
    if (!a.run.deadline.has_value() || profile_deadline < *a.run.deadline) {
      a.run.deadline = profile_deadline;
      a.run.deadline_reason = absl::StrCat(
          "profile '", a.profile->name, "' time limit of ",
          absl::FormatDuration(absl::FromChrono(limit)), " (profiles.", a.profile->name,
          ".limits.timeout_ms)");
    }
  }
  for (const char* key : {"tracestate", "x-request-id"}) {
    if (std::string_view(key) == "tracestate" && !continue_trace) continue;
    std::string value = door.Metadata(key);
    if (!value.empty()) a.run.forward_headers.emplace_back(key, std::move(value));
  }
  return a;
}

template <typename Request>
void AgentServiceImpl::Begin(ServiceCall* reactor, CallDoor* door, const Request& request) {
  reactor->info().lifetime = calls_->Track();
  reactor->info().door = door;
  Metrics::Get().CallStarted(reactor->info().rpc);
  if (draining_.load()) {
    Metrics::Get().Denial("draining");
    reactor->Fail(absl::UnavailableError(
        "agent-gateway is shutting down and takes no new calls; retry on another instance"));
    return;
  }
  // Load shedding: take a slot or refuse now, before any work (no queue to wait in).
  std::size_t active = 0;
  reactor->info().slot = calls_->Add(reactor->AbortFn(), &active);
  if (options_.max_concurrent_calls != 0 && active > options_.max_concurrent_calls) {
    Metrics::Get().Denial("max_concurrent_calls");
    door->AddTrailer("retry-after", "1");
    reactor->Fail(absl::ResourceExhaustedError(absl::StrCat(
        "agent-gateway is at its limit of ", options_.max_concurrent_calls,
        " concurrent calls (limits.max_concurrent_calls); retry shortly")));
    return;
  }
  absl::StatusOr<Admission> admitted =
      Admit(*door, request.profile(), UserIdOf(request), reactor->info(), InvokeOf(request));
  if (!admitted.ok()) {
    Metrics::Get().Denial(DenialReason(admitted.status()));
    reactor->Fail(admitted.status());
    return;
  }
  reactor->info() = admitted->info;
  if (admitted->profile->auth == "user") {
    reactor->Start(*engine_, *admitted->profile, request, std::move(admitted->run));
    return;
  }
  // App identity: the token may need a refresh first. The reactor stays alive until it calls
  // Finish, which only happens in Fail or after Start, so the callback may use it.
  const Profile* profile = admitted->profile;
  auto run = std::make_shared<RunContext>(std::move(admitted->run));
  app_tokens_->GetToken([this, reactor, profile, &request,
                         run](absl::StatusOr<identity::Secret> token) {
    if (!token.ok()) return reactor->Fail(token.status());
    run->bearer_token = *std::move(token);
    reactor->Start(*engine_, *profile, request, std::move(*run));
  });
}

template void AgentServiceImpl::Begin(ServiceCall*, CallDoor*, const v1::InvokeRequest&);
template void AgentServiceImpl::Begin(ServiceCall*, CallDoor*, const v1::GetResponseRequest&);

void AgentServiceImpl::StartDrain() {
  draining_.store(true);
  Log(LogLevel::kInfo, "draining: new calls are refused",
      {{"calls_in_flight", static_cast<std::int64_t>(calls_->size())}});
}

grpc::ServerUnaryReactor* AgentServiceImpl::Invoke(grpc::CallbackServerContext* context,
                                                   const v1::InvokeRequest* request,
                                                   v1::InvokeResponse* response) {
  auto* reactor = new InvokeReactor(context, response);  // deletes itself in OnDone
  Begin(reactor, reactor->door(), *request);
  return reactor;
}

grpc::ServerWriteReactor<v1::StreamEvent>* AgentServiceImpl::Stream(
    grpc::CallbackServerContext* context, const v1::InvokeRequest* request) {
  auto* reactor = new StreamReactor(context);  // deletes itself in OnDone
  Begin(reactor, reactor->door(), *request);
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::GetResponse(grpc::CallbackServerContext* context,
                                                        const v1::GetResponseRequest* request,
                                                        v1::InvokeResponse* response) {
  auto* reactor = new InvokeReactor(context, response);  // deletes itself in OnDone
  reactor->info().rpc = "GetResponse";
  Begin(reactor, reactor->door(), *request);
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::GetAgentInfo(grpc::CallbackServerContext* context,
                                                         const v1::GetAgentInfoRequest*,
                                                         v1::AgentInfo* info) {
  FillAgentInfo(info);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void AgentServiceImpl::FillAgentInfo(v1::AgentInfo* info) const {
  info->set_name("agent-gateway");
  info->set_agent_api("responses");
  info->set_default_profile(config_->default_profile);
  info->set_version(AGENTGATEWAY_VERSION);
  for (const auto& [name, profile] : config_->profiles) {
    v1::ProfileInfo* p = info->add_profiles();
    p->set_name(name);
    p->set_model(profile.model);
    p->set_engine(profile.engine);
    p->set_auth(profile.auth);
    for (const ToolSpec& tool : profile.tools) p->add_tool_types(tool.type);
    for (const std::string& m : profile.allowed_models) p->add_allowed_models(m);
  }
}

}  // namespace agentgateway
