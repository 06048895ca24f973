// The Chat Completions request body and answer parsing, without a network.
#include "server/local/chat_wire.h"

#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/local/chat_stream.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::HasSubstr;
namespace json = boost::json;

TEST(ChatWireTest, RequestBodyHasHistoryToolsAndStreamOptions) {
  ChatRequest request;
  request.model = "m";
  request.messages = {ChatMessage::System("sys"), ChatMessage::User("q"),
                      ChatMessage::Assistant(std::nullopt, {{"call_1", "f", R"({"a":1})"}}),
                      ChatMessage::ToolResult("call_1", "out")};
  request.tools = {{"f", "does f", R"({"type":"object"})"}, {"g", "", ""}};
  request.parallel_tool_calls = true;
  auto body = BuildChatRequestBody(request);
  ASSERT_THAT(body, IsOk());
  json::value v = json::parse(*body);
  EXPECT_EQ(v.at("model"), "m");
  EXPECT_EQ(v.at("stream"), true);
  EXPECT_EQ(v.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(v.at("parallel_tool_calls"), true);
  const json::array& messages = v.at("messages").as_array();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_TRUE(messages[2].at("content").is_null());
  EXPECT_EQ(messages[2].at("tool_calls").at(0).at("function").at("arguments"), R"({"a":1})");
  EXPECT_EQ(messages[2].at("tool_calls").at(0).at("type"), "function");
  EXPECT_EQ(messages[3].at("tool_call_id"), "call_1");
  EXPECT_EQ(messages[3].at("role"), "tool");
  const json::array& tools = v.at("tools").as_array();
  EXPECT_EQ(tools[0].at("type"), "function");
  EXPECT_EQ(tools[0].at("function").at("parameters").at("type"), "object");
  EXPECT_EQ(tools[0].at("function").at("description"), "does f");
  EXPECT_FALSE(tools[1].at("function").as_object().contains("parameters"));

  request.stream = false;
  request.tools.clear();
  json::value plain = json::parse(*BuildChatRequestBody(request));
  EXPECT_FALSE(plain.as_object().contains("stream_options"));
  EXPECT_FALSE(plain.as_object().contains("parallel_tool_calls"));
}

TEST(ChatWireTest, ParseChatCompletionErrors) {
  EXPECT_THAT(ParseChatCompletion("nope"), StatusIs(absl::StatusCode::kInternal, HasSubstr("JSON")));
  EXPECT_THAT(ParseChatCompletion(R"({"choices":[]})"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("no choices")));
  EXPECT_THAT(ParseChatCompletion(R"({"error":{"message":"boom"}})"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("boom")));
  auto ok = ParseChatCompletion(
      R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]})");
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->text, "hi");
  EXPECT_FALSE(ok->usage.has_value());
}

TEST(ChatStreamTest, AnyChunkingGivesTheSameResult) {
  const std::string stream =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a b\"},\"finish_reason\":null}]}\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"k\","
      "\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,\"total_tokens\":5}}\n\n"
      "data: [DONE]\n\n";
  for (std::size_t step : {1u, 7u, 1000u}) {
    std::string text;
    ChatStreamParser parser([&](std::string_view d) { text.append(d); });
    for (std::size_t i = 0; i < stream.size(); i += step) {
      ASSERT_THAT(parser.Feed(std::string_view(stream).substr(i, step)), IsOk());
    }
    auto result = parser.Finish();
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(text, "a b");
    ASSERT_EQ(result->tool_calls.size(), 1u);
    EXPECT_EQ(result->tool_calls[0].arguments, "{}");
    EXPECT_EQ(result->usage->total_tokens, 5);
  }
}

}  // namespace
}  // namespace agentgateway::local
