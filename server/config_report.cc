#include "server/config_report.h"

#include <cstdlib>
#include <optional>

#include <boost/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace agentgateway {
namespace {

namespace json = boost::json;

std::optional<long long> NonNegative(const std::string& text) {
  long long v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < 0) return std::nullopt;
  return v;
}

bool IsHostPort(const std::string& text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::optional<long long> port = NonNegative(text.substr(colon + 1));
  return port.has_value() && *port <= 65535;
}

std::string Duration(std::chrono::milliseconds ms) {
  if (ms.count() == 0) return "none";
  return absl::FormatDuration(absl::FromChrono(ms));
}

// The identifying name of a tool: its inner object's id or name, or a function's name.
std::string ToolName(const ToolSpec& tool) {
  boost::system::error_code ec;
  json::value v = json::parse(tool.json, ec);
  if (ec || !v.is_object()) return "?";
  const json::object& o = v.as_object();
  const json::object* where = &o;
  if (const json::value* inner = o.if_contains(tool.type); inner && inner->is_object()) {
    where = &inner->as_object();
  }
  for (const char* key : {"id", "name", "knowledge_assistant_id"}) {
    if (const json::value* n = where->if_contains(key); n && n->is_string()) {
      return std::string(n->as_string());
    }
  }
  return "?";
}

std::string Listener(const std::string& address, const ListenerTls& tls) {
  std::string mode = !tls.enabled() ? "plain" : tls.client_ca_file.empty() ? "TLS" : "mutual TLS";
  return absl::StrCat(address.empty() ? "(command line / default)" : address, ", ", mode);
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
}

absl::Status ApplyEnvironment(const EnvLookup& env, Config* config,
                              std::vector<std::string>* applied) {
  Config out = *config;
  std::vector<std::string> names;
  std::vector<std::string> problems;
  auto text = [&](const char* name, std::string* field) {
    std::string v = env(name);
    if (v.empty()) return;
    *field = v;
    names.push_back(name);
  };
  auto address = [&](const char* name, std::string* field) {
    std::string v = env(name);
    if (v.empty()) return;
    if (!IsHostPort(v)) {
      problems.push_back(absl::StrCat(name, ": '", v, "' must be HOST:PORT"));
      return;
    }
    *field = v;
    names.push_back(name);
  };
  auto count = [&](const char* name, std::size_t* field) {
    std::string v = env(name);
    if (v.empty()) return;
    std::optional<long long> n = NonNegative(v);
    if (!n.has_value()) {
      problems.push_back(absl::StrCat(name, ": '", v, "' must be a non-negative whole number"));
      return;
    }
    *field = static_cast<std::size_t>(*n);
    names.push_back(name);
  };
  auto millis = [&](const char* name, std::chrono::milliseconds* field) {
    std::string v = env(name);
    if (v.empty()) return;
    std::optional<long long> n = NonNegative(v);
    if (!n.has_value()) {
      problems.push_back(
          absl::StrCat(name, ": '", v, "' must be a non-negative number of milliseconds"));
      return;
    }
    *field = std::chrono::milliseconds(*n);
    names.push_back(name);
  };

  address("AGENTGATEWAY_HTTP_ADDRESS", &out.listen.http_address);
  address("AGENTGATEWAY_GRPC_ADDRESS", &out.listen.grpc_address);
  text("AGENTGATEWAY_HTTP_TLS_CERT", &out.listen.http_tls.cert_file);
  text("AGENTGATEWAY_HTTP_TLS_KEY", &out.listen.http_tls.key_file);
  text("AGENTGATEWAY_HTTP_TLS_CLIENT_CA", &out.listen.http_tls.client_ca_file);
  text("AGENTGATEWAY_GRPC_TLS_CERT", &out.listen.grpc_tls.cert_file);
  text("AGENTGATEWAY_GRPC_TLS_KEY", &out.listen.grpc_tls.key_file);
  text("AGENTGATEWAY_GRPC_TLS_CLIENT_CA", &out.listen.grpc_tls.client_ca_file);
  millis("AGENTGATEWAY_SSE_HEARTBEAT_MS", &out.listen.sse_heartbeat);
  millis("AGENTGATEWAY_GRPC_KEEPALIVE_MS", &out.listen.grpc_keepalive);
  text("AGENTGATEWAY_UPSTREAM_BASE_URL", &out.upstream.base_url);
  text("AGENTGATEWAY_UPSTREAM_CA_FILE", &out.upstream.ca_file);
  count("AGENTGATEWAY_UPSTREAM_MAX_CONNECTIONS", &out.upstream.max_connections);
  count("AGENTGATEWAY_UPSTREAM_MAX_QUEUED_REQUESTS", &out.upstream.max_queued_requests);
  millis("AGENTGATEWAY_UPSTREAM_CALL_TIMEOUT_MS", &out.upstream.call_timeout);
  count("AGENTGATEWAY_MAX_CONCURRENT_CALLS", &out.limits.max_concurrent_calls);
  millis("AGENTGATEWAY_DRAIN_GRACE_MS", &out.limits.drain_grace);

  if (std::string v = env("AGENTGATEWAY_DEFAULT_PROFILE"); !v.empty()) {
    if (!out.profiles.count(v)) {
      std::vector<std::string> known;
      for (const auto& [name, unused] : out.profiles) known.push_back(name);
      problems.push_back(absl::StrCat("AGENTGATEWAY_DEFAULT_PROFILE: no profile '", v,
                                      "' in the config (known: ", absl::StrJoin(known, ", "), ")"));
    } else {
      out.default_profile = v;
      names.push_back("AGENTGATEWAY_DEFAULT_PROFILE");
    }
  }
  if (std::string v = env("AGENTGATEWAY_TRUSTED_PROXY"); !v.empty()) {
    std::string lower = absl::AsciiStrToLower(v);
    if (lower == "true" || lower == "1" || lower == "yes") {
      out.identity.trusted_proxy = true;
      names.push_back("AGENTGATEWAY_TRUSTED_PROXY");
    } else if (lower == "false" || lower == "0" || lower == "no") {
      out.identity.trusted_proxy = false;
      names.push_back("AGENTGATEWAY_TRUSTED_PROXY");
    } else {
      problems.push_back(absl::StrCat("AGENTGATEWAY_TRUSTED_PROXY: '", v, "' must be true or false"));
    }
  }
  if (std::string v = env("AGENTGATEWAY_USER_API_SCOPES"); !v.empty()) {
    out.identity.user_api_scopes = absl::StrSplit(v, absl::ByAnyChar(", "), absl::SkipEmpty());
    names.push_back("AGENTGATEWAY_USER_API_SCOPES");
  }
  if (!out.upstream.base_url.empty() && out.upstream.base_url.rfind("http://", 0) != 0 &&
      out.upstream.base_url.rfind("https://", 0) != 0) {
    problems.push_back(absl::StrCat("AGENTGATEWAY_UPSTREAM_BASE_URL: '", out.upstream.base_url,
                                    "' must start with http:// or https://"));
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  }
  *config = std::move(out);
  if (applied != nullptr) *applied = std::move(names);
  return absl::OkStatus();
}

identity::ScopeTable ScopeTableFor(const Config& config) {
  identity::ScopeTable table = identity::ScopeTable::Defaults();
  for (const auto& [type, scopes] : config.identity.tool_scopes) table.tool_scopes[type] = scopes;
  if (!config.identity.request_scopes.empty()) table.request_scopes = config.identity.request_scopes;
  return table;
}

std::string ConfigReport(const Config& config, const EnvLookup& env,
                         const std::vector<std::string>& applied_overrides) {
  const identity::ScopeTable table = ScopeTableFor(config);
  std::string out = absl::StrCat("config ", config.source, "\n");
  if (!applied_overrides.empty()) {
    absl::StrAppend(&out, "  environment overrides: ", absl::StrJoin(applied_overrides, ", "), "\n");
  }

  const UpstreamConfig& up = config.upstream;
  std::string base = up.base_url;
  if (base.empty()) {
    std::string host = env("DATABRICKS_HOST");
    base = host.empty() ? absl::StrCat(std::string(kEmulatorBaseUrl), " (no base_url and no DATABRICKS_HOST: "
                                                          "the local emulator)")
                        : absl::StrCat(BaseUrlFromDatabricksHost(host), " (from DATABRICKS_HOST)");
  }
  absl::StrAppend(&out, "upstream\n  base URL: ", base, "\n  trust: ",
                  up.ca_file.empty() ? "system CA store" : up.ca_file, "\n  connections: ",
                  up.max_connections, " per origin, ", up.max_queued_requests,
                  " may wait (0: no cap)\n  timeouts: connect ", Duration(up.connect_timeout),
                  ", TLS handshake ", Duration(up.tls_handshake_timeout), ", first byte ",
                  Duration(up.response_timeout), ", idle ", Duration(up.read_idle_timeout),
                  ", whole call ", Duration(up.call_timeout), "\n");

  absl::StrAppend(&out, "listen\n  REST: ", Listener(config.listen.http_address, config.listen.http_tls),
                  "; SSE heartbeat ", Duration(config.listen.sse_heartbeat), "\n  gRPC: ",
                  Listener(config.listen.grpc_address, config.listen.grpc_tls), "\n");

  const IdentityConfig& id = config.identity;
  std::string trusted =
      id.trusted_proxy.has_value()
          ? (*id.trusted_proxy ? "yes" : "no")
          : (env("DATABRICKS_APP_PORT").empty() ? "no (default outside a Databricks App)"
                                                : "yes (default inside a Databricks App)");
  absl::StrAppend(&out, "identity\n  forwarded user headers trusted: ", trusted,
                  "\n  user_api_scopes: ",
                  id.user_api_scopes.empty() ? "(none)" : absl::StrJoin(id.user_api_scopes, ", "),
                  "\n  app credentials: ",
                  !env("DATABRICKS_CLIENT_ID").empty() ? "OAuth M2M (DATABRICKS_CLIENT_ID)"
                  : !env("DATABRICKS_TOKEN").empty()   ? "static token (DATABRICKS_TOKEN)"
                                                       : "none set (only a loopback upstream works)",
                  "\n");

  absl::StrAppend(&out, "limits\n  concurrent calls: ",
                  config.limits.max_concurrent_calls == 0
                      ? std::string("no limit")
                      : absl::StrCat(config.limits.max_concurrent_calls),
                  "; drain grace ", Duration(config.limits.drain_grace), "\n");

  absl::StrAppend(&out, "profiles (default: ", config.default_profile, ")\n");
  for (const auto& [name, p] : config.profiles) {
    absl::StrAppend(&out, "  ", name, ": model ",
                    p.model.empty() ? std::string("(from each request)") : p.model, ", engine ",
                    p.engine, ", runs as ", p.auth == "user" ? "the requesting user" : "the app",
                    "\n");
    if (p.agent_from_request) {
      absl::StrAppend(&out,
                      "    serves the Supervisor API drop-in route POST "
                      "/ai-gateway/mlflow/v1/responses: each request brings its model, "
                      "instructions and tools",
                      p.auth == "user" ? " and runs as its Authorization: Bearer token" : "",
                      "\n");
    }
    if (!p.allowed_models.empty()) {
      absl::StrAppend(&out, "    callers may pick: ", absl::StrJoin(p.allowed_models, ", "), "\n");
    }
    std::vector<std::string> needed = table.request_scopes;
    for (const ToolSpec& tool : p.tools) {
      std::string note;
      if (tool.type == "function") {
        note = " (client-side: the caller runs it)";
      } else if (tool.type == "app") {
        note = " (runs with the app's identity only)";
      } else if (auto it = table.tool_scopes.find(tool.type);
                 it != table.tool_scopes.end() && !it->second.empty()) {
        std::string scope = absl::StrJoin(it->second, " | ");
        needed.push_back(scope);
        note = absl::StrCat(" (user scope: ", scope, ")");
      }
      absl::StrAppend(&out, "    tool ", tool.type, " ", ToolName(tool), note, "\n");
    }
    if (p.tools.empty() && !p.agent_from_request) absl::StrAppend(&out, "    no tools\n");
    if (p.auth == "user") {
      absl::StrAppend(&out, "    user token must carry: ", absl::StrJoin(needed, ", "), "\n");
    }
    if (!p.mcp_approvals.empty()) {
      auto rules = [](const std::vector<ApprovalRule>& list) {
        std::vector<std::string> out;
        for (const ApprovalRule& r : list) {
          out.push_back(r.tool.empty() ? r.server : absl::StrCat(r.server, "/", r.tool));
        }
        return out.empty() ? std::string("-") : absl::StrJoin(out, ", ");
      };
      absl::StrAppend(&out, "    MCP approvals by policy: approve ", rules(p.mcp_approvals.approve),
                      "; deny ", rules(p.mcp_approvals.deny), "; at most ",
                      p.mcp_approvals.max_rounds, " rounds per call\n");
    }
    if (p.limits.max_concurrent_calls != 0 || p.limits.timeout.count() != 0) {
      absl::StrAppend(&out, "    limits: ",
                      p.limits.max_concurrent_calls == 0
                          ? std::string("no own call limit")
                          : absl::StrCat(p.limits.max_concurrent_calls, " concurrent calls"),
                      ", run time ", Duration(p.limits.timeout), "\n");
    }
  }
  return out;
}

}  // namespace agentgateway
