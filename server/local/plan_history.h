// PlanHistory: turns a request's input items (Responses items, checked by the request
// builder) into the Chat messages of a LocalEngine::Plan, in order.
//
// * `message` items become messages (text parts only; other parts are refused, not dropped);
//   `reasoning` items are left out (Chat has no place for them).
// * `function_call` items become assistant tool calls (consecutive ones: one assistant turn),
//   `function_call_output` items tool messages.
// * MCP approvals: an `mcp_approval_request` is kept aside until its `mcp_approval_response`,
//   which adds the call (id = the request's id) and its tool message. Denied: the message
//   says the tool was not run. Approved: the call goes to Plan::approved for the run to make,
//   unless a `function_call_output` for it follows (it ran in an earlier round; its output
//   is then the message and its `function_call` item is not repeated). A request with no
//   response yet is not part of the history: the model never saw the call happen.
//
// Used by one MakePlan on one thread.
#ifndef AGENTGATEWAY_SERVER_LOCAL_PLAN_HISTORY_H_
#define AGENTGATEWAY_SERVER_LOCAL_PLAN_HISTORY_H_

#include <cstddef>
#include <map>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "boost/json/object.hpp"
#include "server/local/local_plan.h"

namespace agentgateway::local {

class PlanHistory {
 public:
  explicit PlanHistory(LocalEngine::Plan& plan) : plan_(plan) {}

  // INVALID_ARGUMENT (naming input[index]) for an item the loop cannot express.
  absl::Status Add(const boost::json::object& item, std::size_t index);
  // Drops the approved calls whose output the input already held.
  void Finish();

 private:
  struct Request {
    std::string server_label;
    std::string tool;
    std::string arguments;
  };

  void AddCall(ToolCall call);
  void OnApprovalResponse(const boost::json::object& item);
  // The tool message of call `id` (the last one), or nullptr.
  ChatMessage* ToolMessage(const std::string& id);

  LocalEngine::Plan& plan_;
  std::map<std::string, Request> requests_;  // by approval request id
  std::set<std::string> answered_;           // approval requests in the history
  std::set<std::string> ran_;                // approved calls whose output came in the input
};

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_PLAN_HISTORY_H_
