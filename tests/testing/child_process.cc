#include "tests/testing/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

extern char** environ;

namespace agentgateway::testing {
namespace {

// A descriptor of this process, closed when it goes out of scope unless released.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int Release() { return std::exchange(fd, -1); }
};

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status Pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe");
  read_end.fd = fds[0];
  write_end.fd = fds[1];
  return absl::OkStatus();
}

std::vector<std::string> ChildEnvironment(const ChildOptions& options) {
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool dropped = std::ranges::any_of(
        options.drop_env_prefixes, [&](const std::string& p) { return entry.starts_with(p); });
    const bool replaced = std::ranges::any_of(options.env, [&](const auto& var) {
      return entry.starts_with(var.first) && entry.substr(var.first.size()).starts_with('=');
    });
    if (!dropped && !replaced) environment.emplace_back(entry);
  }
  for (const auto& [name, value] : options.env) environment.push_back(absl::StrCat(name, "=", value));
  return environment;
}

// The descriptors the child takes over as 0, 1 and 2 (all close-on-exec here).
struct ChildStdio {
  Fd in, out_read, out_write, err_read, err_write;
};

absl::Status OpenStdio(const ChildOptions& options, ChildStdio& stdio) {
  stdio.in.fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (stdio.in.fd < 0) return Errno("open /dev/null");
  if (absl::Status s = Pipe(stdio.out_read, stdio.out_write); !s.ok()) return s;
  if (options.stderr_path.empty()) return Pipe(stdio.err_read, stdio.err_write);
  stdio.err_write.fd = ::open(options.stderr_path.c_str(),
                              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (stdio.err_write.fd < 0) return Errno(absl::StrCat("open ", options.stderr_path));
  return absl::OkStatus();
}

// fork + execve. Everything the child needs is built before fork(): after it, in a process
// with many threads, only async-signal-safe calls.
absl::StatusOr<pid_t> Spawn(ChildOptions& options, const ChildStdio& stdio) {
  std::vector<std::string> environment = ChildEnvironment(options);
  std::vector<char*> argv, envp;
  for (std::string& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  const pid_t pid = ::fork();
  if (pid < 0) return Errno("fork");
  if (pid > 0) return pid;
  ::dup2(stdio.in.fd, STDIN_FILENO);
  ::dup2(stdio.out_write.fd, STDOUT_FILENO);
  ::dup2(stdio.err_write.fd, STDERR_FILENO);
  // A mask the forking thread had would outlive the exec (a blocked SIGTERM, say).
  ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
  // Nothing else of the test may live on in the child: a socket of an in-process emulator
  // (Asio does not mark them close-on-exec) held open by the child would keep a connection the
  // emulator closes, or resets, open for its peer.
  if (::close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < 65536; ++fd) ::close(fd);
  }
  ::execve(argv[0], argv.data(), envp.data());
  ::_exit(127);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(ChildOptions options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no program to run");
  ChildStdio stdio;
  if (absl::Status s = OpenStdio(options, stdio); !s.ok()) return s;
  absl::StatusOr<pid_t> pid = Spawn(options, stdio);
  if (!pid.ok()) return pid.status();
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  ChildProcess* c = child.get();
  c->pid_ = *pid;
  // The destructor kills and reaps the child from here on.
  c->pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, c->pid_, 0));
  if (c->pidfd_ < 0) return Errno("pidfd_open");
  c->out_reader_ = std::thread([c, fd = stdio.out_read.Release()] { c->ReadLoop(fd, false); });
  if (stdio.err_read.fd >= 0) {
    c->err_reader_ = std::thread([c, fd = stdio.err_read.Release()] { c->ReadLoop(fd, true); });
  } else {
    absl::MutexLock lock(&c->mu_);
    c->err_closed_ = true;  // stderr goes to a file
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_.has_value()) {
    ::kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
  if (pidfd_ >= 0) ::close(pidfd_);
}

void ChildProcess::ReadLoop(int fd, bool is_stderr) {
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    absl::MutexLock lock(&mu_);
    if (n <= 0) {
      (is_stderr ? err_closed_ : out_closed_) = true;
      break;
    }
    (is_stderr ? err_ : out_).append(buffer, static_cast<std::size_t>(n));
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

void ChildProcess::Signal(int signal_number) {
  if (!exit_code_.has_value()) ::kill(pid_, signal_number);  // a reaped pid may be reused
}

bool ChildProcess::WaitFor(const std::string& needle, bool is_stderr,
                           std::chrono::milliseconds timeout) {
  absl::MutexLock lock(&mu_);
  auto found = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return (is_stderr ? err_ : out_).find(needle) != std::string::npos;
  };
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return found() || (is_stderr ? err_closed_ : out_closed_);
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), absl::FromChrono(timeout));
  return found();
}

bool ChildProcess::WaitForStdout(const std::string& needle, std::chrono::milliseconds timeout) {
  return WaitFor(needle, /*is_stderr=*/false, timeout);
}

bool ChildProcess::WaitForStderr(const std::string& needle, std::chrono::milliseconds timeout) {
  return WaitFor(needle, /*is_stderr=*/true, timeout);
}

bool ChildProcess::Exited() {
  Reap(/*block=*/false);
  return exit_code_.has_value();
}

std::optional<int> ChildProcess::WaitExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_code_.has_value()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd fd{pidfd_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    Reap(/*block=*/true);
  }
  // The pipes close with the exit, unless something the child started still holds them.
  absl::MutexLock lock(&mu_);
  auto closed = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return out_closed_ && err_closed_; };
  mu_.AwaitWithTimeout(absl::Condition(&closed),
                       absl::FromChrono(deadline - std::chrono::steady_clock::now()));
  return exit_code_;
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  std::optional<int> code = WaitExit(timeout);
  if (!code.has_value()) {
    ::kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }
  return code;
}

std::string ChildProcess::out() {
  absl::MutexLock lock(&mu_);
  return out_;
}

std::string ChildProcess::err() {
  absl::MutexLock lock(&mu_);
  return err_;
}

std::int64_t ChildProcess::RssKiB() const {
  std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
  for (std::string line; std::getline(status, line);) {
    if (!line.starts_with("VmRSS:")) continue;
    const std::size_t at = line.find_first_of("0123456789");
    std::int64_t kib = -1;
    if (at != std::string::npos) std::from_chars(line.data() + at, line.data() + line.size(), kib);
    return kib;
  }
  return -1;
}

int ChildProcess::OpenFds() const {
  DIR* dir = ::opendir(absl::StrCat("/proc/", pid_, "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

RunResult RunProgram(ChildOptions options, std::chrono::milliseconds timeout) {
  RunResult result;
  auto child = ChildProcess::Start(std::move(options));
  if (!child.ok()) {
    result.err = std::string(child.status().message());
    return result;
  }
  result.exit_code = (*child)->Wait(timeout).value_or(-1);
  result.out = (*child)->out();
  result.err = (*child)->err();
  return result;
}

}  // namespace agentgateway::testing
