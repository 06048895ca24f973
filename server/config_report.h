// Twelve-factor configuration on top of the YAML file, and the report `--check-config` prints.
//
// Environment overrides (each wins over the file; command-line flags win over both):
//
//   AGENTGATEWAY_HTTP_ADDRESS, AGENTGATEWAY_GRPC_ADDRESS      listen.http / listen.grpc address
//   AGENTGATEWAY_HTTP_TLS_CERT, _KEY, _CLIENT_CA              listen.http TLS files
//   AGENTGATEWAY_GRPC_TLS_CERT, _KEY, _CLIENT_CA              listen.grpc TLS files
//   AGENTGATEWAY_SSE_HEARTBEAT_MS, AGENTGATEWAY_GRPC_KEEPALIVE_MS
//   AGENTGATEWAY_UPSTREAM_BASE_URL, AGENTGATEWAY_UPSTREAM_CA_FILE
//   AGENTGATEWAY_UPSTREAM_MAX_CONNECTIONS, AGENTGATEWAY_UPSTREAM_MAX_QUEUED_REQUESTS
//   AGENTGATEWAY_UPSTREAM_CALL_TIMEOUT_MS
//   AGENTGATEWAY_DEFAULT_PROFILE
//   AGENTGATEWAY_TRUSTED_PROXY                                true | false
//   AGENTGATEWAY_USER_API_SCOPES                              comma- or space-separated
//   AGENTGATEWAY_MAX_CONCURRENT_CALLS, AGENTGATEWAY_DRAIN_GRACE_MS
//
// Plus the Databricks ones read where they are used: DATABRICKS_HOST (the upstream when no base
// URL is set), DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET or DATABRICKS_TOKEN (the app's
// identity), DATABRICKS_APP_PORT (the REST port inside a Databricks App, and the default of
// identity.trusted_proxy). AGENTGATEWAY_CONFIG names the config file when --config is absent.
#ifndef AGENTGATEWAY_SERVER_CONFIG_REPORT_H_
#define AGENTGATEWAY_SERVER_CONFIG_REPORT_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/config.h"
#include "server/identity/scope_policy.h"

namespace agentgateway {

// Reads an environment variable ("" when unset); tests pass their own.
using EnvLookup = std::function<std::string(const char* name)>;
EnvLookup ProcessEnvironment();

// Applies the AGENTGATEWAY_* overrides that are set. `applied` receives their names. On a bad
// value: INVALID_ARGUMENT naming every bad variable and what it must be (nothing applied).
absl::Status ApplyEnvironment(const EnvLookup& env, Config* config,
                              std::vector<std::string>* applied = nullptr);

// The scope table of the config: the defaults with the config's overrides.
identity::ScopeTable ScopeTableFor(const Config& config);

// What --check-config prints: upstream, listeners, identity, limits, and each profile with its
// model, identity mode, tools (type, name, scope) and the scopes it needs, approval policy and
// limits. `env` decides what the report says about DATABRICKS_HOST and DATABRICKS_APP_PORT.
std::string ConfigReport(const Config& config, const EnvLookup& env,
                         const std::vector<std::string>& applied_overrides);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_CONFIG_REPORT_H_
