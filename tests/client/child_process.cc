#include "tests/client/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace agentgateway::testing {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(std::vector<std::string> argv,
                                                                  const EnvVars& env) {
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("AGENTCTL_") || entry.starts_with("NO_COLOR=")) continue;
    environment.emplace_back(entry);
  }
  environment.emplace_back("NO_COLOR=1");
  for (const auto& [name, value] : env) environment.push_back(name + "=" + value);
  // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
  std::vector<char*> args, envp;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    // Nothing else of the test may live on in the child: a socket of the in-process emulator
    // (Asio does not mark them close-on-exec) held open by agentctl would keep a connection
    // the emulator closes, or resets, open for its peer.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 65536; ++fd) ::close(fd);
    }
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  ChildProcess* c = child.get();
  c->out_reader_ = std::thread([c, fd = out[0]] { c->ReadLoop(fd, false); });
  c->err_reader_ = std::thread([c, fd = err[0]] { c->ReadLoop(fd, true); });
  return child;
}

ChildProcess::~ChildProcess() {
  if (!exit_code_.has_value() && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
}

void ChildProcess::ReadLoop(int fd, bool is_stderr) {
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mu_);
    if (n <= 0) {
      (is_stderr ? err_closed_ : out_closed_) = true;
      cv_.notify_all();
      break;
    }
    (is_stderr ? err_ : out_).append(buffer, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
}

void ChildProcess::Reap(bool block) {
  if (exit_code_.has_value()) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool ChildProcess::WaitForStdout(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return out_.find(needle) != std::string::npos || out_closed_;
  }) && out_.find(needle) != std::string::npos;
}

bool ChildProcess::Exited() {
  Reap(/*block=*/false);
  return exit_code_.has_value();
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  bool closed;
  {
    std::unique_lock lock(mu_);
    closed = cv_.wait_for(lock, timeout, [this] { return out_closed_ && err_closed_; });
  }
  if (!closed) {
    ::kill(pid_, SIGKILL);
    Reap(/*block=*/true);
    return std::nullopt;
  }
  // Both pipes closed: the process is exiting (nothing else holds them), so this is short.
  Reap(/*block=*/true);
  return exit_code_;
}

std::string ChildProcess::out() {
  std::lock_guard lock(mu_);
  return out_;
}

std::string ChildProcess::err() {
  std::lock_guard lock(mu_);
  return err_;
}

RunResult RunProgram(const std::vector<std::string>& argv, const EnvVars& env,
              std::chrono::milliseconds timeout) {
  RunResult result;
  auto child = ChildProcess::Start(argv, env);
  if (!child.ok()) {
    result.err = std::string(child.status().message());
    return result;
  }
  std::optional<int> code = (*child)->Wait(timeout);
  result.exit_code = code.value_or(-1);
  result.out = (*child)->out();
  result.err = (*child)->err();
  return result;
}

}  // namespace agentgateway::testing
