// Gateway configuration: the upstream, and the agent profiles a request can select.
//
// Loaded once at start-up from YAML (see deploy/examples/gateway.yaml for every key) and then
// shared read-only (std::shared_ptr<const Config>). Plain data: no gRPC or Asio types.
#ifndef AGENTGATEWAY_SERVER_CONFIG_H_
#define AGENTGATEWAY_SERVER_CONFIG_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgateway {

// The five hosted tool types of protocol.md section 1, plus client-side `function` tools.
// `mcp`: any Streamable-HTTP MCP server, {"type":"mcp","mcp":{"server_url", "server_label"?,
// "require_approval"?: "always" | "never", "description"?}}; local engine only. Calls to it
// carry the workspace token only when it is on the workspace's own origin.
inline constexpr std::string_view kHostedToolTypes[] = {
    "genie_space", "uc_function", "knowledge_assistant", "uc_connection", "app", "mcp"};

struct ToolSpec {
  std::string type;  // genie_space | uc_function | knowledge_assistant | uc_connection | app | function
  std::string json;  // the tool's upstream JSON object text, e.g. {"type":"genie_space","genie_space":{...}}
};

// What the gateway answers, by itself, when the upstream asks for approval to call an MCP tool
// (`mcp_approval_request` items, for `uc_connection` and `app` tools). A rule names a server
// (the `server_label` of the request: the tool's `name` in the profile) and optionally one of
// its tools, written `server` or `server/tool`. Deny rules win over approve rules.
struct ApprovalRule {
  std::string server;
  std::string tool;  // empty: every tool of the server
  bool Matches(std::string_view server_label, std::string_view tool_name) const {
    return server == server_label && (tool.empty() || tool == tool_name);
  }
};

enum class ApprovalDecision { kAsk, kApprove, kDeny };

struct ApprovalPolicy {
  std::vector<ApprovalRule> approve;
  std::vector<ApprovalRule> deny;
  // Approval rounds the gateway answers in one call; the next one goes to the caller.
  int max_rounds = 8;

  bool empty() const { return approve.empty() && deny.empty(); }
  ApprovalDecision Decide(std::string_view server_label, std::string_view tool_name) const;
};

// Per-profile bounds, next to the process-wide ones in LimitsConfig.
struct ProfileLimits {
  std::size_t max_concurrent_calls = 0;  // this profile's calls at once; 0: only the global cap
  std::chrono::milliseconds timeout{0};  // a call's whole run, every round; 0: none
};

struct Profile {
  std::string name;
  std::string model;
  std::string instructions;
  std::string engine = "supervisor";
  std::string auth = "app";  // app | user
  std::vector<ToolSpec> tools;
  // Models a request may ask for instead of `model`. Empty: the request's `model` is ignored
  // (the Databricks chat front end sends its own endpoint name there; see protocol.md §3).
  std::vector<std::string> allowed_models;
  // Top-level request fields passed through to the upstream (explicit allow-list).
  std::vector<std::string> pass_through;
  // Databricks `trace_destination` object text, or empty.
  std::string trace_destination_json;
  // Client-side `function` tools next to hosted tools: refused at load unless allowed
  // (`mixed_tools: allow`), as the Supervisor API documents the mix as unsupported.
  bool allow_mixed_tools = false;
  ApprovalPolicy mcp_approvals;
  ProfileLimits limits;
  // The Supervisor API drop-in (POST /ai-gateway/mlflow/v1/responses): each request brings its
  // own agent (`model`, `instructions`, `tools`, `trace_destination`, checked like a profile's),
  // run on this profile's engine (local), identity, limits and approval policy. At most one
  // profile. Also set on the profile AgentFromRequest makes: the request's own `instructions`,
  // `tools` and `trace_destination` are then already in it, and not refused as overrides.
  bool agent_from_request = false;
};

struct UpstreamConfig {
  // Base URL just before `/responses`, e.g. https://host/ai-gateway/mlflow/v1. Empty: not
  // configured (main falls back to DATABRICKS_HOST, then to the local emulator).
  std::string base_url;
  std::string ca_file;  // empty: system trust store
  std::size_t max_connections = 64;          // requests in flight per origin
  std::size_t max_queued_requests = 1024;    // waiting for a connection; beyond: 429; 0: no cap
  std::size_t threads = 1;
  std::chrono::milliseconds connect_timeout{10'000};        // resolve + TCP, every address
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  std::chrono::milliseconds response_timeout{300'000};      // request sent -> response head
  std::chrono::milliseconds read_idle_timeout{600'000};     // between upstream bytes
  std::chrono::milliseconds call_timeout{30 * 60'000};      // overall backstop; 0: none
};

struct IdentityConfig {
  // Honour X-Forwarded-* headers (user token, user, email) only behind a trusted proxy such as
  // the Databricks Apps proxy. Unset in the file: true when DATABRICKS_APP_PORT is set.
  std::optional<bool> trusted_proxy;
  // The app's user-authorization scopes, as configured on the Databricks App.
  std::vector<std::string> user_api_scopes;
  // Overrides of the tool type -> scope alternatives table (defaults: protocol.md section 1).
  std::map<std::string, std::vector<std::string>> tool_scopes;
  // Scopes every user-mode request needs (default: ai-gateway). Empty: the default.
  std::vector<std::string> request_scopes;
};

// A listener's transport security. Both files set: TLS; client_ca_file too: mutual TLS.
struct ListenerTls {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  bool enabled() const { return !cert_file.empty(); }
};

struct ListenConfig {
  std::string http_address;  // HOST:PORT; empty: the command line / default
  std::string grpc_address;
  ListenerTls http_tls;
  ListenerTls grpc_tls;
  // SSE comment heartbeat after this much silence on a stream; 0 disables.
  std::chrono::milliseconds sse_heartbeat{15'000};
  // gRPC HTTP/2 keepalive pings to idle clients; 0 leaves gRPC's default (off).
  std::chrono::milliseconds grpc_keepalive{0};
};

struct LimitsConfig {
  std::size_t max_concurrent_calls = 1024;  // 0: no limit
  // On SIGTERM, how long calls in flight may run on before they are ended with an explicit
  // UNAVAILABLE error (0: at once).
  std::chrono::milliseconds drain_grace{20'000};
};

// The `local` engine (profiles with `engine: local`): the gateway runs the agent loop itself
// against an OpenAI-compatible model endpoint and the hosted tools' MCP servers.
struct LocalEngineConfig {
  // Chat Completions base (`/chat/completions` is appended). Empty: the upstream's origin +
  // `/serving-endpoints` (Databricks model serving on the same workspace).
  std::string model_base_url;
  // Where the hosted tools' MCP servers live. Empty: the upstream's origin.
  std::string workspace_url;
  int max_steps = 10;                               // model turns per request
  std::chrono::milliseconds tool_timeout{120'000};  // each tool call
  // `app` tools: the App's name -> its URL (https://<app>.databricksapps.com); `/mcp` is added.
  std::map<std::string, std::string> app_urls;
};

struct Config {
  std::string source;  // file name, or "<embedded default>"
  LimitsConfig limits;
  LocalEngineConfig local_engine;
  UpstreamConfig upstream;
  IdentityConfig identity;
  ListenConfig listen;
  std::string default_profile;
  std::map<std::string, Profile> profiles;
  // The profile with agent_from_request (the Supervisor API drop-in route), or empty.
  std::string dropin_profile;

  const Profile* FindProfile(std::string_view name) const;  // empty name: the default
};

// Base URL of the local emulator used when nothing else is configured.
inline constexpr std::string_view kEmulatorBaseUrl = "http://127.0.0.1:9000/ai-gateway/mlflow/v1";

// Parses YAML text. On failure INVALID_ARGUMENT whose message lists every problem, one per
// line, as "<source>: <key path>: <problem>".
absl::StatusOr<Config> ParseConfig(std::string_view yaml_text, std::string_view source);
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// The configuration used when no file is given: one profile "default" against the emulator.
Config EmbeddedDefaultConfig();

// The agent one request defines for a profile with agent_from_request: `base` with the
// request's model (else the profile's; within allowed_models when the profile lists any) and
// the `instructions` and `tools` of `extra_json` (the request body's other top-level fields),
// the tools checked as a config file's are. INVALID_ARGUMENT names every problem.
absl::StatusOr<Profile> AgentFromRequest(const Profile& base, std::string_view model,
                                         std::string_view extra_json);

// Turns DATABRICKS_HOST ("adb-1.azuredatabricks.net", with or without scheme, trailing
// slash tolerated) into the Supervisor API base URL https://host/ai-gateway/mlflow/v1.
std::string BaseUrlFromDatabricksHost(std::string_view host);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_CONFIG_H_
