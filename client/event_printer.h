// EventPrinter: turns the stream events of one answer into what agentctl shows, with no socket
// in sight (either front door feeds it the same (type, JSON) pairs).
//
//   human: the answer's text on `out` as each response.output_text.delta arrives (flushed per
//          delta); tool activity, approval requests and the policy's answers as one line each
//          on `err` (dimmed when `color`), from the items of response.output_item.done. An
//          approval request is shown when its round completes (response.completed, or the
//          end): by then the gateway's policy has answered it ("[approved by policy]") or it
//          is the caller's to answer ("[approval needed]", with the item to send back).
//   json:  every event's JSON on `out`, one per line, exactly as received (re-serialized only
//          when the text spans lines).
//
// Either way it keeps what the answer leaves to the caller: MCP approval requests nobody
// answered, and function calls with no output (a client-side function tool).
// Owned by one call; not thread-safe.
#ifndef AGENTGATEWAY_CLIENT_EVENT_PRINTER_H_
#define AGENTGATEWAY_CLIENT_EVENT_PRINTER_H_

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace agentgateway::client {

struct PrinterOptions {
  bool json = false;   // raw events, one JSON per line
  bool color = false;  // dim the tool lines (ANSI); for a terminal only
};

class EventPrinter {
 public:
  EventPrinter(std::ostream& out, std::ostream& err, PrinterOptions options);

  // One event. `type` may be empty: it is then read from the JSON's `type` member.
  void OnEvent(std::string_view type, std::string_view json);
  // The stream ended (cleanly or not): ends the answer's last line.
  void Finish();

  // Approval requests / function calls the answer left open, in arrival order.
  const std::vector<std::string>& pending_approvals() const { return pending_approvals_; }
  const std::vector<std::string>& pending_calls() const { return pending_calls_; }
  bool AwaitsCaller() const { return !pending_approvals_.empty() || !pending_calls_.empty(); }
  // One line for the user when AwaitsCaller(): what is open and what to send back.
  std::string AwaitingSummary() const;

 private:
  struct ApprovalRequest {
    std::string id;
    std::string label;      // server/tool
    std::string arguments;  // one line
    bool shown = false;
  };

  void OnItemDone(std::string_view item_json);
  void ShowOpenApprovals();
  void ToolLine(const std::string& text);
  void EndTextLine();

  std::ostream& out_;
  std::ostream& err_;
  PrinterOptions options_;
  bool at_line_start_ = true;            // of the answer's text on out_
  std::set<std::string> streamed_items_;  // message items whose text came as deltas
  std::map<std::string, std::string> call_names_;  // call_id -> function name
  std::vector<std::string> pending_approvals_;      // approval request ids
  std::vector<ApprovalRequest> approvals_;          // every request seen, in order
  std::vector<std::string> pending_calls_;          // call ids
};

// `text` on one line and at most `max_chars` long (an ellipsis marks a cut).
std::string OneLine(std::string_view text, std::size_t max_chars);

}  // namespace agentgateway::client

#endif  // AGENTGATEWAY_CLIENT_EVENT_PRINTER_H_
