#include "client/event_printer.h"

#include <algorithm>
#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "client/json_fields.h"

namespace agentgateway::client {
namespace {

namespace json = boost::json;

constexpr std::size_t kArgumentsChars = 160;
constexpr std::size_t kOutputChars = 160;

// The text of every output_text part of a message item.
std::string MessageText(const json::object& item) {
  const json::value* content = item.if_contains("content");
  if (content == nullptr) return {};
  if (content->is_string()) return std::string(content->as_string());
  std::string text;
  if (!content->is_array()) return text;
  for (const json::value& part : content->as_array()) {
    if (part.is_object()) text += StringField(part.as_object(), "text");
  }
  return text;
}

}  // namespace

std::string OneLine(std::string_view text, std::size_t max_chars) {
  std::string line;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      space = !line.empty();
      continue;
    }
    if (space) line += ' ';
    space = false;
    line += c;
  }
  if (line.size() > max_chars) {
    std::size_t cut = max_chars;
    // Never split a UTF-8 sequence: back up to the start of a character.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line.resize(cut);
    line += "...";
  }
  return line;
}

EventPrinter::EventPrinter(std::ostream& out, std::ostream& err, PrinterOptions options)
    : out_(out), err_(err), options_(options) {}

void EventPrinter::OnEvent(std::string_view type, std::string_view text) {
  if (options_.json) {
    if (text.find_first_of("\r\n") == std::string_view::npos) {
      out_ << text << '\n';
    } else {
      boost::system::error_code ec;
      json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
      out_ << (ec ? OneLine(text, text.size()) : json::serialize(v)) << '\n';
    }
    out_.flush();
  }
  // Only these two event kinds matter beyond --json; others are not parsed at all.
  const bool delta = type == "response.output_text.delta";
  const bool item_done = type == "response.output_item.done";
  if (type == "response.completed") {
    ShowOpenApprovals();
    return;
  }
  if ((!type.empty() && !delta && !item_done) || (delta && options_.json)) return;
  json::object event = ParseObject(text);
  std::string event_type = type.empty() ? StringField(event, "type") : std::string(type);
  if (event_type == "response.output_text.delta") {
    if (options_.json) return;  // an untyped event that turned out to be a delta
    std::string piece = StringField(event, "delta");
    streamed_items_.insert(StringField(event, "item_id"));
    if (piece.empty()) return;
    out_ << piece;
    out_.flush();
    at_line_start_ = piece.back() == '\n';
  } else if (event_type == "response.output_item.done") {
    const json::value* item = event.if_contains("item");
    if (item != nullptr && item->is_object()) OnItemDone(json::serialize(*item));
  } else if (event_type == "response.completed") {
    ShowOpenApprovals();
  }
}

void EventPrinter::OnItemDone(std::string_view item_json) {
  json::object item = ParseObject(item_json);
  std::string type = StringField(item, "type");
  if (type.empty() && !StringField(item, "role").empty()) type = "message";
  const bool human = !options_.json;
  if (type == "message") {
    if (!human) return;
    if (!streamed_items_.contains(StringField(item, "id"))) {
      std::string text = MessageText(item);
      out_ << text;
      if (!text.empty()) at_line_start_ = text.back() == '\n';
    }
    EndTextLine();
  } else if (type == "function_call") {
    const std::string call_id = StringField(item, "call_id");
    const std::string name = StringField(item, "name");
    call_names_[call_id] = name;
    pending_calls_.push_back(call_id);
    if (human) {
      ToolLine(absl::StrCat("[tool] ", name, " ", OneLine(TextField(item, "arguments"), kArgumentsChars)));
    }
  } else if (type == "function_call_output") {
    const std::string call_id = StringField(item, "call_id");
    std::erase(pending_calls_, call_id);
    if (human) {
      auto name = call_names_.find(call_id);
      ToolLine(absl::StrCat("[tool] ", name != call_names_.end() ? name->second : call_id, " -> ",
                            OneLine(TextField(item, "output"), kOutputChars)));
    }
  } else if (type == "mcp_approval_request") {
    const std::string id = StringField(item, "id");
    pending_approvals_.push_back(id);
    approvals_.push_back(ApprovalRequest{
        id, absl::StrCat(StringField(item, "server_label"), "/", StringField(item, "name")),
        OneLine(TextField(item, "arguments"), kArgumentsChars)});
  } else if (type == "mcp_approval_response") {
    const std::string id = StringField(item, "approval_request_id");
    std::erase(pending_approvals_, id);
    auto request = std::find_if(approvals_.begin(), approvals_.end(),
                                [&](const ApprovalRequest& r) { return r.id == id; });
    if (request != approvals_.end()) request->shown = true;
    if (human) {
      const json::value* approve = item.if_contains("approve");
      const bool approved = approve != nullptr && approve->is_bool() && approve->as_bool();
      std::string reason = StringField(item, "reason");
      ToolLine(absl::StrCat(approved ? "[approved by policy] " : "[denied by policy] ",
                            request != approvals_.end()
                                ? absl::StrCat(request->label, " ", request->arguments)
                                : id,
                            reason.empty() ? "" : " (", OneLine(reason, kOutputChars),
                            reason.empty() ? "" : ")"));
    }
  } else if (type == "mcp_call") {
    if (human) {
      std::string error = TextField(item, "error");
      ToolLine(absl::StrCat("[tool] ", StringField(item, "server_label"), "/", StringField(item, "name"), " ",
                            OneLine(TextField(item, "arguments"), kArgumentsChars), " -> ",
                            OneLine(error.empty() ? TextField(item, "output") : "error: " + error,
                                    kOutputChars)));
    }
  }
}

void EventPrinter::ShowOpenApprovals() {
  for (ApprovalRequest& request : approvals_) {
    if (request.shown) continue;
    request.shown = true;
    if (options_.json) continue;
    ToolLine(absl::StrCat(
        "[approval needed] ", request.label, " ", request.arguments,
        " (answer with {\"type\":\"mcp_approval_response\",\"approval_request_id\":\"",
        request.id, "\",\"approve\":true})"));
  }
}

void EventPrinter::ToolLine(const std::string& text) {
  EndTextLine();
  if (options_.color) {
    err_ << "\x1b[2m" << text << "\x1b[0m\n";
  } else {
    err_ << text << '\n';
  }
  err_.flush();
}

void EventPrinter::EndTextLine() {
  if (at_line_start_) return;
  out_ << '\n';
  out_.flush();
  at_line_start_ = true;
}

void EventPrinter::Finish() {
  ShowOpenApprovals();
  if (!options_.json) EndTextLine();
}

std::string EventPrinter::AwaitingSummary() const {
  if (!AwaitsCaller()) return {};
  std::string line = "the answer awaits the caller:";
  if (!pending_approvals_.empty()) {
    absl::StrAppend(&line, " ", pending_approvals_.size(), " approval request",
                    pending_approvals_.size() == 1 ? "" : "s", " (",
                    pending_approvals_.front(), pending_approvals_.size() > 1 ? ", ..." : "",
                    "): continue the conversation with an mcp_approval_response for each");
  }
  if (!pending_calls_.empty()) {
    absl::StrAppend(&line, pending_approvals_.empty() ? " " : "; ", pending_calls_.size(),
                    " function call", pending_calls_.size() == 1 ? "" : "s", " (",
                    OneLine(pending_calls_.front(), 72), pending_calls_.size() > 1 ? ", ..." : "",
                    "): continue with a function_call_output for each");
  }
  return line;
}

}  // namespace agentgateway::client
