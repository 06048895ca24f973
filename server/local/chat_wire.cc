#include "server/local/chat_wire.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"

namespace agentgateway::local {
namespace json = boost::json;

ChatMessage ChatMessage::System(std::string text) {
  return ChatMessage{.role = "system", .content = std::move(text)};
}
ChatMessage ChatMessage::User(std::string text) {
  return ChatMessage{.role = "user", .content = std::move(text)};
}
ChatMessage ChatMessage::Assistant(std::optional<std::string> text, std::vector<ToolCall> calls) {
  return ChatMessage{.role = "assistant", .content = std::move(text),
                     .tool_calls = std::move(calls)};
}
ChatMessage ChatMessage::ToolResult(std::string call_id, std::string text) {
  return ChatMessage{.role = "tool", .content = std::move(text),
                     .tool_call_id = std::move(call_id)};
}

namespace {

std::optional<json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return std::nullopt;
  return v;
}

std::string_view Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  const json::string& s = v->get_string();
  return {s.data(), s.size()};
}

json::object MessageJson(const ChatMessage& m) {
  json::object out{{"role", m.role}};
  if (m.content) {
    out["content"] = *m.content;
  } else {
    out["content"] = nullptr;
  }
  if (!m.tool_calls.empty()) {
    json::array calls;
    for (const ToolCall& c : m.tool_calls) {
      // History arguments go back as the string the model produced (OpenAI's form).
      calls.push_back(json::object{
          {"id", c.id},
          {"type", "function"},
          {"function", json::object{{"name", c.name},
                                    {"arguments", c.arguments.empty() ? "{}" : c.arguments}}}});
    }
    out["tool_calls"] = std::move(calls);
  }
  if (!m.tool_call_id.empty()) out["tool_call_id"] = m.tool_call_id;
  return out;
}

absl::Status ParseUsage(const json::value* v, std::optional<Usage>& usage) {
  if (v == nullptr || v->is_null()) return absl::OkStatus();
  if (!v->is_object()) return absl::InternalError("model answer: `usage` is not an object");
  Usage u;
  const json::object& o = v->get_object();
  auto num = [&](std::string_view key) -> int64_t {
    const json::value* n = o.if_contains(key);
    if (n == nullptr) return 0;
    if (n->is_int64()) return n->get_int64();
    if (n->is_uint64()) return static_cast<int64_t>(n->get_uint64());
    return 0;
  };
  u.prompt_tokens = num("prompt_tokens");
  u.completion_tokens = num("completion_tokens");
  u.total_tokens = num("total_tokens");
  usage = u;
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckToolCallArguments(const ToolCall& call) {
  if (call.arguments.empty()) return absl::OkStatus();
  std::optional<json::value> v = ParseJson(call.arguments);
  if (!v || !v->is_object()) {
    return absl::InternalError(absl::StrCat("model answer: arguments of tool call ", call.id,
                                            " (", call.name, ") are not a JSON object"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BuildChatRequestBody(const ChatRequest& request) {
  json::object body{{"model", request.model}};
  json::array messages;
  for (const ChatMessage& m : request.messages) messages.push_back(MessageJson(m));
  body["messages"] = std::move(messages);
  if (!request.tools.empty()) {
    json::array tools;
    for (const FunctionTool& t : request.tools) {
      json::object fn{{"name", t.name}};
      if (!t.description.empty()) fn["description"] = t.description;
      if (!t.parameters_json.empty()) {
        std::optional<json::value> params = ParseJson(t.parameters_json);
        if (!params || !params->is_object()) {
          return absl::InvalidArgumentError(
              absl::StrCat("parameters of tool ", t.name, " are not a JSON object"));
        }
        fn["parameters"] = std::move(*params);
      }
      tools.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    body["tools"] = std::move(tools);
    if (request.parallel_tool_calls) body["parallel_tool_calls"] = *request.parallel_tool_calls;
  }
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (request.stream) {
    body["stream"] = true;
    body["stream_options"] = json::object{{"include_usage", true}};
  }
  return json::serialize(body);
}

absl::StatusOr<ChatResult> ParseChatCompletion(std::string_view body) {
  std::optional<json::value> parsed = ParseJson(body);
  if (!parsed || !parsed->is_object()) {
    return absl::InternalError("model answer is not a JSON object");
  }
  const json::object& root = parsed->get_object();
  if (const json::value* err = root.if_contains("error"); err != nullptr && !err->is_null()) {
    std::string_view message = err->is_object() ? Str(err->get_object(), "message") : "";
    return absl::UnavailableError(absl::StrCat(
        "model error: ", message.empty() ? json::serialize(*err) : std::string(message)));
  }
  const json::value* choices = root.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().empty() ||
      !choices->get_array()[0].is_object()) {
    return absl::InternalError("model answer has no choices");
  }
  const json::object& choice = choices->get_array()[0].get_object();
  const json::value* message = choice.if_contains("message");
  if (message == nullptr || !message->is_object()) {
    return absl::InternalError("model answer: choice has no message");
  }
  ChatResult result;
  result.id = Str(root, "id");
  result.model = Str(root, "model");
  result.finish_reason = Str(choice, "finish_reason");
  const json::object& msg = message->get_object();
  result.text = Str(msg, "content");
  if (const json::value* calls = msg.if_contains("tool_calls"); calls != nullptr) {
    if (!calls->is_array()) return absl::InternalError("model answer: tool_calls is not an array");
    for (const json::value& c : calls->get_array()) {
      const json::object* call = c.if_object();
      const json::object* fn = nullptr;
      if (call != nullptr) {
        if (const json::value* f = call->if_contains("function")) fn = f->if_object();
      }
      if (fn == nullptr) return absl::InternalError("model answer: malformed tool call");
      ToolCall tc{std::string(Str(*call, "id")), std::string(Str(*fn, "name")),
                  std::string(Str(*fn, "arguments"))};
      if (tc.name.empty()) return absl::InternalError("model answer: tool call without a name");
      if (absl::Status s = CheckToolCallArguments(tc); !s.ok()) return s;
      if (tc.arguments.empty()) tc.arguments = "{}";
      result.tool_calls.push_back(std::move(tc));
    }
  }
  if (result.finish_reason.empty()) {
    return absl::InternalError("model answer: choice has no finish_reason");
  }
  if (absl::Status s = ParseUsage(root.if_contains("usage"), result.usage); !s.ok()) return s;
  return result;
}

}  // namespace agentgateway::local
