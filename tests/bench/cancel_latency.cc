// cancel_latency: how long after a caller leaves does the real agent-gateway process close
// its upstream request (issue 4: target 50 ms)?
//
//   cancel_latency --gateway PATH [--iterations N] [--warmup W] [--deadline-ms D] [--out FILE]
//
// The supervisor emulator runs in this process over TLS (a throwaway CA, given to the gateway
// as upstream.ca_file), with its on_client_closed hook recording when it sees each upstream
// request close. agent-gateway runs as a child process on 127.0.0.1 ephemeral ports. Both
// clocks are CLOCK_MONOTONIC (std::chrono::steady_clock), system-wide, so the moment this
// process's client leaves and the moment the emulator sees the close are comparable.
//
// Each round runs every case of tests/timing/cancel_cases.h once (cases interleaved, so noise
// spreads evenly); W rounds are discarded, then N are measured. Prints a Markdown table of
// p50/p90/p99/max per case (nearest rank) and writes it to FILE when asked. Exit code 0 only
// when every iteration succeeded. The child is ended (SIGTERM, then SIGKILL) on every path.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/emulator/emulator.h"
#include "tests/testing/tls_certs.h"
#include "tests/timing/cancel_cases.h"
#include "tests/timing/close_recorder.h"

extern char** environ;

namespace {

using agentgateway::timing::CancelCase;
using agentgateway::timing::Clock;

struct Options {
  std::string gateway;
  int iterations = 200;
  int warmup = 5;
  int deadline_ms = 200;
  std::string out;
};

// agent-gateway as a child process; the destructor ends it (SIGTERM, bounded wait, SIGKILL).
class GatewayProcess {
 public:
  ~GatewayProcess() { Stop(); }

  // Starts `binary` with `args`; stdout is read here for the start-up lines, stderr goes to
  // `log_path`. False (with a message) when it did not print its ports within 20 s.
  bool Start(const std::string& binary, const std::vector<std::string>& args,
             const std::string& log_path, std::string* error) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return Fail(error, "pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> argv_s = {binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = {"DATABRICKS_TOKEN=bench-token",
                                      "AGENT_GATEWAY_LOG_LEVEL=warning"};
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).substr(0, 11) != "DATABRICKS_" &&
          std::string_view(*e).substr(0, 24) != "AGENT_GATEWAY_LOG_LEVEL=") {
        env_s.emplace_back(*e);
      }
    }
    std::vector<char*> envp;
    for (std::string& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      pid_ = -1;
      return Fail(error, absl::StrCat("cannot start ", binary, ": ", std::strerror(rc)));
    }
    out_fd_ = out[0];
    return ReadPorts(error);
  }

  void Stop() {
    if (out_fd_ >= 0) close(out_fd_);
    out_fd_ = -1;
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {  // up to 10 s for a graceful drain
      if (waitpid(pid_, &exit_status_, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &exit_status_, 0);
    pid_ = -1;
  }

  pid_t pid() const { return pid_; }
  uint16_t rest_port() const { return rest_port_; }
  uint16_t grpc_port() const { return grpc_port_; }
  int exit_status() const { return exit_status_; }

 private:
  static bool Fail(std::string* error, std::string message) {
    *error = std::move(message);
    return false;
  }

  bool ReadPorts(std::string* error) {
    static const std::regex kRest(R"(^  REST +: POST http://127\.0\.0\.1:(\d+)/invocations)");
    static const std::regex kGrpc(R"(^  gRPC +: 127\.0\.0\.1:(\d+))");
    std::string text;
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (rest_port_ == 0 || grpc_port_ == 0) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - Clock::now()).count());
      pollfd p{out_fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, left) <= 0) return Fail(error, "no start-up lines: " + text);
      char buf[4096];
      ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n <= 0) return Fail(error, "the gateway exited: " + text);
      text.append(buf, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string line = text.substr(start, nl - start);
        std::smatch m;
        if (std::regex_search(line, m, kRest)) rest_port_ = std::stoi(m[1]);
        if (std::regex_search(line, m, kGrpc)) grpc_port_ = std::stoi(m[1]);
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int exit_status_ = 0;
  uint16_t rest_port_ = 0;
  uint16_t grpc_port_ = 0;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Nearest-rank percentile of sorted samples.
double Percentile(const std::vector<double>& sorted, double p) {
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::string Config(const std::string& ca_file) {
  return absl::StrCat(R"(upstream:
  ca_file: )", ca_file, R"(
default_profile: default
profiles:
  default:
    model: databricks-claude-sonnet-4-5
    instructions: You are a helpful data assistant.
    tools:
      - type: genie_space
        genie_space: {id: sales, description: "Sales figures by region and quarter"}
)");
}

int Run(const Options& options) {
  agentgateway::testing::TestPki pki =
      agentgateway::testing::MakeTestPki({"localhost"}, {"127.0.0.1"});
  agentgateway::testing::TempDir dir;
  if (!pki.WriteFiles(dir.path()).ok()) return 1;
  {
    std::ofstream config(dir.File("gateway.yaml"));
    config << Config(dir.File("ca.pem"));
  }

  agentgateway::timing::CloseRecorder closes;  // outlives the emulator (its hook)
  agentgateway::emulator::EmulatorOptions eo;
  eo.cert_pem = pki.cert_pem;
  eo.key_pem = pki.key_pem;
  eo.on_client_closed = closes.Hook();
  auto emulator = agentgateway::emulator::Emulator::Create(eo);
  if (!emulator.ok()) {
    std::fprintf(stderr, "emulator: %s\n", emulator.status().ToString().c_str());
    return 1;
  }
  std::string emulator_base = absl::StrCat("https://localhost:", (*emulator)->port());

  GatewayProcess gateway;
  std::string error;
  if (!gateway.Start(options.gateway,
                     {"--config", dir.File("gateway.yaml"), "--http-listen", "127.0.0.1:0",
                      "--grpc-listen", "127.0.0.1:0", "--upstream",
                      emulator_base + "/ai-gateway/mlflow/v1"},
                     dir.File("gateway.log"), &error)) {
    std::fprintf(stderr, "agent-gateway: %s\n", error.c_str());
    return 1;
  }
  std::fprintf(stderr, "agent-gateway pid %d: REST 127.0.0.1:%d, gRPC 127.0.0.1:%d\n",
               static_cast<int>(gateway.pid()), gateway.rest_port(), gateway.grpc_port());

  agentgateway::upstream::PoolOptions po;
  po.ca_pem = pki.ca_cert_pem;
  auto probe_pool = agentgateway::upstream::HttpPool::Create(po);
  if (!probe_pool.ok()) return 1;
  agentgateway::timing::EmulatorProbe probe(probe_pool->get(), emulator_base);
  auto stub = agentgateway::v1::AgentService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", gateway.grpc_port()),
                          grpc::InsecureChannelCredentials()));
  agentgateway::timing::CancelTarget target;
  target.grpc = stub.get();
  target.rest_port = gateway.rest_port();
  target.emulator = &probe;
  target.closes = &closes;
  target.deadline = std::chrono::milliseconds(options.deadline_ms);

  std::map<CancelCase, std::vector<double>> samples;
  std::map<CancelCase, int> errors;
  for (int round = 0; round < options.warmup + options.iterations; ++round) {
    for (CancelCase c : agentgateway::timing::kAllCancelCases) {
      absl::StatusOr<Clock::duration> elapsed = agentgateway::timing::RunCancelCase(c, target);
      if (!elapsed.ok()) {
        ++errors[c];
        std::fprintf(stderr, "%s round %d: %s\n", std::string(CaseName(c)).c_str(), round,
                     elapsed.status().ToString().c_str());
        continue;
      }
      if (round >= options.warmup) samples[c].push_back(Ms(*elapsed));
    }
  }

  std::string table = absl::StrCat(
      "| case | caller leaves by | n | errors | p50 ms | p90 ms | p99 ms | max ms | within 50 ms |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  static const std::map<CancelCase, std::string> kHow = {
      {CancelCase::kGrpcStreamBeforeAnswer, "gRPC Stream TryCancel, upstream hung before any event"},
      {CancelCase::kGrpcStreamMidStream, "gRPC Stream TryCancel after the first event"},
      {CancelCase::kGrpcStreamDeadline, absl::StrCat("gRPC Stream deadline (", options.deadline_ms,
                                                     " ms) expiring, upstream hung")},
      {CancelCase::kGrpcInvokeCancel, "gRPC Invoke TryCancel, upstream hung"},
      {CancelCase::kRestSseClose, "REST SSE client close(2) after the first event"},
      {CancelCase::kRestJsonClose, "REST JSON client close(2), upstream hung"},
  };
  bool ok = true;
  for (CancelCase c : agentgateway::timing::kAllCancelCases) {
    std::vector<double>& s = samples[c];
    std::sort(s.begin(), s.end());
    if (s.empty() || errors[c] > 0) ok = false;
    if (s.empty()) {
      absl::StrAppend(&table, "| ", std::string(CaseName(c)), " | ", kHow.at(c), " | 0 | ",
                      errors[c], " | – | – | – | – | – |\n");
      continue;
    }
    long within = std::count_if(s.begin(), s.end(), [](double ms) { return ms <= 50.0; });
    absl::StrAppend(&table, "| ", std::string(CaseName(c)), " | ", kHow.at(c), " | ", s.size(),
                    " | ", errors[c], " | ", absl::StrFormat("%.3f", Percentile(s, 50)), " | ",
                    absl::StrFormat("%.3f", Percentile(s, 90)), " | ",
                    absl::StrFormat("%.3f", Percentile(s, 99)), " | ",
                    absl::StrFormat("%.3f", s.back()), " | ", within, "/", s.size(), " |\n");
  }
  std::fputs(table.c_str(), stdout);
  if (!options.out.empty()) std::ofstream(options.out) << table;

  gateway.Stop();
  if (!WIFEXITED(gateway.exit_status()) || WEXITSTATUS(gateway.exit_status()) != 0) {
    std::fprintf(stderr, "agent-gateway did not exit 0 on SIGTERM (status %d)\n",
                 gateway.exit_status());
    ok = false;
  }
  probe_pool->reset();
  (*emulator)->Stop();
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"cancel_latency: cancel-to-upstream-close of a real agent-gateway process"};
  Options options;
  app.add_option("--gateway", options.gateway, "agent-gateway binary")->required();
  app.add_option("--iterations", options.iterations, "measured rounds (each runs every case)")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", options.warmup, "discarded rounds first")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--deadline-ms", options.deadline_ms, "deadline of the deadline case")
      ->check(CLI::PositiveNumber);
  app.add_option("--out", options.out, "also write the Markdown table here");
  CLI11_PARSE(app, argc, argv);
  return Run(options);
}
