#include "tests/load/gateway_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <string_view>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace agentgateway::load {
namespace {

// Credentials or a host in the test's environment would point the child elsewhere.
bool DroppedFromChildEnv(std::string_view entry) {
  return entry.rfind("DATABRICKS_", 0) == 0;
}

// "... host:PORT..." -> PORT, reading the digits after the last ':' before `end`.
int PortBefore(std::string_view text, std::size_t end) {
  std::size_t colon = text.rfind(':', end);
  if (colon == std::string_view::npos) return 0;
  std::size_t stop = colon + 1;
  while (stop < text.size() && text[stop] >= '0' && text[stop] <= '9') ++stop;
  int port = 0;
  std::from_chars(text.data() + colon + 1, text.data() + stop, port);
  return port;
}

// Ports from the banner lines "REST      : POST http://127.0.0.1:PORT/invocations ..." and
// "gRPC      : 127.0.0.1:PORT  (...)".
void ParseBanner(std::string_view banner, int& http_port, int& grpc_port) {
  for (std::size_t start = 0; start < banner.size();) {
    std::size_t end = banner.find('\n', start);
    if (end == std::string_view::npos) break;  // only whole lines
    std::string_view line = banner.substr(start, end - start);
    start = end + 1;
    std::size_t scheme = line.find("://");
    if (line.find("REST ") != std::string_view::npos && scheme != std::string_view::npos) {
      std::size_t path = line.find('/', scheme + 3);
      if (path != std::string_view::npos) http_port = PortBefore(line, path);
    } else if (line.find("gRPC ") != std::string_view::npos) {
      std::size_t value = line.find(": ");
      std::size_t space = value == std::string_view::npos ? value : line.find(' ', value + 2);
      if (space != std::string_view::npos) grpc_port = PortBefore(line, space);
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayProcess>> GatewayProcess::Start(
    const GatewayLaunch& launch) {
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (DroppedFromChildEnv(entry)) continue;
    bool replaced = false;
    for (const auto& [name, value] : launch.env) {
      if (entry.rfind(absl::StrCat(name, "="), 0) == 0) replaced = true;
    }
    if (!replaced) env_storage.emplace_back(entry);
  }
  for (const auto& [name, value] : launch.env) env_storage.push_back(absl::StrCat(name, "=", value));
  std::vector<std::string> arg_storage = {launch.binary,  "--config",      launch.config_path,
                                          "--http-listen", "127.0.0.1:0", "--grpc-listen",
                                          "127.0.0.1:0"};
  std::vector<char*> argv, envp;
  for (auto& a : arg_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, launch.stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  auto process = std::unique_ptr<GatewayProcess>(new GatewayProcess());
  int rc = posix_spawn(&process->pid_, launch.binary.c_str(), &actions, nullptr, argv.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  process->stdout_fd_ = out[0];
  if (rc != 0) {
    process->pid_ = -1;
    return absl::InternalError(absl::StrCat("spawning ", launch.binary, ": ", strerror(rc)));
  }
  process->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, process->pid_, 0));
  if (process->pidfd_ < 0) return absl::InternalError("pidfd_open failed");

  const absl::Time deadline = absl::Now() + launch.ready_timeout;
  while (process->http_port_ == 0 || process->grpc_port_ == 0) {
    const absl::Duration left = deadline - absl::Now();
    pollfd fd{process->stdout_fd_, POLLIN, 0};
    int ready = left > absl::ZeroDuration()
                    ? poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1)
                    : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("no ready banner from agent-gateway; stdout so far: ", process->banner_));
    }
    char buffer[4096];
    ssize_t n = read(process->stdout_fd_, buffer, sizeof(buffer));
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("agent-gateway exited before it was ready (see ", launch.stderr_path,
                       "); stdout: ", process->banner_));
    }
    process->banner_.append(buffer, static_cast<std::size_t>(n));
    ParseBanner(process->banner_, process->http_port_, process->grpc_port_);
  }
  return process;
}

GatewayProcess::~GatewayProcess() {
  if (pid_ > 0 && !exited_) {
    if (!Stop(absl::Seconds(10)).ok()) {
      kill(pid_, SIGKILL);
      (void)WaitExit(absl::Seconds(10));
    }
  }
  if (pidfd_ >= 0) close(pidfd_);
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::int64_t GatewayProcess::RssKiB() const {
  std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::size_t at = line.find_first_of("0123456789");
    std::int64_t kib = -1;
    if (at != std::string::npos) std::from_chars(line.data() + at, line.data() + line.size(), kib);
    return kib;
  }
  return -1;
}

int GatewayProcess::OpenFds() const {
  DIR* dir = opendir(absl::StrCat("/proc/", pid_, "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

absl::StatusOr<int> GatewayProcess::Stop(absl::Duration timeout) {
  if (exited_) return absl::FailedPreconditionError("already stopped");
  kill(pid_, SIGTERM);
  return WaitExit(timeout);
}

absl::StatusOr<int> GatewayProcess::WaitExit(absl::Duration timeout) {
  pollfd fd{pidfd_, POLLIN, 0};
  int ready;
  do {
    ready = poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return absl::DeadlineExceededError("agent-gateway did not exit in time");
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return absl::InternalError("waitpid failed");
  exited_ = true;
  return status;
}

}  // namespace agentgateway::load
