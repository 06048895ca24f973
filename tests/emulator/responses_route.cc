// Router::HandleResponses: POST /ai-gateway/mlflow/v1/responses, with authentication and
// scopes, validation, faults, the scripted model, and background runs (and their polls).
#include <array>
#include <charconv>
#include <ctime>

#include "tests/emulator/str_util.h"
#include "boost/json/serialize.hpp"
#include "tests/emulator/codec.h"
#include "tests/emulator/events.h"
#include "tests/emulator/responses_model.h"
#include "tests/emulator/router.h"

namespace agentgateway::emulator {
namespace {

// Connection-level faults come in two phases: before the first event (`reset-early`,
// `truncate-early`, `hang`, `error-event-first`) and after some (`reset`, `truncate`,
// `hang-mid`, `error-event`).
constexpr std::array<std::string_view, 16> kFaults = {
    "429",        "500",   "503",  "html-502", "reset",    "truncate", "error-then-completed",
    "error-event", "oauth", "drip", "hang",     "hang-mid", "none",     "reset-early",
    "truncate-early", "error-event-first"};
constexpr std::size_t kEventsBeforeCut = 3;      // reset, truncate
constexpr std::size_t kEventsBeforeHangMid = 2;
constexpr std::size_t kMaxBackgroundRuns = 10'000;
constexpr int64_t kMaxDeltas = 1'000'000;
constexpr int64_t kMaxDeltaBytes = 1 << 20;

Action ErrorAction(int status, std::string_view code, std::string_view message) {
  Action action;
  action.reply.status = status;
  action.reply.body = boost::json::serialize(boost::json::object{{"error_code", code},
                                                                 {"message", message}});
  return action;
}

int64_t HeaderInt(const HttpRequestData& request, std::string_view name, int64_t fallback,
                  int64_t max) {
  std::string_view text = request.Header(name);
  int64_t value = fallback;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || value < 0) return fallback;
  return std::min(value, max);
}

// The integer of a `[[NAME:N]]` marker in the question (what a caller that cannot set the
// emulator's headers, such as the gateway's clients, writes instead); `fallback` when absent.
int64_t MarkerInt(std::string_view question, std::string_view name, int64_t fallback,
                  int64_t max) {
  std::string open = Cat("[[", name, ":");
  std::size_t start = question.find(open);
  if (start == std::string_view::npos) return fallback;
  start += open.size();
  std::size_t end = question.find("]]", start);
  int64_t value = fallback;
  if (end == std::string_view::npos || !ParseInt(question.substr(start, end - start), value) ||
      value < 0) {
    return fallback;
  }
  return std::min(value, max);
}

// Faults answered with a status before any model work.
bool StatusFault(std::string_view fault, Action& action) {
  if (fault == "429") {
    action = ErrorAction(429, "REQUEST_LIMIT_EXCEEDED", "Rate limit exceeded for this endpoint");
    action.reply.headers.emplace_back("Retry-After", "1");
  } else if (fault == "500") {
    action = ErrorAction(500, "INTERNAL_ERROR", "The server encountered an internal error");
  } else if (fault == "503") {
    action = ErrorAction(503, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable");
  } else if (fault == "html-502") {
    action = Action();
    action.reply.status = 502;
    action.reply.content_type = "text/html; charset=utf-8";
    action.reply.body =
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
        "</h1></center><hr><center>emulated proxy</center></body></html>\n";
  } else {
    return false;
  }
  return true;
}

// The non-stream flavour of the stream faults.
Action NonStreamFault(std::string_view fault, std::string body) {
  Action action;
  action.reply.body = std::move(body);
  if (fault == "reset" || fault == "reset-early") {
    action.kind = Action::Kind::kReset;
  } else if (fault == "truncate-early") {
    // The head, then close before any body byte: a partial reply sends half its body, so a
    // one-byte body (Content-Length: 1) leaves nothing to send.
    action.kind = Action::Kind::kPartialReply;
    action.end = Action::End::kTruncate;
    action.reply.body = "{";
  } else if (fault == "hang") {
    action.kind = Action::Kind::kHang;
  } else if (fault == "truncate" || fault == "hang-mid") {
    action.kind = Action::Kind::kPartialReply;
    action.end = fault == "truncate" ? Action::End::kTruncate : Action::End::kHang;
  } else if (fault == "oauth") {
    action.reply.status = 403;
    action.reply.body = boost::json::serialize(boost::json::object{
        {"code", "oauth"},
        {"message", "Please login to the connection to continue: "
                    "https://emulator.invalid/explore/connections/login"}});
  } else if (fault == "error-event" || fault == "error-then-completed" ||
             fault == "error-event-first") {
    return ErrorAction(500, "INTERNAL_ERROR", "The emulator failed while running the agent");
  }
  return action;
}

Action StreamAction(std::string_view fault, const HttpRequestData& request, const Turn& turn,
                    const ResponseMeta& meta) {
  StreamOptions options;
  options.empty_completed = request.Header("x-emulator-empty-completed") == "1";
  options.done_marker = request.Header("x-emulator-done") == "1";
  if (fault == "error-then-completed") options.error = StreamError::kErrorThenCompleted;
  if (fault == "error-event") options.error = StreamError::kErrorEvent;
  if (fault == "oauth") options.error = StreamError::kOauth;
  if (fault == "error-event-first") options.error = StreamError::kErrorEventFirst;
  Action action;
  if (fault == "reset-early") {
    action.kind = Action::Kind::kReset;  // before the head: the request was read, nothing sent
    return action;
  }
  action.kind = Action::Kind::kStream;
  action.frames = BuildStreamFrames(turn, meta, options);
  action.stop_after = action.frames.size();
  if (fault == "truncate-early") {
    action.stop_after = 0;  // the head and the terminal chunk, no event
    action.end = Action::End::kTruncate;
  } else if (fault == "reset" || fault == "truncate" || fault == "hang") {
    action.stop_after = fault == "hang" ? 0 : std::min(kEventsBeforeCut, action.frames.size());
    action.end = fault == "reset"      ? Action::End::kReset
                 : fault == "truncate" ? Action::End::kTruncate
                                       : Action::End::kHang;
  } else if (fault == "hang-mid") {
    action.stop_after = std::min(kEventsBeforeHangMid, action.frames.size());
    action.end = Action::End::kHang;
  }
  return action;
}

// The token of an `Authorization: Bearer <token>` header; empty when there is none.
std::string_view BearerToken(const HttpRequestData& request) {
  std::string_view auth = request.Header("authorization");
  if (auth.size() < 7 || ToLower(auth.substr(0, 7)) != "bearer ") return {};
  std::string_view token = auth.substr(7);
  std::size_t start = token.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  token.remove_prefix(start);
  return token.substr(0, token.find_last_not_of(" \t") + 1);
}

Action StatusAction(int http_status, const absl::Status& status) {
  std::string_view code = status.code() == absl::StatusCode::kUnauthenticated
                              ? "UNAUTHENTICATED"
                              : "PERMISSION_DENIED";
  return ErrorAction(http_status, code, Cat(status.message()));
}

// The request's metadata (when an object) plus who the response ran as.
boost::json::object ResponseMetadata(const ResponsesRequest& request, const Caller& caller) {
  boost::json::object metadata;
  if (const boost::json::value* sent = request.body.if_contains("metadata")) {
    if (sent->is_object()) metadata = sent->get_object();
  }
  metadata["emulator_identity"] = caller.identity;
  return metadata;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Caller>> Router::Identify(const HttpRequestData& request,
                                                               RequestRecord& record) const {
  std::string_view token = BearerToken(request);
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "Credential was not sent or was of an unsupported type for this API.");
  }
  record.token_fingerprint = TokenFingerprint(token);
  absl::StatusOr<std::shared_ptr<const Caller>> caller = identity_.Authenticate(token);
  if (caller.ok()) record.identity = (*caller)->identity;
  return caller;
}

Action Router::HandleResponses(const HttpRequestData& request) {
  stats_.Inc(Stats::kResponsesRequests);
  RequestRecord record;
  record.method = "POST";
  absl::StatusOr<std::shared_ptr<const Caller>> caller = Identify(request, record);
  {
    absl::MutexLock lock(&mu_);
    last_request_ = request;
    last_identity_ = record.identity;
  }
  Action action = caller.ok() ? RunResponses(request, **caller, record.question)
                              : StatusAction(401, caller.status());
  record.status = AnsweredStatus(action);
  request_log_.Add(std::move(record));
  return action;
}

Action Router::HandleBackgroundPoll(const HttpRequestData& request, std::string_view id) {
  RequestRecord record;
  record.method = "GET";
  absl::StatusOr<std::shared_ptr<const Caller>> caller = Identify(request, record);
  absl::Status allowed = caller.ok() ? CheckUserScopes(**caller, {}) : caller.status();
  Action action;
  if (!allowed.ok()) {
    action = StatusAction(caller.ok() ? 403 : 401, allowed);
  } else {
    absl::MutexLock lock(&mu_);
    auto it = background_.find(id);
    if (it == background_.end()) {
      action = ErrorAction(404, "RESOURCE_DOES_NOT_EXIST",
                           Cat("Response '", id, "' does not exist"));
    } else {
      // Quirk kept from upstream: the first poll still says in_progress.
      action.reply.body = it->second.polls++ == 0 ? it->second.in_progress : it->second.completed;
    }
  }
  record.status = action.reply.status;
  request_log_.Add(std::move(record));
  return action;
}

Action Router::RunResponses(const HttpRequestData& request, const Caller& caller,
                            std::string& question) {
  absl::StatusOr<ResponsesRequest> parsed = ParseResponsesRequest(request.body);
  if (!parsed.ok()) {
    return ErrorAction(400, "INVALID_PARAMETER_VALUE", Cat(parsed.status().message()));
  }
  question = parsed->question;
  if (absl::Status allowed = CheckUserScopes(caller, parsed->tools); !allowed.ok()) {
    return StatusAction(403, allowed);
  }
  std::string fault(request.Header("x-emulator-fault"));
  if (fault.empty()) fault = parsed->fault;
  if (!fault.empty() && std::find(kFaults.begin(), kFaults.end(), fault) == kFaults.end()) {
    return ErrorAction(400, "INVALID_PARAMETER_VALUE",
                       Cat("Unknown emulator fault '", fault, "'"));
  }
  if (fault == "none") fault.clear();
  if (!fault.empty()) stats_.AddFault(fault);
  Action action;
  if (StatusFault(fault, action)) return action;

  uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  TurnOptions options;
  options.seq = seq;
  options.deltas = static_cast<int>(HeaderInt(request, "x-emulator-deltas", 0, kMaxDeltas));
  options.delta_bytes =
      static_cast<int>(HeaderInt(request, "x-emulator-delta-bytes", 16, kMaxDeltaBytes));
  Turn turn = RunScript(*parsed, options);
  ResponseMeta meta{Cat("resp_", seq), parsed->model,
                    static_cast<int64_t>(std::time(nullptr)), ResponseMetadata(*parsed, caller)};
  constexpr int64_t kMaxDripMs = 3'600'000;
  std::chrono::milliseconds drip(
      fault == "drip" ? HeaderInt(request, "x-emulator-drip-ms",
                                  MarkerInt(parsed->question, "drip-ms", 200, kMaxDripMs),
                                  kMaxDripMs)
                      : 0);

  if (parsed->background) {
    BackgroundRun run;
    run.in_progress = boost::json::serialize(BuildResponse(turn, meta, "in_progress"));
    boost::json::object completed = BuildResponse(turn, meta, "completed");
    // Quirk kept from upstream: a finished background run's output echoes the input history.
    boost::json::array output = parsed->body.at("input").get_array();
    for (const auto& item : completed.at("output").get_array()) output.push_back(item);
    completed["output"] = std::move(output);
    run.completed = boost::json::serialize(completed);
    action.reply.body = run.in_progress;
    absl::MutexLock lock(&mu_);
    if (background_.size() >= kMaxBackgroundRuns) background_.clear();
    background_.emplace(meta.id, std::move(run));
    return action;
  }
  if (parsed->stream) {
    action = StreamAction(fault, request, turn, meta);
  } else {
    action = NonStreamFault(fault, boost::json::serialize(BuildResponse(turn, meta, "completed")));
  }
  action.delay = drip;
  return action;
}

}  // namespace agentgateway::emulator
