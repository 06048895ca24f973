#include "tests/process/gateway_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <regex>

#include "absl/strings/str_cat.h"

namespace agentgateway::testing {
namespace {

constexpr auto kStartBound = std::chrono::seconds(30);

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayProcess>> GatewayProcess::Start(
    const std::string& binary, const std::string& config_path,
    const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {binary, "--config", config_path, "--http-listen",
                                   "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  auto process = std::unique_ptr<GatewayProcess>(new GatewayProcess());
  process->pid_ = pid;
  GatewayProcess* p = process.get();
  p->stdout_reader_ = std::thread([p, fd = out[0]] { p->ReadLoop(fd, false); });
  p->stderr_reader_ = std::thread([p, fd = err[0]] { p->ReadLoop(fd, true); });

  // The banner names both bound ports: "REST      : POST http://127.0.0.1:PORT/invocations"
  // and "gRPC      : 127.0.0.1:PORT".
  static const std::regex kRest(R"(REST +: POST https?://[^ ]+:(\d+)/invocations)");
  static const std::regex kGrpc(R"(gRPC +: [^ ]+:(\d+))");
  std::unique_lock lock(p->mu_);
  bool ready = p->cv_.wait_for(lock, kStartBound, [p] {
    return p->stdout_closed_ || p->stdout_.find("identity  :") != std::string::npos;
  });
  std::smatch rest, grpc;
  if (!ready || !std::regex_search(p->stdout_, rest, kRest) ||
      !std::regex_search(p->stdout_, grpc, kGrpc)) {
    return absl::UnavailableError(absl::StrCat("agent-gateway did not start; stdout:\n",
                                               p->stdout_, "\nstderr:\n", p->stderr_));
  }
  p->http_port_ = static_cast<uint16_t>(std::stoi(rest[1]));
  p->grpc_port_ = static_cast<uint16_t>(std::stoi(grpc[1]));
  return process;
}

GatewayProcess::~GatewayProcess() {
  if (!exit_code_.has_value() && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitExit(std::chrono::seconds(30));
  }
  if (stdout_reader_.joinable()) stdout_reader_.join();
  if (stderr_reader_.joinable()) stderr_reader_.join();
}

void GatewayProcess::ReadLoop(int fd, bool is_stderr) {
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mu_);
    if (n <= 0) {
      (is_stderr ? stderr_closed_ : stdout_closed_) = true;
      cv_.notify_all();
      break;
    }
    (is_stderr ? stderr_ : stdout_).append(buffer, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
}

void GatewayProcess::Signal(int signal_number) { ::kill(pid_, signal_number); }

std::optional<int> GatewayProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (exit_code_.has_value()) return exit_code_;
  // The process closing both pipes is the event (it exits); then reap it. A child that
  // closed its pipes but lingers is polled for a bounded time.
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return stdout_closed_ && stderr_closed_; });
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool GatewayProcess::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return stderr_.find(needle) != std::string::npos || stderr_closed_;
  }) && stderr_.find(needle) != std::string::npos;
}

std::string GatewayProcess::log() {
  std::lock_guard lock(mu_);
  return stderr_;
}

}  // namespace agentgateway::testing
