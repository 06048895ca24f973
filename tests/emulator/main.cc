// supervisor-emulator: serves the Supervisor API emulator until SIGINT or SIGTERM.
//
//   supervisor-emulator --listen HOST:PORT [--tls-cert FILE --tls-key FILE] [--threads N]
//       [--oauth-client ID:SECRET]... [--token-ttl SECONDS] [--require-known-tokens]
//       [--bench-answer N[:B]]
//
// Prints exactly one line, "supervisor-emulator listening on http(s)://HOST:PORT", once bound
// (PORT is the real port when 0 was asked for).
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "tests/emulator/emulator.h"

namespace {

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

// Streams hold a descriptor each: lift the soft limit to the hard one (10,000+ concurrent
// connections for tests/bench/). A failure leaves the limit as it was.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Databricks Supervisor API emulator (for tests and benchmarks; not the real API)"};
  agentgateway::emulator::EmulatorOptions options;
  std::string listen = "127.0.0.1:0";
  std::string cert_file;
  std::string key_file;
  int threads = 1;
  app.add_option("--listen", listen, "HOST:PORT to listen on (PORT 0: ephemeral)");
  auto* cert = app.add_option("--tls-cert", cert_file, "PEM certificate chain: serve HTTPS");
  auto* key = app.add_option("--tls-key", key_file, "PEM private key");
  cert->needs(key);
  key->needs(cert);
  app.add_option("--threads", threads, "io threads")->check(CLI::Range(1, 256));
  std::vector<std::string> clients;
  app.add_option("--oauth-client", clients,
                 "OAuth M2M client ID:SECRET for POST /oidc/v1/token (repeatable; default "
                 "emulator-client:emulator-secret)");
  app.add_option("--token-ttl", options.token_ttl_seconds, "lifetime of app tokens, seconds")
      ->check(CLI::Range(1, 10 * 365 * 24 * 3600));
  app.add_flag("--require-known-tokens", options.require_known_tokens,
               "refuse bearer tokens the emulator did not issue (default: run them as 'static')");
  std::string bench_answer;
  app.add_option("--bench-answer", bench_answer,
                 "N[:B]: answer every well-formed responses request with a fixed message of N "
                 "time-stamped deltas of B bytes (default 100), for tests/bench/");
  CLI11_PARSE(app, argc, argv);
  if (!bench_answer.empty()) {
    auto spec = agentgateway::emulator::ParseBenchSpec(bench_answer);
    if (!spec.ok()) {
      std::cerr << spec.status().message() << "\n";
      return 2;
    }
    options.bench = *spec;
  }
  RaiseDescriptorLimit();
  for (const std::string& client : clients) {
    std::size_t colon = client.find(':');
    if (colon == 0 || colon == std::string::npos) {
      std::cerr << "--oauth-client must be ID:SECRET, got '" << client << "'\n";
      return 2;
    }
    options.oauth_clients[client.substr(0, colon)] = client.substr(colon + 1);
  }

  std::size_t colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    options.host = listen.substr(0, colon);
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (port < 0 || port > 65535 || options.host.empty()) {
    std::cerr << "--listen must be HOST:PORT, got '" << listen << "'\n";
    return 2;
  }
  options.port = static_cast<uint16_t>(port);
  options.threads = threads;
  if (!cert_file.empty() && (!ReadFile(cert_file, options.cert_pem) ||
                             !ReadFile(key_file, options.key_pem))) {
    std::cerr << "cannot read --tls-cert/--tls-key\n";
    return 2;
  }

  // Block the stop signals in every thread (the io threads inherit this mask) and wait for
  // them here, so no handler runs on an arbitrary thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto emulator = agentgateway::emulator::Emulator::Create(options);
  if (!emulator.ok()) {
    std::cerr << "supervisor-emulator: " << emulator.status().message() << "\n";
    return 1;
  }
  std::cout << "supervisor-emulator listening on " << (*emulator)->BaseUrl() << std::endl;
  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*emulator)->Stop();
  return 0;
}
