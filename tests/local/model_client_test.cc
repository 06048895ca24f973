// ModelClient over loopback against the emulator's scripted Chat Completions model: streamed
// text, parallel tool calls, the non-stream path, HTTP errors with their messages, scopes,
// deadlines, streams and bodies cut short (the emulator's truncate fault), and (with a raw test
// server) streams missing [DONE] and malformed streams.
#include "server/local/model_client.h"

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/local/local_fixture.h"
#include "tests/server/upstream/test_server.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

struct Turn {
  absl::StatusOr<ChatResult> result = absl::UnknownError("not run");
  std::vector<std::string> deltas;
};

FunctionTool Tool(std::string name) {
  return FunctionTool{name, "Looks things up: " + name,
                      R"({"type":"object","properties":{"question":{"type":"string"}}})"};
}

class ModelClientTest : public testing::LocalTest {
 protected:
  Turn Run(const ChatRequest& request, std::string base = "/serving-endpoints",
           ModelCallOptions options = {.bearer_token = "dev-token"}) {
    auto client = ModelClient::Create(pool_.get(), Url(base));
    EXPECT_TRUE(client.ok()) << client.status();
    return RunWith(**client, request, options);
  }

  static Turn RunWith(const ModelClient& client, const ChatRequest& request,
                      const ModelCallOptions& options) {
    auto deltas = std::make_shared<std::vector<std::string>>();
    std::promise<absl::StatusOr<ChatResult>> done;
    auto future = done.get_future();
    auto call = client.Complete(
        request, options, [deltas](std::string_view d) { deltas->emplace_back(d); },
        [&done](absl::StatusOr<ChatResult> r) { done.set_value(std::move(r)); });
    Turn turn;
    if (!call.ok()) {
      turn.result = call.status();
      return turn;
    }
    auto result = testing::Await(future);
    if (result) turn.result = *std::move(result);
    turn.deltas = *deltas;  // on_done ran after the last delta, on the same strand
    return turn;
  }

  static ChatRequest Ask(std::string question, bool stream = true) {
    ChatRequest r;
    r.model = "databricks-claude-sonnet-4-5";
    r.messages = {ChatMessage::System("Be brief."), ChatMessage::User(std::move(question))};
    r.stream = stream;
    return r;
  }
};

TEST_F(ModelClientTest, StreamedTextArrivesAsDeltasInOrder) {
  Turn turn = Run(Ask("What is the weather like"));
  ASSERT_THAT(turn.result, IsOk());
  EXPECT_EQ(turn.result->text, "You asked: \"What is the weather like\". No tool was needed.");
  EXPECT_GT(turn.deltas.size(), 3u);  // one per word
  EXPECT_EQ(absl::StrJoin(turn.deltas, ""), turn.result->text);
  EXPECT_EQ(turn.result->finish_reason, "stop");
  EXPECT_TRUE(turn.result->tool_calls.empty());
  ASSERT_TRUE(turn.result->usage.has_value());
  EXPECT_GT(turn.result->usage->prompt_tokens, 0);
  EXPECT_EQ(turn.result->usage->total_tokens,
            turn.result->usage->prompt_tokens + turn.result->usage->completion_tokens);
  EXPECT_THAT(turn.result->id, HasSubstr("chatcmpl-"));

  auto calls = emulator_->Calls();
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_EQ(calls[0].kind, "model");
  EXPECT_TRUE(calls[0].stream);
  EXPECT_EQ(calls[0].status, 200);
}

TEST_F(ModelClientTest, ParallelToolCallsAreAssembledThenAnswered) {
  ChatRequest request = Ask("Please use get_weather and get_time for Paris");
  request.tools = {Tool("get_weather"), Tool("get_time"), Tool("unused_tool")};
  request.parallel_tool_calls = true;
  Turn turn = Run(request);
  ASSERT_THAT(turn.result, IsOk());
  EXPECT_EQ(turn.result->finish_reason, "tool_calls");
  EXPECT_TRUE(turn.deltas.empty());
  ASSERT_THAT(turn.result->tool_calls, SizeIs(2));
  const std::string args = R"({"question":"Please use get_weather and get_time for Paris"})";
  std::vector<std::string> names;
  for (const ToolCall& call : turn.result->tool_calls) {
    names.push_back(call.name);
    EXPECT_THAT(call.id, HasSubstr("call_"));
    EXPECT_EQ(call.arguments, args);  // reassembled from pieces of at most 16 bytes
  }
  EXPECT_THAT(names, ElementsAre("get_weather", "get_time"));
  EXPECT_NE(turn.result->tool_calls[0].id, turn.result->tool_calls[1].id);

  // The history goes back: assistant tool_calls + one tool message per id.
  request.messages.push_back(ChatMessage::Assistant(std::nullopt, turn.result->tool_calls));
  request.messages.push_back(ChatMessage::ToolResult(turn.result->tool_calls[0].id, "sunny"));
  request.messages.push_back(ChatMessage::ToolResult(turn.result->tool_calls[1].id, "noon"));
  Turn second = Run(request);
  ASSERT_THAT(second.result, IsOk());
  EXPECT_EQ(second.result->finish_reason, "stop");
  EXPECT_THAT(second.result->text, HasSubstr("The tool get_weather said: \"sunny\"."));
  EXPECT_THAT(second.result->text, HasSubstr("The tool get_time said: \"noon\"."));
}

TEST_F(ModelClientTest, ParallelToolCallsOffGivesOneCall) {
  ChatRequest request = Ask("use get_weather and get_time");
  request.tools = {Tool("get_weather"), Tool("get_time")};
  request.parallel_tool_calls = false;
  Turn turn = Run(request);
  ASSERT_THAT(turn.result, IsOk());
  ASSERT_THAT(turn.result->tool_calls, SizeIs(1));
  EXPECT_EQ(turn.result->tool_calls[0].name, "get_weather");
}

TEST_F(ModelClientTest, NonStreamPathParsesChatCompletion) {
  ChatRequest request = Ask("call get_weather now", /*stream=*/false);
  request.tools = {Tool("get_weather")};
  Turn turn = Run(request, "/v1/");
  ASSERT_THAT(turn.result, IsOk());
  EXPECT_EQ(turn.result->finish_reason, "tool_calls");
  ASSERT_THAT(turn.result->tool_calls, SizeIs(1));
  EXPECT_EQ(turn.result->tool_calls[0].name, "get_weather");
  EXPECT_EQ(turn.result->tool_calls[0].arguments, R"({"question":"call get_weather now"})");
  ASSERT_TRUE(turn.result->usage.has_value());

  Turn text = Run(Ask("hello", /*stream=*/false), "/v1");
  ASSERT_THAT(text.result, IsOk());
  EXPECT_EQ(text.result->text, "You asked: \"hello\". No tool was needed.");
  EXPECT_THAT(text.deltas, ElementsAre(text.result->text));  // one delta for the whole text
  EXPECT_FALSE(emulator_->Calls().back().stream);
}

TEST_F(ModelClientTest, BadRequestIsInvalidArgumentWithTheServersMessage) {
  ChatRequest request = Ask("hi");
  request.temperature = 5;
  Turn turn = Run(request);
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("temperature")));
}

TEST_F(ModelClientTest, RateLimitIsResourceExhaustedWithMessageAndRetryAfter) {
  Turn turn = Run(Ask("hi [[fault:429]]"));
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kResourceExhausted,
                                    HasSubstr("Retry-After: 1")));
  EXPECT_GT(absl::StatusOr<ChatResult>(turn.result).status().message().size(), 30u);
  Turn non_stream = Run(Ask("hi [[fault:503]]", false));
  EXPECT_THAT(non_stream.result, StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
}

TEST_F(ModelClientTest, UserTokenWithoutModelServingScopeIsPermissionDenied) {
  std::string token = UserToken("alice@example.com", {"genie"});
  Turn turn = Run(Ask("hi"), "/serving-endpoints", {.bearer_token = token});
  EXPECT_THAT(turn.result,
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("model-serving")));
  std::string allowed = UserToken("alice@example.com", {"model-serving"});
  EXPECT_THAT(Run(Ask("hi"), "/serving-endpoints", {.bearer_token = allowed}).result, IsOk());
}

TEST_F(ModelClientTest, DeadlinePassesWhileTheModelHangs) {
  ModelCallOptions options{.bearer_token = "dev-token",
                           .deadline = std::chrono::steady_clock::now() +
                                       std::chrono::milliseconds(300)};
  Turn turn = Run(Ask("hi [[fault:hang]]"), "/serving-endpoints", options);
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
}

TEST_F(ModelClientTest, CancelMidStreamEndsTheTurnWithCancelled) {
  auto client = ModelClient::Create(pool_.get(), Url("/serving-endpoints"));
  ASSERT_THAT(client, IsOk());
  std::promise<void> first_delta;
  auto first = first_delta.get_future();
  auto delta_count = std::make_shared<std::atomic<int>>(0);
  std::promise<absl::StatusOr<ChatResult>> done;
  auto future = done.get_future();
  auto call = (*client)->Complete(
      Ask("one two three four five six [[drip-ms:100]]"), {.bearer_token = "dev-token"},
      [&first_delta, delta_count](std::string_view) {
        if (delta_count->fetch_add(1) == 0) first_delta.set_value();
      },
      [&done](absl::StatusOr<ChatResult> r) { done.set_value(std::move(r)); });
  ASSERT_THAT(call, IsOk());
  ASSERT_EQ(first.wait_for(testing::kWait), std::future_status::ready);
  (*call)->Cancel();
  auto result = testing::Await(future);
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(*result, StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_LT(delta_count->load(), 5);
}

// The emulator's `truncate` fault: the stream stops after a few frames, before the one with
// finish_reason and before [DONE], with intact HTTP framing (the terminal chunk), so only the
// client's own check tells a cut answer from a short one.
TEST_F(ModelClientTest, StreamCutBeforeFinishIsTruncatedAndItsDeltasWereRelayed) {
  const std::string question = "Tell me a long story [[fault:truncate]]";
  Turn turn = Run(Ask(question));
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("truncated")));
  ASSERT_FALSE(turn.deltas.empty());  // what came was still relayed, in order
  const std::string full = absl::StrCat("You asked: \"", question, "\". No tool was needed.");
  std::string relayed = absl::StrJoin(turn.deltas, "");
  EXPECT_LT(relayed.size(), full.size());
  EXPECT_EQ(full.substr(0, relayed.size()), relayed);
}

TEST_F(ModelClientTest, ToolCallStreamCutMidArgumentsIsTruncated) {
  ChatRequest request = Ask("use get_weather for a long question text [[fault:truncate]]");
  request.tools = {Tool("get_weather")};
  Turn turn = Run(request);
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("truncated")));
}

TEST_F(ModelClientTest, NonStreamBodyCutShortIsUnavailable) {
  Turn turn = Run(Ask("Tell me [[fault:truncate]]", /*stream=*/false));
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_TRUE(turn.deltas.empty());
}

TEST_F(ModelClientTest, RefusesCallsWithoutTokenOrWithBadToolSchema) {
  EXPECT_THAT(Run(Ask("hi"), "/v1", {}).result,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token")));
  ChatRequest request = Ask("hi");
  request.tools = {FunctionTool{"t", "", "{not json"}};
  EXPECT_THAT(Run(request).result, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t")));
  EXPECT_THAT(ModelClient::Create(pool_.get(), "ftp://x/v1").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_TRUE(emulator_->Calls().empty());
}

// A raw server that answers each request with `bytes` and closes.
class RawStreamTest : public testing::LocalTest {
 protected:
  Turn Serve(std::string bytes) {
    upstream::testing::TestServer server(
        [bytes](const upstream::testing::ServerRequest&, upstream::testing::ServerConn& conn) {
          conn.Write(bytes);
          return false;
        });
    auto client = ModelClient::Create(
        pool_.get(), absl::StrCat("http://127.0.0.1:", server.port(), "/v1"));
    EXPECT_TRUE(client.ok());
    ChatRequest request;
    request.model = "m";
    request.messages = {ChatMessage::User("hi")};
    return ModelClientTest_RunWith(**client, request);
  }
  static Turn ModelClientTest_RunWith(const ModelClient& client, const ChatRequest& request) {
    auto deltas = std::make_shared<std::vector<std::string>>();
    std::promise<absl::StatusOr<ChatResult>> done;
    auto future = done.get_future();
    auto call = client.Complete(
        request, {.bearer_token = "t"}, [deltas](std::string_view d) { deltas->emplace_back(d); },
        [&done](absl::StatusOr<ChatResult> r) { done.set_value(std::move(r)); });
    Turn turn;
    if (!call.ok()) return Turn{call.status(), {}};
    if (auto r = testing::Await(future)) turn.result = *std::move(r);
    turn.deltas = *deltas;
    return turn;
  }
  static constexpr char kHead[] =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
  static std::string Chunk(const std::string& delta_json, const std::string& finish = "null") {
    return absl::StrCat(R"(data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":)",
                        delta_json, R"(,"finish_reason":)", finish, "}]}\n\n");
  }
};

TEST_F(RawStreamTest, StreamEndingWithoutDoneIsTruncated) {
  Turn turn = Serve(absl::StrCat(kHead, Chunk(R"({"content":"Hi"})"), Chunk("{}", R"("stop")")));
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("[DONE]")));
}

TEST_F(RawStreamTest, CompleteStreamWithoutIndexOrUsageIsAccepted) {
  Turn turn = Serve(absl::StrCat(
      kHead, Chunk(R"({"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\""}}]})"),
      Chunk(R"({"tool_calls":[{"function":{"arguments":":1}"}}]})"),
      Chunk("{}", R"("tool_calls")"), "data: [DONE]\n\n"));
  ASSERT_THAT(turn.result, IsOk());
  ASSERT_THAT(turn.result->tool_calls, SizeIs(1));
  EXPECT_EQ(turn.result->tool_calls[0].arguments, R"({"x":1})");
  EXPECT_FALSE(turn.result->usage.has_value());
}

TEST_F(RawStreamTest, MalformedChunkIsInternal) {
  Turn turn = Serve(absl::StrCat(kHead, Chunk(R"({"content":"Hi"})"), "data: <html>oops\n\n"));
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kInternal, HasSubstr("malformed chunk")));
}

TEST_F(RawStreamTest, ToolArgumentsThatAreNotJsonAreInternal) {
  Turn turn = Serve(absl::StrCat(
      kHead, Chunk(R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\""}}]})"),
      Chunk("{}", R"("tool_calls")"), "data: [DONE]\n\n"));
  EXPECT_THAT(turn.result, StatusIs(absl::StatusCode::kInternal, HasSubstr("not a JSON object")));
}

TEST_F(RawStreamTest, ErrorObjectInTheStreamSurfacesItsMessage) {
  Turn turn = Serve(absl::StrCat(
      kHead, R"(data: {"error":{"message":"context length exceeded","type":"invalid_request_error"}})",
      "\n\n"));
  EXPECT_THAT(turn.result,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("context length exceeded")));
}

}  // namespace
}  // namespace agentgateway::local
