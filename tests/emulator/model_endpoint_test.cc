// Tests of the emulator's model endpoints over loopback: the scripted Chat Completions model
// (both paths, JSON and stream, parallel tool calls, the follow-up answer, [[loop]], request
// checks, faults, scopes) and the knowledge-assistant endpoint, with the call records.
#include <chrono>

#include "gtest/gtest.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/test_client.h"

namespace agentgateway::emulator {
namespace {

using test_client::ClientResponse;
using test_client::Headers;
using test_client::ParseSse;
using test_client::SseEvent;
using test_client::TestClient;
namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::string_view kChat = "/serving-endpoints/chat/completions";
constexpr std::string_view kOpenAiChat = "/v1/chat/completions";

json::object Tool(std::string_view name) {
  return {{"type", "function"},
          {"function", json::object{{"name", name},
                                    {"description", "a tool"},
                                    {"parameters", json::object{{"type", "object"}}}}}};
}

json::object ChatBody(std::string_view question, json::array tools = {}, json::object extra = {}) {
  json::object body{{"model", "databricks-claude-sonnet-4-5"},
                    {"messages", json::array{json::object{{"role", "system"}, {"content", "Be brief."}},
                                             json::object{{"role", "user"}, {"content", question}}}}};
  if (!tools.empty()) body["tools"] = std::move(tools);
  for (auto& field : extra) body[field.key()] = field.value();
  return body;
}

std::string Str(const json::value& v) { return std::string(v.as_string()); }

class ModelEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmulatorOptions options;
    options.threads = 2;
    auto created = Emulator::Create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    emulator_ = *std::move(created);
  }

  ClientResponse Post(std::string_view path, const json::object& body, Headers headers = {}) {
    TestClient client(emulator_->port());
    return client.Exchange(http::verb::post, path, json::serialize(body), headers);
  }

  std::string UserToken(json::array scopes) {
    TestClient client(emulator_->port());
    ClientResponse r = client.Exchange(
        http::verb::post, "/emulator/users/token",
        json::serialize(json::object{{"user", "alice@example.com"}, {"scopes", scopes}}));
    EXPECT_EQ(r.status, 200) << r.body;
    return Str(r.Json().at("access_token"));
  }

  json::value Calls() {
    TestClient client(emulator_->port());
    return client.Exchange(http::verb::get, "/emulator/calls").Json();
  }

  std::unique_ptr<Emulator> emulator_;
};

TEST_F(ModelEndpointTest, AnswersTextOnBothPathsWithoutTools) {
  for (std::string_view path : {kChat, kOpenAiChat}) {
    ClientResponse r = Post(path, ChatBody("Hello there"));
    ASSERT_EQ(r.status, 200) << r.body;
    json::value body = r.Json();
    EXPECT_EQ(Str(body.at("object")), "chat.completion");
    EXPECT_EQ(Str(body.at("model")), "databricks-claude-sonnet-4-5");
    const json::value& choice = body.at("choices").at(0);
    EXPECT_EQ(Str(choice.at("finish_reason")), "stop");
    EXPECT_EQ(Str(choice.at("message").at("role")), "assistant");
    EXPECT_EQ(Str(choice.at("message").at("content")),
              "You asked: \"Hello there\". No tool was needed.");
    EXPECT_GT(body.at("usage").at("total_tokens").as_int64(), 0);
  }
}

TEST_F(ModelEndpointTest, CallsEveryMentionedToolInOneMessageThenAnswersFromResults) {
  json::array tools{Tool("genie_sales"), Tool("lookup_customer"), Tool("unused_tool")};
  std::string question = "Ask genie_sales and LOOKUP_CUSTOMER about \"Q3\"";
  ClientResponse r = Post(kChat, ChatBody(question, tools));
  ASSERT_EQ(r.status, 200) << r.body;
  json::value choice_doc = r.Json();
  const json::value& choice = choice_doc.at("choices").at(0);
  EXPECT_EQ(Str(choice.at("finish_reason")), "tool_calls");
  EXPECT_TRUE(choice.at("message").at("content").is_null());
  const json::array& calls = choice.at("message").at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(Str(calls[0].at("function").at("name")), "genie_sales");
  EXPECT_EQ(Str(calls[1].at("function").at("name")), "lookup_customer");
  std::string id0 = Str(calls[0].at("id"));
  EXPECT_EQ(id0.substr(0, 5), "call_");
  EXPECT_EQ(id0.substr(id0.size() - 2), "_0");
  json::value args = json::parse(Str(calls[1].at("function").at("arguments")));
  EXPECT_EQ(Str(args.at("question")), question);

  json::object follow = ChatBody(question, tools);
  json::array& messages = follow["messages"].as_array();
  messages.push_back(json::object{{"role", "assistant"}, {"content", nullptr},
                                  {"tool_calls", calls}});
  messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", calls[0].at("id")},
                                  {"content", "3 rows"}});
  messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", calls[1].at("id")},
                                  {"content", json::array{json::object{{"type", "text"},
                                                                       {"text", "Ada, Zurich"}}}}});
  r = Post(kChat, follow);
  ASSERT_EQ(r.status, 200) << r.body;
  json::value answer_doc = r.Json();
  const json::value& answer = answer_doc.at("choices").at(0);
  EXPECT_EQ(Str(answer.at("finish_reason")), "stop");
  EXPECT_EQ(Str(answer.at("message").at("content")),
            "You asked: \"" + question + "\". The tool genie_sales said: \"3 rows\". "
            "The tool lookup_customer said: \"Ada, Zurich\".");
}

TEST_F(ModelEndpointTest, ParallelToolCallsFalseCallsOneToolPerTurn) {
  json::array tools{Tool("alpha"), Tool("beta")};
  ClientResponse r = Post(kChat, ChatBody("alpha and beta", tools, {{"parallel_tool_calls", false}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().at("choices").at(0).at("message").at("tool_calls").as_array().size(), 1u);
}

TEST_F(ModelEndpointTest, LoopMarkerCallsTheFirstToolEveryTurn) {
  json::array tools{Tool("looper"), Tool("other")};
  json::object body = ChatBody("go [[loop]]", tools);
  json::array& messages = body["messages"].as_array();
  for (int turn = 0; turn < 3; ++turn) {
    ClientResponse r = Post(kChat, body);
    ASSERT_EQ(r.status, 200) << r.body;
    json::value message_doc = r.Json();
    const json::value& message = message_doc.at("choices").at(0).at("message");
    const json::array& calls = message.at("tool_calls").as_array();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(Str(calls[0].at("function").at("name")), "looper");
    messages.push_back(message);
    messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", calls[0].at("id")},
                                    {"content", "again"}});
  }
}

TEST_F(ModelEndpointTest, StreamsTextDeltasFinishReasonUsageAndDone) {
  ClientResponse r = Post(kOpenAiChat, ChatBody("Stream me a few words please", {},
                                                {{"stream", true},
                                                 {"stream_options", json::object{{"include_usage", true}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::string(r.headers[http::field::content_type]), "text/event-stream");
  std::vector<SseEvent> events = ParseSse(r.body);
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.back().data, "[DONE]");
  const json::value& first = events[0].json.at("choices").at(0).at("delta");
  EXPECT_EQ(Str(first.at("role")), "assistant");
  std::string text;
  int content_deltas = 0;
  for (std::size_t i = 1; i + 3 < events.size(); ++i) {
    EXPECT_EQ(Str(events[i].json.at("object")), "chat.completion.chunk");
    text += Str(events[i].json.at("choices").at(0).at("delta").at("content"));
    ++content_deltas;
  }
  EXPECT_GT(content_deltas, 3);
  EXPECT_EQ(text, "You asked: \"Stream me a few words please\". No tool was needed.");
  const json::value& last = events[events.size() - 3].json;
  EXPECT_EQ(Str(last.at("choices").at(0).at("finish_reason")), "stop");
  const json::value& usage = events[events.size() - 2].json;
  EXPECT_TRUE(usage.at("choices").as_array().empty());
  EXPECT_EQ(usage.at("usage").at("completion_tokens").as_int64(), content_deltas);
}

TEST_F(ModelEndpointTest, StreamsToolCallsTheWayOpenAiDoes) {
  json::array tools{Tool("first_tool"), Tool("second_tool")};
  std::string question = "use first_tool then second_tool with a long question text";
  ClientResponse r = Post(kChat, ChatBody(question, tools, {{"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<SseEvent> events = ParseSse(r.body);
  ASSERT_EQ(events.back().data, "[DONE]");
  std::map<int64_t, std::string> names, ids, arguments;
  std::string finish;
  for (const SseEvent& e : events) {
    if (e.json.is_null()) continue;
    EXPECT_FALSE(e.json.as_object().contains("usage"));  // only with include_usage
    const json::value& choice = e.json.at("choices").at(0);
    if (!choice.at("finish_reason").is_null()) finish = Str(choice.at("finish_reason"));
    const json::value* calls = choice.at("delta").as_object().if_contains("tool_calls");
    if (calls == nullptr) continue;
    const json::value& call = calls->at(0);
    int64_t index = call.at("index").as_int64();
    if (const json::value* id = call.as_object().if_contains("id")) {
      EXPECT_FALSE(ids.count(index));
      ids[index] = Str(*id);
      EXPECT_EQ(Str(call.at("type")), "function");
      names[index] = Str(call.at("function").at("name"));
      EXPECT_EQ(Str(call.at("function").at("arguments")), "");
    } else {
      ASSERT_TRUE(ids.count(index)) << "arguments before the call's first delta";
      arguments[index] += Str(call.at("function").at("arguments"));
    }
  }
  EXPECT_EQ(finish, "tool_calls");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "first_tool");
  EXPECT_EQ(names[1], "second_tool");
  EXPECT_EQ(Str(json::parse(arguments[1]).at("question")), question);
}

TEST_F(ModelEndpointTest, RefusesMalformedRequestsWithOpenAiShapedErrors) {
  struct Case {
    std::string body;
    std::string param;
  };
  json::object orphan = ChatBody("hi");
  orphan["messages"].as_array().push_back(
      json::object{{"role", "tool"}, {"tool_call_id", "call_nope"}, {"content", "x"}});
  json::object unanswered = ChatBody("hi", {Tool("t")});
  unanswered["messages"].as_array().push_back(json::object{
      {"role", "assistant"},
      {"tool_calls", json::array{json::object{
                         {"id", "call_1"}, {"type", "function"},
                         {"function", json::object{{"name", "t"}, {"arguments", "{}"}}}}}}});
  unanswered["messages"].as_array().push_back(json::object{{"role", "user"}, {"content", "and?"}});
  json::object bad_role = ChatBody("hi");
  bad_role["messages"].as_array().push_back(json::object{{"role", "robot"}, {"content", "x"}});
  std::vector<Case> cases = {
      {"{not json", ""},
      {json::serialize(json::object{{"messages", json::array()}}), "model"},
      {json::serialize(orphan), "messages[2].role"},
      {json::serialize(unanswered), "messages[3]"},
      {json::serialize(bad_role), "messages[2].role"},
      {json::serialize(ChatBody("hi", {}, {{"stream_options", json::object{{"include_usage", true}}}})),
       "stream_options"},
      {json::serialize(ChatBody("hi", {}, {{"tool_choice", "auto"}})), "tool_choice"},
      {json::serialize(ChatBody("hi", {Tool("bad name!")})), "tools[0].function.name"},
      {json::serialize(ChatBody("hi", {}, {{"frobnicate", true}})), "frobnicate"},
  };
  for (const Case& c : cases) {
    TestClient client(emulator_->port());
    ClientResponse r = client.Exchange(http::verb::post, kChat, c.body);
    ASSERT_EQ(r.status, 400) << c.body << " -> " << r.body;
    json::value error_doc = r.Json();
    const json::value& error = error_doc.at("error");
    EXPECT_EQ(Str(error.at("type")), "invalid_request_error");
    EXPECT_FALSE(Str(error.at("message")).empty());
    if (c.param.empty()) {
      EXPECT_TRUE(error.at("param").is_null()) << r.body;
    } else {
      EXPECT_EQ(Str(error.at("param")), c.param) << r.body;
    }
  }
}

TEST_F(ModelEndpointTest, FaultMarkersAnswerWithTheirStatus) {
  ClientResponse r = Post(kChat, ChatBody("please [[fault:429]]"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(std::string(r.headers["Retry-After"]), "1");
  EXPECT_EQ(Str(r.Json().at("error").at("type")), "rate_limit_error");
  r = Post(kChat, ChatBody("please [[fault:500]]", {}, {{"stream", true}}));
  EXPECT_EQ(r.status, 500);
  r = Post(kChat, ChatBody("please [[fault:reset]]"));
  EXPECT_EQ(r.status, 400);
  auto start = std::chrono::steady_clock::now();
  r = Post(kChat, ChatBody("slow [[drip-ms:40]]", {}, {{"stream", true}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
}

TEST_F(ModelEndpointTest, TruncateFaultCutsTheStreamBeforeFinishAndDone) {
  for (bool usage : {false, true}) {
    json::object extra{{"stream", true}};
    if (usage) extra["stream_options"] = json::object{{"include_usage", true}};
    ClientResponse r = Post(kChat, ChatBody("Tell me a long story [[fault:truncate]]", {}, extra));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(r.ec) << r.ec.message();  // framing is intact: the terminal chunk was sent
    std::vector<SseEvent> events = ParseSse(r.body);
    ASSERT_EQ(events.size(), 3u) << r.body;
    for (const SseEvent& e : events) {
      ASSERT_FALSE(e.json.is_null()) << e.data;  // no [DONE]
      EXPECT_TRUE(e.json.at("choices").at(0).at("finish_reason").is_null()) << e.data;
    }
  }
  // A tool-call turn is cut the same way.
  ClientResponse r = Post(kChat, ChatBody("call first_tool [[fault:truncate]]",
                                          {Tool("first_tool")}, {{"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("finish_reason\":\"tool_calls"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos) << r.body;
  // Non-stream: the full Content-Length is announced, half the body arrives.
  r = Post(kChat, ChatBody("Tell me [[fault:truncate]]"));
  EXPECT_TRUE(r.ec);
  EXPECT_EQ(r.status, 200);
  json::value stats = TestClient(emulator_->port()).Exchange(http::verb::get, "/emulator/stats").Json();
  EXPECT_EQ(stats.at("faults").at("truncate").as_int64(), 4);
}

TEST_F(ModelEndpointTest, UserTokensNeedModelServingAndTheIdentityIsRecorded) {
  Headers no_scope = {{"Authorization", "Bearer " + UserToken({"ai-gateway"})}};
  ClientResponse r = Post(kChat, ChatBody("hi"), no_scope);
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Str(r.Json().at("error").at("message")),
            "The access token lacks the scope(s) this request needs: model-serving (or "
            "serving.serving-endpoints)");
  EXPECT_EQ(Str(r.Json().at("error").at("type")), "permission_error");
  r = Post(kChat, ChatBody("hi"), {{"Authorization", "Bearer " + UserToken({"model-serving"})}});
  EXPECT_EQ(r.status, 200) << r.body;
  TestClient client(emulator_->port());
  r = client.Exchange(http::verb::post, kChat, json::serialize(ChatBody("hi")), {}, false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Str(r.Json().at("error").at("code")), "UNAUTHENTICATED");

  json::value calls = Calls();
  ASSERT_EQ(calls.at("total").as_int64(), 3);
  const json::array& list = calls.at("calls").as_array();
  EXPECT_EQ(Str(list[0].at("identity")), "user:alice@example.com");
  EXPECT_EQ(list[0].at("status").as_int64(), 403);
  EXPECT_EQ(Str(list[1].at("identity")), "user:alice@example.com");
  EXPECT_EQ(Str(list[1].at("kind")), "model");
  EXPECT_EQ(Str(list[1].at("question")), "hi");
  EXPECT_EQ(Str(list[2].at("identity")), "");
  std::vector<CallRecord> in_process = emulator_->Calls();
  ASSERT_EQ(in_process.size(), 3u);
  EXPECT_EQ(in_process[1].path, kChat);
  TestClient stats(emulator_->port());
  EXPECT_EQ(stats.Exchange(http::verb::get, "/emulator/stats").Json().at("model_requests").as_int64(), 3);
  TestClient reset(emulator_->port());
  EXPECT_EQ(reset.Exchange(http::verb::post, "/emulator/reset").status, 200);
  EXPECT_EQ(Calls().at("total").as_int64(), 0);
  EXPECT_TRUE(emulator_->Calls().empty());
}

TEST_F(ModelEndpointTest, ToolCallsRecordTheirNames) {
  Post(kChat, ChatBody("alpha beta", {Tool("alpha"), Tool("beta")}));
  std::vector<CallRecord> calls = emulator_->Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].tool, "alpha,beta");
  EXPECT_EQ(calls[0].identity, "static");
}

TEST_F(ModelEndpointTest, KnowledgeAssistantAnswersAResponsesObjectNamingTheEndpoint) {
  std::string path = "/serving-endpoints/ka-hr-docs/invocations";
  json::object body{{"input", json::array{json::object{{"role", "user"},
                                                       {"content", "What is the leave policy?"}}}}};
  ClientResponse r = Post(path, body);
  ASSERT_EQ(r.status, 200) << r.body;
  json::value response = r.Json();
  EXPECT_EQ(Str(response.at("object")), "response");
  EXPECT_EQ(Str(response.at("status")), "completed");
  std::string text = Str(response.at("output").at(0).at("content").at(0).at("text"));
  EXPECT_NE(text.find("ka-hr-docs"), std::string::npos) << text;
  EXPECT_NE(text.find("What is the leave policy?"), std::string::npos) << text;
  EXPECT_EQ(Str(response.at("metadata").at("emulator_identity")), "static");

  r = Post(path, body, {{"Authorization", "Bearer " + UserToken({"genie"})}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Str(r.Json().at("error_code")), "PERMISSION_DENIED");
  r = Post(path, body, {{"Authorization", "Bearer " + UserToken({"serving.serving-endpoints"})}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Str(r.Json().at("metadata").at("emulator_identity")), "user:alice@example.com");
  r = Post(path, json::object{{"input", "not a list"}});
  EXPECT_EQ(r.status, 400);
  r = Post("/serving-endpoints/missing-endpoint/invocations", body);
  EXPECT_EQ(r.status, 404);
  std::vector<CallRecord> calls = emulator_->Calls();
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(calls[0].kind, "knowledge_assistant");
  EXPECT_EQ(calls[0].question, "What is the leave policy?");
}

}  // namespace
}  // namespace agentgateway::emulator
