// The client's retry rule, counted at a scripted AgentService (in process, loopback): Stream
// retries UNAVAILABLE only before its first event; Invoke only when the gateway was not
// reached; reads on any UNAVAILABLE; a gateway that is not listening yet is reached once it is;
// retries stay within the call's deadline.
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "client/agent_client.h"
#include "tests/client/gateway_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::testing {
namespace {

using client::AgentClient;
using client::CallOptions;
using client::CallReport;
using client::ClientOptions;
using client::TextRequest;
using ::testing::HasSubstr;

// Each kind of call fails with UNAVAILABLE for its first `unavailable_first` calls.
class ScriptedService final : public v1::AgentService::Service {
 public:
  int unavailable_first = 0;
  bool fail_after_first_event = false;
  std::atomic<int> stream_calls{0}, invoke_calls{0}, info_calls{0};

  grpc::Status Stream(grpc::ServerContext*, const v1::InvokeRequest*,
                      grpc::ServerWriter<v1::StreamEvent>* writer) override {
    if (++stream_calls <= unavailable_first) return Unavailable("warming up");
    writer->Write(Event(1, "response.created"));
    if (fail_after_first_event) return Unavailable("lost the upstream");
    writer->Write(Event(2, "response.completed"));
    return grpc::Status::OK;
  }
  grpc::Status Invoke(grpc::ServerContext*, const v1::InvokeRequest*,
                      v1::InvokeResponse* response) override {
    if (++invoke_calls <= unavailable_first) return Unavailable("warming up");
    response->set_output_text("ok");
    return grpc::Status::OK;
  }
  grpc::Status GetAgentInfo(grpc::ServerContext*, const v1::GetAgentInfoRequest*,
                            v1::AgentInfo* info) override {
    if (++info_calls <= unavailable_first) return Unavailable("warming up");
    info->set_name("scripted");
    return grpc::Status::OK;
  }

 private:
  static grpc::Status Unavailable(const char* message) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, message);
  }
  static v1::StreamEvent Event(int64_t n, const std::string& type) {
    v1::StreamEvent event;
    event.set_sequence_number(n);
    event.set_type(type);
    event.set_json("{\"type\":\"" + type + "\"}");
    return event;
  }
};

std::unique_ptr<grpc::Server> Serve(ScriptedService* service, const std::string& address,
                                    int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), port);
  builder.RegisterService(service);
  return builder.BuildAndStart();
}

class RetryTest : public ::testing::Test {
 protected:
  void StartServer() {
    int port = 0;
    server_ = Serve(&service_, "127.0.0.1:0", &port);
    ASSERT_TRUE(server_ != nullptr && port != 0);
    target_ = "127.0.0.1:" + std::to_string(port);
  }
  ClientOptions Options(int max_attempts) {
    ClientOptions options;
    options.target = target_;
    options.max_attempts = max_attempts;
    options.initial_backoff = std::chrono::milliseconds(2);
    options.max_backoff = std::chrono::milliseconds(20);
    options.default_timeout = std::chrono::seconds(30);
    options.on_retry = [this](int attempt, const absl::Status& failure) {
      retries_.push_back(attempt);
      retry_codes_.push_back(failure.code());
    };
    return options;
  }
  std::unique_ptr<AgentClient> Client(int max_attempts) {
    auto client = AgentClient::Create(Options(max_attempts));
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  ScriptedService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string target_;
  std::vector<int> retries_;
  std::vector<absl::StatusCode> retry_codes_;
};

absl::Status CollectStream(AgentClient& client, std::vector<std::string>* types,
                           CallReport* report = nullptr) {
  return client.Stream(TextRequest("q"), {}, [&](const v1::StreamEvent& event) {
    types->push_back(event.type());
    return true;
  }, report);
}

TEST_F(RetryTest, StreamRetriesUnavailableBeforeTheFirstEvent) {
  service_.unavailable_first = 2;
  StartServer();
  auto client = Client(3);
  std::vector<std::string> types;
  CallReport report;
  EXPECT_THAT(CollectStream(*client, &types, &report), IsOk());
  EXPECT_THAT(types, ::testing::ElementsAre("response.created", "response.completed"));
  EXPECT_EQ(service_.stream_calls, 3);
  EXPECT_EQ(report.attempts, 3);
  EXPECT_THAT(retries_, ::testing::ElementsAre(1, 2));
  EXPECT_THAT(retry_codes_, ::testing::Each(absl::StatusCode::kUnavailable));
}

TEST_F(RetryTest, StreamGivesUpAfterMaxAttemptsAndSaysSo) {
  service_.unavailable_first = 100;
  StartServer();
  auto client = Client(3);
  std::vector<std::string> types;
  absl::Status status = CollectStream(*client, &types);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("warming up (after 3 attempts)")));
  EXPECT_FALSE(client::IsUnreachable(status)) << "the server answered";
  EXPECT_EQ(service_.stream_calls, 3);
  EXPECT_TRUE(types.empty());
}

TEST_F(RetryTest, StreamIsNeverRetriedOnceAnEventArrived) {
  service_.fail_after_first_event = true;
  StartServer();
  auto client = Client(5);
  std::vector<std::string> types;
  CallReport report;
  EXPECT_THAT(CollectStream(*client, &types, &report),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("lost the upstream")));
  EXPECT_THAT(types, ::testing::ElementsAre("response.created"));
  EXPECT_EQ(service_.stream_calls, 1);
  EXPECT_EQ(report.attempts, 1);
  EXPECT_TRUE(retries_.empty());
}

TEST_F(RetryTest, InvokeDoesNotRetryAnUnavailableTheGatewayAnswered) {
  // The gateway may have run tools before it failed: repeating the call could run them again.
  service_.unavailable_first = 1;
  StartServer();
  auto client = Client(5);
  EXPECT_THAT(client->Invoke(TextRequest("q")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("warming up")));
  EXPECT_EQ(service_.invoke_calls, 1);
}

TEST_F(RetryTest, ReadsRetryUnavailable) {
  service_.unavailable_first = 1;
  StartServer();
  auto client = Client(3);
  auto info = client->GetAgentInfo();
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->name(), "scripted");
  EXPECT_EQ(service_.info_calls, 2);
}

TEST_F(RetryTest, RetriesStayWithinTheDeadline) {
  service_.unavailable_first = 100;
  StartServer();
  ClientOptions options = Options(20);
  options.initial_backoff = std::chrono::milliseconds(1000);
  options.max_backoff = std::chrono::milliseconds(1000);
  auto client = AgentClient::Create(options);
  ASSERT_THAT(client, IsOk());
  CallOptions call;
  call.timeout = std::chrono::milliseconds(400);  // shorter than any backoff (500-1000 ms)
  absl::Status status = (*client)->Stream(TextRequest("q"), call,
                                          [](const v1::StreamEvent&) { return true; });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("warming up")));
  EXPECT_EQ(service_.stream_calls, 1);
}

TEST_F(RetryTest, AnUnreachableGatewayIsRetriedThenReportedAsUnreachable) {
  RefusingPort refusing;
  target_ = "127.0.0.1:" + std::to_string(refusing.port());
  auto client = Client(3);
  CallReport report;
  auto response = client->Invoke(TextRequest("q"), {}, &report);
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable,
                                 HasSubstr("cannot reach the gateway at " + target_)));
  EXPECT_THAT(response.status().message(), HasSubstr("(after 3 attempts)"));
  EXPECT_TRUE(client::IsUnreachable(response.status()));
  EXPECT_EQ(report.attempts, 3);
  EXPECT_EQ(retries_.size(), 2u);
}

TEST_F(RetryTest, AGatewayThatStartsListeningDuringTheRetriesIsReached) {
  RefusingPort refusing;
  const int port = refusing.port();
  target_ = "127.0.0.1:" + std::to_string(port);
  ClientOptions options = Options(8);
  options.initial_backoff = std::chrono::milliseconds(20);
  options.max_backoff = std::chrono::milliseconds(200);
  // The first failure brings the server up on the port the client keeps dialling.
  options.on_retry = [&](int attempt, const absl::Status& failure) {
    retries_.push_back(attempt);
    EXPECT_TRUE(client::IsUnreachable(failure)) << failure;
    if (server_) return;
    refusing.Release();
    int bound = 0;
    server_ = Serve(&service_, target_, &bound);
    EXPECT_EQ(bound, port);
  };
  auto client = AgentClient::Create(options);
  ASSERT_THAT(client, IsOk());
  CallReport report;
  auto response = (*client)->Invoke(TextRequest("q"), {}, &report);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->output_text(), "ok");
  EXPECT_GE(report.attempts, 2);
  EXPECT_EQ(service_.invoke_calls, 1);
}

}  // namespace
}  // namespace agentgateway::testing
