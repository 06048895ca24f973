// The C++ client library against the real agent-gateway binary and the emulator: Invoke,
// Stream in order, a caller that stops a stream, deadlines, errors with their codes, identity
// and trace metadata reaching the gateway and the upstream, background polls, the agent's
// description, grpc.health.v1, and TLS / mutual TLS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "client/agent_client.h"
#include "tests/client/gateway_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using client::AgentClient;
using client::CallOptions;
using client::CallReport;
using client::ClientOptions;
using client::HealthStatus;
using client::TextRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kSalesQuestion[] = "How did sales do last quarter?";
constexpr char kSalesAnswer[] =
    "You asked: \"How did sales do last quarter?\". Genie space sales found 3 rows.";

class AgentClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto fixture = GatewayFixture::Start(kClientSuiteYaml);
    ASSERT_TRUE(fixture.ok()) << fixture.status();
    fixture_ = fixture->release();
  }
  static void TearDownTestSuite() {
    delete fixture_;
    fixture_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(fixture_, nullptr);
    ClientOptions options;
    options.target = fixture_->grpc_target();
    options.default_timeout = std::chrono::seconds(30);
    auto client = AgentClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  static inline GatewayFixture* fixture_ = nullptr;
  std::unique_ptr<AgentClient> client_;
};

std::string Str(const json::value& v, std::string_view key) {
  const json::value* field = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return field && field->is_string() ? std::string(field->as_string()) : std::string();
}

TEST_F(AgentClientTest, InvokeReturnsTheWholeAnswerAndTheTraceId) {
  CallReport report;
  auto response = client_->Invoke(TextRequest(kSalesQuestion), {}, &report);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status(), "completed");
  EXPECT_EQ(response->output_text(), kSalesAnswer);
  EXPECT_THAT(response->response_json(), HasSubstr("\"function_call_output\""));
  EXPECT_EQ(report.attempts, 1);
  EXPECT_EQ(report.trace_id.size(), 32u) << "the gateway's x-trace-id trailer";
}

TEST_F(AgentClientTest, StreamDeliversEveryEventInOrder) {
  std::vector<v1::StreamEvent> events;
  absl::Status status = client_->Stream(TextRequest(kSalesQuestion), {},
                                        [&](const v1::StreamEvent& event) {
                                          events.push_back(event);
                                          return true;
                                        });
  ASSERT_THAT(status, IsOk());
  ASSERT_GE(events.size(), 8u);
  std::string text;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence_number(), static_cast<int64_t>(i + 1));
    json::value data = json::parse(events[i].json());
    EXPECT_EQ(Str(data, "type"), events[i].type());
    if (events[i].type() == "response.output_text.delta") text += Str(data, "delta");
  }
  EXPECT_EQ(events.front().type(), "response.created");
  EXPECT_EQ(events.back().type(), "response.completed");
  EXPECT_EQ(text, kSalesAnswer);
}

TEST_F(AgentClientTest, ACallerThatStopsTheStreamCancelsItUpToTheUpstream) {
  const long long closed = fixture_->Counter("streams_client_closed");
  int seen = 0;
  // The emulator drips an event every 200 ms: the stream is far from its end when stopped.
  absl::Status status = client_->Stream(TextRequest("Hello [[fault:drip]]"), {},
                                        [&](const v1::StreamEvent&) { return ++seen < 2; });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kCancelled, HasSubstr("stopped by the caller")));
  EXPECT_EQ(seen, 2);
  EXPECT_TRUE(fixture_->WaitCounter("streams_client_closed", closed + 1))
      << "the gateway must close the upstream stream";
}

TEST_F(AgentClientTest, DeadlineEndsInvokeAndStreamWithDeadlineExceeded) {
  CallOptions call;
  call.timeout = std::chrono::milliseconds(300);
  CallReport report;
  auto response = client_->Invoke(TextRequest("sales [[fault:hang]]"), call, &report);
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("300ms")));
  EXPECT_EQ(report.attempts, 1);
  int events = 0;
  absl::Status status = client_->Stream(TextRequest("sales [[fault:hang]]"), call,
                                        [&](const v1::StreamEvent&) { return ++events > 0; });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("300ms")));
  EXPECT_EQ(events, 0);
}

TEST_F(AgentClientTest, MidStreamFailureIsNotRetried) {
  const long long before = fixture_->Counter("responses_requests");
  int events = 0;
  CallReport report;
  absl::Status status = client_->Stream(TextRequest("sales [[fault:reset]]"), {},
                                        [&](const v1::StreamEvent&) { return ++events > 0; },
                                        &report);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("after 3 events")));
  EXPECT_GT(events, 0);
  EXPECT_EQ(report.attempts, 1);
  EXPECT_FALSE(client::IsUnreachable(status)) << "the gateway answered";
  EXPECT_EQ(fixture_->Counter("responses_requests"), before + 1) << "one run upstream, not two";
}

TEST_F(AgentClientTest, ErrorsKeepTheGatewaysCodeAndMessage) {
  CallOptions call;
  call.profile = "nope";
  EXPECT_THAT(client_->Invoke(TextRequest("hi"), call),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown agent profile 'nope'")));
  EXPECT_THAT(client_->Stream(TextRequest("hi"), call, [](const v1::StreamEvent&) { return true; }),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown agent profile 'nope'")));
  call.profile = "user";  // no forwarded token
  EXPECT_THAT(client_->Invoke(TextRequest("hi"), call),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("x-forwarded-access-token")));
}

TEST_F(AgentClientTest, BadMetadataIsRefusedBeforeAnythingIsSent) {
  CallOptions call;
  call.metadata = {{"Bad Key", "v"}};
  EXPECT_THAT(client_->Invoke(TextRequest("hi"), call),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'Bad Key'")));
  call.metadata.clear();
  call.request_id = "line\nbreak";
  EXPECT_THAT(client_->Invoke(TextRequest("hi"), call),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x-request-id")));
}

TEST_F(AgentClientTest, IdentityAndTraceMetadataReachTheGatewayAndTheUpstream) {
  const std::string token = fixture_->MintUserToken("ada@example.com", {"ai-gateway", "genie"});
  ASSERT_THAT(token, Not(IsEmpty()));
  CallOptions call;
  call.profile = "user";
  call.user_token = token;
  call.forwarded_user = "ada-forwarded";
  call.request_id = "client-test-request-1";
  call.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  call.metadata = {{"tracestate", "vendor=client-test"}};
  CallReport report;
  auto response = client_->Invoke(TextRequest(kSalesQuestion), call, &report);
  ASSERT_THAT(response, IsOk());
  json::value body = json::parse(response->response_json());
  EXPECT_EQ(Str(body.at("metadata"), "emulator_identity"), "user:ada@example.com")
      << "the tools ran as the forwarded user";
  EXPECT_EQ(report.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736") << "the caller's trace joined";

  json::object last = fixture_->LastUpstreamRequest();
  const json::value& headers = last.at("headers");
  EXPECT_EQ(Str(headers, "x-request-id"), "client-test-request-1");
  EXPECT_THAT(Str(headers, "traceparent"), HasSubstr("4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_EQ(Str(headers, "tracestate"), "vendor=client-test");
  EXPECT_TRUE(fixture_->gateway().WaitForLog("\"user\":\"ada-forwarded\"", std::chrono::seconds(10)))
      << fixture_->gateway().log();
}

TEST_F(AgentClientTest, StreamCarriesTheUserTokenToo) {
  const std::string token = fixture_->MintUserToken("grace@example.com", {"ai-gateway", "genie"});
  CallOptions call;
  call.profile = "user";
  call.user_token = token;
  std::string identity;
  absl::Status status = client_->Stream(TextRequest(kSalesQuestion), call,
                                        [&](const v1::StreamEvent& event) {
                                          if (event.type() == "response.completed") {
                                            json::value data = json::parse(event.json());
                                            identity = Str(data.at("response").at("metadata"),
                                                           "emulator_identity");
                                          }
                                          return true;
                                        });
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(identity, "user:grace@example.com");
}

TEST_F(AgentClientTest, BackgroundRunIsPolledWithGetResponse) {
  v1::InvokeRequest request = TextRequest("What is in the background?");
  request.set_extra_json(R"({"background":true})");
  auto started = client_->Invoke(request);
  ASSERT_THAT(started, IsOk());
  EXPECT_EQ(started->status(), "in_progress");
  ASSERT_THAT(started->id(), Not(IsEmpty()));
  std::vector<std::string> statuses;
  for (int poll = 0; poll < 5 && (statuses.empty() || statuses.back() != "completed"); ++poll) {
    auto polled = client_->GetResponse(started->id());
    ASSERT_THAT(polled, IsOk());
    statuses.push_back(polled->status());
  }
  EXPECT_THAT(statuses, ElementsAre("in_progress", "completed"));
  EXPECT_THAT(client_->GetResponse("no such id!"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
}

TEST_F(AgentClientTest, GetAgentInfoListsTheProfiles) {
  auto info = client_->GetAgentInfo();
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->default_profile(), "default");
  std::vector<std::string> names;
  for (const v1::ProfileInfo& p : info->profiles()) names.push_back(p.name());
  EXPECT_THAT(names, ElementsAre("auto", "default", "user"));
  EXPECT_EQ(info->profiles(2).auth(), "user");
  EXPECT_THAT(info->profiles(1).tool_types(), ElementsAre("genie_space", "uc_connection"));
}

TEST_F(AgentClientTest, HealthSaysServing) {
  auto server = client_->Health();
  ASSERT_THAT(server, IsOk());
  EXPECT_EQ(*server, HealthStatus::kServing);
  auto service = client_->Health("agentgateway.v1.AgentService");
  ASSERT_THAT(service, IsOk());
  EXPECT_EQ(*service, HealthStatus::kServing);
  EXPECT_THAT(client_->Health("no.such.Service"), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

// TLS and mutual TLS on the gateway's gRPC door, with a CA made for the test.
class AgentClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = MakeTestPki({"localhost"}, {"127.0.0.1"});
    ASSERT_THAT(pki_.WriteFiles(dir_.path()), IsOk());
  }
  ClientOptions Options(const GatewayFixture& fixture, bool with_ca, bool with_cert) {
    ClientOptions options;
    options.target = fixture.grpc_target();
    options.default_timeout = std::chrono::seconds(30);
    options.max_attempts = 1;
    options.tls.enabled = true;
    if (with_ca) options.tls.ca_file = dir_.File("ca.pem");
    if (with_cert) {
      options.tls.cert_file = dir_.File("cert.pem");
      options.tls.key_file = dir_.File("key.pem");
    }
    return options;
  }
  std::string ListenYaml(bool mutual) {
    return "listen:\n  grpc: {tls_cert: " + dir_.File("cert.pem") + ", tls_key: " +
           dir_.File("key.pem") + (mutual ? ", client_ca: " + dir_.File("ca.pem") : "") + "}\n";
  }
  TempDir dir_;
  TestPki pki_;
};

TEST_F(AgentClientTlsTest, ServerTlsNeedsTheRightTrustRoots) {
  auto fixture = GatewayFixture::Start(kClientSuiteYaml, ListenYaml(false));
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  auto trusted = AgentClient::Create(Options(**fixture, true, false));
  ASSERT_THAT(trusted, IsOk());
  auto answer = (*trusted)->Invoke(TextRequest(kSalesQuestion));
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->output_text(), kSalesAnswer);

  auto untrusted = AgentClient::Create(Options(**fixture, false, false));  // system roots
  ASSERT_THAT(untrusted, IsOk());
  absl::StatusOr<HealthStatus> refused = (*untrusted)->Health();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_TRUE(client::IsUnreachable(refused.status())) << refused.status();
}

TEST_F(AgentClientTlsTest, MutualTlsNeedsAClientCertificate) {
  auto fixture = GatewayFixture::Start(kClientSuiteYaml, ListenYaml(true));
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  auto with_cert = AgentClient::Create(Options(**fixture, true, true));
  ASSERT_THAT(with_cert, IsOk());
  auto health = (*with_cert)->Health();
  ASSERT_THAT(health, IsOk());
  EXPECT_EQ(*health, HealthStatus::kServing);
  auto without = AgentClient::Create(Options(**fixture, true, false));
  ASSERT_THAT(without, IsOk());
  EXPECT_THAT((*without)->Health(), StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
}

TEST(AgentClientOptionsTest, UnreadableTlsFilesAreRefusedAtCreate) {
  ClientOptions options;
  options.tls.enabled = true;
  options.tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(AgentClient::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/nonexistent/ca.pem")));
  options.tls.ca_file.clear();
  options.tls.cert_file = "/nonexistent/cert.pem";
  EXPECT_THAT(AgentClient::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
}

}  // namespace
}  // namespace agentgateway::testing
