// A program under test as a child process (agent-gateway, agentctl): its stdout and stderr
// captured as they arrive, waited on by events (output seen, exit seen through a pidfd), never
// by sleeping.
//
// The child gets stdin from /dev/null and no other descriptor of the test: Asio does not mark
// its sockets close-on-exec, and a child that inherited, say, an in-process emulator's
// connection would keep it open after the emulator closed or reset it.
//
// Owned by the test; all calls come from the owner's thread. Two reader threads append the
// output under `mu_`. The destructor SIGKILLs a child still running, reaps it and joins them.
#ifndef AGENTGATEWAY_TESTS_TESTING_CHILD_PROCESS_H_
#define AGENTGATEWAY_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace agentgateway::testing {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

struct ChildOptions {
  std::vector<std::string> argv;  // argv[0] is the program's path
  // The test's environment minus entries starting with one of `drop_env_prefixes` (e.g.
  // "DATABRICKS_") and minus the names in `env`, then `env`.
  std::vector<std::string> drop_env_prefixes;
  EnvVars env;
  // Non-empty: the child's stderr goes to this file (truncated), and err() stays empty.
  std::string stderr_path;
};

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(ChildOptions options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal_number);

  // Waits until stdout (stderr) holds `needle`; false on timeout or once it closed without it.
  bool WaitForStdout(const std::string& needle, std::chrono::milliseconds timeout);
  bool WaitForStderr(const std::string& needle, std::chrono::milliseconds timeout);
  // True when the process has exited (reaps it; never blocks).
  bool Exited();
  // Waits for the exit, then (within the same bound) for the output to be complete: the exit
  // code (128 + N when killed by signal N), or nullopt on timeout, the process left running.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // WaitExit, but a process still running at the timeout is killed.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  std::string out();
  std::string err();

  // VmRSS in KiB; -1 when the process is gone.
  std::int64_t RssKiB() const;
  // Open descriptors (entries of /proc/PID/fd); -1 when the process is gone.
  int OpenFds() const;

 private:
  ChildProcess() = default;
  void ReadLoop(int fd, bool is_stderr);
  bool WaitFor(const std::string& needle, bool is_stderr, std::chrono::milliseconds timeout);
  // waitpid, with WNOHANG unless `block`; sets exit_code_ once reaped.
  void Reap(bool block);

  pid_t pid_ = -1;
  int pidfd_ = -1;  // readable once the child exited
  std::optional<int> exit_code_;
  absl::Mutex mu_;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
  bool out_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool err_closed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread out_reader_;
  std::thread err_reader_;
};

struct RunResult {
  int exit_code = -1;  // -1: did not finish in time (then killed), or did not start
  std::string out;
  std::string err;
};

// Runs a program to its end (bounded by `timeout`).
RunResult RunProgram(ChildOptions options,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_TESTING_CHILD_PROCESS_H_
