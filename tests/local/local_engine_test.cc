// LocalEngine over loopback against the in-process emulator (its scripted Chat model and
// managed MCP servers): the event sequence of a plain answer, hosted tool rounds (one, two in
// parallel, a failing one), the step limit, the user's identity reaching the tools, a client
// function tool pausing and resuming the loop, Invoke's folded object, a slow reader.
// Cancel and deadlines: local_engine_cancel_test.cc.
#include "server/local/local_engine.h"

#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/local/engine_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

namespace json = boost::json;

constexpr char kGenieTool[] = R"({"type":"genie_space","genie_space":{"id":"01ef5a","description":"Sales data"}})";
constexpr char kLookupTool[] = R"({"type":"uc_function","uc_function":{"name":"main.tools.lookup"}})";
constexpr char kWeatherTool[] =
    R"({"type":"function","name":"get_weather","description":"Weather for a city",)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}}})";

using testing::PausingSink;
using testing::RecordingSink;
using testing::Str;

using testing::LocalEngineTest;

TEST_F(LocalEngineTest, PlainAnswerStreamsOneMessageResponse) {
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("What is the capital of France?"), sink), IsOk());
  std::vector<std::string> types = sink->types();
  ASSERT_GE(types.size(), 8u);
  EXPECT_THAT(std::vector<std::string>(types.begin(), types.begin() + 4),
              ElementsAre("response.created", "response.in_progress",
                          "response.output_item.added", "response.content_part.added"));
  EXPECT_THAT(std::vector<std::string>(types.end() - 4, types.end()),
              ElementsAre("response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"));
  for (std::size_t i = 4; i + 4 < types.size(); ++i) {
    EXPECT_EQ(types[i], "response.output_text.delta");
  }
  EXPECT_EQ(sink->text(), R"(You asked: "What is the capital of France?". No tool was needed.)");
  json::object completed = json::parse(sink->events().back().json).as_object();
  const json::array& output = completed.at("response").at("output").as_array();
  ASSERT_THAT(output, SizeIs(1));
  EXPECT_EQ(output[0].at("content").at(0).at("text").as_string(), sink->text());
  // The item id stays the same from the first delta to the final item.
  std::string id = Str(sink->items().at(0), "id");
  for (const EngineEvent& e : sink->events()) {
    if (e.type == "response.output_text.delta") {
      EXPECT_THAT(e.json, HasSubstr(id));
    }
  }
  auto model = Calls("model");
  ASSERT_THAT(model, SizeIs(1));
  EXPECT_TRUE(model[0].stream);
}

TEST_F(LocalEngineTest, HostedToolRoundThenTheAnswerQuotesIt) {
  AddTool("genie_space", kGenieTool);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Ask query_space_01ef5a for sales by region"), sink), IsOk());
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(items, SizeIs(3));
  EXPECT_EQ(Str(items[0], "type"), "function_call");
  EXPECT_EQ(Str(items[0], "name"), "query_space_01ef5a");
  EXPECT_EQ(Str(items[1], "type"), "function_call_output");
  EXPECT_EQ(Str(items[1], "call_id"), Str(items[0], "call_id"));
  EXPECT_THAT(Str(items[1], "output"), HasSubstr("Genie space 01ef5a found 3 rows"));
  EXPECT_EQ(Str(items[2], "type"), "message");
  EXPECT_THAT(sink->text(), AllOf(HasSubstr("The tool query_space_01ef5a said:"),
                                  HasSubstr("Genie space 01ef5a found 3 rows")));
  // Two responses: the tool round, then the message round.
  int created = 0, completed = 0;
  for (const std::string& t : sink->types()) {
    created += t == "response.created";
    completed += t == "response.completed";
  }
  EXPECT_EQ(created, 2);
  EXPECT_EQ(completed, 2);
  auto calls = Calls("mcp", "tools/call");
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_EQ(calls[0].tool, "query_space_01ef5a");
  EXPECT_THAT(Calls("model"), SizeIs(2));
}

TEST_F(LocalEngineTest, TwoToolsRunInParallelAndBothOutputsReachTheModel) {
  AddTool("genie_space", kGenieTool);
  AddTool("uc_function", kLookupTool);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Use query_space_01ef5a and main__tools__lookup"), sink), IsOk());
  auto calls = Calls("mcp", "tools/call");
  ASSERT_THAT(calls, SizeIs(2));
  std::vector<std::string> tools = {calls[0].tool, calls[1].tool};
  std::sort(tools.begin(), tools.end());
  EXPECT_THAT(tools, ElementsAre("main__tools__lookup", "query_space_01ef5a"));
  auto model = Calls("model");
  ASSERT_THAT(model, SizeIs(2));
  EXPECT_THAT(model[0].tool, AllOf(HasSubstr("query_space_01ef5a"), HasSubstr("main__tools__lookup")));
  EXPECT_THAT(sink->text(), AllOf(HasSubstr("The tool query_space_01ef5a said:"),
                                  HasSubstr("The tool main__tools__lookup said:")));
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(items, SizeIs(5));
  EXPECT_EQ(Str(items[0], "type"), "function_call");
  EXPECT_EQ(Str(items[1], "type"), "function_call");
  EXPECT_EQ(Str(items[2], "type"), "function_call_output");
  EXPECT_EQ(Str(items[3], "type"), "function_call_output");
}

TEST_F(LocalEngineTest, ToolErrorIsFedBackAndTheLoopContinues) {
  AddTool("genie_space", kGenieTool);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Ask query_space_01ef5a [[tool-error]]"), sink), IsOk());
  auto calls = Calls("mcp", "tools/call");
  ASSERT_THAT(calls, SizeIs(1));
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(items, SizeIs(3));
  std::string output = Str(items[1], "output");
  EXPECT_THAT(output, HasSubstr("reported an error"));
  EXPECT_EQ(Str(items[2], "type"), "message");
  EXPECT_THAT(sink->text(), HasSubstr("The tool query_space_01ef5a said:"));
  EXPECT_THAT(Calls("model"), SizeIs(2));
}

TEST_F(LocalEngineTest, LoopStopsAtTheStepLimitWithAClearError) {
  MakeEngine(3);
  AddTool("genie_space", kGenieTool);
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_THAT(Run(Ask("[[loop]] ask query_space_01ef5a"), sink),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("limit of 3 model turns"), HasSubstr("max_steps"))));
  ASSERT_FALSE(sink->events().empty());
  EXPECT_EQ(sink->events().back().type, "error");
  EXPECT_THAT(sink->events().back().json, HasSubstr("limit of 3 model turns"));
  EXPECT_THAT(Calls("model"), SizeIs(3));
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(2));
}

TEST_F(LocalEngineTest, UserTokenReachesEveryToolCall) {
  profile_.auth = "user";
  AddTool("genie_space", kGenieTool);
  AddTool("uc_function", kLookupTool);
  std::string token = UserToken("alice@example.com", {"model-serving", "genie", "unity-catalog"});
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Use query_space_01ef5a and main__tools__lookup"), sink, Context(token)),
              IsOk());
  auto mcp = Calls("mcp");
  ASSERT_FALSE(mcp.empty());
  for (const auto& c : mcp) EXPECT_EQ(c.identity, "user:alice@example.com") << c.rpc_method;
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(2));
  for (const auto& c : Calls("model")) EXPECT_EQ(c.identity, "user:alice@example.com");
  EXPECT_THAT(sink->text(), HasSubstr("ran as user:alice@example.com"));
}

TEST_F(LocalEngineTest, ClientFunctionToolPausesThenItsOutputFinishesTheLoop) {
  AddTool("function", kWeatherTool);
  auto first = std::make_shared<RecordingSink>();
  v1::InvokeRequest request = Ask("Call get_weather for Paris");
  ASSERT_THAT(Run(request, first), IsOk());
  std::vector<json::object> items = first->items();
  ASSERT_THAT(items, SizeIs(1));
  EXPECT_EQ(Str(items[0], "type"), "function_call");
  EXPECT_EQ(Str(items[0], "name"), "get_weather");
  EXPECT_EQ(first->types().back(), "response.completed");
  EXPECT_THAT(Calls("mcp"), SizeIs(0));

  request.add_input()->set_json(json::serialize(items[0]));
  request.add_input()->set_json(json::serialize(json::object{
      {"type", "function_call_output"}, {"call_id", items[0].at("call_id")}, {"output", "sunny, 21C"}}));
  auto second = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(request, second), IsOk());
  EXPECT_THAT(second->text(), HasSubstr(R"(The tool get_weather said: "sunny, 21C")"));
  EXPECT_THAT(Calls("model"), SizeIs(2));
}

TEST_F(LocalEngineTest, InvokeFoldsTheRunIntoOneResponse) {
  AddTool("genie_space", kGenieTool);
  std::promise<absl::StatusOr<InvokeResult>> done;
  auto future = done.get_future();
  auto handle = engine_->Invoke(profile_, Ask("Ask query_space_01ef5a for sales"), Context(),
                                [&done](absl::StatusOr<InvokeResult> r) { done.set_value(std::move(r)); });
  ASSERT_THAT(handle.status(), IsOk());
  auto result = testing::Await(future);
  ASSERT_TRUE(result.has_value());
  ASSERT_THAT(result->status(), IsOk());
  EXPECT_EQ((*result)->status, "completed");
  EXPECT_THAT((*result)->id, HasSubstr("resp_local_"));
  EXPECT_THAT((*result)->output_text, HasSubstr("Genie space 01ef5a found 3 rows"));
  json::object response = json::parse((*result)->response_json).as_object();
  EXPECT_EQ(Str(response, "id"), (*result)->id);
  const json::array& output = response.at("output").as_array();
  ASSERT_THAT(output, SizeIs(3));
  EXPECT_EQ(output[0].at("type").as_string(), "function_call");
  EXPECT_EQ(output[1].at("type").as_string(), "function_call_output");
  EXPECT_EQ(output[2].at("type").as_string(), "message");
  EXPECT_GT(response.at("usage").at("total_tokens").to_number<int64_t>(), 0);
}

TEST_F(LocalEngineTest, SlowReaderGetsEveryEventInOrderAfterResumes) {
  AddTool("genie_space", kGenieTool);
  auto reference = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Ask query_space_01ef5a please"), reference), IsOk());

  auto sink = std::make_shared<PausingSink>();
  auto handle = engine_->Stream(profile_, Ask("Ask query_space_01ef5a please"), Context(), sink);
  ASSERT_THAT(handle.status(), IsOk());
  auto give_up = std::chrono::steady_clock::now() + testing::kWait;
  while (!sink->status().has_value() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    (*handle)->Resume();
  }
  ASSERT_TRUE(sink->status().has_value());
  EXPECT_THAT(*sink->status(), IsOk());
  EXPECT_EQ(sink->types(), reference->types());
}

TEST_F(LocalEngineTest, RequestsTheLoopCannotRunAreRefusedAtOnce) {
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_THAT(engine_->Stream(profile_, Ask("hi"), Context(""), sink).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("bearer token")));
  v1::InvokeRequest image;
  image.add_input()->set_json(
      R"({"role":"user","content":[{"type":"input_image","image_url":"https://x/y.png"}]})");
  EXPECT_THAT(engine_->Stream(profile_, image, Context(), sink).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input_image")));
  EXPECT_THAT(engine_->Stream(profile_, v1::InvokeRequest(), Context(), sink).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input")));
  EXPECT_THAT(Calls("model"), SizeIs(0));
}

}  // namespace
}  // namespace agentgateway::local
