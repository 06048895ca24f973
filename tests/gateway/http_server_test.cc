// Whole-shim tests over real loopback sockets: a fake AgentService (callback API) behind an
// in-process channel, the HttpServer on port 0, and a raw-socket HTTP client. The same paths
// over TLS are in http_server_tls_test.cc.
#include "gateway/http_server.h"

#include <future>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "tests/gateway/fake_agent_service.h"
#include "tests/gateway/test_http_client.h"

namespace agentgateway::gateway {
namespace {

using testing::FakeAgentService;
using testing::kBody;
using testing::kStreamBody;
using testing::MakeRequest;
using testing::TestHttpClient;
using testing::TestResponse;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc_server_ = testing::StartFakeServer(service_);
    ASSERT_NE(grpc_server_, nullptr);
    StartHttp();
  }
  void StartHttp(HttpServerOptions options = {}) {
    options.port = 0;
    options.max_body_bytes = options.max_body_bytes == (4 << 20) ? 1024 : options.max_body_bytes;
    auto server = HttpServer::Create(options, grpc_server_->InProcessChannel(grpc::ChannelArguments()));
    ASSERT_TRUE(server.ok()) << server.status();
    http_ = *std::move(server);
    ASSERT_NE(http_->port(), 0);
  }
  void TearDown() override {
    if (http_) http_->Stop();
    http_.reset();
    // Once only: a second Shutdown of a callback-API server double-frees its completion queue
    // in gRPC 1.51 (ASan saw it).
    if (grpc_server_ && !grpc_shut_down_) {
      grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
  }

  TestResponse Exchange(const std::string& request) {
    TestHttpClient client(http_->port());
    EXPECT_TRUE(client.Send(request));
    auto response = client.ReadResponse();
    EXPECT_TRUE(response.has_value());
    return response.value_or(TestResponse{});
  }

  FakeAgentService service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  bool grpc_shut_down_ = false;
  std::unique_ptr<HttpServer> http_;
};

TEST_F(HttpServerTest, InvocationsJson) {
  TestResponse r = Exchange(MakeRequest("POST", "/invocations", kBody, {{"x-request-id", "rid-7"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("x-request-id"), "rid-7");
  EXPECT_EQ(r.body, R"({"custom_outputs":{"out":true},"id":"resp_1","output":[],"n":1.50})");
  absl::MutexLock lock(&service_.mu);
  EXPECT_EQ(service_.last_request.input(0).json(), R"({"role":"user","content":"hi"})");
  EXPECT_EQ(service_.last_request.custom_inputs_json(), R"({"k":1})");
}

TEST_F(HttpServerTest, ResponsesJsonAndProfileRoute) {
  TestResponse r = Exchange(MakeRequest("POST", "/responses", kBody));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("x-request-id").size(), 36u);
  r = Exchange(MakeRequest("POST", "/agents/research/invocations", kBody));
  EXPECT_EQ(r.status, 200);
  absl::MutexLock lock(&service_.mu);
  EXPECT_EQ(service_.last_request.profile(), "research");
}

TEST_F(HttpServerTest, InvokeErrorsUseRouteShapeAndRetryAfter) {
  service_.invoke_status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "busy");
  service_.invoke_retry_after = "3";
  TestResponse r = Exchange(MakeRequest("POST", "/invocations", kBody));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "3");
  EXPECT_EQ(r.body, R"({"detail":"busy"})");
  r = Exchange(MakeRequest("POST", "/responses", kBody));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, R"({"error":{"message":"busy","type":"rate_limit_error","param":null,)"
                    R"("code":"resource_exhausted"}})");
}

TEST_F(HttpServerTest, MlflowStreamWithTraceId) {
  TestResponse r = Exchange(MakeRequest(
      "POST", "/invocations", kStreamBody,
      {{"x-request-id", "rid-9"},
       {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
       {"x-mlflow-return-trace-id", "true"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/event-stream");
  EXPECT_EQ(r.Header("cache-control"), "no-cache");
  EXPECT_EQ(r.Header("x-accel-buffering"), "no");
  EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.Header("x-request-id"), "rid-9");
  EXPECT_EQ(r.body,
            "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n"
            "data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}\n\n"
            "data: {\"type\":\"response.output_text.delta\",\"delta\":\"lo\"}\n\n"
            "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\"}}\n\n"
            "data: {\"trace_id\": \"4bf92f3577b34da6a3ce929d0e0e4736\"}\n\n"
            "data: [DONE]\n\n");
}

TEST_F(HttpServerTest, OpenAiStream) {
  TestResponse r = Exchange(MakeRequest("POST", "/responses", kStreamBody));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "event: response.created\n"
            "data: {\"sequence_number\":1,\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n"
            "event: response.output_text.delta\n"
            "data: {\"sequence_number\":2,\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}\n\n"
            "event: response.output_text.delta\n"
            "data: {\"sequence_number\":3,\"type\":\"response.output_text.delta\",\"delta\":\"lo\"}\n\n"
            "event: response.completed\n"
            "data: {\"sequence_number\":4,\"type\":\"response.completed\",\"response\":{\"id\":\"r1\"}}\n\n"
            "data: [DONE]\n\n");
}

TEST_F(HttpServerTest, MidStreamFailureEndsWithErrorFrame) {
  service_.script.events.resize(2);
  service_.script.final_status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "upstream lost");
  TestResponse r = Exchange(MakeRequest("POST", "/invocations", kStreamBody));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n"
            "data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}\n\n"
            "data: {\"error\": \"upstream lost\"}\n\n"
            "data: [DONE]\n\n");
  r = Exchange(MakeRequest("POST", "/responses", kStreamBody));
  EXPECT_NE(r.body.find("event: error\ndata: {\"type\":\"error\",\"code\":\"unavailable\","
                        "\"message\":\"upstream lost\",\"sequence_number\":3}\n\ndata: [DONE]\n\n"),
            std::string::npos)
      << r.body;
}

TEST_F(HttpServerTest, FailureBeforeFirstEventIsHttpError) {
  service_.script.events.clear();
  service_.script.final_status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no grant");
  TestResponse r = Exchange(MakeRequest("POST", "/invocations", kStreamBody));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, R"({"detail":"no grant"})");
  r = Exchange(MakeRequest("POST", "/responses", kStreamBody));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("\"type\":\"permission_error\""), std::string::npos);
}

TEST_F(HttpServerTest, ClientClosingMidStreamCancelsUpstream) {
  service_.script.events.resize(1);
  service_.script.hold_open = true;
  auto cancelled = service_.cancelled.get_future();
  {
    TestHttpClient client(http_->port());
    ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
    auto head = client.ReadHead();
    ASSERT_TRUE(head.has_value());
    EXPECT_EQ(head->status, 200);
    auto first = client.ReadChunk();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(*first, "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n");
  }  // closes the socket
  EXPECT_EQ(cancelled.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(HttpServerTest, StopWithOpenStreamCancelsIt) {
  service_.script.events.resize(1);
  service_.script.hold_open = true;
  auto cancelled = service_.cancelled.get_future();
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  ASSERT_TRUE(client.ReadHead().has_value());
  ASSERT_TRUE(client.ReadChunk().has_value());
  http_->Stop();
  EXPECT_EQ(cancelled.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(client.WaitForClose());
  http_->Stop();  // idempotent
}

TEST_F(HttpServerTest, DrainStopsAcceptingFailsReadinessAndFlushesTheLastFrames) {
  TestHttpClient idle(http_->port());  // a keep-alive connection opened before the drain
  ASSERT_TRUE(idle.Send(MakeRequest("GET", "/health")));
  auto healthy = idle.ReadResponse();
  ASSERT_TRUE(healthy.has_value());
  EXPECT_EQ(healthy->status, 200);

  service_.script.events.resize(1);
  service_.script.hold_open = true;
  TestHttpClient streaming(http_->port());
  ASSERT_TRUE(streaming.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  ASSERT_TRUE(streaming.ReadHead().has_value());
  ASSERT_TRUE(streaming.ReadChunk().has_value());

  http_->BeginDrain();
  TestHttpClient late(http_->port());
  EXPECT_FALSE(late.connected()) << "the listener must be closed";

  ASSERT_TRUE(idle.Send(MakeRequest("GET", "/health")));
  auto draining = idle.ReadResponse();
  ASSERT_TRUE(draining.has_value());
  EXPECT_EQ(draining->status, 503);
  EXPECT_EQ(draining->body, R"({"status":"draining"})");
  EXPECT_EQ(draining->Header("connection"), "close");
  EXPECT_TRUE(idle.WaitForClose());

  EXPECT_FALSE(http_->WaitIdle(std::chrono::milliseconds(1))) << "a stream is still open";
  // The service ends the stream (here: its server shuts down and cancels the call).
  grpc_server_->Shutdown(std::chrono::system_clock::now());
  grpc_shut_down_ = true;
  auto error = streaming.ReadChunk();
  ASSERT_TRUE(error.has_value());
  // One chunk: the error frame, then [DONE].
  EXPECT_TRUE(error->rfind("data: {\"error\": ", 0) == 0) << *error;
  EXPECT_TRUE(absl::EndsWith(*error, "\n\ndata: [DONE]\n\n")) << *error;
  EXPECT_EQ(streaming.ReadChunk(), std::nullopt);  // the last chunk
  EXPECT_TRUE(streaming.WaitForClose());
  EXPECT_TRUE(http_->WaitIdle(std::chrono::seconds(10)));
}

TEST_F(HttpServerTest, KeepAliveAcrossJsonAndStream) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto first = client.ReadResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_NE(first->body.find("data: [DONE]\n\n"), std::string::npos);
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/health")));
  auto second = client.ReadResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, R"({"status":"healthy"})");
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kBody)));
  auto third = client.ReadResponse();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->status, 200);
}

TEST_F(HttpServerTest, MetadataForwardedAndDeadlineSet) {
  TestResponse r = Exchange(MakeRequest("POST", "/invocations", kBody,
                                        {{"X-Forwarded-Access-Token", "tok-123"},
                                         {"X-Forwarded-User", "u1"},
                                         {"X-Forwarded-Email", "u@example.com"},
                                         {"X-Forwarded-Preferred-Username", "user"},
                                         {"X-Real-Ip", "10.1.2.3"},
                                         {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                                         {"tracestate", "k=v"},
                                         {"x-request-timeout", "30"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(service_.Metadata("x-forwarded-access-token"), "tok-123");
  EXPECT_EQ(service_.Metadata("x-forwarded-user"), "u1");
  EXPECT_EQ(service_.Metadata("x-forwarded-email"), "u@example.com");
  EXPECT_EQ(service_.Metadata("x-forwarded-preferred-username"), "user");
  EXPECT_EQ(service_.Metadata("x-real-ip"), "10.1.2.3");
  EXPECT_EQ(service_.Metadata("traceparent"),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(service_.Metadata("tracestate"), "k=v");
  EXPECT_EQ(service_.Metadata("x-request-timeout"), "30");
  EXPECT_EQ(service_.Metadata("x-request-id"), r.Header("x-request-id"));
  absl::MutexLock lock(&service_.mu);
  EXPECT_TRUE(service_.deadline_set);
}

TEST_F(HttpServerTest, HealthInfoAndPage) {
  EXPECT_EQ(Exchange(MakeRequest("GET", "/health")).body, R"({"status":"healthy"})");
  TestResponse info = Exchange(MakeRequest("GET", "/agent/info"));
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(info.body,
            R"({"name":"fake-agent","agent_api":"responses","default_profile":"default",)"
            R"("profiles":[{"name":"default","model":"","engine":"","auth":"","tool_types":[],)"
            R"("allowed_models":[]}],"version":"9.9"})");
  TestResponse page = Exchange(MakeRequest("GET", "/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<!doctype html>"), std::string::npos);
}

TEST_F(HttpServerTest, ErrorStatuses) {
  TestResponse r = Exchange(MakeRequest("POST", "/invocations", std::string(2000, ' ')));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, R"({"detail":"request body exceeds 1024 bytes"})");
  r = Exchange(MakeRequest("GET", "/missing"));
  EXPECT_EQ(r.status, 404);
  r = Exchange(MakeRequest("PUT", "/invocations", "{}"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "POST");
  r = Exchange(MakeRequest("POST", "/invocations", "{\"input\": [1,}"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("malformed JSON at line 1"), std::string::npos) << r.body;
  r = Exchange(MakeRequest("GET", "/health", "", {{"x-big", std::string(9000, 'a')}}));
  EXPECT_EQ(r.status, 431);
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitIs413) {
  TestHttpClient client(http_->port());
  std::string chunk(1500, ' ');
  char size[16];
  snprintf(size, sizeof(size), "%zx", chunk.size());
  ASSERT_TRUE(client.Send("POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          std::string(size) + "\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpServerTest, DeadlineFromRequestTimeoutEndsStreamWithError) {
  service_.script.events.resize(1);
  service_.script.hold_open = true;
  TestResponse r = Exchange(MakeRequest("POST", "/invocations", kStreamBody,
                                        {{"x-request-timeout", "0.3"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n"
            "data: {\"error\": \"Deadline Exceeded\"}\n\n"
            "data: [DONE]\n\n");
}

TEST_F(HttpServerTest, LongStreamArrivesWholeAndInOrder) {
  service_.script.events.clear();
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    std::string json = "{\"type\":\"response.output_text.delta\",\"delta\":\"" +
                       std::to_string(i) + std::string(200, 'x') + "\"}";
    service_.script.events.emplace_back("response.output_text.delta", json);
    expected += "data: " + json + "\n\n";
  }
  expected += "data: [DONE]\n\n";
  TestResponse r = Exchange(MakeRequest("POST", "/invocations", kStreamBody));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == expected) << "body size " << r.body.size() << " vs " << expected.size();
}

TEST_F(HttpServerTest, PipelinedRequestsAnsweredInOrder) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kBody) + MakeRequest("GET", "/health") +
                          MakeRequest("GET", "/nope")));
  auto first = client.ReadResponse();
  auto second = client.ReadResponse();
  auto third = client.ReadResponse();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->body, R"({"status":"healthy"})");
  EXPECT_EQ(third->status, 404);
}

TEST_F(HttpServerTest, Http10StreamIsCloseDelimited) {
  service_.script.events.resize(1);
  TestHttpClient client(http_->port());
  std::string request = MakeRequest("POST", "/invocations", kStreamBody);
  request.replace(request.find("HTTP/1.1"), 8, "HTTP/1.0");
  ASSERT_TRUE(client.Send(request));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("transfer-encoding"), "");
  EXPECT_EQ(r->body,
            "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n"
            "data: [DONE]\n\n");
}

TEST_F(HttpServerTest, ReaderThatStopsReadingIsCutOffAndUpstreamCancelled) {
  http_->Stop();
  HttpServerOptions options;
  options.read_timeout = std::chrono::milliseconds(300);
  StartHttp(options);
  service_.script.events.clear();
  for (int i = 0; i < 400; ++i) {
    service_.script.events.emplace_back(
        "response.output_text.delta",
        "{\"type\":\"response.output_text.delta\",\"delta\":\"" + std::string(64 * 1024, 'x') + "\"}");
  }
  service_.script.hold_open = true;
  auto cancelled = service_.cancelled.get_future();
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  ASSERT_TRUE(client.ReadHead().has_value());
  // Reads nothing more: socket buffers fill, the write stalls, the write timeout closes it.
  EXPECT_EQ(cancelled.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionTimesOut) {
  http_->Stop();
  HttpServerOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  StartHttp(options);
  TestHttpClient client(http_->port());
  EXPECT_TRUE(client.WaitForClose());
}

}  // namespace
}  // namespace agentgateway::gateway
