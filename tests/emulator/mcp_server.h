// The emulated Databricks managed MCP servers (Genie spaces, Unity Catalog functions, external
// connections): which server a path names, the tools it offers and what a tool call answers,
// plus the table of MCP sessions. The JSON-RPC transport is in mcp_route.cc.
//
// Plain functions with no I/O. McpSessionTable is shared by every HTTP session of one Emulator
// (owned by the Router) and guarded by its own mutex.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_MCP_SERVER_H_
#define AGENTGATEWAY_TESTS_EMULATOR_MCP_SERVER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "boost/json/object.hpp"

namespace agentgateway::emulator {

inline constexpr std::string_view kMcpPrefix = "/api/2.0/mcp/";
inline constexpr std::string_view kMcpProtocolVersion = "2025-06-18";

struct McpTool {
  std::string name;
  std::string description;
  boost::json::object input_schema;
};

struct McpServerSpec {
  std::string kind;   // "genie", "functions" (a schema), "function" (one function), "external"
  std::string key;    // the path after /api/2.0/mcp/; a session belongs to one server
  std::string label;  // "Genie space 01ab", "UC functions main.tools", ...
  std::string scope;  // what a user token needs (or `alternative_scope`)
  std::string alternative_scope;
  bool sse_default = false;  // answers as SSE when the client accepts it (Genie)
  std::vector<McpTool> tools;
};

// NOT_FOUND (with a Databricks-style message) when the path names no emulated server: an
// unknown kind, a wrong number of segments, a bad character, or a name starting with
// "missing" (how tests ask for a space, function or connection that does not exist).
absl::StatusOr<McpServerSpec> ResolveMcpServer(std::string_view path);

struct McpToolResult {
  std::string text;
  bool is_error = false;
};

// The answer of `tool` (one of `server.tools`): a sentence naming the server, the tool, the
// arguments and who ran it; isError when the arguments hold "[[tool-error]]".
McpToolResult RunMcpTool(const McpServerSpec& server, std::string_view tool,
                         std::string_view arguments_json, std::string_view identity);

struct McpSession {
  std::string server_key;
  std::string identity;
  std::string protocol_version;
};

class McpSessionTable {
 public:
  static constexpr std::size_t kMaxSessions = 100'000;

  // A new session id (visible ASCII, as the spec requires).
  std::string Create(McpSession session) ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<McpSession> Find(std::string_view id) const ABSL_LOCKS_EXCLUDED(mu_);
  bool Erase(std::string_view id) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 1;
  std::unordered_map<std::string, McpSession> sessions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_MCP_SERVER_H_
