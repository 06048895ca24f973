// ParseChatRequest: the checks an OpenAI-compatible Chat Completions server applies, and what
// the script needs from the conversation.
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "boost/json/parse.hpp"
#include "tests/emulator/chat_model.h"
#include "tests/emulator/str_util.h"

namespace agentgateway::emulator {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 25> kKnownFields = {
    "model",       "messages",         "tools",          "tool_choice",
    "parallel_tool_calls", "stream",   "stream_options", "temperature",
    "top_p",       "max_tokens",       "max_completion_tokens", "n",
    "stop",        "seed",             "user",           "presence_penalty",
    "frequency_penalty", "logprobs",   "top_logprobs",   "response_format",
    "metadata",    "reasoning_effort", "logit_bias",     "service_tier",
    "store"};
constexpr std::array<std::string_view, 5> kRoles = {"system", "developer", "user", "assistant",
                                                     "tool"};

// The failure being built: message plus the offending parameter.
class Invalid {
 public:
  explicit Invalid(std::string& param) : param_(param) {}
  absl::Status operator()(std::string param, std::string_view message) {
    param_ = std::move(param);
    return absl::InvalidArgumentError(absl::string_view(message.data(), message.size()));
  }

 private:
  std::string& param_;
};

bool ValidToolName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

int64_t Words(std::string_view text) {
  int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

// The text of a message's `content`: a string, or text parts (other part types are skipped).
// False when the shape is wrong; `present` false for a null or absent content.
bool ContentText(const json::object& message, std::string& text, bool& present) {
  const json::value* content = message.if_contains("content");
  present = content != nullptr && !content->is_null();
  if (!present) return true;
  if (content->is_string()) {
    text = std::string(content->get_string());
    return true;
  }
  if (!content->is_array()) return false;
  for (const json::value& part : content->get_array()) {
    const json::object* p = part.if_object();
    const json::value* type = p ? p->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) return false;
    if (type->get_string() == "text") {
      const json::value* t = p->if_contains("text");
      if (t == nullptr || !t->is_string()) return false;
      text += std::string_view(t->get_string());
    }
  }
  return true;
}

int64_t Marker(std::string_view text, std::string_view name, int64_t fallback) {
  std::string open = Cat("[[", name, ":");
  std::size_t start = text.find(open);
  if (start == std::string_view::npos) return fallback;
  start += open.size();
  std::size_t end = text.find("]]", start);
  int64_t value = fallback;
  if (end == std::string_view::npos || !ParseInt(text.substr(start, end - start), value) ||
      value < 0) {
    return fallback;
  }
  return std::min<int64_t>(value, 3'600'000);
}

absl::Status ParseTools(const json::object& body, ChatRequest& out, Invalid& invalid) {
  const json::value* tools = body.if_contains("tools");
  if (tools == nullptr || tools->is_null()) return absl::OkStatus();
  if (!tools->is_array()) return invalid("tools", "'tools' must be an array");
  for (std::size_t i = 0; i < tools->get_array().size(); ++i) {
    std::string param = Cat("tools[", i, "]");
    const json::object* tool = tools->get_array()[i].if_object();
    const json::value* type = tool ? tool->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string() || type->get_string() != "function") {
      return invalid(Cat(param, ".type"), "Each tool must have \"type\": \"function\"");
    }
    const json::value* fn = tool->if_contains("function");
    const json::value* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string() || !ValidToolName(name->get_string())) {
      return invalid(Cat(param, ".function.name"),
                     "Invalid tool name: must match '^[a-zA-Z0-9_-]{1,64}$'");
    }
    const json::value* params = fn->get_object().if_contains("parameters");
    if (params != nullptr && !params->is_object()) {
      return invalid(Cat(param, ".function.parameters"), "'parameters' must be a JSON Schema object");
    }
    std::string n(name->get_string());
    if (std::find(out.tools.begin(), out.tools.end(), n) != out.tools.end()) {
      return invalid(Cat(param, ".function.name"), Cat("Duplicate tool name '", n, "'"));
    }
    out.tools.push_back(std::move(n));
  }
  return absl::OkStatus();
}

absl::Status ParseOptions(const json::object& body, ChatRequest& out, Invalid& invalid) {
  if (const json::value* v = body.if_contains("stream"); v && !v->is_null()) {
    if (!v->is_bool()) return invalid("stream", "'stream' must be a boolean");
    out.stream = v->get_bool();
  }
  if (const json::value* v = body.if_contains("stream_options"); v && !v->is_null()) {
    if (!out.stream) {
      return invalid("stream_options", "The 'stream_options' parameter is only allowed when "
                                       "'stream' is enabled.");
    }
    const json::value* usage = v->is_object() ? v->get_object().if_contains("include_usage") : nullptr;
    if (!v->is_object() || (usage && !usage->is_bool())) {
      return invalid("stream_options", "'stream_options' must be {\"include_usage\": boolean}");
    }
    out.include_usage = usage && usage->get_bool();
  }
  if (const json::value* v = body.if_contains("parallel_tool_calls"); v && !v->is_null()) {
    if (!v->is_bool()) return invalid("parallel_tool_calls", "'parallel_tool_calls' must be a boolean");
    out.parallel_tool_calls = v->get_bool();
  }
  for (std::string_view number : {"temperature", "top_p", "presence_penalty", "frequency_penalty"}) {
    const json::value* v = body.if_contains(number);
    if (v && !v->is_null() && !v->is_number()) {
      return invalid(std::string(number), Cat("'", number, "' must be a number"));
    }
  }
  if (const json::value* v = body.if_contains("temperature"); v && v->is_number()) {
    double t = v->to_number<double>();
    if (t < 0 || t > 2) return invalid("temperature", "'temperature' must be between 0 and 2");
  }
  for (std::string_view count : {"max_tokens", "max_completion_tokens", "n"}) {
    const json::value* v = body.if_contains(count);
    if (v && !v->is_null() && (!(v->is_int64() || v->is_uint64()) || v->to_number<int64_t>() < 1)) {
      return invalid(std::string(count), Cat("'", count, "' must be a positive integer"));
    }
  }
  if (const json::value* v = body.if_contains("n"); v && v->is_int64() && v->get_int64() != 1) {
    return invalid("n", "Only n = 1 is supported");
  }
  const json::value* choice = body.if_contains("tool_choice");
  if (choice == nullptr || choice->is_null()) return absl::OkStatus();
  if (out.tools.empty()) {
    return invalid("tool_choice", "'tool_choice' is only allowed when 'tools' are specified.");
  }
  if (choice->is_string() && (choice->get_string() == "auto" || choice->get_string() == "none" ||
                              choice->get_string() == "required")) {
    out.tool_choice = std::string(choice->get_string());
    return absl::OkStatus();
  }
  const json::object* o = choice->if_object();
  const json::value* fn = o ? o->if_contains("function") : nullptr;
  const json::value* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) {
    return invalid("tool_choice", "'tool_choice' must be \"auto\", \"none\", \"required\" or "
                                  "{\"type\": \"function\", \"function\": {\"name\": ...}}");
  }
  out.forced_tool = std::string(name->get_string());
  if (std::find(out.tools.begin(), out.tools.end(), out.forced_tool) == out.tools.end()) {
    return invalid("tool_choice", Cat("Tool choice '", out.forced_tool, "' is not in 'tools'"));
  }
  out.tool_choice = "function";
  return absl::OkStatus();
}

// One assistant message's tool_calls: recorded (id -> name) and left open until answered.
absl::Status ParseToolCalls(const json::value& calls, const std::string& param,
                            std::map<std::string, std::string>& names,
                            std::set<std::string>& open, Invalid& invalid) {
  if (!calls.is_array()) return invalid(param, "'tool_calls' must be an array");
  for (std::size_t k = 0; k < calls.get_array().size(); ++k) {
    const json::object* call = calls.get_array()[k].if_object();
    const json::value* id = call ? call->if_contains("id") : nullptr;
    const json::value* fn = call ? call->if_contains("function") : nullptr;
    const json::value* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
    const json::value* args = fn && fn->is_object() ? fn->get_object().if_contains("arguments") : nullptr;
    if (id == nullptr || !id->is_string() || id->get_string().empty() || name == nullptr ||
        !name->is_string() || args == nullptr || !args->is_string()) {
      return invalid(Cat(param, "[", k, "]"),
                     "Each tool call needs 'id', 'type': 'function' and 'function' with "
                     "'name' and 'arguments' (a string)");
    }
    names[std::string(id->get_string())] = std::string(name->get_string());
    open.insert(std::string(id->get_string()));
  }
  return absl::OkStatus();
}

absl::Status UnansweredCalls(const std::set<std::string>& open, std::string param,
                             Invalid& invalid) {
  std::string ids;
  for (const std::string& id : open) Append(ids, ids.empty() ? "" : ", ", id);
  return invalid(std::move(param),
                 Cat("An assistant message with 'tool_calls' must be followed by tool messages "
                     "responding to each 'tool_call_id'. The following tool_call_ids did not "
                     "have response messages: ", ids));
}

absl::Status ParseMessages(const json::object& body, ChatRequest& out, Invalid& invalid) {
  const json::value* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->get_array().empty()) {
    return invalid("messages", "'messages' must be a non-empty array");
  }
  const json::array& list = messages->get_array();
  std::map<std::string, std::string> call_names;  // tool_call id -> tool name
  std::set<std::string> open;                     // calls of the last assistant turn not answered
  std::size_t question_at = list.size();
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string param = Cat("messages[", i, "]");
    const json::object* m = list[i].if_object();
    const json::value* role_value = m ? m->if_contains("role") : nullptr;
    if (role_value == nullptr || !role_value->is_string()) {
      return invalid(Cat(param, ".role"), "Each message needs a 'role'");
    }
    std::string_view role = role_value->get_string();
    if (std::find(kRoles.begin(), kRoles.end(), role) == kRoles.end()) {
      return invalid(Cat(param, ".role"),
                     Cat("Invalid value: '", role, "'. Supported values are: 'system', "
                         "'developer', 'user', 'assistant' and 'tool'."));
    }
    if (role != "tool" && !open.empty()) return UnansweredCalls(open, param, invalid);
    std::string text;
    bool present = false;
    if (!ContentText(*m, text, present)) {
      return invalid(Cat(param, ".content"), "'content' must be a string or an array of parts");
    }
    out.prompt_tokens += Words(text);
    const json::value* calls = m->if_contains("tool_calls");
    bool has_calls = calls != nullptr && !calls->is_null();
    if (role == "assistant") {
      if (!present && !has_calls) {
        return invalid(Cat(param, ".content"),
                       "An assistant message needs 'content' or 'tool_calls'");
      }
      if (has_calls) {
        absl::Status s = ParseToolCalls(*calls, Cat(param, ".tool_calls"), call_names, open, invalid);
        if (!s.ok()) return s;
      }
      continue;
    }
    if (has_calls) return invalid(Cat(param, ".tool_calls"), "Only assistant messages may have 'tool_calls'");
    if (!present) return invalid(Cat(param, ".content"), Cat("A '", role, "' message needs 'content'"));
    if (role == "user") {
      question_at = i;
      out.question = text;
    }
    if (role != "tool") continue;
    const json::value* id = m->if_contains("tool_call_id");
    if (id == nullptr || !id->is_string()) {
      return invalid(Cat(param, ".tool_call_id"), "A 'tool' message needs 'tool_call_id'");
    }
    if (open.erase(std::string(id->get_string())) == 0) {
      return invalid(Cat(param, ".role"),
                     Cat("Invalid parameter: messages with role 'tool' must be a response to a "
                         "preceding message with 'tool_calls' (no open call has id '",
                         std::string_view(id->get_string()), "')."));
    }
  }
  if (!open.empty()) return UnansweredCalls(open, "messages", invalid);
  // What happened after the question, for the script.
  for (std::size_t i = question_at == list.size() ? 0 : question_at + 1; i < list.size(); ++i) {
    const json::object& m = list[i].get_object();
    std::string_view role = m.at("role").get_string();
    if (role == "assistant") {
      const json::value* calls = m.if_contains("tool_calls");
      if (calls == nullptr || calls->is_null()) continue;
      for (const json::value& call : calls->get_array()) {
        out.called.push_back(std::string(call.at("function").at("name").get_string()));
      }
    } else if (role == "tool") {
      std::string text;
      bool present = false;
      ContentText(m, text, present);
      out.results.emplace_back(call_names[std::string(m.at("tool_call_id").get_string())],
                               std::move(text));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChatRequest> ParseChatRequest(std::string_view text, std::string& param) {
  Invalid invalid(param);
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) {
    return invalid("", "We could not parse the JSON body of your request. (HINT: This likely "
                       "means you aren't using your HTTP library correctly.)");
  }
  const json::object& body = parsed.get_object();
  for (const auto& field : body) {
    if (std::find(kKnownFields.begin(), kKnownFields.end(), field.key()) == kKnownFields.end()) {
      return invalid(std::string(field.key()),
                     Cat("Unrecognized request argument supplied: ", std::string_view(field.key())));
    }
  }
  ChatRequest out;
  const json::value* model = body.if_contains("model");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return invalid("model", "You must provide a model parameter.");
  }
  out.model = std::string(model->get_string());
  absl::Status s = ParseTools(body, out, invalid);
  if (s.ok()) s = ParseOptions(body, out, invalid);
  if (s.ok()) s = ParseMessages(body, out, invalid);
  if (!s.ok()) return s;
  out.loop = out.question.find("[[loop]]") != std::string::npos;
  out.fault = FaultMarker(out.question);
  out.drip_ms = Marker(out.question, "drip-ms", 0);
  return out;
}

}  // namespace agentgateway::emulator
