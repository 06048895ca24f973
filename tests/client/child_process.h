// A program under test as a child process (here: agentctl): its stdout and stderr captured as
// they arrive, waited on by events (output seen, pipes closed), never by sleeping.
#ifndef AGENTGATEWAY_TESTS_CLIENT_CHILD_PROCESS_H_
#define AGENTGATEWAY_TESTS_CLIENT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgateway::testing {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

class ChildProcess {
 public:
  // Runs argv[0] with `argv`. The environment is the test's minus AGENTCTL_* and NO_COLOR,
  // plus NO_COLOR=1 and `env`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(std::vector<std::string> argv,
                                                             const EnvVars& env = {});
  ~ChildProcess();  // SIGKILL if still running, then reaps it

  // Waits until stdout holds `needle`; false on timeout or once stdout closed without it.
  bool WaitForStdout(const std::string& needle, std::chrono::milliseconds timeout);
  // True when the process has exited (reaps it; never blocks).
  bool Exited();
  // Waits until the process closed its output and exited; its exit code (128 + N when killed
  // by signal N), or nullopt on timeout (the process is then killed).
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  std::string out();
  std::string err();

 private:
  ChildProcess() = default;
  void ReadLoop(int fd, bool is_stderr);
  void Reap(bool block);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_, err_;
  bool out_closed_ = false, err_closed_ = false;
  std::thread out_reader_, err_reader_;
};

struct RunResult {
  int exit_code = -1;  // -1: did not finish in time
  std::string out;
  std::string err;
};

// Runs a program to its end (bounded by `timeout`).
RunResult RunProgram(const std::vector<std::string>& argv, const EnvVars& env = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_CLIENT_CHILD_PROCESS_H_
