// Tests of the Supervisor API emulator over real loopback sockets (plain and TLS).
#include "tests/emulator/emulator.h"

#include <thread>

#include "gtest/gtest.h"
#include "tests/emulator/test_client.h"
#ifdef AG_HAVE_TEST_PKI
#include "tests/testing/tls_certs.h"
#endif

namespace agentgateway::emulator {
namespace {

using test_client::ClientResponse;
using test_client::Headers;
using test_client::ParseSse;
using test_client::SseEvent;
using test_client::TestClient;
namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::string_view kPath = "/ai-gateway/mlflow/v1/responses";

std::string UserBody(std::string_view question, json::object extra = {}) {
  json::object body{{"model", "databricks-claude-sonnet-4-5"},
                    {"input", json::array{json::object{{"role", "user"}, {"content", question}}}}};
  for (auto& field : extra) body[field.key()] = field.value();
  return json::serialize(body);
}

json::array HostedTool(std::string_view type, std::string_view key, std::string_view value) {
  return json::array{json::object{{"type", type}, {type, json::object{{key, value}}}}};
}

std::vector<std::string> Types(const std::vector<SseEvent>& events) {
  std::vector<std::string> types;
  for (const SseEvent& e : events) types.push_back(e.Type().empty() ? e.event : e.Type());
  return types;
}

int Count(const std::vector<std::string>& types, std::string_view type) {
  return static_cast<int>(std::count(types.begin(), types.end(), type));
}

std::string Str(const json::value& v, std::string_view key) {
  return std::string(v.at(key).as_string());
}

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmulatorOptions options;
    options.threads = 2;
    auto created = Emulator::Create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    emulator_ = *std::move(created);
  }

  TestClient Client() { return TestClient(emulator_->port()); }

  ClientResponse Post(std::string body, const Headers& headers = {}) {
    TestClient client = Client();
    return client.Exchange(http::verb::post, kPath, std::move(body), headers);
  }

  ClientResponse Get(std::string_view target) {
    TestClient client = Client();
    return client.Exchange(http::verb::get, target);
  }

  json::value Stats() { return Get("/emulator/stats").Json(); }

  // Long-polls the emulator until `counter` reaches `value`.
  ClientResponse WaitFor(std::string_view counter, int value, int timeout_ms = 10'000) {
    return Get("/emulator/wait?counter=" + std::string(counter) +
               "&value=" + std::to_string(value) + "&timeout_ms=" + std::to_string(timeout_ms));
  }

  std::unique_ptr<Emulator> emulator_;
};

TEST_F(EmulatorTest, RefusesMissingBearerToken) {
  TestClient client = Client();
  ClientResponse r =
      client.Exchange(http::verb::post, kPath, UserBody("hi"), {}, /*with_auth=*/false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Str(r.Json(), "error_code"), "UNAUTHENTICATED");
  r = Post(UserBody("hi"), {{"Authorization", "Bearer "}});
  EXPECT_EQ(r.status, 401);
}

struct InvalidCase {
  std::string name;
  std::string body;
  std::string message_part;
};

TEST_F(EmulatorTest, RefusesInvalidRequestsLikeUpstream) {
  std::string long_id(65, 'a');
  json::array hosted = HostedTool("genie_space", "id", "space1");
  std::vector<InvalidCase> cases = {
      {"malformed", "{\"model\": ", "Malformed"},
      {"not object", "[1]", "Malformed"},
      {"no model", R"({"input":[]})", "'model'"},
      {"no input", R"({"model":"m"})", "'input'"},
      {"input not array", R"({"model":"m","input":"hi"})", "'input'"},
      {"stream+background", UserBody("q", {{"stream", true}, {"background", true}}),
       "'stream' and 'background'"},
      {"temperature+tools", UserBody("q", {{"tools", hosted}, {"temperature", 0.5}}),
       "Parameter not supported when tools are provided"},
      {"top_p+tools", UserBody("q", {{"tools", hosted}, {"top_p", 0.5}}),
       "Parameter not supported when tools are provided"},
      {"long id",
       json::serialize(json::object{
           {"model", "m"},
           {"input", json::array{json::object{{"type", "message"}, {"id", long_id},
                                              {"role", "user"}, {"content", "q"}}}}}),
       "'id'"},
      {"long call_id",
       json::serialize(json::object{
           {"model", "m"},
           {"input", json::array{json::object{{"type", "function_call"}, {"call_id", long_id},
                                              {"name", "f"}, {"arguments", "{}"}}}}}),
       "'call_id'"},
      {"unknown item type", R"({"model":"m","input":[{"type":"web_search_call"}]})",
       "web_search_call"},
      {"unknown tool type", UserBody("q", {{"tools", json::array{{{"type", "web_search"}}}}}),
       "web_search"},
      {"hosted tool without inner object",
       UserBody("q", {{"tools", json::array{{{"type", "genie_space"}}}}}), "genie_space"},
      {"hosted tool without key",
       UserBody("q", {{"tools", HostedTool("uc_function", "description", "x")}}),
       "uc_function.name"},
      {"bad function name",
       UserBody("q", {{"tools", json::array{{{"type", "function"}, {"name", "bad name!"}}}}}),
       "bad name!"},
      {"unknown field", UserBody("q", {{"stream_options", json::object()}}), "stream_options"},
      {"orphan output",
       R"({"model":"m","input":[{"type":"function_call_output","call_id":"c1","output":"x"}]})",
       "c1"},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    ClientResponse r = Post(c.body);
    EXPECT_EQ(r.status, 400);
    json::value body = r.Json();
    EXPECT_EQ(Str(body, "error_code"), "INVALID_PARAMETER_VALUE");
    EXPECT_NE(Str(body, "message").find(c.message_part), std::string::npos) << r.body;
  }
}

TEST_F(EmulatorTest, AnswersWithResponsesObject) {
  ClientResponse r = Post(UserBody("What is \"up\"?"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers[http::field::content_type], "application/json");
  json::value body = r.Json();
  EXPECT_EQ(Str(body, "object"), "response");
  EXPECT_EQ(Str(body, "status"), "completed");
  EXPECT_EQ(Str(body, "model"), "databricks-claude-sonnet-4-5");
  EXPECT_TRUE(body.at("created_at").is_int64());
  EXPECT_TRUE(body.at("usage").at("total_tokens").is_int64());
  const json::array& output = body.at("output").as_array();
  ASSERT_EQ(output.size(), 1u);
  EXPECT_EQ(Str(output[0], "type"), "message");
  EXPECT_EQ(Str(output[0], "role"), "assistant");
  EXPECT_EQ(Str(output[0].at("content").at(0), "text"), "You asked: \"What is \"up\"?\".");
}

TEST_F(EmulatorTest, StreamsEventsInOrder) {
  ClientResponse r = Post(UserBody("hello there friend", {{"stream", true}}));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers[http::field::content_type], "text/event-stream");
  EXPECT_EQ(r.headers[http::field::transfer_encoding], "chunked");
  std::vector<SseEvent> events = ParseSse(r.body);
  std::vector<std::string> types = Types(events);
  std::vector<std::string> expected = {"response.created", "response.in_progress",
                                       "response.output_item.added",
                                       "response.content_part.added"};
  ASSERT_GT(types.size(), expected.size() + 6);
  EXPECT_EQ(std::vector<std::string>(types.begin(), types.begin() + 4), expected);
  EXPECT_EQ(std::vector<std::string>(types.end() - 4, types.end()),
            (std::vector<std::string>{"response.output_text.done", "response.content_part.done",
                                      "response.output_item.done", "response.completed"}));
  EXPECT_GE(Count(types, "response.output_text.delta"), 5);
  std::string message_id = Str(events[2].json.at("item"), "id");
  std::string text;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].event, types[i]);
    EXPECT_EQ(events[i].json.at("sequence_number").as_int64(), static_cast<int64_t>(i));
    if (types[i] == "response.output_text.delta") {
      EXPECT_EQ(Str(events[i].json, "item_id"), message_id);
      text += Str(events[i].json, "delta");
    }
  }
  const json::value& done_item = events[events.size() - 2].json.at("item");
  EXPECT_EQ(Str(done_item, "id"), message_id);
  EXPECT_EQ(Str(done_item.at("content").at(0), "text"), text);
  EXPECT_EQ(text, "You asked: \"hello there friend\".");
  EXPECT_EQ(events.back().json.at("response").at("output").as_array().size(), 1u);
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
}

TEST_F(EmulatorTest, StreamKnobsForQuirksAndBenchmarks) {
  ClientResponse r =
      Post(UserBody("q", {{"stream", true}}),
           {{"X-Emulator-Deltas", "200"}, {"X-Emulator-Delta-Bytes", "10"},
            {"X-Emulator-Empty-Completed", "1"}, {"X-Emulator-Done", "1"}});
  ASSERT_EQ(r.status, 200);
  std::vector<SseEvent> events = ParseSse(r.body);
  std::vector<std::string> types = Types(events);
  EXPECT_EQ(Count(types, "response.output_text.delta"), 200);
  for (const SseEvent& e : events) {
    if (e.Type() == "response.output_text.delta") {
      EXPECT_EQ(Str(e.json, "delta").size(), 10u);
    }
  }
  ASSERT_EQ(events.back().data, "[DONE]");
  const SseEvent& completed = events[events.size() - 2];
  EXPECT_EQ(completed.Type(), "response.completed");
  EXPECT_TRUE(completed.json.at("response").at("output").as_array().empty());
}

struct HostedCase {
  std::string type, key, value, question, call_name;
};

TEST_F(EmulatorTest, RunsOneToolRoundPerHostedTool) {
  std::vector<HostedCase> cases = {
      {"genie_space", "id", "sales_space", "Ask SALES_SPACE for revenue", "sales_space"},
      {"uc_function", "name", "system.ai.python_exec", "use python_exec to add",
       "system__ai__python_exec"},
      {"knowledge_assistant", "knowledge_assistant_id", "ka-hr", "what does ka-hr say", "ka-hr"},
  };
  for (const HostedCase& c : cases) {
    SCOPED_TRACE(c.type);
    ClientResponse r = Post(UserBody(c.question, {{"stream", true},
                                                  {"tools", HostedTool(c.type, c.key, c.value)}}));
    ASSERT_EQ(r.status, 200);
    std::vector<SseEvent> events = ParseSse(r.body);
    std::vector<std::string> types = Types(events);
    EXPECT_EQ(Count(types, "response.created"), 2);
    EXPECT_EQ(Count(types, "response.completed"), 2);
    EXPECT_EQ(Count(types, "response.function_call_arguments.done"), 1);
    EXPECT_EQ(types[2], "response.output_item.added");
    const json::value& call = events[4].json.at("item");
    EXPECT_EQ(Str(call, "type"), "function_call");
    EXPECT_EQ(Str(call, "name"), c.call_name);
    EXPECT_GT(Str(call, "id").size(), 64u);  // upstream emits over-long ids
    EXPECT_NE(Str(call, "arguments").find(c.question), std::string::npos);
    const json::value& output = events[6].json.at("item");
    EXPECT_EQ(Str(output, "type"), "function_call_output");
    EXPECT_EQ(Str(output, "call_id"), Str(call, "call_id"));
    EXPECT_NE(Str(output, "output").find(c.value), std::string::npos);
    EXPECT_EQ(types[7], "response.completed");
    EXPECT_EQ(types[8], "response.created");
    EXPECT_NE(Str(events[8].json.at("response"), "id"), Str(events[0].json.at("response"), "id"));
    const json::value& message = events[events.size() - 2].json.at("item");
    EXPECT_NE(Str(message.at("content").at(0), "text").find(Str(output, "output")),
              std::string::npos);
  }
}

TEST_F(EmulatorTest, SeveralToolRoundsGiveSeveralCreatedCompletedPairs) {
  json::array tools = HostedTool("genie_space", "id", "alpha");
  tools.push_back(HostedTool("uc_function", "name", "main.default.beta").at(0));
  ClientResponse r = Post(UserBody("alpha then beta", {{"stream", true}, {"tools", tools}}));
  std::vector<std::string> types = Types(ParseSse(r.body));
  EXPECT_EQ(Count(types, "response.created"), 3);
  EXPECT_EQ(Count(types, "response.completed"), 3);
  ClientResponse plain = Post(UserBody("alpha then beta", {{"tools", tools}}));
  json::value plain_body = plain.Json();
  const json::array& output = plain_body.at("output").as_array();
  ASSERT_EQ(output.size(), 5u);
  EXPECT_EQ(Str(output[4], "type"), "message");
}

class ApprovalTest : public EmulatorTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ApprovalTest, AsksForApprovalThenRunsOrSkips) {
  std::string type = GetParam();
  json::array tools = HostedTool(type, "name", "github");
  json::object user{{"role", "user"}, {"content", "search github issues"}};
  ClientResponse first = Post(json::serialize(
      json::object{{"model", "m"}, {"input", json::array{user}}, {"tools", tools}}));
  ASSERT_EQ(first.status, 200) << first.body;
  json::value first_body = first.Json();
  const json::array& output = first_body.at("output").as_array();
  ASSERT_EQ(output.size(), 1u);
  json::value request = output[0];
  EXPECT_EQ(Str(request, "type"), "mcp_approval_request");
  EXPECT_EQ(Str(request, "server_label"), "github");
  EXPECT_EQ(Str(request, "name"), "github");
  EXPECT_FALSE(Str(request, "arguments").empty());
  for (bool approve : {true, false}) {
    SCOPED_TRACE(approve);
    json::array input{user, request,
                      json::object{{"type", "mcp_approval_response"},
                                   {"approval_request_id", request.at("id")},
                                   {"approve", approve}}};
    ClientResponse r = Post(json::serialize(json::object{
        {"model", "m"}, {"input", input}, {"tools", tools}, {"stream", true}}));
    std::vector<SseEvent> events = ParseSse(r.body);
    std::vector<std::string> types = Types(events);
    EXPECT_EQ(Count(types, "response.function_call_arguments.done"), approve ? 1 : 0);
    std::string text = Str(events[events.size() - 2].json.at("item").at("content").at(0), "text");
    EXPECT_NE(text.find(approve ? "github completed the call" : "was not run"),
              std::string::npos) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(McpTools, ApprovalTest, ::testing::Values("uc_connection", "app"));

TEST_F(EmulatorTest, ClientFunctionToolIsCalledThenAnswered) {
  json::array tools{json::object{{"type", "function"}, {"name", "get_weather"},
                                 {"parameters", json::object()}}};
  json::object user{{"role", "user"}, {"content", "call get_weather for Paris"}};
  ClientResponse first = Post(json::serialize(
      json::object{{"model", "m"}, {"input", json::array{user}}, {"tools", tools}}));
  json::value first_body = first.Json();
  const json::array& output = first_body.at("output").as_array();
  ASSERT_EQ(output.size(), 1u);
  EXPECT_EQ(Str(output[0], "name"), "get_weather");
  json::object call = output[0].as_object();
  std::string call_id = Str(call, "call_id").substr(0, 64);  // history hygiene, as a client must
  call["call_id"] = call_id;
  call.erase("id");
  call.erase("status");
  json::array input{user, call,
                    json::object{{"type", "function_call_output"}, {"call_id", call_id},
                                 {"output", "sunny, 21C"}}};
  ClientResponse second = Post(json::serialize(
      json::object{{"model", "m"}, {"input", input}, {"tools", tools}}));
  ASSERT_EQ(second.status, 200) << second.body;
  std::string text = Str(second.Json().at("output").at(0).at("content").at(0), "text");
  EXPECT_NE(text.find("get_weather returned: sunny, 21C"), std::string::npos) << text;
}

TEST_F(EmulatorTest, StatusFaults) {
  ClientResponse r = Post(UserBody("q"), {{"X-Emulator-Fault", "429"}});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["Retry-After"], "1");
  EXPECT_EQ(Str(r.Json(), "error_code"), "REQUEST_LIMIT_EXCEEDED");
  EXPECT_EQ(Post(UserBody("q"), {{"X-Emulator-Fault", "500"}}).status, 500);
  r = Post(UserBody("q", {{"metadata", json::object{{"emulator_fault", "503"}}}}));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Str(r.Json(), "error_code"), "TEMPORARILY_UNAVAILABLE");
  r = Post(UserBody("please [[fault:html-502]] now", {{"stream", true}}));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.headers[http::field::content_type].substr(0, 9), "text/html");
  EXPECT_NE(r.body.find("<html>"), std::string::npos);
  EXPECT_EQ(Post(UserBody("q"), {{"X-Emulator-Fault", "nope"}}).status, 400);
  json::value faults = Stats().at("faults");
  EXPECT_EQ(faults.at("429").as_int64(), 1);
  EXPECT_EQ(faults.at("html-502").as_int64(), 1);
}

TEST_F(EmulatorTest, ResetFaultResetsMidStream) {
  ClientResponse r = Post(UserBody("q", {{"stream", true}}), {{"X-Emulator-Fault", "reset"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.ec, boost::asio::error::connection_reset) << r.ec.message();
  EXPECT_NE(r.body.find("response.created"), std::string::npos);
  EXPECT_EQ(r.body.find("response.completed"), std::string::npos);
}

TEST_F(EmulatorTest, TruncateFaultEndsChunkedBodyWithoutTerminalEvent) {
  TestClient client = Client();
  ClientResponse r = client.Exchange(http::verb::post, kPath, UserBody("q", {{"stream", true}}),
                                     {{"X-Emulator-Fault", "truncate"}});
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(Types(ParseSse(r.body)),
            (std::vector<std::string>{"response.created", "response.in_progress",
                                      "response.output_item.added"}));
  EXPECT_EQ(client.ReadToEnd(), boost::asio::error::eof);
}

TEST_F(EmulatorTest, EarlyResetFaultResetsBeforeTheHead) {
  for (bool stream : {true, false}) {
    SCOPED_TRACE(stream ? "stream" : "non-stream");
    ClientResponse r =
        Post(UserBody("q", {{"stream", stream}}), {{"X-Emulator-Fault", "reset-early"}});
    EXPECT_EQ(r.ec, boost::asio::error::connection_reset) << r.ec.message();
    EXPECT_EQ(r.headers.find(http::field::server), r.headers.end());  // no head was sent
    EXPECT_TRUE(r.body.empty());
  }
  json::value stats = Stats();
  EXPECT_EQ(stats.at("faults").at("reset-early").as_int64(), 2);
  EXPECT_EQ(stats.at("streams_started").as_int64(), 0);
  EXPECT_EQ(stats.at("responses_requests").as_int64(), 2);
}

TEST_F(EmulatorTest, EarlyTruncateFaultSendsTheHeadAndNoEvent) {
  TestClient client = Client();
  ClientResponse r = client.Exchange(http::verb::post, kPath, UserBody("q", {{"stream", true}}),
                                     {{"X-Emulator-Fault", "truncate-early"}});
  EXPECT_FALSE(r.ec) << r.ec.message();  // a well-formed chunked body, just empty
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers[http::field::content_type], "text/event-stream");
  EXPECT_TRUE(r.body.empty()) << r.body;
  EXPECT_EQ(client.ReadToEnd(), boost::asio::error::eof);

  r = Post(UserBody("q [[fault:truncate-early]]"));
  EXPECT_EQ(r.ec, http::error::partial_message) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers[http::field::content_length], "1");
  EXPECT_TRUE(r.body.empty()) << r.body;
  EXPECT_EQ(Stats().at("faults").at("truncate-early").as_int64(), 2);
}

TEST_F(EmulatorTest, ErrorEventFaults) {
  ClientResponse r = Post(UserBody("q", {{"stream", true}}),
                          {{"X-Emulator-Fault", "error-then-completed"}});
  std::vector<SseEvent> events = ParseSse(r.body);
  EXPECT_EQ(Types(events), (std::vector<std::string>{"response.created", "response.in_progress",
                                                     "error", "response.completed"}));
  r = Post(UserBody("q", {{"stream", true}}), {{"X-Emulator-Fault", "error-event"}});
  events = ParseSse(r.body);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].event, "error");
  EXPECT_EQ(events[2].data, R"({"message":"The emulator failed while running the agent"})");
  r = Post(UserBody("q [[fault:oauth]]", {{"stream", true}}));
  events = ParseSse(r.body);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].event, "error");
  EXPECT_EQ(Str(events[2].json, "code"), "oauth");
  EXPECT_NE(Str(events[2].json, "message").find("https://"), std::string::npos);
  r = Post(UserBody("q", {{"stream", true}}), {{"X-Emulator-Fault", "error-event-first"}});
  EXPECT_FALSE(r.ec) << r.ec.message();
  events = ParseSse(r.body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "error");
  EXPECT_EQ(events[0].data, R"({"message":"The emulator failed before starting the response"})");
  // The non-stream flavour of every error-event fault is a 500.
  for (std::string_view fault : {"error-event-first", "error-event", "error-then-completed"}) {
    r = Post(UserBody("q"), {{"X-Emulator-Fault", std::string(fault)}});
    EXPECT_EQ(r.status, 500) << fault;
    EXPECT_EQ(Str(r.Json(), "error_code"), "INTERNAL_ERROR") << fault;
  }
}

TEST_F(EmulatorTest, DripDeliversEveryEvent) {
  ClientResponse r = Post(UserBody("one two three", {{"stream", true}}),
                          {{"X-Emulator-Fault", "drip"}, {"X-Emulator-Drip-Ms", "1"}});
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(Types(ParseSse(r.body)).back(), "response.completed");
  ClientResponse plain = Post(UserBody("q"), {{"X-Emulator-Fault", "drip"},
                                              {"X-Emulator-Drip-Ms", "1"}});
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(Stats().at("faults").at("drip").as_int64(), 2);
}

TEST_F(EmulatorTest, DripDelayCanBeSetInTheQuestion) {
  // The default 200 ms per event would take over 2 s for this stream; the marker's 1 ms must
  // finish it well inside the bound.
  TestClient client = Client();
  client.Send(http::verb::post, kPath, UserBody("q [[fault:drip]] [[drip-ms:1]]", {{"stream", true}}));
  EXPECT_EQ(WaitFor("streams_completed", 1, 1500).status, 200);
  ClientResponse r = client.Read();
  EXPECT_EQ(Types(ParseSse(r.body)).back(), "response.completed");
}

TEST_F(EmulatorTest, ClientCloseMidStreamIsCounted) {
  TestClient client = Client();
  client.Send(http::verb::post, kPath, UserBody("q", {{"stream", true}}),
              {{"X-Emulator-Fault", "drip"}, {"X-Emulator-Drip-Ms", "60000"}});
  ClientResponse head = client.ReadUntil("response.created");
  EXPECT_EQ(head.status, 200);
  client.Close();
  ClientResponse waited = WaitFor("streams_client_closed", 1);
  EXPECT_EQ(waited.status, 200);
  json::value stats = waited.Json();
  EXPECT_EQ(stats.at("streams_started").as_int64(), 1);
  EXPECT_EQ(stats.at("streams_completed").as_int64(), 0);
}

TEST_F(EmulatorTest, HangAndHangMidWaitForTheClientToLeave) {
  TestClient hang = Client();
  hang.Send(http::verb::post, kPath, UserBody("q"), {{"X-Emulator-Fault", "hang"}});
  ASSERT_EQ(WaitFor("faults.hang", 1).status, 200);
  hang.Close();
  EXPECT_EQ(WaitFor("streams_client_closed", 1).status, 200);

  TestClient mid = Client();
  mid.Send(http::verb::post, kPath, UserBody("q", {{"stream", true}}),
           {{"X-Emulator-Fault", "hang-mid"}});
  ClientResponse r = mid.ReadUntil("response.in_progress");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Types(ParseSse(r.body)).size(), 2u);
  mid.Close();
  EXPECT_EQ(WaitFor("streams_client_closed", 2).status, 200);
}

TEST_F(EmulatorTest, WaitTimesOutWith408) {
  ClientResponse r = WaitFor("streams_completed", 5, 10);
  EXPECT_EQ(r.status, 408);
  EXPECT_EQ(r.Json().at("streams_completed").as_int64(), 0);
  EXPECT_EQ(Get("/emulator/wait?counter=nope&value=1").status, 400);
}

TEST_F(EmulatorTest, BackgroundRunIsPolled) {
  ClientResponse r = Post(UserBody("bg question", {{"background", true}}));
  ASSERT_EQ(r.status, 200);
  std::string id = Str(r.Json(), "id");
  EXPECT_EQ(Str(r.Json(), "status"), "in_progress");
  std::string poll = std::string(kPath) + "/" + id;
  EXPECT_EQ(Str(Get(poll).Json(), "status"), "in_progress");
  json::value done = Get(poll).Json();
  EXPECT_EQ(Str(done, "status"), "completed");
  const json::array& output = done.at("output").as_array();
  ASSERT_EQ(output.size(), 2u);
  EXPECT_EQ(Str(output[0], "content"), "bg question");  // quirk: the input echoed back
  EXPECT_EQ(Str(output[1], "type"), "message");
  ClientResponse missing = Get(std::string(kPath) + "/resp_nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Str(missing.Json(), "error_code"), "RESOURCE_DOES_NOT_EXIST");
}

TEST_F(EmulatorTest, InspectionRoutes) {
  std::string body = UserBody("inspect me");
  Post(body, {{"X-Custom-Thing", "v1"}});
  json::value last = Get("/emulator/requests/last").Json();
  EXPECT_EQ(Str(last, "method"), "POST");
  EXPECT_EQ(Str(last, "target"), kPath);
  EXPECT_EQ(Str(last, "body"), body);
  EXPECT_EQ(Str(last.at("headers"), "x-custom-thing"), "v1");
  EXPECT_EQ(Str(last.at("headers"), "authorization"), "Bearer test-token");
  json::value stats = Stats();
  EXPECT_EQ(stats.at("requests_total").as_int64(), 1);
  EXPECT_EQ(stats.at("responses_requests").as_int64(), 1);
  EXPECT_GE(stats.at("open_connections").as_int64(), 1);
  TestClient client = Client();
  EXPECT_EQ(client.Exchange(http::verb::post, "/emulator/reset").status, 200);
  EXPECT_EQ(Stats().at("requests_total").as_int64(), 0);
  EXPECT_EQ(Get("/nope").status, 404);
  ClientResponse wrong = Get(kPath);
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers[http::field::allow], "POST");
}

TEST_F(EmulatorTest, KeepAliveAcrossStreamsAndManyConnections) {
  TestClient client = Client();
  for (int i = 0; i < 3; ++i) {
    ClientResponse r = client.Exchange(http::verb::post, kPath, UserBody("q", {{"stream", true}}));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(Types(ParseSse(r.body)).back(), "response.completed");
    EXPECT_EQ(client.Exchange(http::verb::post, kPath, UserBody("q")).status, 200);
  }
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      TestClient c = Client();
      for (int i = 0; i < 10; ++i) {
        ClientResponse r = c.Exchange(http::verb::post, kPath, UserBody("q", {{"stream", true}}),
                                      {{"X-Emulator-Deltas", "50"}});
        if (!r.ec && r.body.find("response.completed") != std::string::npos) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
  EXPECT_EQ(Stats().at("streams_completed").as_int64(), 83);
}

TEST(EmulatorCreateTest, RefusesBadHostAndBusyPort) {
  EmulatorOptions bad;
  bad.host = "not a host";
  EXPECT_EQ(Emulator::Create(bad).status().code(), absl::StatusCode::kInvalidArgument);
  auto first = Emulator::Create({});
  ASSERT_TRUE(first.ok());
  EmulatorOptions busy;
  busy.port = (*first)->port();
  // SO_REUSEADDR does not allow two listeners on one port on Linux.
  EXPECT_EQ(Emulator::Create(busy).status().code(), absl::StatusCode::kUnavailable);
  EmulatorOptions bad_cert;
  bad_cert.cert_pem = "nope";
  bad_cert.key_pem = "nope";
  EXPECT_EQ(Emulator::Create(bad_cert).status().code(), absl::StatusCode::kInvalidArgument);
}

#ifdef AG_HAVE_TEST_PKI
TEST(EmulatorTlsTest, ServesHttpsWithVerifiedCertificate) {
  auto pki = ::agentgateway::testing::MakeTestPki();
  EmulatorOptions options;
  options.cert_pem = pki.cert_pem;
  options.key_pem = pki.key_pem;
  auto emulator = Emulator::Create(options);
  ASSERT_TRUE(emulator.ok()) << emulator.status();
  EXPECT_EQ((*emulator)->BaseUrl().substr(0, 8), "https://");
  boost::asio::ssl::context ssl(boost::asio::ssl::context::tls_client);
  ssl.set_verify_mode(boost::asio::ssl::verify_peer);
  ssl.add_certificate_authority(boost::asio::buffer(pki.ca_cert_pem));
  TestClient client((*emulator)->port(), &ssl);
  ASSERT_FALSE(client.connect_error()) << client.connect_error().message();
  ClientResponse r =
      client.Exchange(http::verb::post, kPath, UserBody("tls q", {{"stream", true}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Types(ParseSse(r.body)).back(), "response.completed");
  r = client.Exchange(http::verb::post, kPath, UserBody("tls q"));
  EXPECT_EQ(r.status, 200);
  TestClient untrusted_ctx_client((*emulator)->port());  // plain HTTP to a TLS port fails
  ClientResponse plain = untrusted_ctx_client.Exchange(http::verb::get, "/emulator/stats");
  EXPECT_TRUE(plain.ec);
}
#endif

}  // namespace
}  // namespace agentgateway::emulator
