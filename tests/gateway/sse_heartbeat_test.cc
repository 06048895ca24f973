// SSE heartbeats (HttpServerOptions::sse_heartbeat) over plain TCP and TLS: `: keep-alive`
// frames while a stream is idle, only between whole frames, none when disabled. The fake
// service pauses its stream (script.pause_before) until the test resumes it, so the tests wait
// on frames, not on the clock.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "gateway/http_server.h"
#include "tests/gateway/fake_agent_service.h"
#include "tests/gateway/test_http_client.h"
#include "tests/testing/tls_certs.h"

namespace agentgateway::gateway {
namespace {

using testing::FakeAgentService;
using testing::kStreamBody;
using testing::MakeRequest;
using testing::ParseSse;
using testing::SseFrames;
using testing::TestHttpClient;
using testing::TlsClientOptions;

constexpr char kKeepAlive[] = ": keep-alive\n\n";

const std::vector<std::string> kMlflowFrames = {
    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n",
    "data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}\n\n",
    "data: {\"type\":\"response.output_text.delta\",\"delta\":\"lo\"}\n\n",
    "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\"}}\n\n",
    "data: [DONE]\n\n"};

// Param: true = the server speaks TLS.
class SseHeartbeatTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    grpc_server_ = testing::StartFakeServer(service_);
    ASSERT_NE(grpc_server_, nullptr);
  }
  void TearDown() override {
    service_.ResumeStream();  // a test that failed early must not leave the stream paused
    if (http_) http_->Stop();
    http_.reset();
    grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  void Start(std::chrono::milliseconds heartbeat) {
    HttpServerOptions options;
    options.port = 0;
    options.sse_heartbeat = heartbeat;
    if (GetParam()) {
      options.tls_cert_pem = pki_.cert_pem;
      options.tls_key_pem = pki_.key_pem;
    }
    auto server =
        HttpServer::Create(options, grpc_server_->InProcessChannel(grpc::ChannelArguments()));
    ASSERT_TRUE(server.ok()) << server.status();
    http_ = *std::move(server);
  }
  std::unique_ptr<TestHttpClient> Connect() {
    if (!GetParam()) return std::make_unique<TestHttpClient>(http_->port());
    TlsClientOptions tls;
    tls.ca_cert_pem = pki_.ca_cert_pem;
    return std::make_unique<TestHttpClient>(http_->port(), tls);
  }

  // Opens a stream and checks the SSE head.
  std::unique_ptr<TestHttpClient> OpenStream(const std::string& target) {
    auto client = Connect();
    EXPECT_TRUE(client->connected()) << client->tls_error();
    EXPECT_TRUE(client->Send(MakeRequest("POST", target, kStreamBody)));
    auto head = client->ReadHead();
    EXPECT_TRUE(head.has_value()) << client->tls_error();
    if (head) {
      EXPECT_EQ(head->status, 200);
      EXPECT_EQ(head->Header("content-type"), "text/event-stream");
      EXPECT_EQ(head->Header("cache-control"), "no-cache");
      EXPECT_EQ(head->Header("x-accel-buffering"), "no");
    }
    return client;
  }

  // Reads chunks (each one frame: the server writes a frame per chunk) into *body until `n`
  // keep-alives came. False if the stream ended first; each read is bounded by the client's
  // receive timeout.
  static bool ReadUntilKeepAlives(TestHttpClient& client, int n, std::string* body) {
    while (n > 0) {
      auto chunk = client.ReadChunk();
      if (!chunk) return false;
      if (*chunk == kKeepAlive) --n;
      *body += *chunk;
    }
    return true;
  }
  // Reads the rest of the stream into *body, checking that every chunk holds whole frames.
  static void ReadToEnd(TestHttpClient& client, std::string* body) {
    while (auto chunk = client.ReadChunk()) {
      EXPECT_TRUE(ParseSse(*chunk).well_formed) << *chunk;
      *body += *chunk;
    }
  }

  const agentgateway::testing::TestPki pki_ = agentgateway::testing::MakeTestPki();
  FakeAgentService service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<HttpServer> http_;
};

TEST_P(SseHeartbeatTest, KeepAlivesWhileIdleThenEventsInOrder) {
  Start(std::chrono::milliseconds(50));
  service_.script.pause_before = 0;  // no event until resumed
  auto client = OpenStream("/invocations");
  std::string body;
  ASSERT_TRUE(ReadUntilKeepAlives(*client, 2, &body)) << body;
  EXPECT_EQ(body, std::string(kKeepAlive) + kKeepAlive);
  service_.ResumeStream();
  ReadToEnd(*client, &body);
  SseFrames frames = ParseSse(body);
  EXPECT_TRUE(frames.well_formed) << body;
  EXPECT_GE(frames.keep_alives, 2);
  EXPECT_EQ(frames.events, kMlflowFrames);
}

TEST_P(SseHeartbeatTest, OpenAiStreamGetsKeepAlivesBetweenEvents) {
  Start(std::chrono::milliseconds(50));
  service_.script.pause_before = 1;
  auto client = OpenStream("/responses");
  std::string body;
  ASSERT_TRUE(ReadUntilKeepAlives(*client, 1, &body)) << body;
  service_.ResumeStream();
  ReadToEnd(*client, &body);
  SseFrames frames = ParseSse(body);
  EXPECT_TRUE(frames.well_formed) << body;
  ASSERT_EQ(frames.events.size(), 5u) << body;
  EXPECT_EQ(frames.events[0].rfind("event: response.created\n", 0), 0u) << body;
  EXPECT_EQ(frames.events[1].rfind("event: response.output_text.delta\n", 0), 0u) << body;
  EXPECT_EQ(frames.events[3].rfind("event: response.completed\n", 0), 0u) << body;
  EXPECT_EQ(frames.events[4], "data: [DONE]\n\n");
}

TEST_P(SseHeartbeatTest, FailureAfterKeepAliveOpenedStreamIsErrorFrame) {
  Start(std::chrono::milliseconds(50));
  service_.script.events.clear();
  service_.script.final_status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "upstream lost");
  service_.script.pause_before = 0;
  auto client = OpenStream("/invocations");
  std::string body;
  ASSERT_TRUE(ReadUntilKeepAlives(*client, 1, &body)) << body;
  service_.ResumeStream();
  ReadToEnd(*client, &body);
  SseFrames frames = ParseSse(body);
  EXPECT_TRUE(frames.well_formed) << body;
  EXPECT_EQ(frames.events, (std::vector<std::string>{"data: {\"error\": \"upstream lost\"}\n\n",
                                                     "data: [DONE]\n\n"}));
}

TEST_P(SseHeartbeatTest, ZeroDisablesKeepAlives) {
  Start(std::chrono::milliseconds(0));
  service_.script.pause_before = 1;
  auto client = OpenStream("/invocations");
  std::string body;
  auto first = client->ReadChunk();
  ASSERT_TRUE(first.has_value());
  body += *first;
  // Proving an absence takes a wait: six times the interval the other tests see heartbeats at.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  service_.ResumeStream();
  ReadToEnd(*client, &body);
  SseFrames frames = ParseSse(body);
  EXPECT_TRUE(frames.well_formed) << body;
  EXPECT_EQ(frames.keep_alives, 0) << body;
  EXPECT_EQ(frames.events, kMlflowFrames);
}

TEST_P(SseHeartbeatTest, KeepAlivesNeverSplitFramesUnderLoad) {
  Start(std::chrono::milliseconds(1));
  service_.script.events.clear();
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    std::string json = "{\"type\":\"response.output_text.delta\",\"delta\":\"" +
                       std::to_string(i) + std::string(2000, 'x') + "\"}";
    service_.script.events.emplace_back("response.output_text.delta", json);
    expected.push_back("data: " + json + "\n\n");
  }
  expected.push_back("data: [DONE]\n\n");
  service_.script.pause_before = 500;
  auto client = OpenStream("/invocations");
  std::string body;
  ASSERT_TRUE(ReadUntilKeepAlives(*client, 1, &body));
  service_.ResumeStream();
  ReadToEnd(*client, &body);
  SseFrames frames = ParseSse(body);
  EXPECT_TRUE(frames.well_formed);
  EXPECT_GE(frames.keep_alives, 1);
  EXPECT_TRUE(frames.events == expected)
      << frames.events.size() << " frames vs " << expected.size();
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, SseHeartbeatTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls" : "Plain";
                         });

}  // namespace
}  // namespace agentgateway::gateway
