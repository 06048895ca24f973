// agent-gateway: serves AgentService over gRPC and the REST shim over HTTP in one process.
// Thin: parse flags, load config, wire the parts, wait for SIGINT/SIGTERM, shut down in order.
#include <grpcpp/grpcpp.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gateway/http_server.h"
#include "server/agent_service.h"
#include "server/direct_backend.h"
#include "server/config.h"
#include "server/config_report.h"
#include "server/render.h"
#include "server/grpc_credentials.h"
#include "server/identity/scope_policy.h"
#include "server/identity/token_source.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/serving_watcher.h"
#include "server/approval_engine.h"
#include "server/engine_router.h"
#include "server/local/local_engine.h"
#include "server/supervisor_engine.h"
#include "server/upstream/http_pool.h"

namespace {

using agentgateway::Config;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool SplitHostPort(const std::string& text, std::string& host, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  host = text.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    int p = std::stoi(text.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

bool IsLoopbackUrl(const agentgateway::upstream::Url& url) {
  return url.host == "127.0.0.1" || url.host == "localhost" || url.host == "::1" ||
         url.host == "[::1]";
}

// The app's identity: OAuth M2M when a client id and secret are set, else a static token, else
// (for a loopback upstream only) the emulator's placeholder.
absl::StatusOr<std::unique_ptr<agentgateway::identity::TokenSource>> AppTokenSource(
    agentgateway::upstream::HttpPool* pool, const agentgateway::upstream::Url& upstream) {
  using agentgateway::identity::Secret;
  std::string client_id = Env("DATABRICKS_CLIENT_ID");
  std::string client_secret = Env("DATABRICKS_CLIENT_SECRET");
  if (!client_id.empty() || !client_secret.empty()) {
    if (client_id.empty() || client_secret.empty()) {
      return absl::InvalidArgumentError(
          "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET must be set together");
    }
    agentgateway::identity::OAuthM2MOptions options;
    std::string host = Env("DATABRICKS_HOST");
    options.host_url = host.empty() ? upstream.Origin() : host;
    options.client_id = client_id;
    options.client_secret = Secret(client_secret);
    return agentgateway::identity::MakeOAuthM2MTokenSource(pool, std::move(options));
  }
  std::string token = Env("DATABRICKS_TOKEN");
  if (!token.empty()) return agentgateway::identity::MakeStaticTokenSource(Secret(token));
  if (!IsLoopbackUrl(upstream)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no upstream credentials for ", upstream.host,
        ": set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (OAuth M2M) or DATABRICKS_TOKEN"));
  }
  return agentgateway::identity::MakeStaticTokenSource(Secret("local-emulator-token"));
}

// Graceful drain (SIGTERM/SIGINT): readiness goes false (REST /health 503, gRPC health
// NOT_SERVING), the REST listener closes and new calls on either door are refused with
// UNAVAILABLE; calls in flight get up to `grace` to finish; whatever is left then ends with an explicit
// UNAVAILABLE (gRPC status; REST error frame or 503); last, the servers stop.
void Drain(std::chrono::milliseconds grace, int signal_number, agentgateway::AgentServiceImpl& service,
           grpc::Server& grpc_server, agentgateway::ServingWatcher* health_watch,
           agentgateway::gateway::HttpServer& http) {
  using agentgateway::Log;
  using agentgateway::LogLevel;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_ms = [start] {
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - start)
                                         .count());
  };
  Log(LogLevel::kInfo, "shutting down: draining",
      {{"signal", static_cast<std::int64_t>(signal_number)},
       {"calls_in_flight", static_cast<std::int64_t>(service.active_calls())},
       {"grace_ms", static_cast<std::int64_t>(grace.count())}});
  if (health_watch != nullptr) health_watch->Stop();  // it must not turn health back on
  if (auto* health = grpc_server.GetHealthCheckService()) health->SetServingStatus(false);
  http.BeginDrain();
  service.StartDrain();
  // The gRPC server keeps its listener until the calls ended: Shutdown would also close the
  // in-process transport the REST door's calls run on, cutting them short. Until then new gRPC
  // calls are refused by the service (UNAVAILABLE) and the health service says NOT_SERVING.
  constexpr auto kAfterAbort = std::chrono::seconds(5);
  std::size_t aborted = 0;
  if (!service.WaitIdle(absl::FromChrono(grace))) {
    aborted = service.AbortAll(absl::UnavailableError(absl::StrCat(
        "agent-gateway is shutting down: the call was still running after the drain grace of ",
        grace.count(), " ms (limits.drain_grace_ms); retry on another instance")));
    service.WaitIdle(absl::FromChrono(kAfterAbort));
  }
  service.WaitAllDone(absl::FromChrono(kAfterAbort));  // final statuses are on their way
  const std::int64_t calls_ended_ms = elapsed_ms();
  bool flushed = http.WaitIdle(kAfterAbort);  // final error frames reach their clients
  const std::int64_t flushed_ms = elapsed_ms();
  // Nothing is in flight any more: no reason to wait for idle client connections to leave.
  grpc_server.Shutdown(std::chrono::system_clock::now());
  const std::int64_t grpc_stopped_ms = elapsed_ms();
  http.Stop();
  Log(LogLevel::kInfo, "shut down",
      {{"aborted_calls", static_cast<std::int64_t>(aborted)},
       {"responses_flushed", flushed},
       {"calls_ended_ms", calls_ended_ms},
       {"flushed_ms", flushed_ms},
       {"grpc_stopped_ms", grpc_stopped_ms},
       {"drain_ms", elapsed_ms()}});
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "agent-gateway: %s\n", message.c_str());
  return 2;
}

// Process set-up for many concurrent streams and a hot data path, before any thread starts.
void TuneProcess() {
  // Each open stream holds two sockets (caller and upstream): take every descriptor the hard
  // limit allows, as nginx's worker_rlimit_nofile would.
  if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);  // best effort: on failure the old limit stays
  }
  // Debian builds abseil without NDEBUG, which turns on the lock-order graph in every
  // absl::Mutex lock and unlock (seen at ~1-2% of the gateway's CPU under load). The
  // -Wthread-safety build and the TSan run check our locking; the binary does not need it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace

int main(int argc, char** argv) {
  TuneProcess();
  CLI::App app{"agent-gateway: gRPC AgentService and REST /invocations in front of an agent"};
  std::string config_path, check_config, upstream_flag;
  std::string app_port = Env("DATABRICKS_APP_PORT");
  // Inside a Databricks App the platform's proxy reaches the app over the pod network.
  std::string http_listen =
      app_port.empty() ? std::string("127.0.0.1:8000") : "0.0.0.0:" + app_port;
  std::string grpc_listen = "127.0.0.1:50051";
  std::size_t http_threads = 2;
  app.add_option("--config", config_path,
                 "YAML config file (default: $AGENTGATEWAY_CONFIG, else the embedded profile); "
                 "AGENTGATEWAY_* environment variables override its keys");
  app.add_option("--check-config", check_config, "Validate a config file, print a report, exit");
  app.add_option("--http-listen", http_listen, "REST listen address HOST:PORT");
  app.add_option("--grpc-listen", grpc_listen, "gRPC listen address HOST:PORT");
  app.add_option("--upstream", upstream_flag, "Upstream base URL (just before /responses)");
  app.add_option("--http-threads", http_threads, "REST I/O threads");
  // `render databricks-app`: the Databricks App files derived from a config, so they cannot
  // drift from it (deploy/databricks-app is this command's output for the shipped example).
  auto* render = app.add_subcommand("render", "Write deployment files derived from a config");
  auto* render_app =
      render->add_subcommand("databricks-app", "app.yaml, databricks.yml and gateway.yaml");
  std::string render_config, render_out;
  agentgateway::render::DatabricksAppOptions render_options;
  render_app->add_option("--config", render_config, "Gateway config")->required();
  render_app->add_option("--out", render_out, "Existing output folder")->required();
  render_app->add_option("--app-name", render_options.app_name, "Databricks App name");
  CLI11_PARSE(app, argc, argv);
  if (*render_app) {
    absl::Status s =
        agentgateway::render::WriteDatabricksApp(render_config, render_out, render_options);
    if (!s.ok()) {
      std::fprintf(stderr, "agent-gateway: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    return 0;
  }

  const agentgateway::EnvLookup env = agentgateway::ProcessEnvironment();
  if (!check_config.empty()) {
    // The report describes what would run: the file plus the environment's overrides.
    auto config = agentgateway::LoadConfigFile(check_config);
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
      return 1;
    }
    std::vector<std::string> applied;
    if (absl::Status s = agentgateway::ApplyEnvironment(env, &*config, &applied); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::fputs(agentgateway::ConfigReport(*config, env, applied).c_str(), stdout);
    absl::Status scopes = agentgateway::identity::CheckUserProfiles(
        *config, config->identity.user_api_scopes, agentgateway::ScopeTableFor(*config));
    if (!scopes.ok()) {
      std::fprintf(stderr, "%s\n", std::string(scopes.message()).c_str());
      return 1;
    }
    std::printf("OK\n");
    return 0;
  }

  if (config_path.empty()) config_path = Env("AGENTGATEWAY_CONFIG");
  Config config;
  if (config_path.empty()) {
    config = agentgateway::EmbeddedDefaultConfig();
  } else {
    auto loaded = agentgateway::LoadConfigFile(config_path);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    config = *std::move(loaded);
  }
  std::vector<std::string> env_overrides;
  if (absl::Status s = agentgateway::ApplyEnvironment(env, &config, &env_overrides); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  if (!env_overrides.empty()) {
    agentgateway::Log(agentgateway::LogLevel::kInfo, "configuration overridden by the environment",
                      {{"source", config.source},
                       {"variables", absl::StrJoin(env_overrides, ",")}});
  }
  if (!upstream_flag.empty()) {
    config.upstream.base_url = upstream_flag;
  } else if (config.upstream.base_url.empty()) {
    std::string host = Env("DATABRICKS_HOST");
    config.upstream.base_url = host.empty() ? std::string(agentgateway::kEmulatorBaseUrl)
                                            : agentgateway::BaseUrlFromDatabricksHost(host);
  }
  auto upstream_url = agentgateway::upstream::Url::Parse(config.upstream.base_url);
  if (!upstream_url.ok()) {
    return Fail(absl::StrCat("upstream URL '", config.upstream.base_url,
                             "': ", upstream_url.status().message()));
  }
  // Every `auth: user` profile must be covered by the app's user scopes: refuse to start
  // otherwise, listing everything that is missing at once.
  agentgateway::identity::ScopeTable scope_table = agentgateway::ScopeTableFor(config);
  if (absl::Status s = agentgateway::identity::CheckUserProfiles(
          config, config.identity.user_api_scopes, scope_table);
      !s.ok()) {
    return Fail(std::string(s.message()));
  }
  if (!app.count("--http-listen") && !config.listen.http_address.empty()) {
    http_listen = config.listen.http_address;
  }
  if (!app.count("--grpc-listen") && !config.listen.grpc_address.empty()) {
    grpc_listen = config.listen.grpc_address;
  }

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  agentgateway::upstream::PoolOptions pool_options;
  pool_options.record_metrics = true;
  pool_options.threads = config.upstream.threads;
  pool_options.max_connections_per_origin = config.upstream.max_connections;
  pool_options.max_waiters_per_origin = config.upstream.max_queued_requests;
  pool_options.connect_timeout = config.upstream.connect_timeout;
  pool_options.tls_handshake_timeout = config.upstream.tls_handshake_timeout;
  pool_options.response_timeout = config.upstream.response_timeout;
  pool_options.read_idle_timeout = config.upstream.read_idle_timeout;
  pool_options.call_timeout = config.upstream.call_timeout;
  pool_options.ca_file = config.upstream.ca_file;
  auto pool = agentgateway::upstream::HttpPool::Create(pool_options);
  if (!pool.ok()) return Fail(std::string(pool.status().message()));
  auto engine = agentgateway::SupervisorEngine::Create(pool->get(), config.upstream.base_url);
  if (!engine.ok()) return Fail(std::string(engine.status().message()));
  auto app_tokens = AppTokenSource(pool->get(), *upstream_url);
  if (!app_tokens.ok()) return Fail(std::string(app_tokens.status().message()));
  // The local engine, when a profile asks for it: model turns and MCP tools on the same
  // workspace as the upstream unless `local_engine` says otherwise.
  std::unique_ptr<agentgateway::local::LocalEngine> local_engine;
  const bool wants_local = std::any_of(config.profiles.begin(), config.profiles.end(),
                                       [](const auto& p) { return p.second.engine == "local"; });
  if (wants_local) {
    const agentgateway::LocalEngineConfig& le = config.local_engine;
    agentgateway::local::LocalEngineOptions options;
    options.pool = pool->get();
    options.model_base_url = le.model_base_url.empty()
                                 ? upstream_url->Origin() + "/serving-endpoints"
                                 : le.model_base_url;
    options.tools.host = le.workspace_url.empty() ? upstream_url->Origin() : le.workspace_url;
    options.tools.app_urls = le.app_urls;
    options.max_steps = le.max_steps;
    options.tool_timeout = le.tool_timeout;
    auto created = agentgateway::local::LocalEngine::Create(std::move(options));
    if (!created.ok()) return Fail(std::string(created.status().message()));
    local_engine = *std::move(created);
  }
  agentgateway::EngineRouter engines(engine->get(), local_engine.get());

  agentgateway::ServiceOptions service_options;
  service_options.trusted_proxy = config.identity.trusted_proxy.value_or(!app_port.empty());
  service_options.scopes = scope_table;
  service_options.max_concurrent_calls = config.limits.max_concurrent_calls;
  auto shared_config = std::make_shared<const Config>(config);
  // Profiles' MCP approval policies apply around the upstream adapter.
  agentgateway::ApprovalEngine approvals(&engines);
  agentgateway::AgentServiceImpl service(shared_config, &approvals, app_tokens->get(),
                                         service_options);
  auto grpc_credentials = agentgateway::GrpcServerCredentials(config.listen.grpc_tls);
  if (!grpc_credentials.ok()) return Fail(std::string(grpc_credentials.status().message()));
  // grpc.health.v1.Health (overall and per service): SERVING until the drain starts.
  grpc::EnableDefaultHealthCheckService(true);
  // Server reflection (grpc.reflection.v1alpha), so standard gRPC tools can list and call.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(grpc_listen, *grpc_credentials, &grpc_port);
  if (config.listen.grpc_keepalive.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               static_cast<int>(config.listen.grpc_keepalive.count()));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  }
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (!grpc_server || grpc_port == 0) return Fail("cannot listen for gRPC on " + grpc_listen);
  // gRPC health follows the same readiness as REST /readyz (an upstream token is held),
  // checked every second, until the drain turns it NOT_SERVING for good.
  std::optional<agentgateway::ServingWatcher> health_watch;
  if (auto* health = grpc_server->GetHealthCheckService()) {
    health->SetServingStatus("agentgateway.v1.AgentService", true);
    health_watch.emplace(
        [tokens = app_tokens->get()] { return agentgateway::identity::NotReadyReason(*tokens); },
        [health](bool serving, const std::string& why) {
          health->SetServingStatus(serving);
          if (serving) {
            agentgateway::Log(agentgateway::LogLevel::kInfo, "gRPC health: SERVING", {});
          } else {
            agentgateway::Log(agentgateway::LogLevel::kWarning, "gRPC health: NOT_SERVING",
                              {{"reason", why}});
          }
        },
        std::chrono::seconds(1));
  }

  // What the metrics read from parts that keep their own counts, at each scrape.
  agentgateway::Metrics::Get().SetPoolSource([pool = pool->get()] {
    agentgateway::upstream::PoolStats s = pool->Stats();
    return agentgateway::Metrics::PoolSnapshot{s.connections_opened, s.connections_reused, s.open,
                                               s.idle, s.waiting};
  });
  agentgateway::Metrics::Get().SetTokenSource([tokens = app_tokens->get()] {
    agentgateway::identity::TokenSource::Stats s = tokens->GetStats();
    return agentgateway::Metrics::TokenSnapshot{s.refreshes, s.failures, s.has_valid_token};
  });

  agentgateway::gateway::HttpServerOptions http_options;
  if (!SplitHostPort(http_listen, http_options.listen_host, http_options.port)) {
    return Fail("--http-listen must be HOST:PORT, not '" + http_listen + "'");
  }
  http_options.threads = http_threads;
  // Not ready while the app holds no upstream token (each probe also keeps it warm).
  http_options.readiness_problem = [tokens = app_tokens->get()] {
    return agentgateway::identity::NotReadyReason(*tokens);
  };
  http_options.sse_heartbeat = config.listen.sse_heartbeat;
  http_options.trusted_proxy = service_options.trusted_proxy;
  http_options.dropin_profile = config.dropin_profile;
  if (const agentgateway::ListenerTls& tls = config.listen.http_tls; tls.enabled()) {
    auto cert = agentgateway::ReadTextFile(tls.cert_file, "REST TLS certificate");
    auto key = agentgateway::ReadTextFile(tls.key_file, "REST TLS key");
    if (!cert.ok()) return Fail(std::string(cert.status().message()));
    if (!key.ok()) return Fail(std::string(key.status().message()));
    http_options.tls_cert_pem = *std::move(cert);
    http_options.tls_key_pem = *std::move(key);
    if (!tls.client_ca_file.empty()) {
      auto ca = agentgateway::ReadTextFile(tls.client_ca_file, "REST client CA");
      if (!ca.ok()) return Fail(std::string(ca.status().message()));
      http_options.tls_client_ca_pem = *std::move(ca);
    }
  }
  // The REST door calls the service in-process, under the same rules as gRPC callers.
  auto http = agentgateway::gateway::HttpServer::Create(
      http_options, agentgateway::MakeDirectBackend(&service));
  if (!http.ok()) return Fail(std::string(http.status().message()));

  std::string grpc_host = grpc_listen.substr(0, grpc_listen.rfind(':'));
  std::string base = absl::StrCat(config.listen.http_tls.enabled() ? "https://" : "http://",
                                  http_options.listen_host, ":", (*http)->port());
  const agentgateway::Profile* profile = shared_config->FindProfile("");
  std::printf(
      "agent-gateway %s ready\n"
      "  chat page : %s/\n"
      "  REST      : POST %s/invocations   (JSON, or SSE with \"stream\": true)\n"
      "  health    : %s/health\n"
      "  gRPC      : %s:%d  (agentgateway.v1.AgentService%s)\n"
      "  upstream  : %s  (profile %s, model %s)\n"
      "  identity  : %s; forwarded user headers %s\n",
      AGENTGATEWAY_VERSION, base.c_str(), base.c_str(), base.c_str(), grpc_host.c_str(),
      grpc_port,
      config.listen.grpc_tls.client_ca_file.empty()
          ? (config.listen.grpc_tls.enabled() ? ", TLS" : "")
          : ", mutual TLS", config.upstream.base_url.c_str(), shared_config->default_profile.c_str(),
      profile ? profile->model.c_str() : "?", (*app_tokens)->Describe().c_str(),
      service_options.trusted_proxy ? "trusted" : "ignored (identity.trusted_proxy: false)");
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  Drain(config.limits.drain_grace, signal_number, service, *grpc_server,
        health_watch.has_value() ? &*health_watch : nullptr, **http);
  app_tokens->reset();
  pool->reset();
  return 0;
}
