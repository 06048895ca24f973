// The Supervisor API drop-in route end to end (issue 9, item 5): the real agent-gateway binary
// on its local engine, the emulator's Chat Completions model and Genie MCP server behind it,
// and requests shaped exactly like those sent to the Supervisor API, with only the base URL
// changed: POST {gateway}/ai-gateway/mlflow/v1/responses, Authorization: Bearer <the caller's
// Databricks token>.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/client/gateway_fixture.h"
#include "tests/gateway/test_http_client.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using gateway::testing::MakeRequest;
using gateway::testing::TestHttpClient;
using gateway::testing::TestResponse;
using ::testing::HasSubstr;

constexpr char kDropinYaml[] = R"(identity:
  user_api_scopes: [ai-gateway, genie, model-serving]
default_profile: supervisor-api
profiles:
  supervisor-api:
    engine: local
    auth: user
    agent_from_request: true
)";

// A Supervisor API request body: model, input, instructions, hosted tools, stream.
std::string SupervisorRequest(bool stream) {
  return std::string(R"({"model":"databricks-claude-sonnet-4-5",)"
                     R"("input":[{"role":"user","content":"Ask query_space_01ef5a for sales by region"}],)"
                     R"("instructions":"You answer questions about sales.",)"
                     R"("tools":[{"type":"genie_space","genie_space":{"id":"01ef5a",)"
                     R"("description":"Sales data by region"}}],"stream":)") +
         (stream ? "true" : "false") + "}";
}

class DropinRouteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto fixture = GatewayFixture::Start(kDropinYaml);
    ASSERT_TRUE(fixture.ok()) << fixture.status();
    fixture_ = fixture->release();
  }
  static void TearDownTestSuite() {
    delete fixture_;
    fixture_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(fixture_, nullptr); }

  static TestResponse Post(const std::string& body, const std::string& token) {
    TestHttpClient client(fixture_->gateway().http_port());
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("authorization", "Bearer " + token);
    EXPECT_TRUE(client.Send(MakeRequest("POST", "/ai-gateway/mlflow/v1/responses", body, headers)));
    auto response = client.ReadResponse();
    EXPECT_TRUE(response.has_value());
    return response.value_or(TestResponse{});
  }
  static std::string Token() {
    return fixture_->MintUserToken("lin@example.com", {"ai-gateway", "genie", "model-serving"});
  }

  static inline GatewayFixture* fixture_ = nullptr;
};

TEST_F(DropinRouteTest, ASupervisorApiRequestGetsAResponsesObjectWithTheToolRound) {
  TestResponse r = Post(SupervisorRequest(/*stream=*/false), Token());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json");
  json::value response = json::parse(r.body);
  EXPECT_EQ(response.at("object"), "response");
  EXPECT_EQ(response.at("status"), "completed");
  // The hosted tool ran as a function_call + function_call_output pair, as the Supervisor API
  // showed it, then the assistant's message.
  const json::array& output = response.at("output").as_array();
  std::vector<std::string> types;
  for (const json::value& item : output) types.emplace_back(item.at("type").as_string());
  EXPECT_THAT(types, ::testing::ElementsAre("function_call", "function_call_output", "message"));
  EXPECT_EQ(output[0].at("name"), "query_space_01ef5a");
  // The MCP server names who the tool ran as: the caller's own token reached it.
  EXPECT_THAT(json::serialize(output[1].at("output")), HasSubstr("ran as user:lin@example.com"));
  EXPECT_THAT(json::serialize(output[2]), HasSubstr("Genie space 01ef5a found 3 rows"));
}

TEST_F(DropinRouteTest, StreamingGivesOpenAiResponsesEventsEndingInCompleted) {
  TestResponse r = Post(SupervisorRequest(/*stream=*/true), Token());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "text/event-stream");
  EXPECT_THAT(r.body, HasSubstr("event: response.created\n"));
  EXPECT_THAT(r.body, HasSubstr("event: response.output_text.delta\n"));
  EXPECT_THAT(r.body, HasSubstr("\"name\":\"query_space_01ef5a\""));
  EXPECT_THAT(r.body, HasSubstr("ran as user:lin@example.com"));
  const std::size_t completed = r.body.rfind("event: response.completed\n");
  ASSERT_NE(completed, std::string::npos);
  EXPECT_EQ(r.body.find("event: error"), std::string::npos);
  EXPECT_TRUE(r.body.ends_with("data: [DONE]\n\n"));
}

TEST_F(DropinRouteTest, WithoutTheCallersTokenNothingRuns) {
  TestResponse r = Post(SupervisorRequest(/*stream=*/false), "");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("no Authorization: Bearer token"));
}

TEST_F(DropinRouteTest, ATokenWithoutTheToolsScopeIsRefusedBeforeAnythingIsSent) {
  TestResponse r = Post(SupervisorRequest(/*stream=*/false),
                        fixture_->MintUserToken("lin@example.com", {"ai-gateway", "model-serving"}));
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, HasSubstr("genie"));
}

TEST_F(DropinRouteTest, ABadToolIsNamedWithA400) {
  TestResponse r = Post(
      R"({"model":"databricks-claude-sonnet-4-5","input":[{"role":"user","content":"hi"}],)"
      R"("tools":[{"type":"genie_space","genie_space":{"description":"no id"}}]})",
      Token());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("tools[0].genie_space.id: required non-empty string"));
}

}  // namespace
}  // namespace agentgateway::testing
