#include "server/request_builder.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/json_text.h"

namespace agentgateway {
namespace {

namespace json = boost::json;

const std::map<std::string, v1::ItemType, std::less<>>& ItemTypes() {
  static const std::map<std::string, v1::ItemType, std::less<>> kTypes = {
      {"message", v1::ITEM_TYPE_MESSAGE},
      {"function_call", v1::ITEM_TYPE_FUNCTION_CALL},
      {"function_call_output", v1::ITEM_TYPE_FUNCTION_CALL_OUTPUT},
      {"reasoning", v1::ITEM_TYPE_REASONING},
      {"mcp_approval_request", v1::ITEM_TYPE_MCP_APPROVAL_REQUEST},
      {"mcp_approval_response", v1::ITEM_TYPE_MCP_APPROVAL_RESPONSE},
  };
  return kTypes;
}

constexpr std::string_view kRoles[] = {"user", "assistant", "system", "developer"};

bool IsRole(std::string_view role) {
  return std::find(std::begin(kRoles), std::end(kRoles), role) != std::end(kRoles);
}

// Top-level fields the gateway itself consumes; never sent upstream.
bool IsGatewayOwned(std::string_view key) {
  return key == "custom_inputs" || key == "context" || key == "databricks_options" ||
         key == "stream" || key == "model";
}

bool IsEmptyValue(std::string_view raw) {
  return raw == "null" || raw == "[]" || raw == "\"\"" || raw == "{}";
}

constexpr std::string_view kIdFields[] = {"id", "call_id", "approval_request_id"};
constexpr std::string_view kOutputOnlyFields[] = {"status", "namespace"};

// Whether the replayed item must be rewritten before it goes upstream.
bool NeedsHygiene(const json::object& obj) {
  for (std::string_view key : kOutputOnlyFields) {
    if (obj.contains(key)) return true;
  }
  for (std::string_view key : kIdFields) {
    const json::value* v = obj.if_contains(key);
    if (v != nullptr && v->is_string() && v->as_string().size() > kMaxUpstreamIdLength) return true;
  }
  return false;
}

std::string_view StringMember(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

}  // namespace

absl::Status HistoryCheck::Add(std::string_view item_json) {
  // Most items are messages: skip the parse when no type of interest can be in the text.
  if (item_json.find("function_call") == std::string_view::npos &&
      item_json.find("mcp_approval_") == std::string_view::npos) {
    return absl::OkStatus();
  }
  boost::system::error_code ec;
  json::value v = json::parse(item_json, ec);
  if (ec || !v.is_object()) return absl::OkStatus();  // ItemJson already vouched for it
  const json::object& item = v.as_object();
  std::string_view type = StringMember(item, "type");
  if (type == "function_call") {
    std::string call_id(StringMember(item, "call_id"));
    if (calls_.emplace(call_id, false).second) order_.push_back(call_id);
  } else if (type == "function_call_output") {
    std::string_view call_id = StringMember(item, "call_id");
    auto it = calls_.find(call_id);
    if (it == calls_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "No tool call found for function call output with call_id '", std::string(call_id),
          "'"));
    }
    it->second = true;
  } else if (type == "mcp_approval_request") {
    approval_requests_.emplace(StringMember(item, "id"));
  } else if (type == "mcp_approval_response") {
    std::string_view id = StringMember(item, "approval_request_id");
    if (!approval_requests_.contains(id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "No MCP approval request found for approval_request_id '", std::string(id),
          "': an mcp_approval_response must follow the mcp_approval_request it answers"));
    }
  }
  return absl::OkStatus();
}

absl::Status HistoryCheck::Finish() const {
  for (const std::string& call_id : order_) {
    if (!calls_.at(call_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("No tool output found for function call ", call_id, "."));
    }
  }
  return absl::OkStatus();
}

std::string UpstreamId(std::string_view id) {
  if (id.size() <= kMaxUpstreamIdLength) return std::string(id);
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a 64: stable everywhere, no state
  for (unsigned char c : id) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(id.substr(0, kMaxUpstreamIdLength - 17));
  out.push_back('_');
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHex[(hash >> shift) & 0xF]);
  return out;
}

const std::vector<std::string> kDefaultPassThrough = {
    "temperature", "top_p", "max_output_tokens", "tool_choice", "parallel_tool_calls",
    "text",        "reasoning", "metadata",      "store",       "user",
    "background"};

absl::StatusOr<std::string> ItemJson(const v1::InputItem& item, int index) {
  std::string where = absl::StrCat("input[", index, "]");
  if (item.json().empty()) {
    if (item.type() != v1::ITEM_TYPE_MESSAGE && item.type() != v1::ITEM_TYPE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": `json` is empty; only plain text messages may omit it (set role and text)"));
    }
    if (!IsRole(item.role())) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": role '", item.role(), "' is not one of user, assistant, system, developer"));
    }
    return absl::StrCat(R"({"type":"message","role":)", JsonQuote(item.role()),
                        R"(,"content":)", JsonQuote(item.text()), "}");
  }
  boost::system::error_code ec;
  json::value v = json::parse(item.json(), ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat(where, ": malformed JSON: ", ec.message()));
  if (!v.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, ": must be a JSON object"));
  const json::object& obj = v.as_object();
  std::string type = "message";
  if (const json::value* t = obj.if_contains("type")) {
    if (!t->is_string()) return absl::InvalidArgumentError(absl::StrCat(where, ".type: must be a string"));
    type = std::string(t->as_string());
  } else if (!obj.contains("role")) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": missing `type`"));
  }
  auto it = ItemTypes().find(type);
  if (it == ItemTypes().end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": unknown item type '", type,
        "'; expected one of message, function_call, function_call_output, reasoning, "
        "mcp_approval_request, mcp_approval_response"));
  }
  if (item.type() != v1::ITEM_TYPE_UNSPECIFIED && item.type() != it->second) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": typed field `type` (",
                                                   v1::ItemType_Name(item.type()),
                                                   ") disagrees with the item JSON ('", type, "')"));
  }
  if (type == "message") {
    const json::value* role = obj.if_contains("role");
    if (!role || !role->is_string() || !IsRole(role->as_string())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".role: must be one of user, assistant, system, developer"));
    }
  }
  if (!NeedsHygiene(obj)) return item.json();
  json::object clean = std::move(v.as_object());
  for (std::string_view key : kOutputOnlyFields) clean.erase(key);
  for (std::string_view key : kIdFields) {
    if (json::value* id = clean.if_contains(key); id != nullptr && id->is_string()) {
      *id = UpstreamId(id->as_string());
    }
  }
  return json::serialize(clean);
}

absl::StatusOr<std::string> ChooseModel(const v1::InvokeRequest& request,
                                        const Profile& profile) {
  if (request.model().empty() || profile.allowed_models.empty() ||
      request.model() == profile.model) {
    return profile.model;
  }
  if (std::find(profile.allowed_models.begin(), profile.allowed_models.end(),
                request.model()) != profile.allowed_models.end()) {
    return request.model();
  }
  std::vector<std::string> allowed = {profile.model};
  for (const std::string& m : profile.allowed_models) {
    if (std::find(allowed.begin(), allowed.end(), m) == allowed.end()) allowed.push_back(m);
  }
  return absl::InvalidArgumentError(absl::StrCat("model '", request.model(),
                                                 "' is not allowed for profile '", profile.name,
                                                 "'; allowed: ", absl::StrJoin(allowed, ", ")));
}

absl::StatusOr<std::string> BuildUpstreamBody(const v1::InvokeRequest& request,
                                              const Profile& profile, bool stream) {
  if (request.input_size() == 0) {
    return absl::InvalidArgumentError("`input` must hold at least one item");
  }
  absl::StatusOr<std::string> model = ChooseModel(request, profile);
  if (!model.ok()) return model.status();

  std::string body;
  body.reserve(256 + request.ByteSizeLong() + profile.instructions.size());
  absl::StrAppend(&body, R"({"model":)", JsonQuote(*model), R"(,"input":[)");
  HistoryCheck history;
  for (int i = 0; i < request.input_size(); ++i) {
    absl::StatusOr<std::string> item = ItemJson(request.input(i), i);
    if (!item.ok()) return item.status();
    if (absl::Status s = history.Add(*item); !s.ok()) return s;
    if (i) body.push_back(',');
    body += *item;
  }
  if (absl::Status s = history.Finish(); !s.ok()) return s;
  body.push_back(']');
  if (!profile.instructions.empty()) {
    absl::StrAppend(&body, R"(,"instructions":)", JsonQuote(profile.instructions));
  }
  if (!profile.tools.empty()) {
    body += R"(,"tools":[)";
    for (std::size_t i = 0; i < profile.tools.size(); ++i) {
      if (i) body.push_back(',');
      body += profile.tools[i].json;
    }
    body.push_back(']');
  }
  if (!profile.trace_destination_json.empty()) {
    absl::StrAppend(&body, R"(,"trace_destination":)", profile.trace_destination_json);
  }

  if (!request.extra_json().empty()) {
    auto members = SplitJsonObject(request.extra_json());
    if (!members.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("extra_json: ", members.status().message()));
    }
    const std::vector<std::string>& allow =
        profile.pass_through.empty() ? kDefaultPassThrough : profile.pass_through;
    for (const JsonMember& m : *members) {
      if (IsGatewayOwned(m.key)) continue;
      // A drop-in request's agent (AgentFromRequest) was taken into the profile already.
      if (profile.agent_from_request &&
          (m.key == "tools" || m.key == "instructions" || m.key == "trace_destination")) {
        continue;
      }
      if (m.key == "tools" || m.key == "instructions") {
        if (IsEmptyValue(m.value)) continue;
        return absl::InvalidArgumentError(absl::StrCat(
            "`", m.key, "` is defined by the agent profile '", profile.name,
            "'; a request may not set it"));
      }
      if (std::find(allow.begin(), allow.end(), m.key) == allow.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field `", m.key, "` is not passed to the upstream by profile '", profile.name,
            "' (allowed: ", absl::StrJoin(allow, ", "), ")"));
      }
      if ((m.key == "temperature" || m.key == "top_p") && !profile.tools.empty()) {
        // A null is "not set" (OpenAI-style clients send unset parameters so); the upstream
        // refuses the key whatever its value, so it is dropped rather than sent.
        if (m.value == "null") continue;
        return absl::InvalidArgumentError(
            absl::StrCat("Parameter not supported when tools are provided: ", m.key));
      }
      if (m.key == "background" && stream && m.value == "true") {
        return absl::InvalidArgumentError("`background` cannot be combined with streaming");
      }
      absl::StrAppend(&body, ",", JsonQuote(m.key), ":", std::string(m.value));
    }
  }
  if (stream) body += R"(,"stream":true)";
  body.push_back('}');
  return body;
}

}  // namespace agentgateway
