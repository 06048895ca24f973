// Router::HandleChat (POST /serving-endpoints/chat/completions and /v1/chat/completions) and
// Router::HandleKnowledgeAssistant (POST /serving-endpoints/{endpoint}/invocations): the model
// endpoints a local agent loop calls, with the same identity and scope checks as the rest of
// the emulator. Chat errors use OpenAI's shape; knowledge assistants Databricks' shape.
#include <algorithm>
#include <ctime>

#include "absl/strings/numbers.h"
#include "boost/json/parse.hpp"
#include "boost/json/serialize.hpp"
#include "tests/emulator/chat_model.h"
#include "tests/emulator/router.h"
#include "tests/emulator/str_util.h"

namespace agentgateway::emulator {
namespace {

namespace json = boost::json;

constexpr std::string_view kServingScope = "model-serving";
constexpr std::string_view kServingScopeAlternative = "serving.serving-endpoints";

// OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
Action OpenAiError(int status, std::string_view type, std::string_view message,
                   std::string_view param = {}, std::string_view code = {}) {
  json::object error{{"message", message},
                     {"type", type},
                     {"param", param.empty() ? json::value(nullptr) : json::value(param)},
                     {"code", code.empty() ? json::value(nullptr) : json::value(code)}};
  Action action;
  action.reply.status = status;
  action.reply.body = json::serialize(json::object{{"error", std::move(error)}});
  return action;
}

Action OpenAiStatus(const absl::Status& status) {
  absl::string_view m = status.message();
  std::string_view message(m.data(), m.size());
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    return OpenAiError(401, "authentication_error", message, {}, "UNAUTHENTICATED");
  }
  return OpenAiError(403, "permission_error", message, {}, "PERMISSION_DENIED");
}

Action ChatFault(std::string_view fault) {
  if (fault == "429") {
    Action action = OpenAiError(429, "rate_limit_error", "Rate limit exceeded for this endpoint",
                                {}, "REQUEST_LIMIT_EXCEEDED");
    action.reply.headers.emplace_back("Retry-After", "1");
    return action;
  }
  if (fault == "500") {
    return OpenAiError(500, "server_error", "The server encountered an internal error", {},
                       "INTERNAL_ERROR");
  }
  if (fault == "503") {
    return OpenAiError(503, "server_error", "The service is temporarily unavailable", {},
                       "TEMPORARILY_UNAVAILABLE");
  }
  Action action;
  action.kind = Action::Kind::kHang;
  return action;
}

// The `truncate` fault on a turn built normally. Stream: the first frames (at most
// kChatFramesBeforeCut, never the one with `finish_reason`), then the terminal chunk and a
// close: no finish_reason, no [DONE]. Non-stream: the head with the full Content-Length, half
// the body, then a close.
constexpr std::size_t kChatFramesBeforeCut = 3;

void Truncate(Action& action, bool include_usage) {
  action.end = Action::End::kTruncate;
  if (action.kind != Action::Kind::kStream) {
    action.kind = Action::Kind::kPartialReply;
    return;
  }
  // Frames end with: the finish_reason chunk, the usage chunk (include_usage), [DONE].
  std::size_t finish = action.frames.size() - (include_usage ? 3 : 2);
  action.stop_after = std::min(kChatFramesBeforeCut, finish);
}

std::string KnowledgeQuestion(const json::array& input) {
  std::string question;
  for (const json::value& item : input) {
    const json::object* o = item.if_object();
    const json::value* role = o ? o->if_contains("role") : nullptr;
    if (role == nullptr || !role->is_string() || role->get_string() != "user") continue;
    const json::value& content = o->contains("content") ? o->at("content") : json::value();
    question.clear();
    if (content.is_string()) question = std::string(content.get_string());
    if (!content.is_array()) continue;
    for (const json::value& part : content.get_array()) {
      const json::value* text = part.is_object() ? part.get_object().if_contains("text") : nullptr;
      if (text != nullptr && text->is_string()) question += std::string_view(text->get_string());
    }
  }
  return question;
}

int64_t DelayMarker(std::string_view text) {
  constexpr std::string_view kOpen = "[[tool-delay-ms:";
  std::size_t start = text.find(kOpen);
  if (start == std::string_view::npos) return 0;
  start += kOpen.size();
  int64_t value = 0;
  std::size_t end = text.find("]]", start);
  if (end == std::string_view::npos || !ParseInt(text.substr(start, end - start), value)) return 0;
  return std::clamp<int64_t>(value, 0, 3'600'000);
}

}  // namespace

Action Router::HandleChat(const HttpRequestData& request, std::string_view path) {
  stats_.Inc(Stats::kModelRequests);
  CallRecord call{.kind = "model", .method = request.method, .path = std::string(path)};
  RequestRecord identity_record;
  absl::StatusOr<std::shared_ptr<const Caller>> caller = Identify(request, identity_record);
  call.identity = identity_record.identity;
  Action action = caller.ok() ? RunChat(request, **caller, call) : OpenAiStatus(caller.status());
  call.status = AnsweredStatus(action);
  call_log_.Add(std::move(call));
  return action;
}

Action Router::RunChat(const HttpRequestData& request, const Caller& caller, CallRecord& call) {
  if (absl::Status allowed = CheckUserScope(caller, kServingScope, kServingScopeAlternative);
      !allowed.ok()) {
    return OpenAiStatus(allowed);
  }
  std::string param;
  absl::StatusOr<ChatRequest> parsed = ParseChatRequest(request.body, param);
  if (!parsed.ok()) {
    absl::string_view m = parsed.status().message();
    return OpenAiError(400, "invalid_request_error", std::string_view(m.data(), m.size()), param,
                       "invalid_request_error");
  }
  call.question = parsed->question;
  call.stream = parsed->stream;
  std::string fault(request.Header("x-emulator-fault"));
  if (fault.empty()) fault = parsed->fault;
  if (fault == "none") fault.clear();
  // `NAME*N`: the fault applies to the first N calls carrying this very spec, then the turn
  // answers as usual (a model that recovers: what a client's retries are for).
  if (std::size_t star = fault.find('*'); star != std::string::npos) {
    int limit = 0;
    if (!absl::SimpleAtoi(absl::string_view(fault).substr(star + 1), &limit) || limit < 1) {
      return OpenAiError(400, "invalid_request_error",
                         Cat("Bad emulator fault '", fault, "': NAME*N needs a count N >= 1"));
    }
    bool applies;
    {
      absl::MutexLock lock(&mu_);
      applies = chat_fault_uses_[fault]++ < limit;
    }
    fault = applies ? fault.substr(0, star) : std::string();
  }
  if (!fault.empty()) {
    if (fault != "429" && fault != "500" && fault != "503" && fault != "hang" &&
        fault != "truncate") {
      return OpenAiError(
          400, "invalid_request_error",
          Cat("Unknown emulator fault '", fault, "' (chat: 429, 500, 503, hang, truncate)"));
    }
    stats_.AddFault(fault);
    if (fault != "truncate") return ChatFault(fault);
  }
  uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  ChatTurn turn = RunChatScript(*parsed, seq);
  for (const ChatToolCall& c : turn.calls) Append(call.tool, call.tool.empty() ? "" : ",", c.name);
  ChatMeta meta{Cat("chatcmpl-", seq), parsed->model, static_cast<int64_t>(std::time(nullptr))};
  Action action;
  action.delay = std::chrono::milliseconds(parsed->drip_ms);
  if (parsed->stream) {
    action.kind = Action::Kind::kStream;
    action.frames = ChatStreamFrames(turn, meta, parsed->include_usage);
    action.stop_after = action.frames.size();
  } else {
    action.reply.body = ChatCompletionBody(turn, meta);
  }
  if (fault == "truncate") Truncate(action, parsed->include_usage);
  return action;
}

Action Router::HandleKnowledgeAssistant(const HttpRequestData& request, std::string_view path,
                                        std::string_view endpoint) {
  stats_.Inc(Stats::kKnowledgeAssistantRequests);
  CallRecord call{.kind = "knowledge_assistant", .method = request.method,
                  .path = std::string(path)};
  RequestRecord identity_record;
  absl::StatusOr<std::shared_ptr<const Caller>> caller = Identify(request, identity_record);
  call.identity = identity_record.identity;
  Action action = caller.ok() ? RunKnowledgeAssistant(request, **caller, endpoint, call)
                              : ReplyAction(ErrorReply(401, "UNAUTHENTICATED",
                                                       Cat(caller.status().message())));
  call.status = AnsweredStatus(action);
  call_log_.Add(std::move(call));
  return action;
}

Action Router::RunKnowledgeAssistant(const HttpRequestData& request, const Caller& caller,
                                     std::string_view endpoint, CallRecord& call) {
  if (absl::Status allowed = CheckUserScope(caller, kServingScope, kServingScopeAlternative);
      !allowed.ok()) {
    return ReplyAction(ErrorReply(403, "PERMISSION_DENIED", Cat(allowed.message())));
  }
  if (endpoint.substr(0, 7) == "missing") {
    return ReplyAction(ErrorReply(404, "RESOURCE_DOES_NOT_EXIST",
                                  Cat("Endpoint with name '", endpoint, "' does not exist.")));
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  const json::object* o = ec ? nullptr : body.if_object();
  const json::value* input = o ? o->if_contains("input") : nullptr;
  if (input == nullptr || !input->is_array() || input->get_array().empty()) {
    return ReplyAction(ErrorReply(400, "INVALID_PARAMETER_VALUE",
                                  "The body must be a JSON object with a non-empty 'input' array"));
  }
  if (const json::value* stream = o->if_contains("stream"); stream && stream->is_bool() &&
                                                            stream->get_bool()) {
    return ReplyAction(ErrorReply(400, "INVALID_PARAMETER_VALUE",
                                  "The emulated knowledge assistant answers only with "
                                  "\"stream\": false"));
  }
  call.question = KnowledgeQuestion(input->get_array());
  uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  std::string text = Cat("Knowledge assistant ", endpoint, " answered \"", call.question,
                         "\" for ", caller.identity, ": 2 documents cited.");
  json::object message{
      {"type", "message"}, {"id", Cat("msg_ka_", seq)}, {"role", "assistant"},
      {"status", "completed"},
      {"content", json::array{json::object{{"type", "output_text"}, {"text", text},
                                           {"annotations", json::array()}}}}};
  json::object response{{"id", Cat("resp_ka_", seq)},
                        {"object", "response"},
                        {"created_at", static_cast<int64_t>(std::time(nullptr))},
                        {"status", "completed"},
                        {"model", endpoint},
                        {"output", json::array{std::move(message)}},
                        {"metadata", json::object{{"emulator_identity", caller.identity}}}};
  Action action;
  action.reply.body = json::serialize(response);
  action.delay = std::chrono::milliseconds(DelayMarker(call.question));
  return action;
}

}  // namespace agentgateway::emulator
