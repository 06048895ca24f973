// The agent-gateway binary as a child process, for tests of what only a process has: signals,
// the drain on SIGTERM, and its exit code. Started on ephemeral loopback ports; the ports are
// read from its start-up banner. Its stderr (the JSON log) is kept, and can be waited on.
#ifndef AGENTGATEWAY_TESTS_PROCESS_GATEWAY_PROCESS_H_
#define AGENTGATEWAY_TESTS_PROCESS_GATEWAY_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgateway::testing {

class GatewayProcess {
 public:
  // Runs `binary --config <config_path> --http-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0`
  // plus `extra_args`, and waits (bounded) for its "ready" banner.
  static absl::StatusOr<std::unique_ptr<GatewayProcess>> Start(
      const std::string& binary, const std::string& config_path,
      const std::vector<std::string>& extra_args = {});
  ~GatewayProcess();  // SIGKILL if still running, then reaps it

  pid_t pid() const { return pid_; }
  uint16_t http_port() const { return http_port_; }
  uint16_t grpc_port() const { return grpc_port_; }

  void Signal(int signal_number);
  // Waits for the process to exit; its exit code (128 + N when killed by signal N), or nullopt
  // on timeout.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // Waits until a stderr line contains `needle`; false on timeout or once the process closed
  // stderr without it.
  bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout);
  std::string log();

 private:
  GatewayProcess() = default;
  void ReadLoop(int fd, bool is_stderr);

  pid_t pid_ = -1;
  uint16_t http_port_ = 0;
  uint16_t grpc_port_ = 0;
  std::optional<int> exit_code_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string stdout_;
  std::string stderr_;
  bool stdout_closed_ = false;
  bool stderr_closed_ = false;
  std::thread stdout_reader_;
  std::thread stderr_reader_;
};

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_PROCESS_GATEWAY_PROCESS_H_
