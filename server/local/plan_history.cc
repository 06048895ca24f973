#include "server/local/plan_history.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "server/local/json_fields.h"

namespace agentgateway::local {
namespace json = boost::json;
namespace {

// A JSON value as text: a string as is, anything else serialized ("" when absent).
std::string Text(const json::value* v) {
  if (v == nullptr) return "";
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

// A name the Chat API accepts for a past call (^[a-zA-Z0-9_-]{1,64}$): the MCP tool's name,
// other characters replaced.
std::string ChatName(std::string_view tool) {
  std::string name;
  for (char c : tool.substr(0, 64)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    name.push_back(ok ? c : '_');
  }
  return name.empty() ? "tool" : name;
}

// A message's text: a string, or its text parts joined. Other parts cannot go to a Chat model
// as text: refused rather than dropped.
absl::StatusOr<std::string> ContentText(const json::value* content, std::size_t index) {
  if (content == nullptr || content->is_null()) return std::string();
  if (content->is_string()) return std::string(content->as_string());
  if (!content->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("input[", index, "].content must be a string or an array of parts"));
  }
  std::string text;
  for (const json::value& part : content->as_array()) {
    const json::object* p = part.if_object();
    std::string type = p ? Str(*p, "type") : "";
    if (type != "input_text" && type != "output_text" && type != "text") {
      return absl::InvalidArgumentError(absl::StrCat(
          "input[", index, "]: content part type '", type,
          "' is not supported by the local engine (text parts only)"));
    }
    text += Str(*p, "text");
  }
  return text;
}

}  // namespace

absl::Status PlanHistory::Add(const json::object& item, std::size_t index) {
  std::vector<ChatMessage>& messages = plan_.messages;
  std::string type = Str(item, "type");
  if (type.empty() && item.contains("role")) type = "message";
  if (type == "message") {
    absl::StatusOr<std::string> text = ContentText(item.if_contains("content"), index);
    if (!text.ok()) return text.status();
    ChatMessage m;
    m.role = Str(item, "role");
    m.content = *std::move(text);
    messages.push_back(std::move(m));
  } else if (type == "function_call") {
    std::string id = Str(item, "call_id");
    if (answered_.contains(id)) return absl::OkStatus();  // an approved call: in already
    AddCall(ToolCall{std::move(id), Str(item, "name"), Str(item, "arguments")});
  } else if (type == "function_call_output") {
    std::string id = Str(item, "call_id");
    std::string output = Text(item.if_contains("output"));
    if (answered_.contains(id)) {
      // An approved call that ran in an earlier round: its output replaces the placeholder.
      if (ChatMessage* m = ToolMessage(id)) m->content = std::move(output);
      ran_.insert(std::move(id));
      return absl::OkStatus();
    }
    messages.push_back(ChatMessage::ToolResult(std::move(id), std::move(output)));
  } else if (type == "mcp_approval_request") {
    requests_[Str(item, "id")] = Request{Str(item, "server_label"), Str(item, "name"),
                                         Text(item.if_contains("arguments"))};
  } else if (type == "mcp_approval_response") {
    OnApprovalResponse(item);
  } else if (type == "reasoning") {
    // The model's private reasoning from an earlier turn: Chat Completions has no place for
    // it, and the model does not need it to continue.
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "input[", index, "]: item type '", type, "' is not supported by the local engine"));
  }
  return absl::OkStatus();
}

void PlanHistory::AddCall(ToolCall call) {
  std::vector<ChatMessage>& messages = plan_.messages;
  // Consecutive calls are one assistant turn: their results must follow it together.
  if (!messages.empty() && messages.back().role == "assistant" &&
      !messages.back().tool_calls.empty()) {
    messages.back().tool_calls.push_back(std::move(call));
  } else {
    messages.push_back(ChatMessage::Assistant(std::nullopt, {std::move(call)}));
  }
}

void PlanHistory::OnApprovalResponse(const json::object& item) {
  std::string id = Str(item, "approval_request_id");
  auto request = requests_.find(id);
  // The request builder refused a response without its request; a second answer is ignored.
  if (request == requests_.end() || !answered_.insert(id).second) return;
  const json::value* approve = item.if_contains("approve");
  const bool approved = approve != nullptr && approve->is_bool() && approve->get_bool();
  const Request& r = request->second;
  std::string arguments = r.arguments.empty() ? "{}" : r.arguments;
  // A call and its result make one closed turn, wherever the response comes in the input.
  plan_.messages.push_back(
      ChatMessage::Assistant(std::nullopt, {ToolCall{id, ChatName(r.tool), arguments}}));
  std::string text =
      approved ? "" : absl::StrCat("The tool ", r.tool, " was not run: the approval was denied.");
  plan_.messages.push_back(ChatMessage::ToolResult(id, std::move(text)));
  if (approved) plan_.approved.push_back(ApprovedCall{id, r.server_label, r.tool, arguments});
}

ChatMessage* PlanHistory::ToolMessage(const std::string& id) {
  for (auto it = plan_.messages.rbegin(); it != plan_.messages.rend(); ++it) {
    if (it->role == "tool" && it->tool_call_id == id) return &*it;
  }
  return nullptr;
}

void PlanHistory::Finish() {
  std::erase_if(plan_.approved,
                [this](const ApprovedCall& call) { return ran_.contains(call.request_id); });
}

}  // namespace agentgateway::local
