// Nothing lost: a JSON request that goes REST -> proto -> upstream JSON arrives with its input
// items byte for byte (unicode, escapes, big numbers, unknown fields), over both front doors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/json_text.h"
#include "tests/integration/stack.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;

// Every item type of protocol.md section 3, as real clients write them.
const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> kItems = {
      R"({"type":"message","role":"system","content":"Be brief \u00e9 🙂 \ud83d\ude00"})",
      R"({"role":"user","content":[{"type":"input_text","text":"Show \"quotes\", \\ backslashes, \/ and \u0000"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]})",
      R"({"type":"message","role":"assistant","id":"msg_1","content":[{"type":"output_text","text":"Earlier answer","annotations":[]}]})",
      R"({"type":"message","role":"developer","content":[{"type":"input_file","file_id":"file_1"}]})",
      R"({"type":"function_call","id":"fc_1","call_id":"call_1","name":"system__ai__python_exec","arguments":"{\"code\":\"print(12345678901234567890123)\"}"})",
      R"({"type":"function_call_output","call_id":"call_1","output":"12345678901234567890123"})",
      R"({"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thinking"}],"x_extra":{"big":123456789012345678901234567890,"dec":1.0000000000000000000001,"neg":-0.0,"exp":6.02214076E+23}})",
      R"({"type":"mcp_approval_request","id":"apr_1","name":"github__search","server_label":"github","arguments":"{\"q\":\"issues\"}"})",
      R"({"type":"mcp_approval_response","approval_request_id":"apr_1","approve":false})",
      R"({ "role" : "user" , "content" : "Now summarise, with spacing kept" })",
  };
  return kItems;
}

std::string InputArray() {
  std::string out = "[";
  for (std::size_t i = 0; i < Corpus().size(); ++i) out += (i ? "," : "") + Corpus()[i];
  return out + "]";
}

std::string UpstreamInput(Stack& stack) {
  const std::string body = stack.LastUpstreamBody();  // the members below view into it
  auto members = SplitJsonObject(body);
  EXPECT_TRUE(members.ok()) << members.status();
  for (const JsonMember& m : *members) {
    if (m.key == "input") return std::string(m.value);
  }
  return "";
}

using RoundTripTest = SharedStackTest<::testing::Test>;

TEST_F(RoundTripTest, RestItemsReachTheUpstreamByteForByte) {
  std::string body = R"({"input":)" + InputArray() +
                     R"(,"custom_inputs":{"a":{"b":[1,2,{"c":12345678901234567890123}]},"s":"\u00e9"},)"
                     R"("context":{"conversation_id":"c1","user_id":"u1"},)"
                     R"("databricks_options":{"return_trace":true},"max_output_tokens":512})";
  auto result = stack_->Post("/invocations", body);
  ASSERT_EQ(result.head.status, 200) << result.body;
  EXPECT_EQ(UpstreamInput(*stack_), InputArray());
  json::value sent = json::parse(stack_->LastUpstreamBody());
  EXPECT_EQ(sent.at("max_output_tokens").as_int64(), 512);
  // Gateway-owned envelope fields stay in the gateway.
  EXPECT_FALSE(sent.as_object().contains("custom_inputs"));
  EXPECT_FALSE(sent.as_object().contains("context"));
  EXPECT_FALSE(sent.as_object().contains("databricks_options"));
}

TEST_F(RoundTripTest, StreamingRestRequestKeepsItemsToo) {
  std::string body = R"({"stream":true,"input":)" + InputArray() + "}";
  auto handler = std::make_shared<CollectingHandler>();
  stack_->PostStreaming("/invocations", body, handler);
  ASSERT_TRUE(handler->Wait());
  ASSERT_EQ(handler->status_code(), 200);
  EXPECT_EQ(UpstreamInput(*stack_), InputArray());
}

TEST_F(RoundTripTest, GrpcItemsReachTheUpstreamByteForByte) {
  grpc::ClientContext ctx;
  v1::InvokeRequest request;
  for (const std::string& item : Corpus()) request.add_input()->set_json(item);
  v1::InvokeResponse response;
  grpc::Status status = stack_->grpc().Invoke(&ctx, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(UpstreamInput(*stack_), InputArray());
}

}  // namespace
}  // namespace agentgateway::testing
