// Agent profiles and model switching (issue 5 item 1) through both front doors against the
// emulator: the path (/agents/{name}/invocations, the default at /invocations) and the gRPC
// `profile` field pick what goes upstream; two profiles that differ only in `model` send
// bodies that differ only in `model`; a request's `model` is honoured only from the profile's
// allow-list (else refused naming it) and ignored where there is none; temperature/top_p with
// tools (a null one is "not set": dropped) and unknown profiles are refused with the exact
// codes and messages, before anything reaches the upstream; /agent/info lists the profiles.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/protocol/protocol_doors.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;

constexpr char kSonnet[] = "databricks-claude-sonnet-4-5";
constexpr char kOpus[] = "databricks-claude-opus-4-1";
constexpr char kMini[] = "databricks-gpt-5-mini";
constexpr char kLlama[] = "databricks-meta-llama-3-3-70b-instruct";
constexpr char kSharedInstructions[] = "Answer from the sales data and name the table you used.";
constexpr char kQuestionItem[] =
    R"({"type":"message","role":"user","content":"How many orders shipped?"})";
constexpr char kQuestion[] =
    R"([{"type":"message","role":"user","content":"How many orders shipped?"}])";

class ProfilesTest : public ConfiguredStackTest<ProfilesTest> {
 public:
  // `sonnet` and `opus` are the same agent on two models: everything but `model` is equal.
  static constexpr char kYaml[] = R"(
default_profile: sonnet
profiles:
  sonnet:
    model: databricks-claude-sonnet-4-5
    instructions: Answer from the sales data and name the table you used.
    allowed_models: [databricks-gpt-5-mini]
    tools:
      - {type: genie_space, genie_space: {id: sales, description: Sales figures}}
      - {type: uc_function, uc_function: {name: system.ai.python_exec, description: Runs Python}}
  opus:
    model: databricks-claude-opus-4-1
    instructions: Answer from the sales data and name the table you used.
    allowed_models: [databricks-gpt-5-mini]
    tools:
      - {type: genie_space, genie_space: {id: sales, description: Sales figures}}
      - {type: uc_function, uc_function: {name: system.ai.python_exec, description: Runs Python}}
  plain:
    model: databricks-meta-llama-3-3-70b-instruct
    instructions: Be brief.
)";
  static constexpr char kYamlName[] = "profiles-test.yaml";

 protected:
  static json::object Sent() { return Json(stack_->LastUpstreamBody()).as_object(); }

  static json::object WithoutModel(json::object body) {
    body.erase("model");
    return body;
  }

  static std::string ModelOf(const json::object& body) {
    const json::value* model = body.if_contains("model");
    return model && model->is_string() ? std::string(model->as_string()) : std::string();
  }

  // Both REST shapes of a refusal: the status, and the message in the route's error shape.
  static void ExpectRestRefusal(const upstream::HttpPool::FetchResult& result, int status,
                                const std::string& message) {
    EXPECT_EQ(result.head.status, status) << result.body;
    EXPECT_EQ(RestErrorMessage(result.body), message) << result.body;
  }
};

TEST_F(ProfilesTest, ThePathAndTheProfileFieldPickWhatGoesUpstream) {
  struct Case {
    std::string rest_path;
    std::string grpc_profile;
    std::string model;
    std::string instructions;
    std::size_t tools;
  };
  const Case cases[] = {{"/invocations", "", kSonnet, kSharedInstructions, 2},
                        {"/responses", "sonnet", kSonnet, kSharedInstructions, 2},
                        {"/agents/opus/invocations", "opus", kOpus, kSharedInstructions, 2},
                        {"/agents/plain/invocations", "plain", kLlama, "Be brief.", 0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.rest_path);
    auto rest = stack_->Post(c.rest_path, RestBody(kQuestion));
    ASSERT_EQ(rest.head.status, 200) << rest.body;
    const json::object rest_sent = Sent();
    EXPECT_EQ(ModelOf(rest_sent), c.model);
    EXPECT_EQ(rest_sent.at("instructions").as_string(), c.instructions);
    const json::value* tools = rest_sent.if_contains("tools");
    EXPECT_EQ(tools ? tools->as_array().size() : 0u, c.tools);

    GrpcOutcome grpc = GrpcInvoke(*stack_, JsonRequest(c.grpc_profile, {kQuestionItem}));
    ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
    EXPECT_EQ(grpc.response.status(), "completed");
    EXPECT_EQ(Sent(), rest_sent) << "the same request through either door, the same upstream body";
  }
}

TEST_F(ProfilesTest, SwitchingTheProfilesModelChangesNothingElseUpstream) {
  auto rest_sonnet = stack_->Post("/agents/sonnet/invocations", RestBody(kQuestion));
  ASSERT_EQ(rest_sonnet.head.status, 200) << rest_sonnet.body;
  const json::object reference = Sent();
  ASSERT_EQ(ModelOf(reference), kSonnet);
  ASSERT_EQ(reference.at("tools").as_array().size(), 2u);

  auto rest_opus = stack_->Post("/agents/opus/invocations", RestBody(kQuestion));
  ASSERT_EQ(rest_opus.head.status, 200) << rest_opus.body;
  json::object opus = Sent();
  EXPECT_EQ(ModelOf(opus), kOpus);
  EXPECT_EQ(WithoutModel(opus), WithoutModel(reference));

  for (const char* profile : {"sonnet", "opus"}) {
    SCOPED_TRACE(profile);
    GrpcOutcome grpc = GrpcInvoke(*stack_, JsonRequest(profile, {kQuestionItem}));
    ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
    json::object sent = Sent();
    EXPECT_EQ(ModelOf(sent), std::string(profile) == "opus" ? kOpus : kSonnet);
    EXPECT_EQ(WithoutModel(sent), WithoutModel(reference));
  }

  // Streaming adds only `stream`.
  GrpcOutcome stream = GrpcStream(*stack_, JsonRequest("opus", {kQuestionItem}));
  ASSERT_TRUE(stream.status.ok()) << stream.status.error_message();
  json::object streamed = WithoutModel(Sent());
  EXPECT_EQ(streamed.at("stream"), json::value(true));
  streamed.erase("stream");
  EXPECT_EQ(streamed, WithoutModel(reference));
}

TEST_F(ProfilesTest, AModelFromTheAllowListChangesOnlyTheModel) {
  ASSERT_EQ(stack_->Post("/invocations", RestBody(kQuestion)).head.status, 200);
  const json::object reference = Sent();

  auto rest =
      stack_->Post("/invocations", RestBody(kQuestion, R"("model":"databricks-gpt-5-mini")"));
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  EXPECT_EQ(ModelOf(Sent()), kMini);
  EXPECT_EQ(WithoutModel(Sent()), WithoutModel(reference));

  auto rest_stream = stack_->Post(
      "/agents/opus/invocations",
      RestBody(kQuestion, R"("model":"databricks-gpt-5-mini","stream":true)"));
  ASSERT_EQ(rest_stream.head.status, 200) << rest_stream.body;
  json::object streamed = Sent();
  EXPECT_EQ(ModelOf(streamed), kMini);
  streamed.erase("stream");
  EXPECT_EQ(WithoutModel(streamed), WithoutModel(reference));

  v1::InvokeRequest request = JsonRequest("sonnet", {kQuestionItem});
  request.set_model(kMini);
  GrpcOutcome grpc = GrpcInvoke(*stack_, request);
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_EQ(ModelOf(Sent()), kMini);
  EXPECT_EQ(WithoutModel(Sent()), WithoutModel(reference));

  // Naming the profile's own model is no override at all.
  request.set_model(kSonnet);
  grpc = GrpcInvoke(*stack_, request);
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_EQ(Sent(), reference);
}

TEST_F(ProfilesTest, AModelOutsideTheAllowListIsRefusedNamingTheAllowedOnes) {
  const std::string message =
      "model 'databricks-gpt-4o' is not allowed for profile 'sonnet'; allowed: "
      "databricks-claude-sonnet-4-5, databricks-gpt-5-mini";
  const long long before = UpstreamRequests();

  const std::string model = R"("model":"databricks-gpt-4o")";
  ExpectRestRefusal(stack_->Post("/invocations", RestBody(kQuestion, model)), 400, message);
  ExpectRestRefusal(stack_->Post("/agents/sonnet/invocations",
                                 RestBody(kQuestion, model + R"(,"stream":true)")),
                    400, message);
  ExpectRestRefusal(stack_->Post("/responses", RestBody(kQuestion, model)), 400, message);

  v1::InvokeRequest request = JsonRequest("sonnet", {kQuestionItem});
  request.set_model("databricks-gpt-4o");
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "gRPC Stream" : "gRPC Invoke");
    GrpcOutcome grpc = stream ? GrpcStream(*stack_, request) : GrpcInvoke(*stack_, request);
    EXPECT_EQ(grpc.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(grpc.status.error_message(), message);
    EXPECT_TRUE(grpc.events.empty());
  }
  EXPECT_EQ(UpstreamRequests(), before);
}

// The Databricks chat front end names its own serving endpoint in `model` (protocol.md §3): a
// profile without an allow-list must run on its own model, not refuse that client.
TEST_F(ProfilesTest, WithoutAnAllowListTheRequestsModelIsIgnored) {
  auto rest = stack_->Post(
      "/agents/plain/invocations",
      RestBody(kQuestion, R"("model":"agents-my-chat","stream":true,)"
                          R"("databricks_options":{"return_trace":true},)"
                          R"("context":{"conversation_id":"c-1","user_id":"u-1"})"));
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  EXPECT_EQ(ModelOf(Sent()), kLlama);

  v1::InvokeRequest request = JsonRequest("plain", {kQuestionItem});
  request.set_model("agents-my-chat");
  GrpcOutcome grpc = GrpcInvoke(*stack_, request);
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_EQ(ModelOf(Sent()), kLlama);
}

TEST_F(ProfilesTest, TemperatureOrTopPWithToolsIsRefusedWithTheUpstreamsWording) {
  // The emulator's own refusal, asked directly: the wording the gateway must keep.
  const std::string upstream_wording = UpstreamRefusal(
      *stack_, R"({"model":"m","temperature":0.2,"input":)" + std::string(kQuestion) +
                   R"(,"tools":[{"type":"genie_space","genie_space":{"id":"sales"}}]})");
  ASSERT_EQ(upstream_wording, "Parameter not supported when tools are provided");

  const long long before = UpstreamRequests();
  for (const std::string param : {"temperature", "top_p"}) {
    SCOPED_TRACE(param);
    const std::string message = upstream_wording + ": " + param;
    const std::string extra = "\"" + param + "\":0.2";
    ExpectRestRefusal(stack_->Post("/invocations", RestBody(kQuestion, extra)), 400, message);
    ExpectRestRefusal(stack_->Post("/responses", RestBody(kQuestion, extra + R"(,"stream":true)")),
                      400, message);
    ExpectRestRefusal(stack_->Post("/agents/opus/invocations", RestBody(kQuestion, extra)), 400,
                      message);

    v1::InvokeRequest request = JsonRequest("opus", {kQuestionItem});
    request.set_extra_json("{" + extra + "}");
    for (const bool stream : {false, true}) {
      SCOPED_TRACE(stream ? "gRPC Stream" : "gRPC Invoke");
      GrpcOutcome grpc = stream ? GrpcStream(*stack_, request) : GrpcInvoke(*stack_, request);
      EXPECT_EQ(grpc.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ(grpc.status.error_message(), message);
    }
  }
  EXPECT_EQ(UpstreamRequests(), before);
}

// OpenAI-style clients send unset parameters as null. The gateway lets a null through its
// tools check (null is "not set"), so it must not forward one the upstream would refuse.
TEST_F(ProfilesTest, ANullTemperatureOrTopPWithToolsIsNotSetAndNotSent) {
  auto rest = stack_->Post("/invocations", RestBody(kQuestion, R"("temperature":null)"));
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  EXPECT_FALSE(Sent().contains("temperature"));

  v1::InvokeRequest request = JsonRequest("opus", {kQuestionItem});
  request.set_extra_json(R"({"top_p":null,"temperature":null})");
  GrpcOutcome grpc = GrpcStream(*stack_, request);
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_FALSE(Sent().contains("top_p"));
  EXPECT_FALSE(Sent().contains("temperature"));
}

TEST_F(ProfilesTest, TemperatureAndTopPWithoutToolsReachTheUpstream) {
  auto rest =
      stack_->Post("/agents/plain/invocations", RestBody(kQuestion, R"("temperature":0.2)"));
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  EXPECT_EQ(Sent().at("temperature"), json::value(0.2));

  v1::InvokeRequest request = JsonRequest("plain", {kQuestionItem});
  request.set_extra_json(R"({"top_p":0.9})");
  GrpcOutcome grpc = GrpcInvoke(*stack_, request);
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_EQ(Sent().at("top_p"), json::value(0.9));
}

TEST_F(ProfilesTest, AnUnknownProfileIsNotFoundNamingTheKnownOnes) {
  const std::string message = "unknown agent profile 'nope'; known: opus, plain, sonnet";
  const long long before = UpstreamRequests();
  ExpectRestRefusal(stack_->Post("/agents/nope/invocations", RestBody(kQuestion)), 404, message);
  ExpectRestRefusal(
      stack_->Post("/agents/nope/invocations", RestBody(kQuestion, R"("stream":true)")), 404,
      message);
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "gRPC Stream" : "gRPC Invoke");
    v1::InvokeRequest request = JsonRequest("nope", {kQuestionItem});
    GrpcOutcome grpc = stream ? GrpcStream(*stack_, request) : GrpcInvoke(*stack_, request);
    EXPECT_EQ(grpc.status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(grpc.status.error_message(), message);
    EXPECT_TRUE(grpc.events.empty());
  }
  EXPECT_EQ(UpstreamRequests(), before);
}

// A caller learns which models it may switch to from either door.
TEST_F(ProfilesTest, AgentInfoShowsEachProfilesModelAndAllowList) {
  auto rest = stack_->Get("/agent/info");
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  const json::value info = Json(rest.body);
  EXPECT_EQ(info.at("default_profile").as_string(), "sonnet");
  std::vector<std::string> rest_profiles;
  for (const json::value& p : info.at("profiles").as_array()) {
    std::string line = std::string(p.at("name").as_string()) + " " +
                       std::string(p.at("model").as_string()) + " [";
    for (const json::value& m : p.at("allowed_models").as_array()) line += m.as_string();
    rest_profiles.push_back(line + "]");
  }
  const std::vector<std::string> expected = {
      std::string("opus ") + kOpus + " [" + kMini + "]", std::string("plain ") + kLlama + " []",
      std::string("sonnet ") + kSonnet + " [" + kMini + "]"};
  EXPECT_EQ(rest_profiles, expected);

  grpc::ClientContext ctx;
  v1::AgentInfo grpc_info;
  grpc::Status status = stack_->grpc().GetAgentInfo(&ctx, v1::GetAgentInfoRequest(), &grpc_info);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(grpc_info.default_profile(), "sonnet");
  std::vector<std::string> grpc_profiles;
  for (const v1::ProfileInfo& p : grpc_info.profiles()) {
    std::string line = p.name() + " " + p.model() + " [";
    for (const std::string& m : p.allowed_models()) line += m;
    grpc_profiles.push_back(line + "]");
  }
  EXPECT_EQ(grpc_profiles, expected);
}

}  // namespace
}  // namespace agentgateway::testing
