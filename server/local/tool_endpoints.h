// Hosted tool -> endpoint mapping for the local engine (protocol.md section 5): a
// Supervisor-style hosted tool `{"type": T, T: {...}}` becomes the MCP server URL (or, for a
// knowledge assistant, the serving endpoint URL) the loop calls, the MCP tool name when the
// hosted tool names exactly one, and the user-auth scopes it needs.
//
// Pure functions over immutable config; no I/O.
#ifndef AGENTGATEWAY_SERVER_LOCAL_TOOL_ENDPOINTS_H_
#define AGENTGATEWAY_SERVER_LOCAL_TOOL_ENDPOINTS_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgateway::local {

enum class ToolEndpointKind {
  kMcp,              // a Streamable HTTP MCP server: use McpClient
  kServingEndpoint,  // a Responses-shaped serving endpoint (knowledge assistant): POST url
};

struct ToolEndpoint {
  std::string type;  // the hosted tool type ("genie_space", ..., "mcp")
  ToolEndpointKind kind = ToolEndpointKind::kMcp;
  std::string url;
  // The MCP tool to call when the hosted tool stands for one (uc_function: "c__s__f");
  // empty: the server's own tools (from tools/list) are offered to the model.
  std::string mcp_tool;
  // User authorization: allowed at all (apps are not), and the scopes, any one of which
  // suffices (empty: nothing beyond the request's own).
  bool user_auth_allowed = true;
  std::vector<std::string> user_scopes;
  std::string description;  // the hosted tool's own description, if any
  // kServingEndpoint: the endpoint's name (the knowledge assistant id), which the model sees
  // as the tool's name.
  std::string name;
  // MCP approval (protocol.md section 1): each call waits for an `mcp_approval_response`
  // first. `uc_connection` and `app` tools always ask, as the Supervisor API's do; a generic
  // `mcp` tool asks when its `require_approval` is "always". `server_label` names the server in
  // the approval request (and in a profile's mcp_approvals rules): the connection's or App's
  // name; for `mcp`, its `server_label`, else the URL's host.
  bool needs_approval = false;
  std::string server_label;
  // Whether calls carry the run's bearer token (the app's or the user's Databricks token).
  // Only servers of the workspace itself and the configured Apps get it: a generic `mcp`
  // server elsewhere is called without it, so no workspace token ever leaves for a third party.
  bool send_token = true;
  // The tool's own bound on each call (`timeout_ms` in its settings), else the engine's
  // tool_timeout applies.
  std::optional<std::chrono::milliseconds> timeout;
};

struct ToolEndpointConfig {
  // The workspace, "https://host" (a bare host gets https://; a trailing '/' is dropped).
  std::string host;
  // App name -> the App's base URL ("https://app-123.databricksapps.com"); "/mcp" is appended.
  std::map<std::string, std::string> app_urls;
  // Tool type -> user scopes (any one), replacing the defaults for that type.
  std::map<std::string, std::vector<std::string>> scope_overrides;
  // uc_function: per-function server `.../functions/{c}/{s}/{f}` (true) or the schema's server
  // `.../functions/{c}/{s}` (false); the tool to call is `c__s__f` either way.
  bool uc_function_server_per_function = true;
};

// INVALID_ARGUMENT for a tool that is not such an object, an unknown type, a missing or
// malformed key (e.g. a uc_function name that is not catalog.schema.function, a path-unsafe
// id), and for an `app` tool with no URL configured (naming the app and the setting).
absl::StatusOr<ToolEndpoint> ResolveHostedTool(std::string_view tool_json,
                                               const ToolEndpointConfig& config);

// The default user scopes of a tool type (protocol.md section 1); empty for unknown types.
std::vector<std::string> DefaultUserScopes(std::string_view type);

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_TOOL_ENDPOINTS_H_
