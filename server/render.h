// Deployment files derived from the gateway's own configuration, so they cannot drift from it:
// the Databricks App's app.yaml (how the platform starts the gateway) and the bundle
// databricks.yml (the app's resource grants and user authorization scopes).
//
// Pure functions of a parsed Config plus a few layout options, and one helper that reads a
// config file and writes the files. `agent-gateway render databricks-app` calls the helper;
// tests/deploy renders deploy/examples/gateway.yaml again and compares with the committed
// deploy/databricks-app/ byte for byte. Items marked (unconfirmed) follow public examples of
// the Databricks bundle schema rather than a reference; they are options or comments here.
#ifndef AGENTGATEWAY_SERVER_RENDER_H_
#define AGENTGATEWAY_SERVER_RENDER_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/config.h"

namespace agentgateway::render {

struct DatabricksAppOptions {
  // The Databricks App's name: lowercase letters, digits and hyphens.
  std::string app_name = "agent-gateway";
  // Paths inside the app's source folder (the folder holding app.yaml).
  std::string binary = "bin/agent-gateway";
  std::string config_file = "gateway.yaml";
  // Shared libraries shipped next to the binary, put on LD_LIBRARY_PATH; empty: not set.
  std::string library_dir = "lib";
  // The REST door. The Apps platform gives the port in DATABRICKS_APP_PORT and substitutes it
  // in `command` (unconfirmed syntax: $DATABRICKS_APP_PORT).
  std::string http_listen = "0.0.0.0:$DATABRICKS_APP_PORT";
  std::string log_level = "info";  // AGENT_GATEWAY_LOG_LEVEL
  // knowledge_assistant_id -> the name of its serving endpoint (the assistant's endpoint_name).
  // An id not listed becomes a bundle variable the deployer sets per target.
  std::map<std::string, std::string> knowledge_assistant_endpoints;
};

// app.yaml: the command line (binary, --config, --http-listen) and environment.
// FAILED_PRECONDITION when the config cannot run as a Databricks App (see RenderBundleYaml).
absl::StatusOr<std::string> RenderAppYaml(const Config& config,
                                          const DatabricksAppOptions& options);

// databricks.yml: one app whose `resources` grant its service principal what the `auth: app`
// profiles use (CAN_QUERY on each model endpoint; per tool: genie_space CAN_RUN, uc_function
// EXECUTE, knowledge_assistant CAN_QUERY on its endpoint, uc_connection USE_CONNECTION, app
// CAN_USE), and whose `user_api_scopes` are identity.user_api_scopes, which must cover every
// `auth: user` profile (ai-gateway plus each tool type's scope; the start-up check's rule).
// INVALID_ARGUMENT for a bad app name; FAILED_PRECONDITION when a user profile is not covered,
// when user profiles exist but identity.trusted_proxy is false (the Apps proxy forwards the
// user's token), or when the REST door has TLS (the Apps proxy speaks plain HTTP to the app).
absl::StatusOr<std::string> RenderBundleYaml(const Config& config,
                                             const DatabricksAppOptions& options);

struct DatabricksAppFiles {
  std::string app_yaml;
  std::string databricks_yml;
  std::string gateway_yaml;  // the config text itself, which app.yaml's command reads
};

// Parses `config_text` (errors name `source`) and renders the three files.
absl::StatusOr<DatabricksAppFiles> RenderDatabricksApp(std::string_view config_text,
                                                       std::string_view source,
                                                       const DatabricksAppOptions& options);

// Reads `config_path`, renders, and writes app.yaml, databricks.yml and gateway.yaml into
// `out_dir` (which must exist). NOT_FOUND / PERMISSION_DENIED-style errors name the file.
absl::Status WriteDatabricksApp(const std::string& config_path, const std::string& out_dir,
                                const DatabricksAppOptions& options = {});

}  // namespace agentgateway::render

#endif  // AGENTGATEWAY_SERVER_RENDER_H_
