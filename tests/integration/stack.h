// The whole path in one process, over real loopback sockets:
//
//   test client --HTTP--> gateway HttpServer --in-process gRPC--> AgentServiceImpl
//   test client --gRPC/TCP--------------------------------------> AgentServiceImpl
//   AgentServiceImpl -> SupervisorEngine -> HttpPool --HTTPS (test CA)--> supervisor emulator
//
// Built once per test suite; tests use the emulator's counters relative to their start.
#ifndef AGENTGATEWAY_TESTS_INTEGRATION_STACK_H_
#define AGENTGATEWAY_TESTS_INTEGRATION_STACK_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "gateway/http_server.h"
#include "server/agent_service.h"
#include "server/approval_engine.h"
#include "server/supervisor_engine.h"
#include "server/upstream/http_pool.h"
#include "tests/emulator/emulator.h"
#include "tests/testing/tls_certs.h"

namespace agentgateway::testing {

struct StackOptions {
  const Config* config = nullptr;  // default: the embedded profile
  bool trusted_proxy = true;       // honour x-forwarded-* identity headers
  // App identity from the emulator's OAuth endpoint (client below) instead of a static token.
  bool oauth_m2m = false;
  std::string oauth_client_id = "gw-client";
  std::string oauth_client_secret = "gw-client-secret";
  bool require_known_tokens = false;  // the emulator refuses tokens it did not issue
};

class Stack {
 public:
  // Starts everything; aborts the test on failure.
  static std::unique_ptr<Stack> Start(const StackOptions& options = {});

  // Mints a user token at the emulator (what the Databricks Apps proxy would forward).
  std::string MintUserToken(const std::string& user, const std::vector<std::string>& scopes,
                            const std::string& format = "opaque", int ttl_seconds = 3600);
  std::string EmulatorPost(const std::string& path_and_query, const std::string& body = "");
  ~Stack();

  // HTTP helpers against the gateway's REST door (plain HTTP on loopback).
  upstream::HttpPool::FetchResult Post(const std::string& path, const std::string& body,
                                       upstream::Headers headers = {});
  upstream::HttpPool::FetchResult Get(const std::string& path);

  // Starts a streaming POST to the gateway; the handler sees the raw SSE bytes.
  std::shared_ptr<upstream::Call> PostStreaming(const std::string& path, const std::string& body,
                                                std::shared_ptr<upstream::ResponseHandler> handler);

  // The emulator's inspection routes (over TLS).
  std::string EmulatorGet(const std::string& path_and_query);
  long long EmulatorCounter(const std::string& name);
  // Waits (event-driven long poll at the emulator) until counter >= value; false on timeout.
  bool WaitEmulatorCounter(const std::string& name, long long value, int timeout_ms = 5000);
  // The raw body of the last request the emulator received on the responses route.
  std::string LastUpstreamBody();
  std::string LastUpstreamHeader(const std::string& lowercase_name);

  v1::AgentService::Stub& grpc() { return *stub_; }
  AgentServiceImpl& service() { return *service_; }
  std::string gateway_url() const { return gateway_url_; }
  std::string emulator_base_url() const { return emulator_base_; }
  upstream::HttpPool& client_pool() { return *client_pool_; }

 private:
  Stack() = default;

  TestPki pki_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<upstream::HttpPool> upstream_pool_;
  std::unique_ptr<SupervisorEngine> engine_;
  std::unique_ptr<ApprovalEngine> approvals_;  // around engine_, as main() has it
  std::unique_ptr<identity::TokenSource> app_tokens_;
  std::unique_ptr<AgentServiceImpl> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<gateway::HttpServer> http_;
  std::unique_ptr<upstream::HttpPool> client_pool_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
  std::string gateway_url_;
  std::string emulator_base_;
};

// Collects a streamed response; Wait() blocks until it completes.
class CollectingHandler final : public upstream::ResponseHandler {
 public:
  void OnHead(const upstream::HttpResponseHead& head) override;
  bool OnBody(std::string_view bytes) override;
  void OnComplete(absl::Status status) override;

  // Blocks until OnComplete (or `timeout`); returns false on timeout.
  bool Wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Blocks until the body holds `needle` (or completes / times out).
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  int status_code();
  std::string header(const std::string& name);
  std::string body();
  absl::Status status();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  upstream::HttpResponseHead head_;
  std::string body_;
  bool done_ = false;
  absl::Status status_;
};

// A gtest fixture base sharing one Stack per test suite (Base: ::testing::Test or
// ::testing::TestWithParam<T>).
template <typename Base>
class SharedStackTest : public Base {
 protected:
  static void SetUpTestSuite() { stack_ = Stack::Start().release(); }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(stack_, nullptr); }
  static inline Stack* stack_ = nullptr;
};

// A request holding one user text message (typed fields, no JSON).
v1::InvokeRequest TextRequest(const std::string& text);

// Parses an SSE body into (event, data) frames, for assertions.
struct Frame {
  std::string event;
  std::string data;
};
std::vector<Frame> ParseSse(const std::string& body);

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_INTEGRATION_STACK_H_
