// MCP approvals (issue 5 item 2) through both front doors against the emulator: the caller
// answers an approval request and the conversation continues; an answer without its request
// is refused before the upstream; a profile policy approves or denies by itself and the
// caller sees one call (gRPC Invoke and Stream, REST JSON and both SSE framings); a round the
// policy covers only in part goes to the caller; and the policy's round limit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "absl/strings/str_join.h"

#include "tests/protocol/protocol_doors.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGithubQuestion[] = "Ask github about the open issues";
constexpr char kBothQuestion[] = "Ask github and tickets about the outage";
constexpr char kGithubResult[] = "Connection github completed the call";

std::string Str(const json::value& v, std::string_view key) {
  const json::value* field = v.as_object().if_contains(key);
  return field && field->is_string() ? std::string(field->as_string()) : std::string();
}

std::vector<std::string> ItemTypes(const json::array& items) {
  std::vector<std::string> types;
  for (const json::value& item : items) {
    std::string type = Str(item, "type");
    types.push_back(type.empty() && !Str(item, "role").empty() ? "message" : type);
  }
  return types;
}

std::string Question(const std::string& text) {
  return json::serialize(json::object{{"role", "user"}, {"content", text}});
}

// The text of every output_text part of a Responses object's output.
std::string OutputText(const json::value& response) {
  std::string text;
  for (const json::value& item : response.at("output").as_array()) {
    const json::value* content = item.as_object().if_contains("content");
    if (content == nullptr || !content->is_array()) continue;
    for (const json::value& part : content->as_array()) text += Str(part, "text");
  }
  return text;
}

class ApprovalsTest : public ConfiguredStackTest<ApprovalsTest> {
 public:
  static constexpr char kYaml[] = R"(
default_profile: ask
profiles:
  ask:
    model: m
    tools: &tools
      - {type: uc_connection, uc_connection: {name: github, description: GitHub issues}}
      - {type: app, app: {name: tickets, description: Ticketing}}
  auto:
    model: m
    tools: *tools
    mcp_approvals: {approve: [github], deny: [tickets]}
  partial:
    model: m
    tools: *tools
    mcp_approvals: {approve: [github]}
  other_tool:
    model: m
    tools: *tools
    mcp_approvals: {approve: [github/some_other_tool]}
  no_rounds:
    model: m
    tools: *tools
    mcp_approvals: {approve: [github], max_rounds: 0}
)";
  static constexpr char kYamlName[] = "approvals-test.yaml";

 protected:
  static std::string Path(const std::string& profile, const std::string& route = "invocations") {
    return profile == "ask" ? "/" + route : "/agents/" + profile + "/" + route;
  }

  // One non-streaming turn through either door; `items` are the input items' JSON texts.
  static json::value Turn(bool rest, const std::string& profile,
                          const std::vector<std::string>& items) {
    if (rest) {
      std::string body = R"({"input":[)" + absl::StrJoin(items, ",") + "]}";
      auto result = stack_->Post(Path(profile), body);
      EXPECT_EQ(result.head.status, 200) << result.body;
      return result.head.status == 200 ? json::parse(result.body) : json::value();
    }
    v1::InvokeRequest request;
    request.set_profile(profile);
    for (const std::string& item : items) request.add_input()->set_json(item);
    grpc::ClientContext ctx;
    v1::InvokeResponse response;
    grpc::Status status = stack_->grpc().Invoke(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return status.ok() ? json::parse(response.response_json()) : json::value();
  }

};

TEST_F(ApprovalsTest, TheCallerAnswersAnApprovalRequestAndTheConversationContinues) {
  for (const bool rest : {true, false}) {
    SCOPED_TRACE(rest ? "REST /invocations" : "gRPC Invoke");
    for (const bool approve : {true, false}) {
      SCOPED_TRACE(approve ? "approved" : "denied");
      std::vector<std::string> history = {Question(kGithubQuestion)};
      json::value first = Turn(rest, "ask", history);
      ASSERT_TRUE(first.is_object());
      const json::array& output = first.at("output").as_array();
      ASSERT_THAT(ItemTypes(output), ElementsAre("mcp_approval_request"));
      const json::value& request = output[0];
      EXPECT_EQ(Str(request, "server_label"), "github");
      EXPECT_EQ(Str(request, "name"), "github");
      EXPECT_THAT(OutputText(first), Not(HasSubstr(kGithubResult)));

      history.push_back(json::serialize(request));
      history.push_back(json::serialize(json::object{{"type", "mcp_approval_response"},
                                                     {"approval_request_id", Str(request, "id")},
                                                     {"approve", approve}}));
      json::value second = Turn(rest, "ask", history);
      ASSERT_TRUE(second.is_object());
      if (approve) {
        EXPECT_THAT(OutputText(second), HasSubstr(kGithubResult));
      } else {
        EXPECT_THAT(OutputText(second), HasSubstr("The tool github was not run"));
      }
    }
  }
}

TEST_F(ApprovalsTest, AnAnswerWithoutItsRequestIsRefusedBeforeTheUpstream) {
  const std::string answer = R"({"type":"mcp_approval_response","approval_request_id":"mcpr_nope","approve":true})";
  const long long before = UpstreamRequests();
  auto result =
      stack_->Post("/invocations", R"({"input":[)" + Question(kGithubQuestion) + "," + answer + "]}");
  EXPECT_EQ(result.head.status, 400) << result.body;
  EXPECT_THAT(result.body, HasSubstr("No MCP approval request found for approval_request_id "
                                     "'mcpr_nope'"));

  v1::InvokeRequest request;
  request.add_input()->set_json(Question(kGithubQuestion));
  request.add_input()->set_json(answer);
  grpc::ClientContext ctx;
  v1::InvokeResponse response;
  grpc::Status status = stack_->grpc().Invoke(&ctx, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("mcp_approval_response must follow the "
                                                "mcp_approval_request it answers"));
  EXPECT_EQ(UpstreamRequests(), before);
}

TEST_F(ApprovalsTest, APolicyAnswersByItselfAndTheCallerGetsOneAnswer) {
  for (const bool rest : {true, false}) {
    SCOPED_TRACE(rest ? "REST /invocations" : "gRPC Invoke");
    const long long before = UpstreamRequests();
    json::value answer = Turn(rest, "auto", {Question(kGithubQuestion)});
    ASSERT_TRUE(answer.is_object());
    EXPECT_EQ(UpstreamRequests(), before + 2);  // the question, then the continuation
    // Every round's items, the gateway's answer between them, in order.
    const json::array& output = answer.at("output").as_array();
    EXPECT_THAT(ItemTypes(output),
                ElementsAre("mcp_approval_request", "mcp_approval_response", "function_call",
                            "function_call_output", "message"));
    EXPECT_EQ(Str(output[1], "approval_request_id"), Str(output[0], "id"));
    EXPECT_TRUE(output[1].at("approve").as_bool());
    EXPECT_THAT(Str(output[1], "reason"), HasSubstr("policy of profile 'auto'"));
    EXPECT_THAT(OutputText(answer), HasSubstr(kGithubResult));
    EXPECT_EQ(Str(answer, "status"), "completed");

    // The continuation carried the caller's input, the round and the answer.
    json::value sent = json::parse(stack_->LastUpstreamBody());
    EXPECT_THAT(ItemTypes(sent.at("input").as_array()),
                ElementsAre("message", "mcp_approval_request", "mcp_approval_response"));
  }
}

TEST_F(ApprovalsTest, ADenyRuleAnswersNoAndTheModelSaysSo) {
  v1::InvokeRequest request;
  request.set_profile("auto");
  request.add_input()->set_json(Question("Ask tickets for the queue length"));
  grpc::ClientContext ctx;
  v1::InvokeResponse response;
  grpc::Status status = stack_->grpc().Invoke(&ctx, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.output_text(), HasSubstr("The tool tickets was not run"));
  json::value answer = json::parse(response.response_json());
  const json::array& output = answer.at("output").as_array();
  ASSERT_GE(output.size(), 2u);
  EXPECT_EQ(Str(output[1], "type"), "mcp_approval_response");
  EXPECT_FALSE(output[1].at("approve").as_bool());
}

TEST_F(ApprovalsTest, TheGrpcStreamIsOneContinuousCall) {
  const long long before = UpstreamRequests();
  v1::InvokeRequest request;
  request.set_profile("auto");
  request.add_input()->set_json(Question(kGithubQuestion));
  grpc::ClientContext ctx;
  auto reader = stack_->grpc().Stream(&ctx, request);
  std::vector<v1::StreamEvent> events;
  v1::StreamEvent event;
  while (reader->Read(&event)) events.push_back(event);
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(UpstreamRequests(), before + 2);

  // Sequence numbers rise by one across both upstream calls.
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence_number(), static_cast<std::int64_t>(i + 1));
  }
  // The approval round ends with the gateway's answer in its completed output; the next
  // round follows in the same call.
  std::vector<json::value> completed;
  std::string text;
  bool answered = false;
  for (const v1::StreamEvent& e : events) {
    json::value data = json::parse(e.json());
    if (e.type() == "response.completed") completed.push_back(data.at("response"));
    if (e.type() == "response.output_text.delta") text += Str(data, "delta");
    if (e.type() == "response.output_item.done" &&
        Str(data.at("item"), "type") == "mcp_approval_response") {
      answered = true;
      EXPECT_TRUE(completed.empty()) << "the answer comes before its round completes";
    }
  }
  EXPECT_TRUE(answered);
  ASSERT_GE(completed.size(), 2u);
  EXPECT_THAT(ItemTypes(completed[0].at("output").as_array()),
              ElementsAre("mcp_approval_request", "mcp_approval_response"));
  EXPECT_THAT(text, HasSubstr(kGithubResult));
}

TEST_F(ApprovalsTest, RestStreamsCarryTheWholeTurnInBothFramings) {
  const std::string body = R"({"input":[)" + Question(kGithubQuestion) + R"(],"stream":true})";
  {
    SCOPED_TRACE("/invocations (MLflow framing)");
    auto handler = std::make_shared<CollectingHandler>();
    stack_->PostStreaming(Path("auto"), body, handler);
    ASSERT_TRUE(handler->Wait());
    ASSERT_EQ(handler->status_code(), 200);
    std::vector<Frame> frames = ParseSse(handler->body());
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().data, "[DONE]");
    std::string all = handler->body();
    EXPECT_THAT(all, HasSubstr("\"mcp_approval_response\""));
    EXPECT_THAT(all, HasSubstr(kGithubResult));
    EXPECT_THAT(all, Not(HasSubstr("\"error\"")));
  }
  {
    SCOPED_TRACE("/responses (OpenAI framing): the rounds fold into one response");
    auto handler = std::make_shared<CollectingHandler>();
    stack_->PostStreaming(Path("auto", "responses"), body, handler);
    ASSERT_TRUE(handler->Wait());
    ASSERT_EQ(handler->status_code(), 200);
    std::vector<Frame> frames = ParseSse(handler->body());
    int created = 0;
    std::optional<json::value> completed;
    for (const Frame& f : frames) {
      if (f.event == "response.created") ++created;
      if (f.event == "response.completed") completed = json::parse(f.data).at("response");
    }
    EXPECT_EQ(created, 1);
    ASSERT_TRUE(completed.has_value());
    EXPECT_THAT(ItemTypes(completed->at("output").as_array()),
                ElementsAre("mcp_approval_request", "mcp_approval_response", "function_call",
                            "function_call_output", "message"));
  }
}

TEST_F(ApprovalsTest, ARoundThePolicyCoversOnlyInPartGoesToTheCaller) {
  for (const char* profile : {"partial", "other_tool", "no_rounds"}) {
    SCOPED_TRACE(profile);
    const std::string question = std::string(profile) == "partial" ? kBothQuestion : kGithubQuestion;
    const long long before = UpstreamRequests();
    json::value answer = Turn(/*rest=*/true, profile, {Question(question)});
    ASSERT_TRUE(answer.is_object());
    EXPECT_EQ(UpstreamRequests(), before + 1);
    for (const std::string& type : ItemTypes(answer.at("output").as_array())) {
      EXPECT_EQ(type, "mcp_approval_request");
    }
  }
}

}  // namespace
}  // namespace agentgateway::testing
