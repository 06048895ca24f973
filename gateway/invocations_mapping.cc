#include "gateway/invocations_mapping.h"

#include <array>
#include <set>
#include <utility>

#include <boost/json.hpp>

#include "gateway/text.h"

#include "gateway/json_span.h"

namespace agentgateway::gateway {
namespace {

namespace json = boost::json;
using v1::InputItem;
using v1::ItemType;

constexpr std::size_t kMaxDepth = 256;

constexpr std::array<std::pair<std::string_view, ItemType>, 6> kItemTypes = {{
    {"message", v1::ITEM_TYPE_MESSAGE},
    {"function_call", v1::ITEM_TYPE_FUNCTION_CALL},
    {"function_call_output", v1::ITEM_TYPE_FUNCTION_CALL_OUTPUT},
    {"reasoning", v1::ITEM_TYPE_REASONING},
    {"mcp_approval_request", v1::ITEM_TYPE_MCP_APPROVAL_REQUEST},
    {"mcp_approval_response", v1::ITEM_TYPE_MCP_APPROVAL_RESPONSE},
}};
constexpr std::array<std::string_view, 4> kRoles = {"user", "assistant", "system", "developer"};
constexpr std::array<std::string_view, 4> kPartTypes = {"input_text", "input_image",
                                                        "input_file", "output_text"};
// Top-level fields tolerated and carried in extra_json (protocol.md section 3).
constexpr std::array<std::string_view, 15> kExtraFields = {
    "tool_choice", "tools",  "max_output_tokens", "metadata", "parallel_tool_calls",
    "reasoning",   "store",  "temperature",       "text",     "top_p",
    "user",        "databricks_options", "background", "instructions", "trace_destination"};

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& set, std::string_view s) {
  for (std::string_view x : set) {
    if (x == s) return true;
  }
  return false;
}

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(message); }

std::string_view JSv(const json::string& s) { return {s.data(), s.size()}; }

// Reads an optional string member; false when present but not a string.
bool OptionalString(const json::object& obj, std::string_view key, std::string* out) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) return true;
  if (!v->is_string()) return false;
  *out = std::string(JSv(v->get_string()));
  return true;
}

absl::Status ParseWhole(std::string_view body, json::value* out) {
  json::parse_options options;
  options.max_depth = kMaxDepth;
  json::parser parser({}, options);
  json::error_code ec;
  std::size_t consumed = parser.write(body.data(), body.size(), ec);
  if (!ec) {
    *out = parser.release();
    return absl::OkStatus();
  }
  std::size_t pos = std::min(consumed, body.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < pos; ++i) {
    if (body[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return Invalid(Cat("malformed JSON at line ", line, ", column ", column, " (offset ",
                              pos, "): ", ec.message()));
}

absl::Status CheckContent(const json::object& item, const std::string& where) {
  const json::value* content = item.if_contains("content");
  if (content != nullptr && content->is_string()) return absl::OkStatus();
  if (content == nullptr || !content->is_array()) {
    return Invalid(Cat(where, ": message \"content\" must be a string or an array of "
                                       "content parts"));
  }
  const json::array& parts = content->get_array();
  for (std::size_t j = 0; j < parts.size(); ++j) {
    std::string part_where = Cat(where, ".content[", j, "]");
    if (!parts[j].is_object()) return Invalid(Cat(part_where, " must be a JSON object"));
    const json::value* type = parts[j].get_object().if_contains("type");
    if (type == nullptr || !type->is_string()) {
      return Invalid(Cat(part_where, ": content part needs a string \"type\""));
    }
    if (!Contains(kPartTypes, JSv(type->get_string()))) {
      return Invalid(Cat(part_where, ": unknown content part type \"",
                                  JSv(type->get_string()),
                                  "\"; allowed: ", Join(kPartTypes, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRequiredStrings(const json::object& obj, const std::string& where,
                                  std::string_view kind,
                                  std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    const json::value* v = obj.if_contains(key);
    if (v == nullptr || !v->is_string()) {
      return Invalid(Cat(where, ": ", kind, " requires a string \"", key, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ItemType> ItemTypeOf(const json::object& obj, const std::string& where) {
  const json::value* type = obj.if_contains("type");
  if (type == nullptr) {
    if (obj.contains("role")) return v1::ITEM_TYPE_MESSAGE;  // Responses API shorthand
    return Invalid(Cat(where, ": item has no \"type\" (and no \"role\")"));
  }
  if (!type->is_string()) return Invalid(Cat(where, ": \"type\" must be a string"));
  for (const auto& [name, value] : kItemTypes) {
    if (name == JSv(type->get_string())) return value;
  }
  std::vector<std::string_view> allowed;
  for (const auto& entry : kItemTypes) allowed.push_back(entry.first);
  return Invalid(Cat(where, ": unknown item type \"", JSv(type->get_string()),
                              "\"; allowed: ", Join(allowed, ", ")));
}

absl::Status FillItem(const json::value& value, std::string_view raw, std::size_t index,
                      InputItem* item) {
  std::string where = Cat("input[", index, "]");
  if (!value.is_object()) return Invalid(Cat(where, " must be a JSON object"));
  const json::object& obj = value.get_object();
  auto type = ItemTypeOf(obj, where);
  if (!type.ok()) return type.status();
  item->set_type(*type);
  item->set_json(std::string(raw));
  std::string scratch;
  if (OptionalString(obj, "id", &scratch)) item->set_id(scratch);
  scratch.clear();
  if (OptionalString(obj, "call_id", &scratch)) item->set_call_id(scratch);
  switch (*type) {
    case v1::ITEM_TYPE_MESSAGE: {
      const json::value* role = obj.if_contains("role");
      if (role == nullptr || !role->is_string() || !Contains(kRoles, JSv(role->get_string()))) {
        return Invalid(Cat(where, ": message \"role\" must be one of ",
                                    Join(kRoles, ", ")));
      }
      item->set_role(std::string(JSv(role->get_string())));
      return CheckContent(obj, where);
    }
    case v1::ITEM_TYPE_FUNCTION_CALL:
      return CheckRequiredStrings(obj, where, "function_call", {"call_id", "name", "arguments"});
    case v1::ITEM_TYPE_FUNCTION_CALL_OUTPUT:
      return CheckRequiredStrings(obj, where, "function_call_output", {"call_id", "output"});
    default:
      return absl::OkStatus();
  }
}

absl::Status FillInput(const json::value& value, std::string_view raw,
                       v1::InvokeRequest* request) {
  if (!value.is_array()) return Invalid("\"input\" must be an array of items");
  const json::array& items = value.get_array();
  if (items.empty()) return Invalid("\"input\" must not be empty");
  auto spans = json_span::ArrayElements(raw);
  if (!spans.ok() || spans->size() != items.size()) {
    return absl::InternalError("could not locate the input items in the body");
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    absl::Status s = FillItem(items[i], (*spans)[i], i, request->add_input());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status FillContext(const json::value& value, std::string_view raw,
                         v1::InvokeRequest* request) {
  if (!value.is_object()) return Invalid("\"context\" must be a JSON object");
  v1::RequestContext* context = request->mutable_context();
  context->set_json(std::string(raw));
  std::string s;
  if (!OptionalString(value.get_object(), "conversation_id", &s)) {
    return Invalid("\"context.conversation_id\" must be a string");
  }
  context->set_conversation_id(s);
  s.clear();
  if (!OptionalString(value.get_object(), "user_id", &s)) {
    return Invalid("\"context.user_id\" must be a string");
  }
  context->set_user_id(s);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedInvocation> ParseInvocationBody(std::string_view body,
                                                     std::string_view profile) {
  json::value root;
  if (absl::Status s = ParseWhole(body, &root); !s.ok()) return s;
  if (!root.is_object()) return Invalid("request body must be a JSON object");
  auto members = json_span::ObjectMembers(body);
  if (!members.ok()) return absl::InternalError("could not scan the request body");

  ParsedInvocation out;
  out.request.set_profile(std::string(profile));
  // Duplicates first: the parsed object keeps the last duplicate while the spans start with
  // the first, so reading values before this check could pair a value with the wrong text.
  std::set<std::string> seen;
  for (const json_span::Member& m : *members) {
    if (!seen.insert(m.key).second) {
      return Invalid(Cat("duplicate top-level field \"", m.key, "\""));
    }
  }
  std::string extra;
  bool has_input = false;
  for (const json_span::Member& m : *members) {
    const json::value& value = root.get_object().at(m.key);
    absl::Status s;
    if (m.key == "input") {
      has_input = true;
      s = FillInput(value, m.value, &out.request);
    } else if (m.key == "stream") {
      if (!value.is_bool()) return Invalid("\"stream\" must be a boolean");
      out.stream = value.get_bool();
    } else if (m.key == "custom_inputs") {
      if (!value.is_object()) return Invalid("\"custom_inputs\" must be a JSON object");
      out.request.set_custom_inputs_json(std::string(m.value));
    } else if (m.key == "context") {
      s = FillContext(value, m.value, &out.request);
    } else if (m.key == "model") {
      if (!value.is_string()) return Invalid("\"model\" must be a string");
      out.request.set_model(std::string(JSv(value.get_string())));
    } else if (Contains(kExtraFields, m.key)) {
      if (m.key == "databricks_options" && value.is_object()) {
        const json::value* rt = value.get_object().if_contains("return_trace");
        out.return_trace = rt != nullptr && rt->is_bool() && rt->get_bool();
      }
      Append(&extra, extra.empty() ? "{" : ",", json_span::Quote(m.key), ":", m.value);
    } else {
      return Invalid(Cat("unknown top-level field \"", m.key, "\""));
    }
    if (!s.ok()) return s;
  }
  if (!has_input) return Invalid("\"input\" is required");
  if (!extra.empty()) out.request.set_extra_json(extra + "}");
  return out;
}

namespace {

std::string ItemJson(const InputItem& item) {
  if (!item.json().empty()) return item.json();
  std::string_view role = item.role().empty() ? std::string_view("user") : item.role();
  return Cat("{\"type\":\"message\",\"role\":", json_span::Quote(role),
                      ",\"content\":", json_span::Quote(item.text()), "}");
}

std::string ContextJson(const v1::RequestContext& context) {
  if (!context.json().empty()) return context.json();
  std::string out = "{";
  if (!context.conversation_id().empty()) {
    Append(&out, "\"conversation_id\":", json_span::Quote(context.conversation_id()));
  }
  if (!context.user_id().empty()) {
    Append(&out, out.size() > 1 ? "," : "", "\"user_id\":",
                    json_span::Quote(context.user_id()));
  }
  return out + "}";
}

}  // namespace

std::string InvokeRequestToJson(const v1::InvokeRequest& request, bool stream) {
  std::string out = "{\"input\":[";
  for (int i = 0; i < request.input_size(); ++i) {
    Append(&out, i == 0 ? "" : ",", ItemJson(request.input(i)));
  }
  out += "]";
  if (!request.custom_inputs_json().empty()) {
    Append(&out, ",\"custom_inputs\":", request.custom_inputs_json());
  }
  if (request.has_context()) Append(&out, ",\"context\":", ContextJson(request.context()));
  if (!request.model().empty()) Append(&out, ",\"model\":", json_span::Quote(request.model()));
  if (!request.extra_json().empty()) {
    auto extra = json_span::ObjectMembers(request.extra_json());
    if (extra.ok()) {
      for (const json_span::Member& m : *extra) {
        Append(&out, ",", json_span::Quote(m.key), ":", m.value);
      }
    }
  }
  Append(&out, ",\"stream\":", stream ? "true" : "false", "}");
  return out;
}

std::string AddCustomOutputs(std::string_view response_json,
                             std::string_view custom_outputs_json) {
  std::size_t open = json_span::SkipWhitespace(response_json, 0);
  if (open >= response_json.size() || response_json[open] != '{' ||
      json_span::HasTopLevelKey(response_json, "custom_outputs") ||
      !json_span::ObjectMembers(response_json).ok()) {
    return std::string(response_json);
  }
  std::string_view value = custom_outputs_json.empty() ? std::string_view("{}") : custom_outputs_json;
  bool empty_object = json_span::SkipWhitespace(response_json, open + 1) < response_json.size() &&
                      response_json[json_span::SkipWhitespace(response_json, open + 1)] == '}';
  return Cat(response_json.substr(0, open + 1), "\"custom_outputs\":", value,
                      empty_object ? "" : ",", response_json.substr(open + 1));
}

std::string AddTraceId(std::string_view response_json, std::string_view trace_id) {
  auto members = json_span::ObjectMembers(response_json);
  if (!members.ok()) return std::string(response_json);
  const std::string member = Cat("\"trace_id\":", json_span::Quote(trace_id));
  for (const json_span::Member& m : *members) {
    if (m.key != "metadata") continue;
    const std::size_t at = static_cast<std::size_t>(m.value.data() - response_json.data());
    if (m.value.empty() || m.value.front() != '{') {  // null (or not an object): replace it
      return Cat(response_json.substr(0, at), "{", member, "}",
                 response_json.substr(at + m.value.size()));
    }
    auto inner = json_span::ObjectMembers(m.value);
    if (!inner.ok()) return std::string(response_json);
    for (const json_span::Member& im : *inner) {
      if (im.key == "trace_id") return std::string(response_json);  // upstream set one
    }
    return Cat(response_json.substr(0, at + 1), member, inner->empty() ? "" : ",",
               response_json.substr(at + 1));
  }
  std::size_t open = json_span::SkipWhitespace(response_json, 0);
  return Cat(response_json.substr(0, open + 1), "\"metadata\":{", member, "}",
             members->empty() ? "" : ",", response_json.substr(open + 1));
}

}  // namespace agentgateway::gateway
