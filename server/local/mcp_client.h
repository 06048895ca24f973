// McpClient: the local engine's client of MCP servers over the Streamable HTTP transport
// (protocol 2025-06-18): the hosted tools' managed servers (Genie, UC functions, external
// connections) and Apps' /mcp servers.
//
// Per (server URL, identity) it keeps one session: `initialize` (remembering the
// Mcp-Session-Id answer header, sent on every later request with MCP-Protocol-Version), then
// `notifications/initialized`. A 404 to a request carrying a session id means the session
// expired: the client re-initializes once and retries. `tools/list` (all pages) is cached per
// server URL and identity. Tokens are never kept as map keys: the identity's key is the
// caller's identity string, or a SHA-256 fingerprint of the token.
//
// Thread-safe: the session table and tool cache are guarded by one mutex. Asynchronous:
// callbacks run once, on a pool thread, and must not block. A tool call can be cancelled
// through the handle CallTool returns. The HttpPool is not owned and must outlive the client
// and every call.
#ifndef AGENTGATEWAY_SERVER_LOCAL_MCP_CLIENT_H_
#define AGENTGATEWAY_SERVER_LOCAL_MCP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::local {

inline constexpr char kMcpProtocolVersion[] = "2025-06-18";

// Who a call runs as: the bearer token (app token or the user's forwarded token) and a stable
// key for it ("app", "user:alice@example.com"). An empty key: a fingerprint of the token.
struct McpIdentity {
  std::string bearer_token;  // empty: calls carry no Authorization (Anonymous())
  std::string key;
  // For a server outside the workspace: no token is sent, and all such calls share sessions.
  static McpIdentity Anonymous() { return McpIdentity{"", kAnonymousKey}; }
  bool anonymous() const { return bearer_token.empty() && key == kAnonymousKey; }
  static constexpr char kAnonymousKey[] = "anonymous";
};

struct McpTool {
  std::string name;
  std::string description;
  std::string input_schema_json;  // the tool's inputSchema as JSON text ("{}" when absent)
};

// What a tool call gives the loop: `text` is always what to feed back to the model as the
// tool's output (the result's text, or a sentence naming the failure and keeping its message).
struct ToolOutcome {
  std::string text;
  bool is_error = false;               // the tool failed (isError, JSON-RPC error, transport)
  std::optional<int64_t> rpc_error;    // the JSON-RPC error code, when the server sent one
  absl::Status status;                 // transport / HTTP level failure; OK otherwise
};

struct McpClientOptions {
  std::string client_name = "agent-gateway";
  std::string client_version = "0.1.0";
  std::chrono::milliseconds call_timeout{120'000};  // default per call (init included)
};

// Handle to one CallTool in flight. Thread-safe; may outlive the call and the client.
class McpCallHandle {
 public:
  virtual ~McpCallHandle() = default;
  // Ends the call unless its outcome was already delivered: the tools/call exchange in flight
  // is closed (its connection never goes back to the pool, so the server sees the client
  // leave), a call still waiting for its session never sends it, and `done` runs once, posted,
  // with a CANCELLED outcome. A session set-up shared with other calls is left to finish.
  // Idempotent.
  virtual void Cancel() = 0;
};

class McpClient {
 public:
  using ToolsCallback = std::function<void(absl::StatusOr<std::vector<McpTool>>)>;
  using OutcomeCallback = std::function<void(ToolOutcome)>;

  static absl::StatusOr<std::unique_ptr<McpClient>> Create(upstream::HttpPool* pool,
                                                           McpClientOptions options = {});
  ~McpClient();

  // The server's tools, from the cache when this server and identity listed them before.
  // Errors: INVALID_ARGUMENT (bad URL, no token), the HTTP error's status (401, 403
  // PERMISSION_DENIED with the server's message, 404, ...), UNAVAILABLE, DEADLINE_EXCEEDED,
  // or the JSON-RPC error as UNAVAILABLE/INVALID_ARGUMENT with its message.
  void ListTools(const std::string& server_url, const McpIdentity& identity, ToolsCallback done);

  // Calls one tool; `arguments_json` is a JSON object as text (empty: {}). Never fails
  // silently: every failure becomes an outcome with is_error and a text naming it.
  // `timeout` bounds the whole call, session set-up included (default: options). The handle
  // cancels the call (McpCallHandle::Cancel).
  std::shared_ptr<McpCallHandle> CallTool(
      const std::string& server_url, const McpIdentity& identity, const std::string& tool,
      const std::string& arguments_json, OutcomeCallback done,
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Forgets the cached tool lists (all servers and identities).
  void ClearToolCache();

  // The key the session table and cache use for `identity` (exposed for tests).
  static std::string IdentityKey(const McpIdentity& identity);

  struct Shared;  // the state calls in flight keep alive; defined in mcp_client.cc

 private:
  explicit McpClient(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

// The outcome of a tool call that failed below the tool (transport, HTTP, refused before
// sending): is_error, `status`, and a text naming the tool, the code and the message.
ToolOutcome ToolFailure(std::string_view tool, const absl::Status& status);

// The text a tools/call result gives the model: `content` text parts joined by newlines,
// other parts summarised ("[image: image/png]", "[resource: uri]"), structuredContent when
// there is no content. Exposed for tests.
std::string ToolResultText(const std::string& result_json, bool* is_error);

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_MCP_CLIENT_H_
