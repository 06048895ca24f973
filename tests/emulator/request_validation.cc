// ParseResponsesRequest: the checks the Supervisor API makes before it runs anything.
#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "absl/status/status.h"
#include "tests/emulator/str_util.h"
#include "boost/json/parse.hpp"
#include "tests/emulator/responses_model.h"

namespace agentgateway::emulator {
namespace {

constexpr std::array<std::string_view, 17> kKnownFields = {
    "model",       "input",         "instructions",      "tools",
    "stream",      "background",    "trace_destination", "temperature",
    "top_p",       "max_output_tokens", "tool_choice",   "parallel_tool_calls",
    "metadata",    "text",          "reasoning",         "store",
    "user"};

constexpr std::array<std::string_view, 6> kKnownItemTypes = {
    "message",   "function_call",         "function_call_output",
    "reasoning", "mcp_approval_request", "mcp_approval_response"};

struct HostedType {
  std::string_view type;
  std::string_view key;  // required key of the inner object, also the identifying name
  bool needs_approval;
};
constexpr std::array<HostedType, 5> kHostedTypes = {{
    {"genie_space", "id", false},
    {"uc_function", "name", false},
    {"knowledge_assistant", "knowledge_assistant_id", false},
    {"uc_connection", "name", true},
    {"app", "name", true},
}};

absl::Status Invalid(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

std::string_view StringField(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string_view(v->get_string());
}

bool IsTrue(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

bool ValidFunctionName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string MangleName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '.') {
      out += "__";
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') {
      out += c;
    } else {
      out += '_';
    }
  }
  return out;
}

absl::StatusOr<ToolSpec> ParseTool(const boost::json::value& value) {
  const boost::json::object* tool = value.if_object();
  if (tool == nullptr) return Invalid("Each tool must be an object");
  std::string_view type = StringField(*tool, "type");
  ToolSpec spec;
  spec.type = std::string(type);
  if (type == "function") {
    std::string_view name = StringField(*tool, "name");
    if (!ValidFunctionName(name)) {
      return Invalid(Cat("Invalid function tool name '", name,
                                  "': must match ^[a-zA-Z0-9_-]{1,64}$"));
    }
    spec.ident = spec.call_name = std::string(name);
    spec.mention = ToLower(name);
    spec.client_function = true;
    return spec;
  }
  auto hosted = std::find_if(kHostedTypes.begin(), kHostedTypes.end(),
                             [&](const HostedType& h) { return h.type == type; });
  if (hosted == kHostedTypes.end()) {
    return Invalid(Cat("Unsupported tool type: '", type, "'"));
  }
  const boost::json::value* inner_value = tool->if_contains(type);
  if (inner_value == nullptr || !inner_value->is_object()) {
    return Invalid(Cat("Tool of type '", type, "' requires a '", type, "' object"));
  }
  std::string_view ident = StringField(inner_value->get_object(), hosted->key);
  if (ident.empty()) {
    return Invalid(Cat("Tool of type '", type, "' requires '", type, ".",
                                hosted->key, "'"));
  }
  spec.ident = std::string(ident);
  spec.call_name = MangleName(ident);
  spec.needs_approval = hosted->needs_approval;
  std::string_view mention = ident;
  if (type == "uc_function") mention = mention.substr(mention.rfind('.') + 1);
  spec.mention = ToLower(mention);
  return spec;
}

// Text of a message item: a string, or the concatenated text parts.
std::string MessageText(const boost::json::object& item) {
  const boost::json::value* content = item.if_contains("content");
  if (content == nullptr) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string text;
  if (const boost::json::array* parts = content->if_array()) {
    for (const boost::json::value& part : *parts) {
      if (const boost::json::object* p = part.if_object()) {
        Append(text, StringField(*p, "text"));
      }
    }
  }
  return text;
}

absl::Status CheckInput(const boost::json::array& input, ResponsesRequest& out) {
  std::set<std::string, std::less<>> call_ids;
  for (const boost::json::value& value : input) {
    const boost::json::object* item = value.if_object();
    if (item == nullptr) return Invalid("Each input item must be an object");
    std::string_view type = StringField(*item, "type");
    if (type.empty() && item->contains("role")) type = "message";
    if (std::find(kKnownItemTypes.begin(), kKnownItemTypes.end(), type) ==
        kKnownItemTypes.end()) {
      return Invalid(Cat("Invalid input item type: '", type, "'"));
    }
    for (std::string_view key : {"id", "call_id"}) {
      if (StringField(*item, key).size() > kMaxInputIdLength) {
        return Invalid(Cat("Invalid '", key, "': string too long. Expected a string with"
                                    " maximum length ", kMaxInputIdLength));
      }
    }
    std::string_view call_id = StringField(*item, "call_id");
    if (type == "function_call") {
      call_ids.emplace(call_id);
    } else if (type == "function_call_output" && !call_ids.contains(call_id)) {
      return Invalid(Cat("No tool call found for function call output with call_id '",
                                  call_id, "'"));
    } else if (type == "message" && StringField(*item, "role") == "user") {
      out.question = MessageText(*item);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ResponsesRequest> ParseResponsesRequest(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object()) return Invalid("Malformed request: body is not a JSON object");
  ResponsesRequest out;
  out.body = std::move(parsed.get_object());
  const boost::json::object& body_obj = out.body;
  for (const auto& field : body_obj) {
    std::string_view key = field.key();
    if (std::find(kKnownFields.begin(), kKnownFields.end(), key) == kKnownFields.end()) {
      return Invalid(Cat("Invalid parameter: unknown field '", key, "'"));
    }
  }
  out.model = std::string(StringField(body_obj, "model"));
  if (out.model.empty()) return Invalid("Missing required parameter: 'model'");
  const boost::json::value* input = body_obj.if_contains("input");
  if (input == nullptr || !input->is_array()) {
    return Invalid("Missing required parameter: 'input' must be an array");
  }
  out.stream = IsTrue(body_obj, "stream");
  out.background = IsTrue(body_obj, "background");
  if (out.stream && out.background) {
    return Invalid("'stream' and 'background' cannot both be true");
  }
  const boost::json::value* tools = body_obj.if_contains("tools");
  if (tools != nullptr && !tools->is_null()) {
    if (!tools->is_array()) return Invalid("'tools' must be an array");
    if (!tools->get_array().empty() &&
        (body_obj.contains("temperature") || body_obj.contains("top_p"))) {
      return Invalid("Parameter not supported when tools are provided");
    }
    for (const boost::json::value& tool : tools->get_array()) {
      absl::StatusOr<ToolSpec> spec = ParseTool(tool);
      if (!spec.ok()) return spec.status();
      out.tools.push_back(*std::move(spec));
    }
  }
  if (absl::Status s = CheckInput(input->get_array(), out); !s.ok()) return s;
  if (const boost::json::value* metadata = body_obj.if_contains("metadata")) {
    if (metadata->is_object()) {
      out.fault = std::string(StringField(metadata->get_object(), "emulator_fault"));
    }
  }
  if (out.fault.empty()) out.fault = FaultMarker(out.question);
  return out;
}

}  // namespace agentgateway::emulator
