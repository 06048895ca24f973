// soak_driver: the load and the checks of the soak (soak.sh starts the servers and runs it).
//
//   soak_driver --grpc 127.0.0.1:P --rest-port P --emulator http://127.0.0.1:P --gateway-pid PID
//               [--minutes M] [--warmup-seconds S] [--workers W] [--fault-rate F]
//               [--cancel-rate C] [--seed N] [--idle-wait-seconds I] [--pause-ms MS]
//               [--faults a,b,...]
//
// W worker threads each run one call at a time, picked at random: gRPC Stream, gRPC Invoke,
// REST JSON or REST SSE (POST /invocations), on one of a few questions; a fraction F carries
// a random emulator fault (`[[fault:NAME]]` in the question), a fraction C is cancelled by the
// client at a random point (after k events, or after a short random delay). Every call is
// checked against the reference answer of its question from a fault-free run (soak_check.h).
//
// Phases: references; warm-up (same load, not counted); wait until the gateway's upstream
// connections expired (the emulator's open_connections gauge), sample the gateway's RSS and
// open fds; M minutes of load (a progress line each minute); stop, wait for idle again,
// sample again; print the summary. Exit 0 only when nothing was lost, duplicated, mismatched
// or silently ended, every call ended as its fault says it must, and the fd count did not grow.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "server/upstream/http_pool.h"
#include "tests/bench/soak_calls.h"
#include "tests/bench/soak_check.h"
#include "tests/timing/cancel_cases.h"

namespace agentgateway::soak {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string grpc;
  uint16_t rest_port = 0;
  std::string emulator;
  int gateway_pid = 0;
  double minutes = 20;
  int warmup_seconds = 30;
  int workers = 8;
  double fault_rate = 0.3;
  double cancel_rate = 0.2;
  uint64_t seed = 1;
  int idle_wait_seconds = 120;
  int pause_ms = 0;
  std::vector<std::string> faults = AllFaults();
};

struct Sample {
  int64_t rss_kb = -1;
  int64_t threads = -1;
  int64_t fds = -1;
  std::map<std::string, std::string> fd_targets;  // fd number -> what it is (described)
};

// TCP sockets of `pid` by inode: "local -> remote (state)", from /proc/PID/net/tcp.
std::map<std::string, std::string> TcpSockets(int pid) {
  static const char* kStates[] = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
                                  "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
                                  "LISTEN", "CLOSING"};
  auto port = [](const std::string& hex) {
    return std::to_string(std::stoul(hex.substr(hex.find(':') + 1), nullptr, 16));
  };
  std::map<std::string, std::string> out;
  std::ifstream tcp(absl::StrCat("/proc/", pid, "/net/tcp"));
  std::string line;
  std::getline(tcp, line);  // header
  while (std::getline(tcp, line)) {
    std::istringstream in(line);
    std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
    in >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
    unsigned st = std::stoul(state, nullptr, 16);
    out["socket:[" + inode + "]"] = absl::StrCat("tcp :", port(local), " -> :", port(remote), " ",
                                                 st < 12 ? kStates[st] : "?");
  }
  return out;
}

Sample SampleProcess(int pid) {
  Sample s;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stoll(line.substr(6));
    if (line.rfind("Threads:", 0) == 0) s.threads = std::stoll(line.substr(8));
  }
  std::error_code ec;
  s.fds = 0;
  std::map<std::string, std::string> tcp = TcpSockets(pid);
  for (auto it = std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/fd"), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++s.fds;
    std::error_code link_ec;
    std::string target = std::filesystem::read_symlink(it->path(), link_ec).string();
    auto known = tcp.find(target);
    s.fd_targets[it->path().filename().string()] =
        known == tcp.end() ? target : target + " " + known->second;
  }
  return s;
}

// Runs `workers` threads of random calls until `stop`; returns their merged tally.
Tally RunLoad(const Options& o, CallRunner& runner, std::atomic<bool>& stop,
              std::atomic<int64_t>& calls, std::atomic<int64_t>& problems, uint64_t seed) {
  std::vector<Tally> tallies(o.workers);
  std::vector<std::thread> threads;
  for (int w = 0; w < o.workers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(seed * 1000 + w);
      while (!stop.load()) {
        CallPlan plan = runner.RandomPlan(rng, o.fault_rate, o.cancel_rate);
        int64_t before = tallies[w].problems();
        runner.Run(plan, rng, tallies[w]);
        calls.fetch_add(1);
        problems.fetch_add(tallies[w].problems() - before);
        if (o.pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o.pause_ms));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  Tally total;
  for (const Tally& t : tallies) total.Merge(t);
  return total;
}

// Polls the emulator's gauge (a bounded wait: idle connections expire on the gateway's
// timer, and no event announces it) until only the probe's own connection is open.
bool WaitIdle(timing::EmulatorProbe& probe, int seconds) {
  auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < deadline) {
    absl::StatusOr<int64_t> open = probe.Counter("open_connections");
    if (open.ok() && *open <= 1) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

void PrintSummary(const Options& o, const Tally& t, const Sample& start, const Sample& end,
                  double seconds, bool idle_start, bool idle_end) {
  int64_t total = 0;
  for (const auto& [kind, n] : t.requests) total += n;
  std::printf("\n## soak summary\n\n");
  std::printf("- load: %.1f min measured, %d workers, fault rate %.2f (%zu faults), cancel rate "
              "%.2f, seed %llu\n",
              seconds / 60, o.workers, o.fault_rate, o.faults.size(), o.cancel_rate,
              static_cast<unsigned long long>(o.seed));
  std::printf("- calls: %lld (%.1f/s), events received: %lld, client cancels: %lld\n",
              static_cast<long long>(total), total / seconds, static_cast<long long>(t.events),
              static_cast<long long>(t.cancels));
  std::printf("- by kind:");
  for (const auto& [k, v] : t.requests) std::printf(" %s %lld;", k.c_str(), static_cast<long long>(v));
  std::printf("\n- faults injected:");
  for (const auto& [k, v] : t.faults) std::printf(" %s %lld;", k.c_str(), static_cast<long long>(v));
  std::printf("\n- outcomes:");
  for (const auto& [k, v] : t.outcomes) std::printf(" %s %lld;", k.c_str(), static_cast<long long>(v));
  std::printf("\n- lost events: %lld, duplicated events: %lld, mismatched answers: %lld, "
              "silent ends: %lld, fault ignored (OK despite a failing fault): %lld, "
              "unexpected errors: %lld\n",
              static_cast<long long>(t.lost), static_cast<long long>(t.duplicated),
              static_cast<long long>(t.mismatched), static_cast<long long>(t.silent_ends),
              static_cast<long long>(t.unexpected_ok), static_cast<long long>(t.unexpected_error));
  std::printf("- gateway RSS: start %lld KiB, end %lld KiB; open fds: start %lld, end %lld; "
              "threads: start %lld, end %lld%s%s\n",
              static_cast<long long>(start.rss_kb), static_cast<long long>(end.rss_kb),
              static_cast<long long>(start.fds), static_cast<long long>(end.fds),
              static_cast<long long>(start.threads), static_cast<long long>(end.threads),
              idle_start ? "" : " (start sampled before upstream connections were idle-closed)",
              idle_end ? "" : " (end sampled before upstream connections were idle-closed)");
}

int Main(const Options& o) {
  auto stub = v1::AgentService::NewStub(
      grpc::CreateChannel(o.grpc, grpc::InsecureChannelCredentials()));
  auto probe_pool = upstream::HttpPool::Create(upstream::PoolOptions{});
  if (!probe_pool.ok()) return 2;
  timing::EmulatorProbe probe(probe_pool->get(), o.emulator);

  auto rest_pool = MakeRestPool();
  if (!rest_pool) return 2;
  CallRunner runner(stub.get(), rest_pool.get(), o.rest_port, o.faults);
  if (absl::Status s = runner.BuildReferences(); !s.ok()) {
    std::fprintf(stderr, "soak: references: %s\n", s.ToString().c_str());
    return 2;
  }
  std::printf("references: %s\n", runner.DescribeReferences().c_str());

  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0}, problems{0};
  {
    std::printf("warm-up: %d s\n", o.warmup_seconds);
    std::fflush(stdout);
    auto timer = std::async(std::launch::async, [&] {
      std::this_thread::sleep_for(std::chrono::seconds(o.warmup_seconds));
      stop = true;
    });
    Tally warm = RunLoad(o, runner, stop, calls, problems, o.seed + 7);
    if (warm.problems() > 0) {
      std::fprintf(stderr, "soak: %lld problems during warm-up\n",
                   static_cast<long long>(warm.problems()));
    }
  }
  runner.set_rest_pool(nullptr);
  rest_pool = MakeRestPool();  // the warm-up's client connections close with the old pool
  runner.set_rest_pool(rest_pool.get());
  bool idle_start = WaitIdle(probe, o.idle_wait_seconds);
  Sample start = SampleProcess(o.gateway_pid);
  std::printf("start: RSS %lld KiB, fds %lld, threads %lld\n",
              static_cast<long long>(start.rss_kb), static_cast<long long>(start.fds),
              static_cast<long long>(start.threads));
  std::fflush(stdout);

  stop = false;
  calls = 0;
  problems = 0;
  auto began = Clock::now();
  auto load_end = began + std::chrono::milliseconds(static_cast<int64_t>(o.minutes * 60'000));
  auto progress = std::async(std::launch::async, [&] {
    for (int minute = 1;; ++minute) {
      auto next = began + std::chrono::minutes(minute);
      if (next > load_end) next = load_end;
      std::this_thread::sleep_until(next);
      Sample s = SampleProcess(o.gateway_pid);
      std::printf("t=%5.1f min: calls %lld, problems %lld, RSS %lld KiB, fds %lld, threads %lld\n",
                  std::chrono::duration<double>(Clock::now() - began).count() / 60,
                  static_cast<long long>(calls.load()), static_cast<long long>(problems.load()),
                  static_cast<long long>(s.rss_kb), static_cast<long long>(s.fds),
                  static_cast<long long>(s.threads));
      std::fflush(stdout);
      if (next >= load_end) break;
    }
    stop = true;
  });
  Tally tally = RunLoad(o, runner, stop, calls, problems, o.seed);
  progress.get();
  double seconds = std::chrono::duration<double>(Clock::now() - began).count();

  runner.set_rest_pool(nullptr);
  rest_pool.reset();
  bool idle_end = WaitIdle(probe, o.idle_wait_seconds);
  Sample end = SampleProcess(o.gateway_pid);
  PrintSummary(o, tally, start, end, seconds, idle_start, idle_end);
  bool fds_grew = end.fds > start.fds;
  for (const auto& [fd, what] : end.fd_targets) {
    auto before = start.fd_targets.find(fd);
    if (before == start.fd_targets.end() || before->second != what) {
      std::printf("fd %s at the end: %s (at the start: %s)\n", fd.c_str(), what.c_str(),
                  before == start.fd_targets.end() ? "not open" : before->second.c_str());
    }
  }
  bool pass = tally.problems() == 0 && !fds_grew && idle_end;
  std::printf("\nSOAK %s%s\n", pass ? "PASS" : "FAIL",
              fds_grew ? " (open fds grew)" : (idle_end ? "" : " (never idle)"));
  return pass ? 0 : 1;
}

}  // namespace
}  // namespace agentgateway::soak

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  agentgateway::soak::Options o;
  CLI::App app{"soak_driver: mixed load with cancels and faults against agent-gateway"};
  app.add_option("--grpc", o.grpc, "gateway gRPC HOST:PORT")->required();
  app.add_option("--rest-port", o.rest_port, "gateway REST port on 127.0.0.1")->required();
  app.add_option("--emulator", o.emulator, "emulator base URL (http://127.0.0.1:P)")->required();
  app.add_option("--gateway-pid", o.gateway_pid, "gateway process id (RSS, fds)")->required();
  app.add_option("--minutes", o.minutes, "measured load")->check(CLI::PositiveNumber);
  app.add_option("--warmup-seconds", o.warmup_seconds, "load before the start sample");
  app.add_option("--workers", o.workers, "concurrent callers")->check(CLI::PositiveNumber);
  app.add_option("--fault-rate", o.fault_rate, "share of calls with a fault")->check(CLI::Range(0.0, 1.0));
  app.add_option("--cancel-rate", o.cancel_rate, "share of calls the client cancels")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", o.seed, "random seed");
  app.add_option("--idle-wait-seconds", o.idle_wait_seconds, "bound on waiting for idle");
  app.add_option("--pause-ms", o.pause_ms, "pause between one worker's calls");
  app.add_option("--faults", o.faults, "faults to inject (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember(agentgateway::soak::AllFaults()));
  CLI11_PARSE(app, argc, argv);
  return agentgateway::soak::Main(o);
}
