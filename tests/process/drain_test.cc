// SIGTERM on the real binary: readiness goes false, listeners close, calls in flight get the
// configured grace, whatever is left ends with an explicit error (gRPC status, REST error
// frame), the upstream requests are closed, and the process exits 0 (under ASan: no leak).
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include <boost/json.hpp>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "server/upstream/http_pool.h"
#include "tests/emulator/emulator.h"
#include "tests/integration/stack.h"
#include "tests/testing/gateway_process.h"
#include "tests/testing/tls_certs.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

constexpr auto kBound = std::chrono::seconds(30);

class DrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto emulator = emulator::Emulator::Create(emulator::EmulatorOptions{});
    ASSERT_TRUE(emulator.ok()) << emulator.status();
    emulator_ = *std::move(emulator);
    auto pool = upstream::HttpPool::Create(upstream::PoolOptions{});
    ASSERT_TRUE(pool.ok()) << pool.status();
    client_ = *std::move(pool);
  }

  void StartGateway(int drain_grace_ms) {
    std::string path = dir_.File("gateway.yaml");
    std::ofstream(path) << "upstream:\n  base_url: " << emulator_->BaseUrl() << "/ai-gateway/mlflow/v1\n"
                        << "limits:\n  drain_grace_ms: " << drain_grace_ms << "\n"
                        << "profiles:\n  default: {model: emulated-model}\n";
    auto gateway = GatewayProcess::Start({.binary = AG_GATEWAY_BINARY, .config_path = path});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    stub_ = v1::AgentService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(gateway_->grpc_port()), grpc::InsecureChannelCredentials()));
  }

  std::string GatewayUrl(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(gateway_->http_port()) + path;
  }

  // Waits at the emulator (its long poll) until counter >= value.
  bool WaitEmulator(const std::string& counter, long long value) {
    upstream::HttpRequest request;
    request.method = "GET";
    request.url = *upstream::Url::Parse(
        absl::StrCat("http://127.0.0.1:", emulator_->port(), "/emulator/wait?counter=", counter,
                     "&value=", value, "&timeout_ms=20000"));
    auto result = client_->Fetch(std::move(request));
    return result.ok() && result->head.status == 200;
  }

  std::shared_ptr<upstream::Call> PostSse(const std::string& question,
                                          std::shared_ptr<CollectingHandler> handler) {
    upstream::HttpRequest request;
    request.url = *upstream::Url::Parse(GatewayUrl("/invocations"));
    request.headers = {{"Content-Type", "application/json"}};
    request.body = json::serialize(json::object{
        {"stream", true},
        {"input", json::array{json::object{{"role", "user"}, {"content", question}}}}});
    return client_->Start(std::move(request), std::move(handler));
  }

  TempDir dir_;
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<upstream::HttpPool> client_;
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
};

TEST_F(DrainTest, CallsStillRunningAfterTheGraceEndWithAnExplicitErrorAndTheProcessExitsZero) {
  StartGateway(/*drain_grace_ms=*/300);
  // A gRPC stream and a REST SSE stream, each stuck mid-stream at the upstream.
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, TextRequest("Tell me about sales [[fault:hang-mid]]"));
  v1::StreamEvent event;
  ASSERT_TRUE(reader->Read(&event)) << reader->Finish().error_message() << gateway_->log();
  auto sse = std::make_shared<CollectingHandler>();
  auto sse_call = PostSse("Tell me about sales [[fault:hang-mid]]", sse);
  ASSERT_TRUE(sse->WaitFor("data: "));
  ASSERT_TRUE(WaitEmulator("streams_started", 2));

  gateway_->Signal(SIGTERM);
  ASSERT_TRUE(gateway_->WaitForLog("draining: new calls are refused", kBound)) << gateway_->log();
  // Draining: the REST listener is closed and the gRPC server takes no new calls.
  upstream::HttpRequest health;
  health.method = "GET";
  health.url = *upstream::Url::Parse(GatewayUrl("/health"));
  auto refused = client_->Fetch(std::move(health));
  EXPECT_FALSE(refused.ok() && refused->head.status == 200)
      << "readiness must fail while draining";
  {
    grpc::ClientContext late_ctx;
    v1::InvokeResponse response;
    grpc::Status late = stub_->Invoke(&late_ctx, TextRequest("late"), &response);
    EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAVAILABLE) << late.error_message();
  }

  // After the grace: explicit errors, never a clean end.
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("drain grace of 300 ms"));
  ASSERT_TRUE(sse->Wait(kBound));
  std::vector<Frame> frames = ParseSse(sse->body());
  ASSERT_GE(frames.size(), 3u) << sse->body();
  EXPECT_EQ(frames.back().data, "[DONE]");
  EXPECT_THAT(frames[frames.size() - 2].data, HasSubstr("drain grace of 300 ms"));

  EXPECT_TRUE(WaitEmulator("streams_client_closed", 2)) << "upstream requests must be closed";
  EXPECT_EQ(gateway_->WaitExit(kBound), std::optional<int>(0)) << gateway_->log();
  EXPECT_THAT(gateway_->log(), HasSubstr("\"aborted_calls\":2"));
  EXPECT_THAT(gateway_->log(), HasSubstr("\"responses_flushed\":true"));
}

TEST_F(DrainTest, CallsThatFinishWithinTheGraceCompleteNormally) {
  StartGateway(/*drain_grace_ms=*/60'000);
  // The emulator drips one event every 200 ms: the call outlives the signal by seconds.
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, TextRequest("Tell me about sales [[fault:drip]]"));
  v1::StreamEvent event;
  ASSERT_TRUE(reader->Read(&event));
  int events = 1;
  gateway_->Signal(SIGTERM);
  ASSERT_TRUE(gateway_->WaitForLog("draining: new calls are refused", kBound)) << gateway_->log();
  std::string last_type;
  while (reader->Read(&event)) {
    ++events;
    last_type = event.type();
  }
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(last_type, "response.completed");
  EXPECT_GT(events, 3);
  // Exits as soon as the last call ended, not at the end of the 60 s grace.
  EXPECT_EQ(gateway_->WaitExit(kBound), std::optional<int>(0)) << gateway_->log();
  EXPECT_THAT(gateway_->log(), HasSubstr("\"aborted_calls\":0"));
}

TEST_F(DrainTest, GatewayWithConnectedIdleClientsExitsAtOnceOnSigint) {
  StartGateway(/*drain_grace_ms=*/20'000);
  {
    grpc::ClientContext ctx;
    v1::InvokeResponse response;
    grpc::Status status = stub_->Invoke(&ctx, TextRequest("hello"), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // The client keeps its connection open; the gateway has nothing in flight, so it must not
  // wait for the client to leave.
  const auto start = std::chrono::steady_clock::now();
  gateway_->Signal(SIGINT);
  EXPECT_EQ(gateway_->WaitExit(kBound), std::optional<int>(0)) << gateway_->log();
  EXPECT_THAT(gateway_->log(), HasSubstr("\"msg\":\"shut down\""));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4))
      << "the gRPC server must not wait out its shutdown deadline for idle connections";
}

}  // namespace
}  // namespace agentgateway::testing
