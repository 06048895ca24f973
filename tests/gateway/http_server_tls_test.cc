// The REST shim over real TLS on loopback: certificates from MakeTestPki, a client that checks
// the chain against the test CA and the host name, the fake AgentService behind an in-process
// channel. Also mutual TLS and the option validation in HttpServer::Create.
#include <future>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/http_server.h"
#include "tests/gateway/fake_agent_service.h"
#include "tests/gateway/test_http_client.h"
#include "tests/testing/tls_certs.h"

namespace agentgateway::gateway {
namespace {

using agentgateway::testing::MakeTestPki;
using agentgateway::testing::TestPki;
using testing::FakeAgentService;
using testing::kBody;
using testing::kStreamBody;
using testing::MakeRequest;
using testing::TestHttpClient;
using testing::TlsClientOptions;
using ::testing::HasSubstr;

constexpr char kStreamFrames[] =
    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n"
    "data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}\n\n"
    "data: {\"type\":\"response.output_text.delta\",\"delta\":\"lo\"}\n\n"
    "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\"}}\n\n"
    "data: [DONE]\n\n";

class HttpServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc_server_ = testing::StartFakeServer(service_);
    ASSERT_NE(grpc_server_, nullptr);
    StartHttps(HttpsOptions());
  }
  void TearDown() override {
    if (http_) http_->Stop();
    http_.reset();
    grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  HttpServerOptions HttpsOptions() const {
    HttpServerOptions options;
    options.port = 0;
    options.tls_cert_pem = pki_.cert_pem;
    options.tls_key_pem = pki_.key_pem;
    return options;
  }
  absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options) {
    return HttpServer::Create(options, grpc_server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void StartHttps(const HttpServerOptions& options) {
    if (http_) http_->Stop();
    auto server = Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    http_ = *std::move(server);
  }
  TlsClientOptions Trusting() const {
    TlsClientOptions tls;
    tls.ca_cert_pem = pki_.ca_cert_pem;
    return tls;
  }

  const TestPki pki_ = MakeTestPki();
  FakeAgentService service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<HttpServer> http_;
};

TEST_F(HttpServerTlsTest, HealthOverTlsWithAlpn) {
  TlsClientOptions tls = Trusting();
  tls.alpn = {"h2", "http/1.1"};
  TestHttpClient client(http_->port(), tls);
  ASSERT_TRUE(client.connected()) << client.tls_error();
  EXPECT_EQ(client.alpn_selected(), "http/1.1");
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/health")));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value()) << client.tls_error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"status":"healthy"})");
}

// One connection: a unary call (its watch read is cancelled and reading resumes over TLS),
// then a stream, then a plain GET.
TEST_F(HttpServerTlsTest, JsonStreamAndKeepAliveOnOneConnection) {
  TestHttpClient client(http_->port(), Trusting());
  ASSERT_TRUE(client.connected()) << client.tls_error();
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kBody, {{"x-request-id", "rid-1"}})));
  auto json = client.ReadResponse();
  ASSERT_TRUE(json.has_value()) << client.tls_error();
  EXPECT_EQ(json->status, 200);
  EXPECT_EQ(json->Header("x-request-id"), "rid-1");
  EXPECT_EQ(json->body, R"({"custom_outputs":{"out":true},"id":"resp_1","output":[],"n":1.50})");

  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto stream = client.ReadResponse();
  ASSERT_TRUE(stream.has_value()) << client.tls_error();
  EXPECT_EQ(stream->status, 200);
  EXPECT_EQ(stream->Header("content-type"), "text/event-stream");
  EXPECT_EQ(stream->Header("transfer-encoding"), "chunked");
  EXPECT_EQ(stream->body, kStreamFrames);

  ASSERT_TRUE(client.Send(MakeRequest("GET", "/health")));
  auto health = client.ReadResponse();
  ASSERT_TRUE(health.has_value()) << client.tls_error();
  EXPECT_EQ(health->body, R"({"status":"healthy"})");
}

TEST_F(HttpServerTlsTest, LongStreamArrivesWholeOverTls) {
  service_.script.events.clear();
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    std::string json = "{\"type\":\"response.output_text.delta\",\"delta\":\"" +
                       std::to_string(i) + std::string(300, 'x') + "\"}";
    service_.script.events.emplace_back("response.output_text.delta", json);
    expected += "data: " + json + "\n\n";
  }
  expected += "data: [DONE]\n\n";
  TestHttpClient client(http_->port(), Trusting());
  ASSERT_TRUE(client.connected()) << client.tls_error();
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value()) << client.tls_error();
  EXPECT_TRUE(r->body == expected) << "body size " << r->body.size() << " vs " << expected.size();
}

TEST_F(HttpServerTlsTest, ClientClosingMidStreamCancelsUpstream) {
  service_.script.events.resize(1);
  service_.script.hold_open = true;
  auto cancelled = service_.cancelled.get_future();
  {
    TestHttpClient client(http_->port(), Trusting());
    ASSERT_TRUE(client.connected()) << client.tls_error();
    ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
    auto head = client.ReadHead();
    ASSERT_TRUE(head.has_value()) << client.tls_error();
    EXPECT_EQ(head->status, 200);
    auto first = client.ReadChunk();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(*first, "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n");
  }  // closes the socket without close_notify
  EXPECT_EQ(cancelled.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(HttpServerTlsTest, StopWithOpenStreamSendsCloseNotifyAndCancels) {
  service_.script.events.resize(1);
  service_.script.hold_open = true;
  auto cancelled = service_.cancelled.get_future();
  TestHttpClient client(http_->port(), Trusting());
  ASSERT_TRUE(client.connected()) << client.tls_error();
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  ASSERT_TRUE(client.ReadHead().has_value());
  ASSERT_TRUE(client.ReadChunk().has_value());
  // Stop waits for the session's TLS close, which waits for this client: run it alongside.
  auto stopped = std::async(std::launch::async, [this] { http_->Stop(); });
  EXPECT_EQ(cancelled.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::optional<std::string> tail;
  while ((tail = client.ReadChunk())) {}  // the stream may end with an error frame first
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_TRUE(client.close_notify_seen()) << client.tls_error();
  client.Close();
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(HttpServerTlsTest, PlainHttpToTlsPortGetsNoAnswer) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.connected());
  client.Send(MakeRequest("GET", "/health"));  // may fail once the server has hung up
  EXPECT_FALSE(client.ReadHead().has_value());
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(HttpServerTlsTest, HandshakeNotStartedTimesOut) {
  HttpServerOptions options = HttpsOptions();
  options.read_timeout = std::chrono::milliseconds(200);
  StartHttps(options);
  TestHttpClient client(http_->port());  // TCP only: never sends a ClientHello
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(HttpServerTlsTest, ClientWithOtherCaRejectsServer) {
  TlsClientOptions tls;
  tls.ca_cert_pem = MakeTestPki().ca_cert_pem;
  TestHttpClient client(http_->port(), tls);
  EXPECT_FALSE(client.connected());
  EXPECT_THAT(client.tls_error(), HasSubstr("certificate verify failed"));
  EXPECT_THAT(client.tls_error(), HasSubstr("unable to get local issuer certificate"));
}

TEST_F(HttpServerTlsTest, ClientCheckingOtherHostNameRejectsServer) {
  TlsClientOptions tls = Trusting();
  tls.server_name = "other.example";
  TestHttpClient client(http_->port(), tls);
  EXPECT_FALSE(client.connected());
  EXPECT_THAT(client.tls_error(), HasSubstr("hostname mismatch"));
}

class MutualTlsTest : public HttpServerTlsTest {
 protected:
  void SetUp() override {
    HttpServerTlsTest::SetUp();
    HttpServerOptions options = HttpsOptions();
    options.tls_client_ca_pem = client_pki_.ca_cert_pem;
    StartHttps(options);
  }
  // Sends GET /health; the response, or nullopt with the client's TLS error in `error`.
  std::optional<testing::TestResponse> Health(const TlsClientOptions& tls, std::string* error) {
    TestHttpClient client(http_->port(), tls);
    // In TLS 1.3 the client finishes its handshake before the server has checked the client's
    // certificate: a refusal arrives as an alert on the first read.
    std::optional<testing::TestResponse> response;
    if (client.connected() && client.Send(MakeRequest("GET", "/health"))) {
      response = client.ReadResponse();
    }
    *error = client.tls_error();
    return response;
  }

  const TestPki client_pki_ = MakeTestPki({"client.test"}, {});
};

TEST_F(MutualTlsTest, ClientCertFromConfiguredCaIsAccepted) {
  TlsClientOptions tls = Trusting();
  tls.cert_pem = client_pki_.cert_pem;
  tls.key_pem = client_pki_.key_pem;
  std::string error;
  auto r = Health(tls, &error);
  ASSERT_TRUE(r.has_value()) << error;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"status":"healthy"})");
}

TEST_F(MutualTlsTest, NoClientCertIsRefused) {
  std::string error;
  EXPECT_FALSE(Health(Trusting(), &error).has_value());
  EXPECT_THAT(error, HasSubstr("certificate required"));
}

TEST_F(MutualTlsTest, ClientCertFromOtherCaIsRefused) {
  TestPki stranger = MakeTestPki({"client.test"}, {});
  TlsClientOptions tls = Trusting();
  tls.cert_pem = stranger.cert_pem;
  tls.key_pem = stranger.key_pem;
  std::string error;
  EXPECT_FALSE(Health(tls, &error).has_value());
  EXPECT_THAT(error, HasSubstr("unknown ca"));
}

TEST_F(HttpServerTlsTest, CreateRejectsIncompleteOrBadTlsOptions) {
  auto expect_invalid = [this](const HttpServerOptions& options, const std::string& needle1,
                               const std::string& needle2) {
    auto server = Create(options);
    ASSERT_FALSE(server.ok());
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << server.status();
    EXPECT_THAT(std::string(server.status().message()), HasSubstr(needle1));
    EXPECT_THAT(std::string(server.status().message()), HasSubstr(needle2));
  };
  HttpServerOptions options = HttpsOptions();
  options.tls_key_pem.clear();
  expect_invalid(options, "tls_key_pem", "missing");
  options = HttpsOptions();
  options.tls_cert_pem.clear();
  expect_invalid(options, "tls_cert_pem", "missing");
  options = HttpsOptions();
  options.tls_cert_pem = "not a certificate";
  expect_invalid(options, "tls_cert_pem", "no start line");
  options = HttpsOptions();
  options.tls_key_pem = MakeTestPki().key_pem;
  expect_invalid(options, "tls_key_pem", "key values mismatch");
  options = HttpsOptions();
  options.tls_client_ca_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  expect_invalid(options, "tls_client_ca_pem", "bad certificate PEM");
  options = HttpServerOptions();
  options.port = 0;
  options.tls_client_ca_pem = pki_.ca_cert_pem;
  expect_invalid(options, "tls_client_ca_pem", "needs tls_cert_pem");
}

}  // namespace
}  // namespace agentgateway::gateway
