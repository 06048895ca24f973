// Emulator: an in-process stand-in for the Databricks Supervisor API (POST
// /ai-gateway/mlflow/v1/responses, JSON or SSE), with a scripted model, injectable faults and
// inspection routes for tests. It is an emulator, not the real service; see README.md.
//
// Owns its io_context and `threads` io threads; each connection runs on its own strand. No Asio
// or Beast type appears here (pimpl). Create() binds and starts serving; Stop() (also run by the
// destructor) stops accepting, closes every connection and joins the threads.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_EMULATOR_H_
#define AGENTGATEWAY_TESTS_EMULATOR_EMULATOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/emulator/bench_answer.h"
#include "tests/emulator/call_log.h"

namespace agentgateway::emulator {

struct EmulatorOptions {
  std::string host = "127.0.0.1";  // an IP literal or "localhost"
  uint16_t port = 0;               // 0: ephemeral, read it back with port()
  int threads = 1;
  std::string cert_pem;  // both set: serve HTTPS only
  std::string key_pem;
  // Identity (README.md, "Identity"). OAuth M2M clients, id -> secret; empty: the demo client
  // "emulator-client" / "emulator-secret".
  std::map<std::string, std::string> oauth_clients;
  int token_ttl_seconds = 3600;  // of app tokens from POST /oidc/v1/token; > 0
  // false: an unknown bearer token runs as "static"; true: it is a 401.
  bool require_known_tokens = false;
  // Test hook: called once for each stream or hang whose client left first (what
  // `streams_client_closed` counts), with the steady_clock time taken as the emulator's pending
  // read or write on that socket failed, before the emulator closes its side. Runs on an
  // emulator io thread: with `threads` > 1 calls may overlap, so it must be thread-safe; it
  // must be quick, must not block, and must not call into this Emulator. It may run until
  // Stop() returns, so what it captures must outlive Stop(). Empty: nothing is called.
  std::function<void(std::chrono::steady_clock::time_point)> on_client_closed;
  // Bench mode (README.md, "Bench mode"): `bench.deltas` > 0 answers every well-formed
  // POST .../responses with a fixed, time-stamped message. Default: off.
  BenchSpec bench;
};

class Emulator {
 public:
  // INVALID_ARGUMENT for a bad host, certificate, OAuth client (empty id, or ':' in the id)
  // or TTL; UNAVAILABLE when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<Emulator>> Create(const EmulatorOptions& options);

  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  uint16_t port() const;
  bool tls() const;
  // "http://127.0.0.1:PORT" or "https://...".
  std::string BaseUrl() const;

  // The most recent model and MCP calls, oldest first (the records of GET /emulator/calls).
  // Thread-safe.
  std::vector<CallRecord> Calls(std::size_t limit = CallLog::kCapacity) const;

  // Idempotent; safe from any thread except the emulator's own io threads.
  void Stop();

 private:
  struct Impl;
  explicit Emulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_EMULATOR_H_
