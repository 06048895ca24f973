// The whole path over loopback, TLS to the emulator: gRPC Invoke and Stream, REST JSON and SSE
// on /invocations and /responses, every event once and in order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/request_builder.h"
#include "tests/integration/stack.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kSalesQuestion[] = "How did sales do last quarter?";

std::string Body(const std::string& text, bool stream) {
  return R"({"input":[{"role":"user","content":)" + json::serialize(json::string(text)) + "}]" +
         (stream ? R"(,"stream":true)" : "") + "}";
}

std::vector<std::string> Types(const std::vector<Frame>& frames) {
  std::vector<std::string> types;
  for (const Frame& f : frames) {
    if (f.data == "[DONE]") {
      types.push_back("[DONE]");
      continue;
    }
    json::value v = json::parse(f.data);
    const json::value* t = v.as_object().if_contains("type");
    types.push_back(t ? std::string(t->as_string()) : "<no type>");
  }
  return types;
}

class WholePathTest : public SharedStackTest<::testing::Test> {
 protected:
  // The event types the emulator emits for this question, asked directly (the reference).
  static std::vector<std::string> DirectTypes(const std::string& question) {
    upstream::HttpRequest r;
    r.url = *upstream::Url::Parse(stack_->emulator_base_url() + "/ai-gateway/mlflow/v1/responses");
    r.headers = {{"Authorization", "Bearer t"}, {"Content-Type", "application/json"}};
    const Config config = EmbeddedDefaultConfig();
    const Profile* p = config.FindProfile("");
    std::string tools;
    for (const auto& t : p->tools) tools += (tools.empty() ? "" : ",") + t.json;
    r.body = R"({"model":"m","stream":true,"tools":[)" + tools +
             R"(],"input":[{"role":"user","content":)" + json::serialize(json::string(question)) +
             "}]}";
    auto result = stack_->client_pool().Fetch(std::move(r));
    EXPECT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->head.status, 200) << result->body;
    return Types(ParseSse(result->body));
  }
};

TEST_F(WholePathTest, GrpcInvokeReturnsTheWholeAnswerAfterAToolRound) {
  grpc::ClientContext ctx;
  v1::InvokeRequest request = TextRequest(kSalesQuestion);
  v1::InvokeResponse response;
  grpc::Status status = stack_->grpc().Invoke(&ctx, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), "completed");
  EXPECT_THAT(response.output_text(), HasSubstr(kSalesQuestion));
  json::value body = json::parse(response.response_json());
  std::vector<std::string> item_types;
  for (const auto& it : body.at("output").as_array()) item_types.emplace_back(it.at("type").as_string());
  EXPECT_THAT(item_types, ElementsAre("function_call", "function_call_output", "message"));
  // What went upstream: the profile's model and tools, the bearer token, no stream flag.
  json::value sent = json::parse(stack_->LastUpstreamBody());
  EXPECT_EQ(sent.at("model").as_string(), "databricks-claude-sonnet-4-5");
  EXPECT_EQ(sent.at("tools").as_array().size(), 4u);
  EXPECT_FALSE(sent.as_object().contains("stream"));
  EXPECT_EQ(stack_->LastUpstreamHeader("authorization"), "Bearer app-token");
}

TEST_F(WholePathTest, GrpcStreamRelaysEveryEventOnceInOrder) {
  std::vector<std::string> reference = DirectTypes(kSalesQuestion);
  ASSERT_GT(reference.size(), 10u);

  grpc::ClientContext ctx;
  v1::InvokeRequest request = TextRequest(kSalesQuestion);
  auto reader = stack_->grpc().Stream(&ctx, request);
  v1::StreamEvent event;
  std::vector<std::string> types;
  long long expected_sequence = 1;
  long long last_upstream_sequence = -1;
  while (reader->Read(&event)) {
    EXPECT_EQ(event.sequence_number(), expected_sequence++);
    json::value data = json::parse(event.json());
    EXPECT_EQ(data.at("type").as_string(), event.type());
    if (const json::value* seq = data.as_object().if_contains("sequence_number")) {
      EXPECT_GT(seq->to_number<long long>(), last_upstream_sequence);
      last_upstream_sequence = seq->to_number<long long>();
    }
    types.push_back(event.type());
  }
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(types, reference);
  EXPECT_EQ(std::count(types.begin(), types.end(), "response.created"), 2);  // one per round
}

TEST_F(WholePathTest, RestInvocationsJsonAddsCustomOutputs) {
  auto result = stack_->Post("/invocations", Body(kSalesQuestion, false));
  ASSERT_EQ(result.head.status, 200) << result.body;
  json::value body = json::parse(result.body);
  EXPECT_EQ(body.at("object").as_string(), "response");
  EXPECT_TRUE(body.as_object().contains("custom_outputs"));
  EXPECT_EQ(body.at("output").as_array().size(), 3u);
}

TEST_F(WholePathTest, RestInvocationsStreamUsesMlflowFraming) {
  auto handler = std::make_shared<CollectingHandler>();
  stack_->PostStreaming("/invocations", Body(kSalesQuestion, true), handler);
  ASSERT_TRUE(handler->Wait());
  ASSERT_EQ(handler->status_code(), 200);
  EXPECT_THAT(handler->header("content-type"), HasSubstr("text/event-stream"));
  std::string body = handler->body();
  EXPECT_THAT(body, ::testing::Not(HasSubstr("event:")));
  std::vector<std::string> types = Types(ParseSse(body));
  std::vector<std::string> expected = DirectTypes(kSalesQuestion);
  expected.push_back("[DONE]");
  EXPECT_EQ(types, expected);
}

TEST_F(WholePathTest, RestResponsesStreamUsesOpenAiFraming) {
  auto handler = std::make_shared<CollectingHandler>();
  stack_->PostStreaming("/responses", Body("hello there", true), handler);
  ASSERT_TRUE(handler->Wait());
  ASSERT_EQ(handler->status_code(), 200);
  std::vector<Frame> frames = ParseSse(handler->body());
  ASSERT_GE(frames.size(), 3u);
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    json::value data = json::parse(frames[i].data);
    EXPECT_EQ(frames[i].event, data.at("type").as_string());
    EXPECT_TRUE(data.as_object().contains("sequence_number"));
  }
  EXPECT_EQ(frames.back().data, "[DONE]");
  EXPECT_EQ(Types(frames).front(), "response.created");
}

TEST_F(WholePathTest, RestResponsesJsonAndHealthAndInfo) {
  auto result = stack_->Post("/responses", Body("hello there", false));
  ASSERT_EQ(result.head.status, 200) << result.body;
  EXPECT_THAT(std::string(json::parse(result.body).at("status").as_string()), "completed");
  auto health = stack_->Get("/health");
  EXPECT_EQ(health.head.status, 200);
  EXPECT_EQ(json::parse(health.body), json::parse(R"({"status":"healthy"})"));
  auto info = stack_->Get("/agent/info");
  ASSERT_EQ(info.head.status, 200);
  EXPECT_EQ(json::parse(info.body).at("agent_api").as_string(), "responses");
}

TEST_F(WholePathTest, BadInputIsRefusedBeforeTheUpstream) {
  long long before = stack_->EmulatorCounter("responses_requests");
  auto bad_json = stack_->Post("/invocations", R"({"input": [)");
  EXPECT_EQ(bad_json.head.status, 400);
  EXPECT_THAT(bad_json.body, HasSubstr("detail"));
  auto bad_item = stack_->Post("/invocations", R"({"input":[{"type":"web_search_call"}]})");
  EXPECT_EQ(bad_item.head.status, 400);
  EXPECT_THAT(bad_item.body, HasSubstr("web_search_call"));
  auto temperature = stack_->Post(
      "/invocations", R"({"input":[{"role":"user","content":"hi"}],"temperature":0.3})");
  EXPECT_EQ(temperature.head.status, 400);
  EXPECT_THAT(temperature.body, HasSubstr("Parameter not supported when tools are provided"));
  auto unknown_profile = stack_->Post("/agents/nope/invocations", Body("hi", false));
  EXPECT_EQ(unknown_profile.head.status, 404);
  EXPECT_EQ(stack_->EmulatorCounter("responses_requests"), before);
}

TEST_F(WholePathTest, UpstreamValidationErrorKeepsTheUpstreamMessage) {
  // The gateway cannot know this one (the emulator's fault names); the upstream refuses it.
  auto result = stack_->Post("/invocations", Body("hi [[fault:no-such-fault]]", false));
  EXPECT_EQ(result.head.status, 400);
  EXPECT_THAT(result.body, HasSubstr("Unknown emulator fault 'no-such-fault'"));
  grpc::ClientContext ctx;
  v1::InvokeResponse response;
  grpc::Status status =
      stack_->grpc().Invoke(&ctx, TextRequest("hi [[fault:no-such-fault]]"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("Unknown emulator fault 'no-such-fault'"));
}

TEST_F(WholePathTest, ReplayedLongIdsAreCutBeforeTheUpstreamSeesThem) {
  // Upstream refuses ids over 64 characters (though it emits 72-character ones itself).
  std::string long_id(70, 'x');
  std::string body = R"({"input":[{"type":"message","id":")" + long_id +
                     R"(","role":"user","content":"hi","status":"completed"}]})";
  auto result = stack_->Post("/invocations", body);
  EXPECT_EQ(result.head.status, 200) << result.body;
  std::string upstream = stack_->LastUpstreamBody();
  EXPECT_THAT(upstream, HasSubstr(UpstreamId(long_id)));
  EXPECT_THAT(upstream, ::testing::Not(HasSubstr(long_id)));
  EXPECT_THAT(upstream, ::testing::Not(HasSubstr("\"status\"")));
}

// One conversation over three turns, each re-sending the whole history with the previous
// answers as the gateway returned them: upstream ids are 72 characters (more than upstream
// accepts back) and items carry output-only fields. Every turn must succeed, the upstream must
// only ever see ids of at most 64 characters, and a long id must reach it as the same short id
// on every turn (otherwise function_call / function_call_output pairs would come apart).
TEST_F(WholePathTest, MultiTurnConversationReplaysLongUpstreamIdsThroughBothDoors) {
  const char* questions[] = {"How did sales do last quarter?",
                             "Check that with python_exec please",
                             "And what does the handbook say about bonuses?"};
  for (const bool rest : {true, false}) {
    SCOPED_TRACE(rest ? "REST /invocations" : "gRPC Invoke");
    json::array history;
    json::array previous_upstream_input;
    int long_ids = 0;
    for (int turn = 0; turn < 3; ++turn) {
      SCOPED_TRACE("turn " + std::to_string(turn + 1));
      history.push_back(json::object{{"role", "user"}, {"content", questions[turn]}});
      json::value answer;
      if (rest) {
        auto result = stack_->Post("/invocations", json::serialize(json::object{{"input", history}}));
        ASSERT_EQ(result.head.status, 200) << result.body;
        answer = json::parse(result.body);
      } else {
        v1::InvokeRequest request;
        for (const json::value& item : history) request.add_input()->set_json(json::serialize(item));
        grpc::ClientContext ctx;
        v1::InvokeResponse response;
        grpc::Status status = stack_->grpc().Invoke(&ctx, request, &response);
        ASSERT_TRUE(status.ok()) << status.error_message();
        answer = json::parse(response.response_json());
      }
      const json::array& output = answer.at("output").as_array();
      ASSERT_FALSE(output.empty());
      for (const json::value& item : output) {
        for (const char* key : {"id", "call_id"}) {
          if (const json::value* id = item.as_object().if_contains(key)) {
            if (id->as_string().size() > kMaxUpstreamIdLength) ++long_ids;
          }
        }
        history.push_back(item);  // replayed exactly as returned
      }
      json::value sent = json::parse(stack_->LastUpstreamBody());
      const json::array& input = sent.at("input").as_array();
      ASSERT_EQ(input.size(), history.size() - output.size());
      for (std::size_t i = 0; i < input.size(); ++i) {
        const json::object& item = input[i].as_object();
        EXPECT_FALSE(item.contains("status")) << json::serialize(item);
        for (const char* key : {"id", "call_id"}) {
          const json::value* id = item.if_contains(key);
          if (id == nullptr) continue;
          EXPECT_LE(id->as_string().size(), kMaxUpstreamIdLength) << json::serialize(item);
          if (i < previous_upstream_input.size()) {  // the same item as last turn: same id
            EXPECT_EQ(*id, previous_upstream_input[i].as_object().at(key)) << key;
          }
        }
      }
      previous_upstream_input = input;
    }
    EXPECT_GE(long_ids, 4) << "the emulator's tool rounds must have produced long ids";
  }
}

}  // namespace
}  // namespace agentgateway::testing
