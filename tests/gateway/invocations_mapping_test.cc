#include "gateway/invocations_mapping.h"

#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "gateway/json_span.h"

namespace agentgateway::gateway {
namespace {

boost::json::value ParseJson(std::string_view text) {
  boost::json::parse_options options;
  options.max_depth = 256;
  return boost::json::parse(boost::json::string_view(text.data(), text.size()), {}, options);
}

std::vector<std::string> Corpus() {
  std::ifstream in(std::string(AG_GATEWAY_TESTDATA) + "/invocations_corpus.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST(InvocationsMappingTest, CorpusRoundTripsLosslessly) {
  std::vector<std::string> corpus = Corpus();
  ASSERT_GE(corpus.size(), 10u);
  for (const std::string& body : corpus) {
    SCOPED_TRACE(body);
    auto parsed = ParseInvocationBody(body);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    // Items are byte-identical to the body's element text.
    auto members = json_span::ObjectMembers(body);
    ASSERT_TRUE(members.ok());
    for (const auto& m : *members) {
      if (m.key != "input") continue;
      auto items = json_span::ArrayElements(m.value);
      ASSERT_TRUE(items.ok());
      ASSERT_EQ(static_cast<int>(items->size()), parsed->request.input_size());
      for (std::size_t i = 0; i < items->size(); ++i) {
        EXPECT_EQ(parsed->request.input(static_cast<int>(i)).json(), (*items)[i]);
      }
    }
    std::string rebuilt = InvokeRequestToJson(parsed->request, parsed->stream);
    boost::json::value original = ParseJson(body);
    if (!original.as_object().contains("stream")) original.as_object()["stream"] = false;
    EXPECT_EQ(ParseJson(rebuilt), original) << rebuilt;
    // And the rebuilt body parses to the same proto.
    auto again = ParseInvocationBody(rebuilt);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->request.SerializeAsString(), parsed->request.SerializeAsString());
  }
}

TEST(InvocationsMappingTest, BigNumbersKeptAsWritten) {
  std::string body =
      R"({"input":[{"role":"user","content":"n","v":12345678901234567890123,"p":0.1000000000000000055511151231257827}],)"
      R"("custom_inputs":{"big":12345678901234567890123}})";
  auto parsed = ParseInvocationBody(body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_NE(parsed->request.input(0).json().find("12345678901234567890123"), std::string::npos);
  EXPECT_NE(parsed->request.input(0).json().find("0.1000000000000000055511151231257827"),
            std::string::npos);
  EXPECT_EQ(parsed->request.custom_inputs_json(), R"({"big":12345678901234567890123})");
  EXPECT_NE(InvokeRequestToJson(parsed->request, false).find("0.1000000000000000055511151231257827"),
            std::string::npos);
}

TEST(InvocationsMappingTest, TypedFieldsFilled) {
  auto parsed = ParseInvocationBody(
      R"({"input":[{"role":"assistant","content":"a","id":"m1"},)"
      R"({"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},)"
      R"({"type":"function_call_output","call_id":"c1","output":"r"},{"type":"reasoning"},)"
      R"({"type":"mcp_approval_request"},{"type":"mcp_approval_response"}],)"
      R"("context":{"conversation_id":"cv","user_id":"us"},"model":"m","tools":[],"stream":true})",
      "research");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const v1::InvokeRequest& r = parsed->request;
  EXPECT_TRUE(parsed->stream);
  EXPECT_EQ(r.profile(), "research");
  EXPECT_EQ(r.input(0).type(), v1::ITEM_TYPE_MESSAGE);
  EXPECT_EQ(r.input(0).role(), "assistant");
  EXPECT_EQ(r.input(0).id(), "m1");
  EXPECT_EQ(r.input(1).type(), v1::ITEM_TYPE_FUNCTION_CALL);
  EXPECT_EQ(r.input(1).call_id(), "c1");
  EXPECT_EQ(r.input(2).type(), v1::ITEM_TYPE_FUNCTION_CALL_OUTPUT);
  EXPECT_EQ(r.input(3).type(), v1::ITEM_TYPE_REASONING);
  EXPECT_EQ(r.input(4).type(), v1::ITEM_TYPE_MCP_APPROVAL_REQUEST);
  EXPECT_EQ(r.input(5).type(), v1::ITEM_TYPE_MCP_APPROVAL_RESPONSE);
  EXPECT_EQ(r.context().conversation_id(), "cv");
  EXPECT_EQ(r.context().user_id(), "us");
  EXPECT_EQ(r.context().json(), R"({"conversation_id":"cv","user_id":"us"})");
  EXPECT_EQ(r.model(), "m");
  EXPECT_EQ(r.extra_json(), R"({"tools":[]})");
}

TEST(InvocationsMappingTest, TypedOnlyItemsAreBuilt) {
  v1::InvokeRequest request;
  v1::InputItem* item = request.add_input();
  item->set_type(v1::ITEM_TYPE_MESSAGE);
  item->set_role("user");
  item->set_text("say \"hi\"");
  EXPECT_EQ(InvokeRequestToJson(request, true),
            R"({"input":[{"type":"message","role":"user","content":"say \"hi\""}],"stream":true})");
}

struct BadCase {
  const char* body;
  const char* message;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.body; }

class InvocationsValidationTest : public testing::TestWithParam<BadCase> {};

TEST_P(InvocationsValidationTest, GivesPreciseError) {
  auto parsed = ParseInvocationBody(GetParam().body);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(parsed.status().message()), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    AllErrors, InvocationsValidationTest,
    testing::Values(
        BadCase{"{\"input\": [}", "malformed JSON at line 1, column 12 (offset 11): syntax error"},
        BadCase{"{\n\"input\": x}", "malformed JSON at line 2, column 10 (offset 11): syntax error"},
        BadCase{"", "malformed JSON at line 1, column 1 (offset 0): incomplete JSON"},
        BadCase{"[1]", "request body must be a JSON object"},
        BadCase{"{}", "\"input\" is required"},
        BadCase{"{\"input\":{}}", "\"input\" must be an array of items"},
        BadCase{"{\"input\":[]}", "\"input\" must not be empty"},
        BadCase{"{\"input\":[\"hi\"]}", "input[0] must be a JSON object"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":\"a\"},{\"type\":\"web_search_call\"}]}",
                "input[1]: unknown item type \"web_search_call\"; allowed: message, function_call, "
                "function_call_output, reasoning, mcp_approval_request, mcp_approval_response"},
        BadCase{"{\"input\":[{\"content\":\"a\"}]}", "input[0]: item has no \"type\" (and no \"role\")"},
        BadCase{"{\"input\":[{\"type\":1}]}", "input[0]: \"type\" must be a string"},
        BadCase{"{\"input\":[{\"type\":\"message\",\"content\":\"a\"}]}",
                "input[0]: message \"role\" must be one of user, assistant, system, developer"},
        BadCase{"{\"input\":[{\"role\":\"tool\",\"content\":\"a\"}]}",
                "input[0]: message \"role\" must be one of user, assistant, system, developer"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":5}]}",
                "input[0]: message \"content\" must be a string or an array of content parts"},
        BadCase{"{\"input\":[{\"role\":\"user\"}]}",
                "input[0]: message \"content\" must be a string or an array of content parts"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]}]}",
                "input[0].content[0]: unknown content part type \"input_audio\"; allowed: "
                "input_text, input_image, input_file, output_text"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":[\"x\"]}]}",
                "input[0].content[0] must be a JSON object"},
        BadCase{"{\"input\":[{\"type\":\"function_call\",\"name\":\"f\",\"arguments\":\"{}\"}]}",
                "input[0]: function_call requires a string \"call_id\""},
        BadCase{"{\"input\":[{\"type\":\"function_call\",\"call_id\":\"c\",\"arguments\":\"{}\"}]}",
                "input[0]: function_call requires a string \"name\""},
        BadCase{"{\"input\":[{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\"}]}",
                "input[0]: function_call requires a string \"arguments\""},
        BadCase{"{\"input\":[{\"type\":\"function_call_output\",\"output\":\"r\"}]}",
                "input[0]: function_call_output requires a string \"call_id\""},
        BadCase{"{\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":{}}]}",
                "input[0]: function_call_output requires a string \"output\""},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":\"a\"}],\"stream\":\"yes\"}",
                "\"stream\" must be a boolean"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":\"a\"}],\"custom_inputs\":[]}",
                "\"custom_inputs\" must be a JSON object"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":\"a\"}],\"context\":\"c\"}",
                "\"context\" must be a JSON object"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":\"a\"}],\"context\":{\"user_id\":1}}",
                "\"context.user_id\" must be a string"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":\"a\"}],\"model\":3}",
                "\"model\" must be a string"},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":\"a\"}],\"stream_options\":{}}",
                "unknown top-level field \"stream_options\""},
        BadCase{"{\"input\":[{\"role\":\"user\",\"content\":\"a\"}],\"model\":\"a\",\"model\":\"b\"}",
                "duplicate top-level field \"model\""},
        // Found by tests/fuzz/invocations_mapping_fuzz: was a 500 (wrong span paired).
        BadCase{"{\"input\":\"x\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "duplicate top-level field \"input\""}));

TEST(AddCustomOutputsTest, InsertsWithoutReserialising) {
  EXPECT_EQ(AddCustomOutputs(R"({"id":"r","n":1.50})", R"({"k":12345678901234567890123})"),
            R"({"custom_outputs":{"k":12345678901234567890123},"id":"r","n":1.50})");
  EXPECT_EQ(AddCustomOutputs(R"( {"id":"r"})", ""), R"( {"custom_outputs":{},"id":"r"})");
  EXPECT_EQ(AddCustomOutputs("{}", ""), R"({"custom_outputs":{}})");
  EXPECT_EQ(AddCustomOutputs(R"({"custom_outputs":{"x":1}})", R"({"y":2})"),
            R"({"custom_outputs":{"x":1}})");
  EXPECT_EQ(AddCustomOutputs("not json", "{}"), "not json");
}

}  // namespace
}  // namespace agentgateway::gateway

namespace agentgateway::gateway {
namespace {

TEST(AddTraceIdTest, IntoExistingNullMissingOrEmptyMetadata) {
  EXPECT_EQ(AddTraceId(R"({"id":"r","metadata":{"k":1}})", "t1"),
            R"({"id":"r","metadata":{"trace_id":"t1","k":1}})");
  EXPECT_EQ(AddTraceId(R"({"id":"r","metadata":{}})", "t1"),
            R"({"id":"r","metadata":{"trace_id":"t1"}})");
  EXPECT_EQ(AddTraceId(R"({"id":"r","metadata":null})", "t1"),
            R"({"id":"r","metadata":{"trace_id":"t1"}})");
  EXPECT_EQ(AddTraceId(R"({"id":"r"})", "t1"), R"({"metadata":{"trace_id":"t1"},"id":"r"})");
  EXPECT_EQ(AddTraceId(R"({})", "t1"), R"({"metadata":{"trace_id":"t1"}})");
  EXPECT_EQ(AddTraceId(R"({"metadata":{"trace_id":"up"}})", "t1"), R"({"metadata":{"trace_id":"up"}})");
  EXPECT_EQ(AddTraceId("not json", "t1"), "not json");
}

}  // namespace
}  // namespace agentgateway::gateway
