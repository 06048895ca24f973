#include "server/request_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

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
