#include "client/rest_door.h"

#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "client/event_printer.h"
#include "client/json_fields.h"
#include "client/rest_errors.h"
#include "client/retry.h"
#include "client/sse_collector.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::client {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::string DeadlineReason(std::chrono::milliseconds timeout) {
  return absl::StrCat("the call's deadline of ", absl::FormatDuration(absl::FromChrono(timeout)));
}

std::string PercentEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

upstream::Headers HeadersFor(const CallOptions& call, std::optional<Clock::time_point> deadline) {
  upstream::Headers headers;
  const std::pair<const char*, const std::string*> named[] = {
      {"X-Forwarded-Access-Token", &call.user_token},
      {"X-Forwarded-User", &call.forwarded_user},
      {"X-Forwarded-Email", &call.forwarded_email},
      {"X-Request-Id", &call.request_id},
      {"traceparent", &call.traceparent}};
  for (const auto& [name, value] : named) {
    if (!value->empty()) headers.emplace_back(name, *value);
  }
  for (const auto& [name, value] : call.metadata) headers.emplace_back(name, value);
  if (deadline.has_value()) {
    // The gateway bounds its own call by the same time (it becomes the gRPC deadline).
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
    headers.emplace_back("X-Request-Timeout",
                         absl::StrFormat("%.3f", std::max<int64_t>(left.count(), 1) / 1000.0));
  }
  return headers;
}

// The retry loop shared by every REST call: `attempt` returns its status and clears
// `may_retry` once retrying is unsafe; connect failures (and UNAVAILABLE when
// `retry_unavailable`) are tried again with backoff within the deadline.
absl::Status Retrying(const RestOptions& options, std::optional<Clock::time_point> deadline,
                      bool retry_unavailable,
                      const std::function<absl::Status(bool& may_retry)>& attempt_fn) {
  Backoff backoff(options.initial_backoff, options.max_backoff);
  for (int attempt = 1;; ++attempt) {
    bool may_retry = true;
    absl::Status status = attempt_fn(may_retry);
    const bool retryable =
        may_retry && (IsUnreachable(status) ||
                      (retry_unavailable && status.code() == absl::StatusCode::kUnavailable));
    if (status.ok() || !retryable || attempt >= options.max_attempts) {
      return WithAttempts(status, attempt);
    }
    const std::chrono::milliseconds wait = backoff.Next();
    if (deadline.has_value() && Clock::now() + wait >= *deadline) {
      return WithAttempts(status, attempt);
    }
    std::this_thread::sleep_for(wait);  // a blocking call: its thread waits out the backoff
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<RestDoor>> RestDoor::Create(RestOptions options) {
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  auto url = upstream::Url::Parse(options.base_url + "/");
  if (!url.ok() || (url->scheme != "http" && url->scheme != "https") ||
      options.base_url.find_first_of("?#") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--rest wants the gateway's base URL, http(s)://HOST[:PORT], not '", options.base_url, "'"));
  }
  if (options.max_attempts < 1) options.max_attempts = 1;
  options.initial_backoff = std::max(options.initial_backoff, std::chrono::milliseconds(1));
  options.max_backoff = std::max(options.max_backoff, options.initial_backoff);
  upstream::PoolOptions pool_options;
  pool_options.threads = 1;
  pool_options.max_connections_per_origin = 4;
  pool_options.ca_file = options.ca_file;
  pool_options.call_timeout = std::chrono::milliseconds(0);  // the caller's --timeout bounds it
  pool_options.response_timeout = std::chrono::minutes(10);
  auto pool = upstream::HttpPool::Create(pool_options);
  if (!pool.ok()) return pool.status();
  std::unique_ptr<RestDoor> door(new RestDoor(std::move(options)));
  door->pool_ = *std::move(pool);
  return door;
}

RestDoor::RestDoor(RestOptions options) : options_(std::move(options)) {}
RestDoor::~RestDoor() = default;

absl::Status RestDoor::Stream(std::string_view question, const CallOptions& options,
                              const DataCallback& on_data) {
  const std::string path = options.profile.empty()
                               ? std::string("/invocations")
                               : absl::StrCat("/agents/", PercentEncode(options.profile),
                                              "/invocations");
  auto url = upstream::Url::Parse(options_.base_url + path);
  if (!url.ok()) return url.status();
  const std::string body = json::serialize(json::object{
      {"input", json::array{json::object{{"role", "user"},
                                         {"content", json::string_view(question.data(),
                                                                       question.size())}}}},
      {"stream", true}});
  std::optional<Clock::time_point> deadline;
  const std::chrono::milliseconds timeout = options.timeout.value_or(options_.default_timeout);
  if (timeout.count() > 0) deadline = Clock::now() + timeout;
  return Retrying(options_, deadline, /*retry_unavailable=*/true, [&](bool& may_retry) {
    upstream::HttpRequest request;
    request.method = "POST";
    request.url = *url;
    request.headers = HeadersFor(options, deadline);
    request.headers.emplace_back("Content-Type", "application/json");
    request.headers.emplace_back("Accept", "text/event-stream");
    request.body = body;
    request.deadline = deadline;
    request.deadline_reason = DeadlineReason(timeout);
    auto collector = std::make_shared<SseCollector>(on_data);
    std::shared_ptr<upstream::Call> call = pool_->Start(std::move(request), collector);
    if (collector->WaitStopped()) call->Cancel();
    collector->WaitComplete();
    may_retry = !collector->events_seen();
    return collector->Outcome(options_.base_url);
  });
}

absl::StatusOr<std::string> RestDoor::Get(std::string_view path, const CallOptions& options,
                                          bool retry_unavailable, int* http_status) {
  auto url = upstream::Url::Parse(options_.base_url + std::string(path));
  if (!url.ok()) return url.status();
  std::optional<Clock::time_point> deadline;
  const std::chrono::milliseconds timeout = options.timeout.value_or(options_.default_timeout);
  if (timeout.count() > 0) deadline = Clock::now() + timeout;
  std::string body;
  absl::Status status = Retrying(options_, deadline, retry_unavailable, [&](bool&) -> absl::Status {
    upstream::HttpRequest request;
    request.method = "GET";
    request.url = *url;
    request.headers = HeadersFor(options, deadline);
    request.deadline = deadline;
    request.deadline_reason = DeadlineReason(timeout);
    auto result = pool_->Fetch(std::move(request));
    if (!result.ok()) return TransportError(result.status(), false, options_.base_url);
    *http_status = result->head.status;
    body = std::move(result->body);
    if (retry_unavailable && *http_status == 503) return HttpError(503, body);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  last_body_ = body;
  return body;
}

absl::StatusOr<v1::AgentInfo> RestDoor::GetAgentInfo(const CallOptions& options) {
  int http_status = 0;
  auto body = Get("/agent/info", options, /*retry_unavailable=*/true, &http_status);
  if (!body.ok()) return body.status();
  if (http_status != 200) return HttpError(http_status, *body);
  json::object o = ParseObject(*body);
  if (o.empty()) {
    return absl::InternalError(absl::StrCat("GET /agent/info answered no JSON object: ",
                                            OneLine(*body, 200)));
  }
  v1::AgentInfo info;
  info.set_name(StringField(o, "name"));
  info.set_agent_api(StringField(o, "agent_api"));
  info.set_default_profile(StringField(o, "default_profile"));
  info.set_version(StringField(o, "version"));
  if (const json::value* profiles = o.if_contains("profiles"); profiles && profiles->is_array()) {
    for (const json::value& p : profiles->as_array()) {
      if (!p.is_object()) continue;
      const json::object& po = p.as_object();
      v1::ProfileInfo* out = info.add_profiles();
      out->set_name(StringField(po, "name"));
      out->set_model(StringField(po, "model"));
      out->set_engine(StringField(po, "engine"));
      out->set_auth(StringField(po, "auth"));
      for (std::string& t : StringsField(po, "tool_types")) out->add_tool_types(std::move(t));
      for (std::string& m : StringsField(po, "allowed_models")) out->add_allowed_models(std::move(m));
    }
  }
  return info;
}

absl::StatusOr<HealthStatus> RestDoor::Health(const CallOptions& options) {
  int http_status = 0;
  auto body = Get("/health", options, /*retry_unavailable=*/false, &http_status);
  if (!body.ok()) return body.status();
  if (http_status == 200) return HealthStatus::kServing;
  if (http_status == 503) return HealthStatus::kNotServing;
  return HttpError(http_status, *body);
}

}  // namespace agentgateway::client
