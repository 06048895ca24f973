// LocalEngine with `knowledge_assistant` hosted tools: the loop calls the assistant's serving
// endpoint (POST /serving-endpoints/{id}/invocations, Responses-shaped) as the run's identity,
// and its answer, or its failure, is the tool's output; alongside an MCP tool in one turn.
#include <memory>
#include <string>
#include <vector>

#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/local/engine_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::LocalEngineTest;
using testing::RecordingSink;
using testing::Str;

namespace json = boost::json;

constexpr char kHrAssistant[] =
    R"({"type":"knowledge_assistant","knowledge_assistant":{"knowledge_assistant_id":"ka-hr-docs",)"
    R"("description":"HR policies"}})";
constexpr char kGenieTool[] =
    R"({"type":"genie_space","genie_space":{"id":"01ef5a","description":"Sales data"}})";

TEST_F(LocalEngineTest, KnowledgeAssistantAnswerIsTheToolOutputAsTheUser) {
  AddTool("knowledge_assistant", kHrAssistant);
  const std::string question = "Ask ka-hr-docs how many vacation days we get";
  std::string token = UserToken("alice@example.com", {"model-serving"});
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask(question), sink, Context(token)), IsOk());
  const std::string answer = "Knowledge assistant ka-hr-docs answered \"" + question +
                             "\" for user:alice@example.com: 2 documents cited.";
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(items, SizeIs(3));
  EXPECT_EQ(Str(items[0], "type"), "function_call");
  EXPECT_EQ(Str(items[0], "name"), "ka-hr-docs");
  EXPECT_EQ(Str(items[1], "type"), "function_call_output");
  EXPECT_EQ(Str(items[1], "output"), answer);
  EXPECT_THAT(sink->text(), HasSubstr("The tool ka-hr-docs said: \"" + answer + "\""));

  auto calls = Calls("knowledge_assistant");
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].path, "/serving-endpoints/ka-hr-docs/invocations");
  EXPECT_EQ(calls[0].identity, "user:alice@example.com");
  EXPECT_EQ(calls[0].question, question);
  EXPECT_EQ(calls[0].status, 200);
  EXPECT_THAT(Calls("mcp"), SizeIs(0));  // a serving endpoint, not an MCP server
}

TEST_F(LocalEngineTest, KnowledgeAssistantThatDoesNotExistIsFedBackAsAnError) {
  AddTool("knowledge_assistant",
          R"({"type":"knowledge_assistant",)"
          R"("knowledge_assistant":{"knowledge_assistant_id":"missing-ka"}})");
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Ask missing-ka anything"), sink), IsOk());
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(items, SizeIs(3));
  EXPECT_THAT(Str(items[1], "output"),
              AllOf(HasSubstr("could not be called (NOT_FOUND)"), HasSubstr("does not exist")));
  EXPECT_EQ(Str(items[2], "type"), "message");
  EXPECT_THAT(Calls("knowledge_assistant"), SizeIs(1));
  EXPECT_THAT(Calls("model"), SizeIs(2));
}

TEST_F(LocalEngineTest, KnowledgeAssistantAndAnMcpToolRunInOneTurn) {
  AddTool("knowledge_assistant", kHrAssistant);
  AddTool("genie_space", kGenieTool);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Use ka-hr-docs and query_space_01ef5a"), sink), IsOk());
  auto model = Calls("model");
  ASSERT_THAT(model, SizeIs(2));
  EXPECT_THAT(model[0].tool, AllOf(HasSubstr("ka-hr-docs"), HasSubstr("query_space_01ef5a")));
  EXPECT_THAT(Calls("knowledge_assistant"), SizeIs(1));
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(1));
  EXPECT_THAT(sink->text(), AllOf(HasSubstr("2 documents cited"),
                                  HasSubstr("Genie space 01ef5a found 3 rows")));
}

}  // namespace
}  // namespace agentgateway::local

namespace agentgateway::local {
namespace {

constexpr char kWeatherFunction[] =
    R"({"type":"function","name":"get_weather","description":"Weather for a city",)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}}})";

// A client-side function next to a hosted tool, over two requests: the hosted call runs and
// its output goes out with the function call the caller must answer; the caller's next
// request carries the whole turn back with its output, and the loop finishes with both.
TEST_F(LocalEngineTest, AClientFunctionAndAHostedToolInOneTurnOverTwoRequests) {
  profile_.allow_mixed_tools = true;
  AddTool("genie_space", kGenieTool);
  AddTool("function", kWeatherFunction);
  auto first = std::make_shared<RecordingSink>();
  v1::InvokeRequest request = Ask("Use query_space_01ef5a and get_weather");
  ASSERT_THAT(Run(request, first), IsOk());
  std::vector<boost::json::object> items = first->items();
  // The hosted pair, then the function call handed to the caller; no answer yet.
  std::vector<std::string> types;
  for (const auto& item : items) types.push_back(Str(item, "type"));
  ASSERT_THAT(types, ::testing::UnorderedElementsAre("function_call", "function_call",
                                                     "function_call_output"));
  const boost::json::object* weather = nullptr;
  for (const auto& item : items) {
    if (Str(item, "type") == "function_call" && Str(item, "name") == "get_weather") {
      weather = &item;
    }
  }
  ASSERT_NE(weather, nullptr);
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(1));  // only the hosted tool ran here
  EXPECT_THAT(Calls("model"), SizeIs(1));

  for (const auto& item : items) request.add_input()->set_json(boost::json::serialize(item));
  request.add_input()->set_json(boost::json::serialize(boost::json::object{
      {"type", "function_call_output"}, {"call_id", weather->at("call_id")},
      {"output", "sunny, 21C"}}));
  auto second = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(request, second), IsOk());
  EXPECT_THAT(second->text(), AllOf(HasSubstr(R"(The tool get_weather said: "sunny, 21C")"),
                                    HasSubstr("The tool query_space_01ef5a said:")));
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(1));  // the hosted call was not run again
  EXPECT_THAT(Calls("model"), SizeIs(2));
}

}  // namespace
}  // namespace agentgateway::local
