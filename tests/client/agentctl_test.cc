// agentctl end to end: the real binary as a child process against the real agent-gateway
// binary and the emulator, through both doors (--target: gRPC, --rest: REST SSE). What a user
// sees (the answer on stdout as it streams, tool lines and approvals on stderr, --json lines,
// health and profiles) and the exit codes a script relies on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "absl/strings/str_split.h"
#include "tests/client/gateway_fixture.h"
#include "tests/testing/child_process.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kSalesQuestion[] = "How did sales do last quarter?";
constexpr char kSalesAnswer[] =
    "You asked: \"How did sales do last quarter?\". Genie space sales found 3 rows.\n";
constexpr char kGithubQuestion[] = "Ask github about the open issues";

enum class Door { kGrpc, kRest };

// agentctl without the test's own AGENTCTL_* settings, and without colour.
ChildOptions AgentctlOptions(std::vector<std::string> argv, const EnvVars& env = {}) {
  ChildOptions options{
      .argv = std::move(argv), .drop_env_prefixes = {"AGENTCTL_"}, .env = {{"NO_COLOR", "1"}}};
  options.env.insert(options.env.end(), env.begin(), env.end());
  return options;
}

RunResult RunAgentctl(std::vector<std::string> argv, const EnvVars& env = {}) {
  return RunProgram(AgentctlOptions(std::move(argv), env));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines;
}

// One real gateway per suite, configured by `kYaml`, and agentctl through the door under test.
template <const char* kYaml>
class AgentctlSuite : public ::testing::TestWithParam<Door> {
 protected:
  static void SetUpTestSuite() {
    auto fixture = GatewayFixture::Start(kYaml);
    ASSERT_TRUE(fixture.ok()) << fixture.status();
    fixture_ = fixture->release();
  }
  static void TearDownTestSuite() {
    delete fixture_;
    fixture_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(fixture_, nullptr); }

  // agentctl with the door's flag first, then `args`.
  static std::vector<std::string> Argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {AG_AGENTCTL_BINARY};
    if (GetParam() == Door::kGrpc) {
      argv.insert(argv.end(), {"--target", fixture_->grpc_target()});
    } else {
      argv.insert(argv.end(), {"--rest", fixture_->rest_url()});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  static RunResult Agentctl(const std::vector<std::string>& args, const EnvVars& env = {}) {
    return RunAgentctl(Argv(args), env);
  }

  static inline GatewayFixture* fixture_ = nullptr;
};

class AgentctlTest : public AgentctlSuite<kClientSuiteYaml> {};

TEST_P(AgentctlTest, TheAnswerGoesToStdoutAndToolCallsToStderr) {
  RunResult r = Agentctl({"invoke", kSalesQuestion});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kSalesAnswer);
  EXPECT_THAT(Lines(r.err), ::testing::ElementsAre(
                                "[tool] sales {\"question\":\"How did sales do last quarter?\"}",
                                "[tool] sales -> Genie space sales found 3 rows"));
}

TEST_P(AgentctlTest, TheAnswerIsPrintedAsItArrives) {
  // One event every 150 ms: the first word is on stdout while the rest is still on its way.
  auto child = ChildProcess::Start(
      AgentctlOptions(Argv({"invoke", "Hello there [[fault:drip]] [[drip-ms:150]]"})));
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->WaitForStdout("You ", std::chrono::seconds(20))) << (*child)->err();
  EXPECT_FALSE((*child)->Exited()) << "agentctl must not hold the text back until the end";
  EXPECT_THAT((*child)->out(), Not(HasSubstr("there")));
  EXPECT_EQ((*child)->Wait(std::chrono::seconds(30)), std::optional<int>(0)) << (*child)->err();
  EXPECT_EQ((*child)->out(),
            "You asked: \"Hello there [[fault:drip]] [[drip-ms:150]]\".\n");
}

TEST_P(AgentctlTest, JsonPrintsOneParseableEventPerLine) {
  RunResult r = Agentctl({"--json", "invoke", kSalesQuestion});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  std::vector<std::string> types;
  std::string text;
  for (const std::string& line : Lines(r.out)) {
    boost::system::error_code ec;
    json::value event = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(event.is_object()) << line;
    const json::value* type = event.as_object().if_contains("type");
    ASSERT_TRUE(type && type->is_string()) << line;
    types.emplace_back(type->as_string());
    if (types.back() == "response.output_text.delta") text += event.at("delta").as_string();
  }
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "response.created");
  EXPECT_EQ(types.back(), "response.completed");
  EXPECT_EQ(text + "\n", kSalesAnswer);
}

TEST_P(AgentctlTest, FlagsMayFollowTheSubcommand) {
  std::vector<std::string> argv = {AG_AGENTCTL_BINARY, "invoke", "--json"};
  std::vector<std::string> door = Argv({});
  argv.insert(argv.end(), door.begin() + 1, door.end());
  argv.push_back("Hello");
  RunResult r = RunAgentctl(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"type\":\"response.created\""));
}

TEST_P(AgentctlTest, AnUnknownProfileFailsWithOneLineNamingIt) {
  RunResult r = Agentctl({"invoke", "--profile", "nope", "hi"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, IsEmpty());
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_THAT(r.err, StartsWith("agentctl: NOT_FOUND: unknown agent profile 'nope'; known: auto, "
                                "default, user"));
}

TEST_P(AgentctlTest, APendingApprovalExitsFourAndSaysWhatToSendBack) {
  RunResult r = Agentctl({"invoke", kGithubQuestion});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.out, IsEmpty());
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], AllOf(StartsWith("[approval needed] github/github {\"question\":"),
                              HasSubstr("\"type\":\"mcp_approval_response\",\"approval_request_id\":\"mcpr_")));
  EXPECT_THAT(lines[1], StartsWith("agentctl: the answer awaits the caller: 1 approval request"));
}

TEST_P(AgentctlTest, AnApprovalThePolicyAnswersIsShownAndTheAnswerCompletes) {
  RunResult r = Agentctl({"invoke", "--profile", "auto", kGithubQuestion});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "You asked: \"Ask github about the open issues\". Connection github completed the call.\n");
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 3u) << r.err;
  EXPECT_THAT(lines[0], AllOf(StartsWith("[approved by policy] github/github"),
                              HasSubstr("mcp_approvals policy of profile 'auto'")));
  EXPECT_THAT(lines[1], StartsWith("[tool] github {"));
  EXPECT_EQ(lines[2], "[tool] github -> Connection github completed the call");
}

TEST_P(AgentctlTest, TheUserTokenComesFromTheEnvironment) {
  const std::string token = fixture_->MintUserToken("lin@example.com", {"ai-gateway", "genie"});
  RunResult r = Agentctl({"--json", "invoke", "--profile", "user", kSalesQuestion},
                         {{"AGENTCTL_USER_TOKEN", token}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"emulator_identity\":\"user:lin@example.com\""));

  RunResult missing = Agentctl({"invoke", "--profile", "user", kSalesQuestion});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, AllOf(StartsWith("agentctl: UNAUTHENTICATED: "),
                                 HasSubstr("X-Forwarded-Access-Token")));
}

TEST_P(AgentctlTest, ATimeoutEndsTheCallWithDeadlineExceeded) {
  RunResult r = Agentctl({"--timeout", "0.3", "invoke", "sales [[fault:hang]]"});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_THAT(r.err, AllOf(StartsWith("agentctl: DEADLINE_EXCEEDED: "), HasSubstr("300ms")));
}

TEST_P(AgentctlTest, AFailureMidStreamExitsOneAfterThePartialOutput) {
  RunResult r = Agentctl({"invoke", "sales [[fault:reset]]"});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_FALSE(lines.empty());
  // gRPC keeps the code; the REST door's error frame carries only the message.
  EXPECT_THAT(lines.back(), AllOf(StartsWith(GetParam() == Door::kGrpc ? "agentctl: UNAVAILABLE: "
                                                                      : "agentctl: UNKNOWN: "),
                                  HasSubstr("after 3 events")));
}

TEST_P(AgentctlTest, HealthSaysServing) {
  RunResult r = Agentctl({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  RunResult j = Agentctl({"--json", "health"});
  EXPECT_EQ(j.out, "{\"status\":\"SERVING\"}\n");
}

TEST_P(AgentctlTest, ProfilesListsNamesModelsAuthAndToolsWithTheDefaultMarked) {
  RunResult r = Agentctl({"profiles"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0], "agent-gateway 0.1.0, agent_api responses");
  EXPECT_EQ(lines[1], "  PROFILE  MODEL           AUTH  TOOLS");
  EXPECT_EQ(lines[2], "  auto     emulated-model  app   genie_space, uc_connection");
  EXPECT_EQ(lines[3], "* default  emulated-model  app   genie_space, uc_connection");
  EXPECT_EQ(lines[4], "  user     emulated-model  user  genie_space");
  EXPECT_EQ(lines[5], "* default profile");

  RunResult j = Agentctl({"--json", "profiles"});
  EXPECT_EQ(j.exit_code, 0) << j.err;
  json::value info = json::parse(j.out);
  EXPECT_EQ(info.at("default_profile").as_string(), "default");
  EXPECT_EQ(info.at("profiles").as_array().size(), 3u);
}

TEST_P(AgentctlTest, AnUnreachableGatewayExitsThree) {
  RefusingPort refusing;
  const std::string where = std::to_string(refusing.port());
  std::vector<std::string> argv = {AG_AGENTCTL_BINARY, "--attempts", "2"};
  if (GetParam() == Door::kGrpc) {
    argv.insert(argv.end(), {"--target", "127.0.0.1:" + where});
  } else {
    argv.insert(argv.end(), {"--rest", "http://127.0.0.1:" + where});
  }
  for (const char* command : {"invoke", "health", "profiles"}) {
    std::vector<std::string> args = argv;
    args.push_back(command);
    if (std::string_view(command) == "invoke") args.push_back("hi");
    RunResult r = RunAgentctl(args);
    EXPECT_EQ(r.exit_code, 3) << command << ": " << r.err;
    ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_THAT(r.err, AllOf(StartsWith("agentctl: UNAVAILABLE: cannot reach the gateway at "),
                             HasSubstr(where), HasSubstr("(after 2 attempts)")));
  }
}

INSTANTIATE_TEST_SUITE_P(BothDoors, AgentctlTest, ::testing::Values(Door::kGrpc, Door::kRest),
                         [](const ::testing::TestParamInfo<Door>& info) {
                           return info.param == Door::kGrpc ? "Grpc" : "Rest";
                         });

// The same clients, unchanged, against profiles on the local engine (issue 9): the gateway
// runs the loop itself on the emulator's Chat Completions model and its Genie MCP server.
constexpr char kLocalSuiteYaml[] = R"(identity:
  trusted_proxy: true
  user_api_scopes: [ai-gateway, genie, model-serving]
local_engine:
  max_steps: 2
default_profile: local
profiles:
  local:
    model: databricks-claude-sonnet-4-5
    engine: local
    tools: &genie [{type: genie_space, genie_space: {id: 01ef5a, description: Sales data}}]
  local-user:
    model: databricks-claude-sonnet-4-5
    engine: local
    auth: user
    tools: *genie
)";

class LocalEngineDoorsTest : public AgentctlSuite<kLocalSuiteYaml> {};

TEST_P(LocalEngineDoorsTest, AHostedToolRoundThenTheAnswer) {
  RunResult r = Agentctl({"invoke", "Ask query_space_01ef5a for sales by region"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(StartsWith("You asked: \"Ask query_space_01ef5a for sales by region\"."),
                           HasSubstr("The tool query_space_01ef5a said:"),
                           HasSubstr("Genie space 01ef5a found 3 rows")));
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("[tool] query_space_01ef5a {\"question\":"));
  // agentctl shortens a long tool output; its start is the MCP server's answer.
  EXPECT_THAT(lines[1],
              StartsWith("[tool] query_space_01ef5a -> Genie space 01ef5a: tool query_space_01ef5a ran as "));
}

TEST_P(LocalEngineDoorsTest, TheUsersTokenReachesTheToolCall) {
  const std::string token =
      fixture_->MintUserToken("lin@example.com", {"ai-gateway", "genie", "model-serving"});
  RunResult r = Agentctl({"invoke", "--profile", "local-user", "Ask query_space_01ef5a"},
                         {{"AGENTCTL_USER_TOKEN", token}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The tool's own answer names who it ran as; the model quotes it.
  EXPECT_THAT(r.out, HasSubstr("ran as user:lin@example.com"));
}

TEST_P(LocalEngineDoorsTest, TheStepLimitEndsTheCallWithAClearError) {
  RunResult r = Agentctl({"invoke", "[[loop]] Ask query_space_01ef5a"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(Lines(r.err).back(), HasSubstr("limit of 2 model turns (max_steps)"));
}

INSTANTIATE_TEST_SUITE_P(BothDoors, LocalEngineDoorsTest,
                         ::testing::Values(Door::kGrpc, Door::kRest),
                         [](const ::testing::TestParamInfo<Door>& info) {
                           return info.param == Door::kGrpc ? "Grpc" : "Rest";
                         });

// Both doors over TLS, trusted through --ca; without it the handshake fails: exit 3, one line
// (gRPC's own log lines about the failed handshake stay quiet).
TEST(AgentctlTlsTest, TlsOnBothDoors) {
  TempDir dir;
  TestPki pki = MakeTestPki({"localhost"}, {"127.0.0.1"});
  ASSERT_TRUE(pki.WriteFiles(dir.path()).ok());
  const std::string tls = "{tls_cert: " + dir.File("cert.pem") + ", tls_key: " + dir.File("key.pem") + "}";
  auto fixture = GatewayFixture::Start(kClientSuiteYaml, "listen:\n  http: " + tls + "\n  grpc: " + tls + "\n");
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  const std::string https = "https://127.0.0.1:" + std::to_string((*fixture)->gateway().http_port());
  const std::vector<std::vector<std::string>> doors = {
      {"--target", (*fixture)->grpc_target(), "--tls"}, {"--rest", https}};
  for (const auto& door : doors) {
    std::vector<std::string> argv = {AG_AGENTCTL_BINARY, "--attempts", "1"};
    argv.insert(argv.end(), door.begin(), door.end());
    std::vector<std::string> trusted = argv;
    trusted.insert(trusted.end(), {"--ca", dir.File("ca.pem"), "invoke", kSalesQuestion});
    RunResult ok = RunAgentctl(trusted);
    EXPECT_EQ(ok.exit_code, 0) << door[0] << ": " << ok.err;
    EXPECT_EQ(ok.out, kSalesAnswer);

    argv.push_back("health");  // system trust roots: the test CA is not among them
    RunResult refused = RunAgentctl(argv);
    EXPECT_EQ(refused.exit_code, 3) << door[0] << ": " << refused.err;
    EXPECT_EQ(Lines(refused.err).size(), 1u) << refused.err;
    EXPECT_THAT(refused.err, StartsWith("agentctl: UNAVAILABLE: cannot reach the gateway at "));
  }
}

// The command line itself: no gateway needed.
TEST(AgentctlUsageTest, BadUsageExitsTwoWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {},                                  // no command
      {"invoke"},                          // no question
      {"invoke", "--bogus", "hi"},         // unknown flag
      {"frobnicate"},                      // unknown command
      {"--timeout", "-1", "invoke", "hi"}, // not a positive number
      {"--rest", "ftp://example.com", "invoke", "hi"},
      {"--header", "no-separator", "invoke", "hi"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv = {AG_AGENTCTL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunAgentctl(argv);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << ": " << r.err;
    EXPECT_THAT(r.err, StartsWith("agentctl: usage: ")) << ::testing::PrintToString(args);
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_THAT(r.out, IsEmpty());
  }
}

TEST(AgentctlUsageTest, HelpDocumentsTheExitCodes) {
  RunResult r = RunAgentctl({AG_AGENTCTL_BINARY, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, AllOf(HasSubstr("Exit codes:"), HasSubstr("3  cannot reach the gateway"),
                           HasSubstr("4  the answer awaits the caller")));
  RunResult sub = RunAgentctl({AG_AGENTCTL_BINARY, "invoke", "--help"});
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_THAT(sub.out, AllOf(HasSubstr("--profile"), HasSubstr("question")));
}

}  // namespace
}  // namespace agentgateway::testing
