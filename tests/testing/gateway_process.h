// The agent-gateway binary as a child process, for tests of what only a process has: signals,
// the drain on SIGTERM, its exit code, its own memory and descriptors; and for clients that
// must meet the real binary. Started on ephemeral loopback ports, read from its "ready" banner
// on stdout. Its stderr (the JSON log) is kept in memory, or written to a file.
//
// Owned by the test; a thin layer over ChildProcess (which see for threads). The destructor
// SIGKILLs a gateway still running and reaps it.
#ifndef AGENTGATEWAY_TESTS_TESTING_GATEWAY_PROCESS_H_
#define AGENTGATEWAY_TESTS_TESTING_GATEWAY_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace agentgateway::testing {

struct GatewayOptions {
  std::string binary;
  std::string config_path;
  // After `--config FILE --http-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0`.
  std::vector<std::string> extra_args;
  // Set in the child (e.g. ASAN_OPTIONS). The test's own DATABRICKS_* and AGENTGATEWAY_*
  // settings are not passed on: they would point the gateway elsewhere.
  EnvVars env;
  // Non-empty: the log goes to this file (truncated), and log() stays empty.
  std::string stderr_path;
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
};

class GatewayProcess {
 public:
  // Starts the gateway and waits (bounded) for its "ready" banner.
  static absl::StatusOr<std::unique_ptr<GatewayProcess>> Start(GatewayOptions options);

  pid_t pid() const { return process_->pid(); }
  uint16_t http_port() const { return http_port_; }
  uint16_t grpc_port() const { return grpc_port_; }

  void Signal(int signal_number) { process_->Signal(signal_number); }
  // The exit code (128 + N when killed by signal N), or nullopt on timeout.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout) {
    return process_->WaitExit(timeout);
  }
  // SIGTERM (the drain), then WaitExit.
  std::optional<int> Stop(std::chrono::milliseconds timeout);
  // Waits until the log holds `needle`; false on timeout or once stderr closed without it.
  bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) {
    return process_->WaitForStderr(needle, timeout);
  }
  std::string log() { return process_->err(); }
  std::int64_t RssKiB() const { return process_->RssKiB(); }
  int OpenFds() const { return process_->OpenFds(); }

 private:
  explicit GatewayProcess(std::unique_ptr<ChildProcess> process) : process_(std::move(process)) {}

  std::unique_ptr<ChildProcess> process_;
  uint16_t http_port_ = 0;
  uint16_t grpc_port_ = 0;
};

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_TESTING_GATEWAY_PROCESS_H_
