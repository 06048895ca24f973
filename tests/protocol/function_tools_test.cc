// Client-side function tools (issue 5 item 3) through both front doors against the emulator:
// the profile's `function` tools go upstream in the flat shape as configured; the caller
// receives a `function_call` for its own function (JSON and streamed), and continues by
// replaying the history as returned plus a `function_call_output`; orphan and missing outputs
// are refused with the upstream's wording before anything is sent; the mix with hosted tools
// is refused when the config file loads unless the profile allows it, and then both kinds go
// upstream together.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "server/request_builder.h"
#include "tests/protocol/protocol_doors.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kWeatherQuestion[] = "What is the weather in Paris? Use get_weather.";
constexpr char kWeatherOutput[] = "18C and sunny";

std::string UserItem(const std::string& text) {
  return json::serialize(json::object{{"type", "message"}, {"role", "user"}, {"content", text}});
}

std::string Array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

class FunctionToolsTest : public ConfiguredStackTest<FunctionToolsTest> {
 public:
  static constexpr char kYaml[] = R"(
default_profile: functions
profiles:
  functions:
    model: m
    instructions: Call the caller's functions when they help.
    tools:
      - type: function
        name: get_weather
        description: Current weather for a city
        parameters:
          type: object
          properties: {city: {type: string}, days: {type: integer, minimum: 1}}
          required: [city]
      - {type: function, name: lookup_order, description: Finds an order by id}
  mixed:
    model: m
    mixed_tools: allow
    tools:
      - {type: genie_space, genie_space: {id: sales, description: Sales figures}}
      - {type: function, name: get_weather, description: Current weather for a city}
)";
  static constexpr char kYamlName[] = "function-tools-test.yaml";

 protected:
  static json::object Sent() { return Json(stack_->LastUpstreamBody()).as_object(); }

  // The function_call items of a Responses object's output.
  static std::vector<json::object> FunctionCalls(const json::value& response) {
    std::vector<json::object> calls;
    for (const json::value& item : response.at("output").as_array()) {
      if (Str(item.as_object(), "type") == "function_call") calls.push_back(item.as_object());
    }
    return calls;
  }

  // What a caller holds after asking: the function_call the gateway returned.
  static void ExpectWeatherCall(const json::object& call) {
    EXPECT_EQ(Str(call, "name"), "get_weather");
    EXPECT_EQ(Json(Str(call, "arguments")).at("question").as_string(), kWeatherQuestion);
    EXPECT_FALSE(Str(call, "call_id").empty());
  }
};

TEST_F(FunctionToolsTest, TheProfilesFunctionsGoUpstreamInTheFlatShapeAsConfigured) {
  const json::value expected = Json(R"([
    {"type":"function","name":"get_weather","description":"Current weather for a city",
     "parameters":{"type":"object","properties":{"city":{"type":"string"},
                   "days":{"type":"integer","minimum":1}},"required":["city"]}},
    {"type":"function","name":"lookup_order","description":"Finds an order by id"}])");
  auto rest = stack_->Post("/invocations", RestBody(Array({UserItem("Hello")})));
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  EXPECT_EQ(Sent().at("tools"), expected);

  GrpcOutcome grpc = GrpcInvoke(*stack_, JsonRequest("functions", {UserItem("Hello")}));
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_EQ(Sent().at("tools"), expected);
}

TEST_F(FunctionToolsTest, TheCallerReceivesAFunctionCallForItsOwnFunctionOnEveryDoor) {
  const std::string items = Array({UserItem(kWeatherQuestion)});
  {
    SCOPED_TRACE("REST JSON");
    auto rest = stack_->Post("/invocations", RestBody(items));
    ASSERT_EQ(rest.head.status, 200) << rest.body;
    json::value response = Json(rest.body);
    EXPECT_EQ(response.at("status").as_string(), "completed");
    ASSERT_THAT(response.at("output").as_array(), SizeIs(1));
    ASSERT_THAT(FunctionCalls(response), SizeIs(1));
    ExpectWeatherCall(FunctionCalls(response)[0]);
  }
  for (const std::string path : {"/invocations", "/responses"}) {
    SCOPED_TRACE("REST SSE " + path);
    auto rest = stack_->Post(path, RestBody(items, R"("stream":true)"));
    ASSERT_EQ(rest.head.status, 200) << rest.body;
    std::vector<json::object> done = DoneItems(EventData(rest.body));
    ASSERT_THAT(done, SizeIs(1));
    EXPECT_EQ(Str(done[0], "type"), "function_call");
    ExpectWeatherCall(done[0]);
  }
  {
    SCOPED_TRACE("gRPC Invoke");
    GrpcOutcome grpc = GrpcInvoke(*stack_, JsonRequest("", {UserItem(kWeatherQuestion)}));
    ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
    EXPECT_EQ(grpc.response.status(), "completed");
    EXPECT_EQ(grpc.response.output_text(), "");
    json::value response = Json(grpc.response.response_json());
    ASSERT_THAT(response.at("output").as_array(), SizeIs(1));
    ASSERT_THAT(FunctionCalls(response), SizeIs(1));
    ExpectWeatherCall(FunctionCalls(response)[0]);
  }
  {
    SCOPED_TRACE("gRPC Stream");
    GrpcOutcome grpc = GrpcStream(*stack_, JsonRequest("", {UserItem(kWeatherQuestion)}));
    ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
    std::vector<json::object> done = DoneItems(EventData(grpc.events));
    ASSERT_THAT(done, SizeIs(1));
    ExpectWeatherCall(done[0]);
  }
}

// The caller replays the answer exactly as it came (upstream call ids are 72 characters, more
// than upstream accepts back, and items carry `status`), then its own output for that call.
TEST_F(FunctionToolsTest, TheCallerContinuesWithItsFunctionCallOutput) {
  for (const bool rest : {true, false}) {
    SCOPED_TRACE(rest ? "REST" : "gRPC");
    std::vector<std::string> history = {UserItem(kWeatherQuestion)};
    json::value first;
    if (rest) {
      auto answer = stack_->Post("/invocations", RestBody(Array(history)));
      ASSERT_EQ(answer.head.status, 200) << answer.body;
      first = Json(answer.body);
    } else {
      GrpcOutcome answer = GrpcInvoke(*stack_, JsonRequest("", history));
      ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
      first = Json(answer.response.response_json());
    }
    ASSERT_THAT(FunctionCalls(first), SizeIs(1));
    const json::object call = FunctionCalls(first)[0];
    const std::string call_id = Str(call, "call_id");
    ASSERT_GT(call_id.size(), kMaxUpstreamIdLength) << "the emulator must emit long call ids";
    history.push_back(json::serialize(call));
    history.push_back(json::serialize(json::object{
        {"type", "function_call_output"}, {"call_id", call_id}, {"output", kWeatherOutput}}));

    const std::string expected_answer = std::string("You asked: \"") + kWeatherQuestion +
                                        "\". The function get_weather returned: " +
                                        kWeatherOutput + ".";
    if (rest) {
      auto answer = stack_->Post("/invocations", RestBody(Array(history)));
      ASSERT_EQ(answer.head.status, 200) << answer.body;
      const json::value response = Json(answer.body);
      const json::array& output = response.at("output").as_array();
      ASSERT_THAT(output, SizeIs(1));
      EXPECT_EQ(output[0].at("content").at(0).at("text").as_string(), expected_answer);
    } else {
      GrpcOutcome answer = GrpcInvoke(*stack_, JsonRequest("", history));
      ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
      EXPECT_EQ(answer.response.output_text(), expected_answer);
    }
    // Upstream saw the pair under one short id.
    const json::object sent = Sent();
    const json::array& input = sent.at("input").as_array();
    ASSERT_THAT(input, SizeIs(3));
    EXPECT_EQ(Str(input[1].as_object(), "call_id"), UpstreamId(call_id));
    EXPECT_EQ(Str(input[2].as_object(), "call_id"), UpstreamId(call_id));
    EXPECT_FALSE(input[1].as_object().contains("status"));
  }
}

TEST_F(FunctionToolsTest, AnOrphanOutputIsRefusedWithTheUpstreamsWordingAndNothingIsSent) {
  const std::string orphan =
      R"({"type":"function_call_output","call_id":"call_orphan","output":"42"})";
  const std::string late_call =
      R"({"type":"function_call","call_id":"call_orphan","name":"lookup_order","arguments":"{}"})";
  // The emulator's own refusal, asked directly: the wording the gateway must use.
  const std::string message =
      UpstreamRefusal(*stack_, R"({"model":"m","input":[)" + UserItem("Hi") + "," + orphan + "]}");
  ASSERT_EQ(message, "No tool call found for function call output with call_id 'call_orphan'");

  const long long before = UpstreamRequests();
  // Alone, and before the call it names (order matters upstream).
  for (const auto& items : {std::vector<std::string>{UserItem("Hi"), orphan},
                            std::vector<std::string>{UserItem("Hi"), orphan, late_call}}) {
    SCOPED_TRACE(Array(items));
    for (const std::string extra : {"", R"("stream":true)"}) {
      auto rest = stack_->Post("/invocations", RestBody(Array(items), extra));
      EXPECT_EQ(rest.head.status, 400) << rest.body;
      EXPECT_EQ(RestErrorMessage(rest.body), message);
    }
    for (const bool stream : {false, true}) {
      GrpcOutcome grpc = stream ? GrpcStream(*stack_, JsonRequest("", items))
                                : GrpcInvoke(*stack_, JsonRequest("", items));
      EXPECT_EQ(grpc.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ(grpc.status.error_message(), message);
    }
  }
  EXPECT_EQ(UpstreamRequests(), before);
}

TEST_F(FunctionToolsTest, AMissingOutputIsRefusedAndNothingIsSent) {
  const std::vector<std::string> items = {
      UserItem(kWeatherQuestion),
      R"({"type":"function_call","call_id":"call_1","name":"get_weather",)"
      R"("arguments":"{\"city\":\"Paris\"}"})",
      UserItem("Never mind, what about Rome?")};
  const std::string message = "No tool output found for function call call_1.";
  const long long before = UpstreamRequests();
  for (const std::string path : {"/invocations", "/responses"}) {
    SCOPED_TRACE(path);
    auto rest = stack_->Post(path, RestBody(Array(items)));
    EXPECT_EQ(rest.head.status, 400) << rest.body;
    EXPECT_EQ(RestErrorMessage(rest.body), message);
  }
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "gRPC Stream" : "gRPC Invoke");
    GrpcOutcome grpc = stream ? GrpcStream(*stack_, JsonRequest("", items))
                              : GrpcInvoke(*stack_, JsonRequest("", items));
    EXPECT_EQ(grpc.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(grpc.status.error_message(), message);
  }
  EXPECT_EQ(UpstreamRequests(), before);
}

// The gateway's own start-up path (LoadConfigFile, as main runs it) refuses the mix by default.
TEST(FunctionToolsConfigTest, TheMixWithHostedToolsIsRefusedWhenTheConfigLoads) {
  TempDir dir;
  const std::string path = dir.File("gateway.yaml");
  std::ofstream(path) << R"(
profiles:
  mixed:
    model: m
    tools:
      - {type: genie_space, genie_space: {id: sales, description: Sales figures}}
      - {type: function, name: get_weather}
)";
  absl::StatusOr<Config> refused = LoadConfigFile(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr(path + ": profiles.mixed.tools: mixes 1 client-side function tool(s) "
                               "with 1 hosted tool(s)"));
  EXPECT_THAT(refused.status().message(), HasSubstr("mixed_tools: allow"));

  std::ofstream(path, std::ios::app) << "    mixed_tools: allow\n";
  absl::StatusOr<Config> allowed = LoadConfigFile(path);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_TRUE(allowed->FindProfile("mixed")->allow_mixed_tools);
}

// With `mixed_tools: allow` both kinds go upstream together: the hosted tool runs there, and
// the caller still gets the call for its own function.
TEST_F(FunctionToolsTest, AProfileAllowingTheMixSendsBothAndTheCallerGetsItsCall) {
  const std::string question = "How did sales do in Paris? Ask get_weather too.";
  auto rest = stack_->Post("/agents/mixed/invocations", RestBody(Array({UserItem(question)})));
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  std::vector<std::string> tool_types;
  const json::object sent = Sent();
  for (const json::value& tool : sent.at("tools").as_array()) {
    tool_types.push_back(Str(tool.as_object(), "type"));
  }
  EXPECT_EQ(tool_types, (std::vector<std::string>{"genie_space", "function"}));
  std::vector<std::string> kinds;
  const json::value answer = Json(rest.body);
  for (const json::value& item : answer.at("output").as_array()) {
    kinds.push_back(Str(item.as_object(), "type") + ":" + Str(item.as_object(), "name"));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"function_call:sales", "function_call_output:",
                                             "function_call:get_weather"}));

  GrpcOutcome grpc = GrpcStream(*stack_, JsonRequest("mixed", {UserItem(question)}));
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  std::vector<json::object> done = DoneItems(EventData(grpc.events));
  ASSERT_FALSE(done.empty());
  EXPECT_EQ(Str(done.back(), "type"), "function_call");
  EXPECT_EQ(Str(done.back(), "name"), "get_weather");
}

}  // namespace
}  // namespace agentgateway::testing
