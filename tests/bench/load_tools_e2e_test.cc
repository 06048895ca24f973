// The load tools as child processes on loopback: sse_load against a real supervisor-emulator
// and grpc_load against grpc_bare_server. The event counts they report must be the exact
// stream lengths, every delta's stamp must give one lag sample, and a hold must hold.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <signal.h>
#include <unistd.h>

#include "tests/testing/child_process.h"

namespace agentgateway::bench {
namespace {

using testing::ChildOptions;
using testing::ChildProcess;
using namespace std::chrono_literals;

// The number after "name": in a one-line JSON report; -1 when absent.
double Field(const std::string& line, const std::string& name) {
  std::size_t at = line.find("\"" + name + "\":");
  if (at == std::string::npos) return -1;
  return std::stod(line.substr(at + name.size() + 3));
}

// Starts `argv` and returns it with the HOST:PORT that follows `marker` in its first line.
std::unique_ptr<ChildProcess> StartServer(std::vector<std::string> argv, const std::string& marker,
                                          std::string* target) {
  auto server = ChildProcess::Start(ChildOptions{.argv = std::move(argv)});
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  EXPECT_TRUE((*server)->WaitForStdout("\n", 10s)) << (*server)->err();
  const std::string out = (*server)->out();
  std::size_t at = out.find(marker);
  EXPECT_NE(at, std::string::npos) << out;
  if (at == std::string::npos) return nullptr;
  *target = out.substr(at + marker.size());
  *target = target->substr(0, target->find_first_of("\r\n "));
  return *std::move(server);
}

// Runs a load tool to its end; returns its exit code and stdout.
std::pair<int, std::string> RunTool(std::vector<std::string> argv) {
  auto tool = ChildProcess::Start(ChildOptions{.argv = std::move(argv)});
  EXPECT_TRUE(tool.ok()) << tool.status();
  if (!tool.ok()) return {-1, ""};
  std::optional<int> code = (*tool)->Wait(60s);
  EXPECT_EQ((*tool)->err(), "");
  return {code.value_or(-1), (*tool)->out()};
}

class SseLoadE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    StartEmulator({});
    body_file_ = ::testing::TempDir() + "sse_load_body_" + std::to_string(getpid()) + ".json";
    std::ofstream(body_file_) << R"({"model":"m","input":[{"role":"user","content":"hi"}],)"
                                 R"("stream":true})";
  }
  void TearDown() override { std::remove(body_file_.c_str()); }

  void StartEmulator(std::vector<std::string> extra) {
    std::vector<std::string> argv = {AG_EMULATOR_BINARY, "--listen", "127.0.0.1:0", "--threads",
                                     "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    emulator_.reset();
    emulator_ = StartServer(argv, "listening on http://", &target_);
    ASSERT_NE(emulator_, nullptr);
  }

  std::pair<int, std::string> RunLoad(std::vector<std::string> args) {
    std::vector<std::string> argv = {AG_SSE_LOAD_BINARY, "--target", target_, "--path",
                                     "/ai-gateway/mlflow/v1/responses", "--body-file",
                                     body_file_, "--header", "Authorization: Bearer x"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunTool(argv);
  }

  std::unique_ptr<ChildProcess> emulator_;
  std::string target_;
  std::string body_file_;
};

TEST_F(SseLoadE2e, ClosedLoopCountsEveryEventOfEveryStream) {
  auto [code, out] = RunLoad({"--header", "X-Emulator-Deltas: 50", "--header",
                              "X-Emulator-Delta-Bytes: 20", "--concurrency", "2", "--seconds",
                              "0.3", "--warmup", "0"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(Field(out, "errors"), 0) << out;
  const double requests = Field(out, "requests");
  EXPECT_GT(requests, 0) << out;
  // created, in_progress, item added, part added, 50 deltas, text done, part done, item done,
  // completed: 58 events with data per stream.
  EXPECT_EQ(Field(out, "events"), requests * 58) << out;
  EXPECT_GT(Field(out, "ttfb_p50_ms"), 0) << out;
  EXPECT_GE(Field(out, "total_p99_ms"), Field(out, "total_p50_ms")) << out;
}

TEST_F(SseLoadE2e, BenchAnswerGivesOneLagSamplePerDelta) {
  StartEmulator({"--bench-answer", "30:40"});
  auto [code, out] = RunLoad({"--concurrency", "2", "--seconds", "0.3", "--warmup", "0"});
  ASSERT_EQ(code, 0) << out;
  const double requests = Field(out, "requests");
  EXPECT_GT(requests, 0) << out;
  EXPECT_EQ(Field(out, "events"), requests * 38) << out;
  // The closing events repeat the stamps: each delta still counts once.
  EXPECT_EQ(Field(out, "lag_samples"), requests * 30) << out;
  EXPECT_GT(Field(out, "lag_p50_ms"), 0) << out;
  EXPECT_LT(Field(out, "lag_p50_ms"), 10000) << out;
}

TEST_F(SseLoadE2e, ErrorAnswersAreCountedAndFailTheRun) {
  auto [code, out] = RunLoad({"--header", "X-Emulator-Fault: 503", "--concurrency", "1",
                              "--seconds", "0.2", "--warmup", "0"});
  EXPECT_EQ(code, 3) << out;
  EXPECT_GT(Field(out, "errors"), 0) << out;
  EXPECT_NE(out.find("\"first_error\":\"HTTP status 503\""), std::string::npos) << out;
}

TEST_F(SseLoadE2e, HoldOpensEveryStreamThenCloses) {
  // 10 events 300 ms apart: each stream lasts ~3 s, far longer than the hold.
  auto [code, out] = RunLoad({"--header", "X-Emulator-Deltas: 2", "--header",
                              "X-Emulator-Fault: drip", "--header", "X-Emulator-Drip-Ms: 300",
                              "--hold", "40", "--hold-seconds", "0.1", "--max-connecting", "7"});
  ASSERT_EQ(code, 0) << out;
  std::size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos) << out;
  const std::string held = out.substr(0, nl), last = out.substr(nl + 1);
  EXPECT_NE(held.find("\"phase\":\"held\""), std::string::npos) << out;
  EXPECT_EQ(Field(held, "opened"), 40) << out;
  EXPECT_NE(last.find("\"mode\":\"hold\""), std::string::npos) << out;
  EXPECT_EQ(Field(last, "opened"), 40) << out;
  EXPECT_EQ(Field(last, "errors"), 0) << out;
  EXPECT_EQ(Field(last, "ended"), 0) << out;
}

class GrpcLoadE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = StartServer({AG_BARE_SERVER_BINARY, "--listen", "127.0.0.1:0", "--events", "20",
                           "--bytes", "64"},
                          "grpc_bare_server listening on ", &target_);
    ASSERT_NE(server_, nullptr);
  }
  std::pair<int, std::string> RunLoad(std::vector<std::string> args) {
    std::vector<std::string> argv = {AG_GRPC_LOAD_BINARY, "--target", target_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunTool(argv);
  }
  std::unique_ptr<ChildProcess> server_;
  std::string target_;
};

TEST_F(GrpcLoadE2e, StreamCountsEventsAndLagOfEveryDelta) {
  auto [code, out] = RunLoad({"--rpc", "stream", "-c", "4", "--seconds", "0.3", "--warmup", "0"});
  ASSERT_EQ(code, 0) << out;
  const double calls = Field(out, "calls");
  EXPECT_GT(calls, 0) << out;
  EXPECT_EQ(Field(out, "events"), calls * 28) << out;
  EXPECT_EQ(Field(out, "lag_samples"), calls * 20) << out;
  EXPECT_GE(Field(out, "p999_ms"), Field(out, "p99_ms")) << out;
  EXPECT_GE(Field(out, "ttfb_p999_ms"), Field(out, "ttfb_p50_ms")) << out;
}

TEST_F(GrpcLoadE2e, InvokeHasOneStampPerAnswer) {
  auto [code, out] = RunLoad({"--rpc", "invoke", "-c", "2", "--seconds", "0.2", "--warmup", "0"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(Field(out, "lag_samples"), Field(out, "calls")) << out;
}

TEST_F(GrpcLoadE2e, HoldOpensEveryStreamOverSeveralChannels) {
  auto [code, out] = RunLoad({"--rpc", "stream", "--text", "hi [[drip-ms:300]]", "--hold", "60",
                              "--hold-seconds", "0.1", "--channels", "3", "--max-connecting",
                              "7"});
  ASSERT_EQ(code, 0) << out;
  std::size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos) << out;
  const std::string held = out.substr(0, nl), last = out.substr(nl + 1);
  EXPECT_NE(held.find("\"phase\":\"held\""), std::string::npos) << out;
  EXPECT_EQ(Field(held, "opened"), 60) << out;
  EXPECT_EQ(Field(last, "opened"), 60) << out;
  EXPECT_EQ(Field(last, "errors"), 0) << out;
  EXPECT_EQ(Field(last, "ended"), 0) << out;
}

TEST_F(GrpcLoadE2e, BareServerStopsOnSigterm) {
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(10s), 0);
}

}  // namespace
}  // namespace agentgateway::bench
