// LocalEngine::Plan: a request validated and translated for the loop (the instructions and
// the history as Chat messages, the client-side function tools, the hosted tools' endpoints,
// the Chat parameters the profile passes through). Built by LocalEngine::MakePlan
// (local_plan.cc); immutable once built and shared by the run.
#ifndef AGENTGATEWAY_SERVER_LOCAL_LOCAL_PLAN_H_
#define AGENTGATEWAY_SERVER_LOCAL_LOCAL_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/local/chat_wire.h"
#include "server/local/local_engine.h"
#include "server/local/tool_endpoints.h"

namespace agentgateway::local {

// An MCP tool call the caller approved (an `mcp_approval_response` with `approve: true`) that
// has not run yet: the run calls it before its first model turn. The history already holds
// the call and a tool message for it (tool_call_id = request_id) whose text the run fills in
// with the outcome.
struct ApprovedCall {
  std::string request_id;
  std::string server_label;
  std::string tool;       // the MCP tool's own name
  std::string arguments;  // a JSON object as text
};

struct LocalEngine::Plan {
  std::string model;
  std::vector<ChatMessage> messages;     // instructions + the history
  std::vector<ApprovedCall> approved;    // in input order
  std::vector<FunctionTool> functions;   // client-side function tools, offered as-is
  std::vector<ToolEndpoint> endpoints;   // hosted tools' servers and endpoints, in profile order
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  std::optional<bool> parallel_tool_calls;
};

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_LOCAL_PLAN_H_
