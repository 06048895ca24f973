// GatewayProcess: the real `agent-gateway` binary run as a child process, so that its memory
// (/proc/PID/status VmRSS) and descriptors (/proc/PID/fd) are its own. Started with
// `--config FILE --http-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0`; the ports come from the
// "ready" banner on its stdout. stderr (one JSON log line per call) goes to a file.
//
// Owned by the test; the destructor ends the child by its PID (SIGTERM, then SIGKILL if it does
// not exit in time) so that a failing test leaves nothing running.
#ifndef AGENTGATEWAY_TESTS_LOAD_GATEWAY_PROCESS_H_
#define AGENTGATEWAY_TESTS_LOAD_GATEWAY_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agentgateway::load {

struct GatewayLaunch {
  std::string binary;
  std::string config_path;
  std::string stderr_path;
  // Added to (or replacing) the child's environment, e.g. ASAN_OPTIONS.
  std::vector<std::pair<std::string, std::string>> env;
  absl::Duration ready_timeout = absl::Seconds(20);
};

class GatewayProcess {
 public:
  static absl::StatusOr<std::unique_ptr<GatewayProcess>> Start(const GatewayLaunch& launch);
  ~GatewayProcess();

  pid_t pid() const { return pid_; }
  int http_port() const { return http_port_; }
  int grpc_port() const { return grpc_port_; }
  const std::string& banner() const { return banner_; }

  // VmRSS in KiB; -1 when the process is gone.
  std::int64_t RssKiB() const;
  // Open descriptors (entries of /proc/PID/fd); -1 when the process is gone.
  int OpenFds() const;

  // SIGTERM, then waits for the exit; the exit status (as from waitpid) or DEADLINE_EXCEEDED.
  absl::StatusOr<int> Stop(absl::Duration timeout);

 private:
  GatewayProcess() = default;
  // Waits for the child to exit (pidfd + poll): its wait status, or DEADLINE_EXCEEDED.
  absl::StatusOr<int> WaitExit(absl::Duration timeout);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdout_fd_ = -1;  // read end of the child's stdout, kept open so its late prints succeed
  bool exited_ = false;
  int http_port_ = 0;
  int grpc_port_ = 0;
  std::string banner_;
};

}  // namespace agentgateway::load

#endif  // AGENTGATEWAY_TESTS_LOAD_GATEWAY_PROCESS_H_
