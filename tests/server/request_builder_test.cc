#include "server/request_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"

#include "tests/testing/status_matchers.h"

namespace agentgateway {
namespace {

using ::agentgateway::testing::StatusIs;
using ::testing::HasSubstr;
namespace json = boost::json;

Profile ToolProfile() {
  Profile p;
  p.name = "sales";
  p.model = "databricks-claude-sonnet-4-5";
  p.instructions = "Be brief.";
  p.tools.push_back({"genie_space", R"({"type":"genie_space","genie_space":{"id":"g1"}})"});
  return p;
}

v1::InvokeRequest OneItem(const std::string& item_json) {
  v1::InvokeRequest r;
  r.add_input()->set_json(item_json);
  return r;
}

TEST(RequestBuilderTest, BuildsBodyFromProfileAndKeepsItemsByteForByte) {
  const std::string item =
      R"({"role":"user","content":[{"type":"input_text","text":"caf\u00e9 \ud83d\ude00"}],"x_big":123456789012345678901234567890,"x_dec":0.1000000000000000055511151231257827})";
  v1::InvokeRequest r = OneItem(item);
  r.mutable_input(0)->set_type(v1::ITEM_TYPE_MESSAGE);
  auto body = BuildUpstreamBody(r, ToolProfile(), /*stream=*/true);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, R"({"model":"databricks-claude-sonnet-4-5","input":[)" + item +
                       R"(],"instructions":"Be brief.","tools":[{"type":"genie_space","genie_space":{"id":"g1"}}],"stream":true})");
  json::value parsed = json::parse(*body);  // well-formed
  EXPECT_FALSE(parsed.as_object().contains("custom_inputs"));
}

TEST(RequestBuilderTest, NonStreamBodyHasNoStreamField) {
  auto body = BuildUpstreamBody(OneItem(R"({"role":"user","content":"hi"})"), ToolProfile(), false);
  ASSERT_TRUE(body.ok());
  EXPECT_THAT(*body, ::testing::Not(HasSubstr("stream")));
}

TEST(RequestBuilderTest, BuildsPlainTextMessagesFromTypedFields) {
  v1::InvokeRequest r;
  v1::InputItem* item = r.add_input();
  item->set_type(v1::ITEM_TYPE_MESSAGE);
  item->set_role("user");
  item->set_text("say \"hi\"");
  auto body = BuildUpstreamBody(r, ToolProfile(), false);
  ASSERT_TRUE(body.ok());
  EXPECT_THAT(*body, HasSubstr(R"("input":[{"type":"message","role":"user","content":"say \"hi\""}])"));
}

TEST(RequestBuilderTest, RefusesBadItems) {
  EXPECT_THAT(BuildUpstreamBody(v1::InvokeRequest(), ToolProfile(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one item")));
  EXPECT_THAT(BuildUpstreamBody(OneItem(R"({"type":"web_search_call"})"), ToolProfile(), false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input[0]: unknown item type 'web_search_call'")));
  EXPECT_THAT(BuildUpstreamBody(OneItem(R"({"type":"message","role":"robot","content":"x"})"),
                                ToolProfile(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input[0].role")));
  EXPECT_THAT(BuildUpstreamBody(OneItem("[1,2]"), ToolProfile(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be a JSON object")));
  EXPECT_THAT(BuildUpstreamBody(OneItem("{"), ToolProfile(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed JSON")));
  v1::InvokeRequest mismatch = OneItem(R"({"type":"function_call","call_id":"c","name":"f","arguments":"{}"})");
  mismatch.mutable_input(0)->set_type(v1::ITEM_TYPE_MESSAGE);
  EXPECT_THAT(BuildUpstreamBody(mismatch, ToolProfile(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("disagrees")));
  v1::InvokeRequest empty_call;
  empty_call.add_input()->set_type(v1::ITEM_TYPE_FUNCTION_CALL);
  EXPECT_THAT(BuildUpstreamBody(empty_call, ToolProfile(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("`json` is empty")));
}

TEST(RequestBuilderTest, ModelOverrideOnlyFromTheAllowList) {
  Profile p = ToolProfile();
  v1::InvokeRequest r = OneItem(R"({"role":"user","content":"hi"})");
  r.set_model("chat-endpoint-name");  // the Databricks chat front end sends its own name
  EXPECT_EQ(*ChooseModel(r, p), "databricks-claude-sonnet-4-5");
  p.allowed_models = {"databricks-gpt-5"};
  EXPECT_THAT(ChooseModel(r, p),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("allowed: databricks-claude-sonnet-4-5, databricks-gpt-5")));
  // An allow-list that repeats the profile's own model names it once.
  Profile repeated = p;
  repeated.allowed_models = {"databricks-claude-sonnet-4-5", "databricks-gpt-5"};
  EXPECT_THAT(ChooseModel(r, repeated),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::EndsWith("allowed: databricks-claude-sonnet-4-5, databricks-gpt-5")));
  r.set_model("databricks-gpt-5");
  auto body = BuildUpstreamBody(r, p, false);
  ASSERT_TRUE(body.ok());
  EXPECT_THAT(*body, HasSubstr(R"({"model":"databricks-gpt-5")"));
  EXPECT_THAT(*body, HasSubstr(R"("tools":[{"type":"genie_space")"));  // tools untouched
}

TEST(RequestBuilderTest, PassThroughIsAnAllowListAndKeepsValuesVerbatim) {
  Profile p = ToolProfile();
  v1::InvokeRequest r = OneItem(R"({"role":"user","content":"hi"})");
  r.set_extra_json(
      R"({"max_output_tokens":100,"metadata":{"n":123456789012345678901234},"databricks_options":{"return_trace":true},"tools":[]})");
  auto body = BuildUpstreamBody(r, p, false);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, HasSubstr(R"("max_output_tokens":100,"metadata":{"n":123456789012345678901234})"));
  EXPECT_THAT(*body, ::testing::Not(HasSubstr("databricks_options")));

  r.set_extra_json(R"({"previous_response_id":"r1"})");
  EXPECT_THAT(BuildUpstreamBody(r, p, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("field `previous_response_id` is not passed to the upstream")));
  r.set_extra_json(R"({"tools":[{"type":"function","name":"x"}]})");
  EXPECT_THAT(BuildUpstreamBody(r, p, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("`tools` is defined by the agent profile 'sales'")));
  r.set_extra_json(R"({"temperature":0.2})");
  EXPECT_THAT(BuildUpstreamBody(r, p, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Parameter not supported when tools are provided")));
  r.set_extra_json(R"({"background":true})");
  EXPECT_THAT(BuildUpstreamBody(r, p, true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("background")));
  p.pass_through = {"store"};
  r.set_extra_json(R"({"max_output_tokens":5})");
  EXPECT_THAT(BuildUpstreamBody(r, p, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(allowed: store)")));
}

TEST(RequestBuilderTest, NullTemperatureOrTopPWithToolsIsDroppedNotSent) {
  v1::InvokeRequest r = OneItem(R"({"role":"user","content":"hi"})");
  r.set_extra_json(R"({"temperature":null,"top_p":null,"max_output_tokens":5})");
  auto body = BuildUpstreamBody(r, ToolProfile(), false);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, ::testing::Not(HasSubstr("temperature")));
  EXPECT_THAT(*body, ::testing::Not(HasSubstr("top_p")));
  EXPECT_THAT(*body, HasSubstr(R"("max_output_tokens":5)"));
}

TEST(RequestBuilderTest, TemperatureIsFineWithoutTools) {
  Profile p = ToolProfile();
  p.tools.clear();
  v1::InvokeRequest r = OneItem(R"({"role":"user","content":"hi"})");
  r.set_extra_json(R"({"temperature":0.2})");
  auto body = BuildUpstreamBody(r, p, false);
  ASSERT_TRUE(body.ok());
  EXPECT_THAT(*body, HasSubstr(R"("temperature":0.2)"));
}

}  // namespace
}  // namespace agentgateway

namespace agentgateway {
namespace {

// What upstream emits for a hosted tool round: ids longer than it accepts back.
const std::string kLongCallId(72, 'c');
const std::string kLongId = "fc_" + std::string(69, 'x');

TEST(HistoryHygieneTest, ShortIdsAreUntouchedAndLongOnesBecomeStable64CharIds) {
  EXPECT_EQ(UpstreamId("call_1"), "call_1");
  EXPECT_EQ(UpstreamId(std::string(64, 'a')), std::string(64, 'a'));
  std::string short_id = UpstreamId(kLongCallId);
  EXPECT_EQ(short_id.size(), 64u);
  EXPECT_EQ(short_id, UpstreamId(kLongCallId));  // same input, same id: across turns too
  EXPECT_EQ(short_id.substr(0, 47), kLongCallId.substr(0, 47));
  // Two long ids with the same first 64 characters stay distinct.
  std::string a = std::string(64, 'p') + "-first";
  std::string b = std::string(64, 'p') + "-second";
  EXPECT_NE(UpstreamId(a), UpstreamId(b));
}

TEST(HistoryHygieneTest, ReplayedItemsLoseOutputOnlyFieldsAndKeepTheirPairing) {
  v1::InvokeRequest r;
  r.add_input()->set_json(R"({"type":"message","role":"user","content":"sales?"})");
  r.add_input()->set_json(absl::StrCat(
      R"({"type":"function_call","id":")", kLongId, R"(","call_id":")", kLongCallId,
      R"(","name":"system__ai__python_exec","arguments":"{\"q\":1}","status":"completed","namespace":"ns"})"));
  r.add_input()->set_json(absl::StrCat(R"({"type":"function_call_output","call_id":")",
                                       kLongCallId, R"(","output":"42","status":"completed"})"));
  r.add_input()->set_json(absl::StrCat(
      R"({"type":"mcp_approval_request","id":")", kLongId,
      R"(","name":"t","server_label":"s","arguments":"{}"})"));
  r.add_input()->set_json(absl::StrCat(R"({"type":"mcp_approval_response","approval_request_id":")",
                                       kLongId, R"(","approve":true})"));
  auto body = BuildUpstreamBody(r, ToolProfile(), /*stream=*/false);
  ASSERT_TRUE(body.ok()) << body.status();
  const json::value parsed = json::parse(*body);
  const json::array& input = parsed.at("input").as_array();
  ASSERT_EQ(input.size(), 5u);
  EXPECT_EQ(json::serialize(input[0]), R"({"type":"message","role":"user","content":"sales?"})");
  const json::object& call = input[1].as_object();
  EXPECT_EQ(call.at("call_id").as_string(), UpstreamId(kLongCallId));
  EXPECT_EQ(call.at("id").as_string(), UpstreamId(kLongId));
  EXPECT_FALSE(call.contains("status"));
  EXPECT_FALSE(call.contains("namespace"));
  EXPECT_EQ(call.at("arguments").as_string(), "{\"q\":1}");
  EXPECT_EQ(call.at("name").as_string(), "system__ai__python_exec");
  const json::object& output = input[2].as_object();
  EXPECT_EQ(output.at("call_id").as_string(), call.at("call_id").as_string());
  EXPECT_FALSE(output.contains("status"));
  EXPECT_EQ(input[4].at("approval_request_id").as_string(), input[3].at("id").as_string());
  for (const json::value& item : input) {
    for (const char* key : {"id", "call_id", "approval_request_id"}) {
      if (const json::value* v = item.as_object().if_contains(key)) {
        EXPECT_LE(v->as_string().size(), kMaxUpstreamIdLength) << key;
      }
    }
  }
}

}  // namespace
}  // namespace agentgateway

namespace agentgateway {
namespace {

absl::Status BuildWith(const std::vector<std::string>& items) {
  v1::InvokeRequest r;
  for (const std::string& item : items) r.add_input()->set_json(item);
  return BuildUpstreamBody(r, ToolProfile(), /*stream=*/false).status();
}

TEST(HistoryCheckTest, OrphanOutputIsRefusedWithTheUpstreamWording) {
  EXPECT_THAT(BuildWith({R"({"role":"user","content":"q"})",
                         R"({"type":"function_call_output","call_id":"c9","output":"x"})"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "No tool call found for function call output with call_id 'c9'"));
}

TEST(HistoryCheckTest, MissingOutputIsRefusedWithTheUpstreamWording) {
  EXPECT_THAT(
      BuildWith({R"({"role":"user","content":"q"})",
                 R"({"type":"function_call","call_id":"c1","name":"lookup","arguments":"{}"})",
                 R"({"role":"user","content":"and?"})"}),
      StatusIs(absl::StatusCode::kInvalidArgument, "No tool output found for function call c1."));
}

TEST(HistoryCheckTest, PairedCallsAndAnsweredApprovalsPass) {
  EXPECT_TRUE(BuildWith({R"({"role":"user","content":"q"})",
                         R"({"type":"function_call","call_id":"c1","name":"f","arguments":"{}"})",
                         R"({"type":"function_call_output","call_id":"c1","output":"1"})",
                         R"({"type":"mcp_approval_request","id":"a1","name":"t","server_label":"s","arguments":"{}"})",
                         R"({"type":"mcp_approval_response","approval_request_id":"a1","approve":false})"})
                  .ok());
}

TEST(HistoryCheckTest, ApprovalResponseWithoutItsRequestIsRefused) {
  EXPECT_THAT(
      BuildWith({R"({"role":"user","content":"q"})",
                 R"({"type":"mcp_approval_response","approval_request_id":"a7","approve":true})"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("No MCP approval request found for approval_request_id 'a7'")));
}

}  // namespace
}  // namespace agentgateway
