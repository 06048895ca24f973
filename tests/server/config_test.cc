#include "server/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace agentgateway {
namespace {

using ::agentgateway::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(ConfigTest, EmbeddedDefaultHasOneProfileWithEveryUserScopedToolType) {
  Config config = EmbeddedDefaultConfig();
  EXPECT_EQ(config.default_profile, "default");
  const Profile* p = config.FindProfile("");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->model, "databricks-claude-sonnet-4-5");
  ASSERT_EQ(p->tools.size(), 4u);
  EXPECT_EQ(p->tools[0].type, "genie_space");
  EXPECT_EQ(p->tools[0].json,
            R"({"type":"genie_space","genie_space":{"id":"sales","description":"Sales figures by region and quarter"}})");
  EXPECT_TRUE(config.upstream.base_url.empty());  // main falls back to DATABRICKS_HOST/emulator
}

TEST(ConfigTest, ParsesProfilesUpstreamAndToolsOfEveryType) {
  auto config = ParseConfig(R"(
upstream:
  base_url: https://example.cloud.databricks.com/ai-gateway/mlflow/v1
  connect_timeout_ms: 2500
  max_connections: 8
default_profile: analyst
profiles:
  analyst:
    model: m1
    auth: user
    allowed_models: [m2, m3]
    pass_through: [max_output_tokens]
    trace_destination: {catalog_name: c, schema_name: s}
    tools:
      - {type: genie_space, genie_space: {id: "01ef", description: d}}  # quoted: stays a string
      - {type: uc_function, uc_function: {name: cat.sch.fn}}
      - {type: knowledge_assistant, knowledge_assistant: {knowledge_assistant_id: ka1, description: d}}
      - {type: uc_connection, uc_connection: {name: gh, description: d}}
  bot:
    model: m9
    mixed_tools: allow
    tools:
      - {type: app, app: {name: my-app, description: d}}
      - {type: function, name: get_weather, parameters: {type: object, properties: {}}}
)",
                            "gw.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->upstream.connect_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(config->upstream.max_connections, 8u);
  const Profile* analyst = config->FindProfile("");
  ASSERT_NE(analyst, nullptr);
  EXPECT_EQ(analyst->name, "analyst");
  EXPECT_EQ(analyst->auth, "user");
  EXPECT_EQ(analyst->tools.size(), 4u);
  EXPECT_EQ(analyst->tools[0].json,
            R"({"type":"genie_space","genie_space":{"id":"01ef","description":"d"}})");
  EXPECT_EQ(analyst->trace_destination_json, R"({"catalog_name":"c","schema_name":"s"})");
  EXPECT_THAT(analyst->allowed_models, ::testing::ElementsAre("m2", "m3"));
  EXPECT_EQ(analyst->tools[1].json,
            R"({"type":"uc_function","uc_function":{"name":"cat.sch.fn"}})");
  EXPECT_EQ(analyst->tools[2].json,
            R"({"type":"knowledge_assistant","knowledge_assistant":{"knowledge_assistant_id":"ka1","description":"d"}})");
  EXPECT_EQ(analyst->tools[3].json,
            R"({"type":"uc_connection","uc_connection":{"name":"gh","description":"d"}})");
  const Profile* bot = config->FindProfile("bot");
  ASSERT_NE(bot, nullptr);
  EXPECT_EQ(bot->tools[0].json, R"({"type":"app","app":{"name":"my-app","description":"d"}})");
  EXPECT_EQ(bot->tools[1].json,
            R"({"type":"function","name":"get_weather","parameters":{"type":"object","properties":{}}})");
  EXPECT_EQ(config->FindProfile("nope"), nullptr);
}

TEST(ConfigTest, ToolIdsStayStringsButSchemaNumbersStayNumbers) {
  auto config = ParseConfig(R"(
profiles:
  p:
    model: m
    mixed_tools: allow
    tools:
      - {type: genie_space, genie_space: {id: 1234567890123456789012, description: 2024}}
      - type: function
        name: pick
        strict: true
        parameters: {type: object, properties: {n: {type: integer, minimum: 0, maximum: 1.5}}}
)",
                            "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const Profile* p = config->FindProfile("");
  EXPECT_EQ(p->tools[0].json,
            R"({"type":"genie_space","genie_space":{"id":"1234567890123456789012","description":"2024"}})");
  EXPECT_EQ(p->tools[1].json,
            R"({"type":"function","name":"pick","strict":true,"parameters":{"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":1.5E0}}}})");
}

TEST(ConfigTest, ListsEveryProblemWithFileAndKey) {
  auto config = ParseConfig(R"(
profiles:
  a:
    tools:
      - {type: genie_spaces, genie_spaces: {id: x}}
      - {type: genie_space, genie_space: {description: no id}}
      - {type: uc_function, uc_function: {name: not_dotted}}
      - {type: function, name: "bad name!"}
      - {type: uc_connection}
    colour: blue
)",
                            "bad.yaml");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("bad.yaml: profiles.a.model: required"),
                                     HasSubstr("profiles.a.tools[0].type: unknown tool type 'genie_spaces'"),
                                     HasSubstr("profiles.a.tools[1].genie_space.id: required"),
                                     HasSubstr("'not_dotted' must be catalog.schema.function"),
                                     HasSubstr("function name 'bad name!' must match"),
                                     HasSubstr("profiles.a.tools[4].uc_connection: required"),
                                     HasSubstr("profiles.a.colour: unknown key"))));
}

TEST(ConfigTest, FunctionToolsNextToHostedToolsAreRefusedUnlessAllowed) {
  const std::string tools = R"(
    tools:
      - {type: genie_space, genie_space: {id: g1, description: d}}
      - {type: function, name: lookup, parameters: {type: object, properties: {}}}
)";
  auto refused = ParseConfig("profiles:\n  mix:\n    model: m" + tools, "t.yaml");
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument,
                                AllOf(HasSubstr("t.yaml: profiles.mix.tools: mixes 1 client-side "
                                                "function tool(s) with 1 hosted tool(s)"),
                                      HasSubstr("mixed_tools: allow"))));
  auto allowed =
      ParseConfig("profiles:\n  mix:\n    model: m\n    mixed_tools: allow" + tools, "t.yaml");
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_TRUE(allowed->FindProfile("mix")->allow_mixed_tools);
  auto functions_only = ParseConfig(
      "profiles:\n  f:\n    model: m\n    tools:\n      - {type: function, name: lookup}\n",
      "t.yaml");
  EXPECT_TRUE(functions_only.ok()) << functions_only.status();
  EXPECT_THAT(ParseConfig("profiles:\n  f:\n    model: m\n    mixed_tools: maybe\n", "t.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("profiles.f.mixed_tools: must be refuse or allow, not 'maybe'")));
}

TEST(ConfigTest, ParsesTimeoutsQueueCapAndDrainGrace) {
  auto config = ParseConfig(R"(
upstream:
  max_queued_requests: 0
  tls_handshake_timeout_ms: 1500
  call_timeout_ms: 0
limits:
  max_concurrent_calls: 7
  drain_grace_ms: 250
profiles:
  a: {model: m}
)",
                            "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->upstream.max_queued_requests, 0u);
  EXPECT_EQ(config->upstream.tls_handshake_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(config->upstream.call_timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(config->limits.max_concurrent_calls, 7u);
  EXPECT_EQ(config->limits.drain_grace, std::chrono::milliseconds(250));
}

TEST(ConfigTest, TimeoutDefaultsAreTheDocumentedOnes) {
  auto config = ParseConfig("profiles:\n  a: {model: m}\n", "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->upstream.call_timeout, std::chrono::minutes(30));
  EXPECT_EQ(config->upstream.max_queued_requests, 1024u);
  EXPECT_EQ(config->limits.drain_grace, std::chrono::seconds(20));
}

TEST(ConfigTest, LimitAndTimeoutMistakesAreNamed) {
  auto config = ParseConfig(R"(
upstream:
  connect_timeout_ms: 0
  call_timeout_ms: -5
  max_queued_requests: lots
  read_timeout_ms: 10
limits:
  drain_grace_ms: soon
  max_calls: 3
profiles:
  a: {model: m}
)",
                            "t.yaml");
  EXPECT_THAT(
      config,
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("upstream.connect_timeout_ms: must be a positive number"),
                     HasSubstr("upstream.call_timeout_ms: must be a non-negative number of "
                               "milliseconds (0: no overall limit)"),
                     HasSubstr("upstream.max_queued_requests: must be a non-negative number"),
                     HasSubstr("upstream.read_timeout_ms: unknown key"),
                     HasSubstr("limits.drain_grace_ms: must be a non-negative number"),
                     HasSubstr("limits.max_calls: unknown key"))));
}

TEST(ConfigTest, ParsesIdentityAndListeners) {
  auto config = ParseConfig(R"(
identity:
  trusted_proxy: true
  user_api_scopes: [ai-gateway, genie]
  tool_scopes: {genie_space: [dashboards.genie]}
listen:
  http: {address: "0.0.0.0:8443", tls_cert: /c.pem, tls_key: /k.pem, sse_heartbeat_ms: 5000}
  grpc: {tls_cert: /c.pem, tls_key: /k.pem, client_ca: /ca.pem, keepalive_ms: 20000}
profiles: {a: {model: m}}
)",
                            "id.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->identity.trusted_proxy, true);
  EXPECT_THAT(config->identity.user_api_scopes, ::testing::ElementsAre("ai-gateway", "genie"));
  EXPECT_THAT(config->identity.tool_scopes.at("genie_space"),
              ::testing::ElementsAre("dashboards.genie"));
  EXPECT_EQ(config->listen.http_address, "0.0.0.0:8443");
  EXPECT_TRUE(config->listen.http_tls.enabled());
  EXPECT_EQ(config->listen.grpc_tls.client_ca_file, "/ca.pem");
  EXPECT_EQ(config->listen.sse_heartbeat, std::chrono::milliseconds(5000));
  EXPECT_EQ(config->listen.grpc_keepalive, std::chrono::milliseconds(20000));
  EXPECT_FALSE(ParseConfig("profiles: {a: {model: m}}", "x")->identity.trusted_proxy.has_value());
}

TEST(ConfigTest, IdentityAndListenerMistakesAreNamed) {
  EXPECT_THAT(ParseConfig(R"(
identity: {trusted_proxy: maybe, tool_scopes: {genie_space: []}, colour: x}
listen: {http: {tls_cert: /c.pem}, grpc: {client_ca: /ca.pem}}
profiles: {a: {model: m}}
)",
                          "bad.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("identity.trusted_proxy: must be true or false"),
                             HasSubstr("identity.tool_scopes.genie_space: must list at least one"),
                             HasSubstr("identity.colour: unknown key"),
                             HasSubstr("listen.http: tls_cert and tls_key go together"),
                             HasSubstr("listen.grpc.client_ca: mutual TLS needs"))));
}

// Regressions found by tests/fuzz/config_fuzz (see tests/fuzz/README.md).
TEST(ConfigTest, HostileYamlIsRefusedNotFatal) {
  EXPECT_THAT(ParseConfig("[a]: 1\nprofiles: {p: {model: m}}\n", "f.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(ParseConfig(R"(
profiles:
  p:
    model: m
    tools:
      - {type: function, name: f, parameters: &p {type: object, x: *p}}
)",
                          "alias.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("recursive or repeated alias")));
  std::string huge(200000, '7');
  auto config = ParseConfig("profiles:\n  p:\n    model: m\n    tools:\n      - {type: function, "
                            "name: f, parameters: {maximum: " + huge + "}}\n",
                            "big.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->FindProfile("")->tools[0].json, HasSubstr("\"" + huge + "\""));
}

TEST(ConfigTest, MalformedYamlNamesLineAndColumn) {
  auto config = ParseConfig("profiles:\n  a: [unclosed\n", "x.yaml");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x.yaml: line")));
}

TEST(ConfigTest, DefaultProfileMustExistAndIsRequiredAmongSeveral) {
  EXPECT_THAT(ParseConfig("default_profile: z\nprofiles: {a: {model: m}}\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("default_profile: 'z' is not a profile")));
  EXPECT_THAT(ParseConfig("profiles: {a: {model: m}, b: {model: m}}\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("default_profile: required")));
  EXPECT_THAT(ParseConfig("upstream: {base_url: ftp://x}\nprofiles: {a: {model: m}}\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must start with http:// or https://")));
  EXPECT_THAT(ParseConfig("profiles: {a: {model: m, engine: magic, auth: root}}\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("unknown engine 'magic'; this build supports: supervisor, local"),
                             HasSubstr("must be app or user, not 'root'"))));
}

TEST(ConfigTest, LocalEngineProfilesAndTheirSettings) {
  auto defaults = ParseConfig("profiles: {a: {model: m, engine: local}}\n", "c.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->profiles.at("a").engine, "local");
  EXPECT_EQ(defaults->local_engine.max_steps, 10);
  EXPECT_EQ(defaults->local_engine.tool_timeout, std::chrono::milliseconds(120'000));
  EXPECT_TRUE(defaults->local_engine.model_base_url.empty());  // main: upstream origin

  auto set = ParseConfig(
      "local_engine: {model_base_url: 'http://127.0.0.1:8000/v1', workspace_url: "
      "'https://adb-1.net', max_steps: 4, tool_timeout_ms: 1500}\n"
      "profiles: {a: {model: m, engine: local}}\n",
      "c.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->local_engine.model_base_url, "http://127.0.0.1:8000/v1");
  EXPECT_EQ(set->local_engine.workspace_url, "https://adb-1.net");
  EXPECT_EQ(set->local_engine.max_steps, 4);
  EXPECT_EQ(set->local_engine.tool_timeout, std::chrono::milliseconds(1500));

  EXPECT_THAT(
      ParseConfig("local_engine: {model_base_url: ftp://m, max_steps: 0, tool_timeout_ms: 0, "
                  "steps: 3}\nprofiles: {a: {model: m}}\n",
                  "c.yaml"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("local_engine.model_base_url: 'ftp://m' must start with http"),
                     HasSubstr("local_engine.max_steps: must be between 1 and 1000"),
                     HasSubstr("local_engine.tool_timeout_ms: must be a positive number"),
                     HasSubstr("local_engine.steps: unknown key"))));
  EXPECT_THAT(ParseConfig("local_engine: 3\nprofiles: {a: {model: m}}\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("local_engine: must be a mapping")));
}

// A profile with two MCP servers (a uc_connection and an app) and one non-MCP tool, followed
// by `extra` (profile keys, indented by four spaces).
std::string McpProfileYaml(const std::string& extra) {
  return R"(
profiles:
  ops:
    model: m
    tools:
      - {type: uc_connection, uc_connection: {name: github, description: d}}
      - {type: app, app: {name: ticket-mcp, description: d}}
      - {type: uc_function, uc_function: {name: cat.sch.fn}}
)" + extra;
}

// Rules name a server (every tool) or server/tool, on both lists; the policy they build decides
// with deny first. max_rounds has its documented default.
TEST(ConfigTest, McpApprovalsParseServerAndServerToolRules) {
  auto config = ParseConfig(McpProfileYaml(R"(
    mcp_approvals:
      approve: [github/list_issues, ticket-mcp]
      deny: [github/delete_repository, ticket-mcp/close_all]
)"),
                            "a.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const ApprovalPolicy& policy = config->FindProfile("ops")->mcp_approvals;
  ASSERT_EQ(policy.approve.size(), 2u);
  EXPECT_EQ(policy.approve[0].server, "github");
  EXPECT_EQ(policy.approve[0].tool, "list_issues");
  EXPECT_EQ(policy.approve[1].server, "ticket-mcp");
  EXPECT_EQ(policy.approve[1].tool, "");
  ASSERT_EQ(policy.deny.size(), 2u);
  EXPECT_EQ(policy.deny[0].server, "github");
  EXPECT_EQ(policy.deny[0].tool, "delete_repository");
  EXPECT_EQ(policy.max_rounds, 8);
  EXPECT_FALSE(policy.empty());
  EXPECT_EQ(policy.Decide("github", "list_issues"), ApprovalDecision::kApprove);
  EXPECT_EQ(policy.Decide("github", "delete_repository"), ApprovalDecision::kDeny);
  EXPECT_EQ(policy.Decide("github", "search"), ApprovalDecision::kAsk);
  EXPECT_EQ(policy.Decide("ticket-mcp", "open"), ApprovalDecision::kApprove);
  EXPECT_EQ(policy.Decide("ticket-mcp", "close_all"), ApprovalDecision::kDeny);

  auto none = ParseConfig(McpProfileYaml(""), "a.yaml");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->FindProfile("ops")->mcp_approvals.empty());
  EXPECT_EQ(none->FindProfile("ops")->mcp_approvals.max_rounds, 8);
}

// A rule for a server the profile does not have would silently never match (a typo leaves
// every approval to the caller), so it is refused, naming the servers the profile does have.
TEST(ConfigTest, McpApprovalsRefuseServersThatAreNotMcpToolsOfTheProfile) {
  EXPECT_THAT(ParseConfig(McpProfileYaml(R"(
    mcp_approvals:
      approve: [gitub/list_issues]
      deny: [cat.sch.fn]
)"),
                          "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("a.yaml: profiles.ops.mcp_approvals.approve[0]: 'gitub' is "
                                       "not the name of a uc_connection or app tool of this "
                                       "profile (github, ticket-mcp)"),
                             HasSubstr("profiles.ops.mcp_approvals.deny[0]: 'cat.sch.fn' is "
                                       "not"))));
  EXPECT_THAT(ParseConfig(R"(
profiles:
  plain:
    model: m
    tools: [{type: genie_space, genie_space: {id: g1, description: d}}]
    mcp_approvals: {approve: [github]}
)",
                          "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("profiles.plain.mcp_approvals.approve[0]: 'github' is not the "
                                 "name of a uc_connection or app tool of this profile (it has "
                                 "none)")));
}

// 'github/' (a tool left out) and '' (nothing) are mistakes, not "every tool" rules.
TEST(ConfigTest, McpApprovalsRefuseEmptyServerOrTool) {
  EXPECT_THAT(ParseConfig(McpProfileYaml(R"(
    mcp_approvals:
      approve: ["github/", ""]
      deny: [/delete_repository]
)"),
                          "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("profiles.ops.mcp_approvals.approve[0]: 'github/' must be "
                                       "SERVER or SERVER/TOOL"),
                             HasSubstr("profiles.ops.mcp_approvals.approve[1]: '' must be SERVER "
                                       "or SERVER/TOOL"),
                             HasSubstr("profiles.ops.mcp_approvals.deny[0]: '/delete_repository' "
                                       "must be SERVER or SERVER/TOOL"))));
}

// The shape of the block itself: a mapping of approve/deny lists and max_rounds only.
TEST(ConfigTest, McpApprovalsRefuseUnknownKeysAndWrongShapes) {
  EXPECT_THAT(ParseConfig(McpProfileYaml(R"(
    mcp_approvals:
      approve: [github]
      ask: [ticket-mcp]
)"),
                          "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("profiles.ops.mcp_approvals.ask: unknown key")));
  for (const char* block : {"    mcp_approvals: [github]\n", "    mcp_approvals: approve\n"}) {
    EXPECT_THAT(ParseConfig(McpProfileYaml(block), "a.yaml"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("profiles.ops.mcp_approvals: must be a mapping")))
        << block;
  }
  EXPECT_THAT(ParseConfig(McpProfileYaml("    mcp_approvals: {approve: github}\n"), "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("profiles.ops.mcp_approvals.approve: must be a list of strings")));
}

// max_rounds: 0 is allowed (never answer by policy), at most 100, and never negative.
TEST(ConfigTest, McpApprovalsMaxRoundsIsBounded) {
  auto rounds = [](const std::string& value) {
    return ParseConfig(
        McpProfileYaml("    mcp_approvals: {approve: [github], max_rounds: " + value + "}\n"),
        "a.yaml");
  };
  for (int n : {0, 1, 100}) {
    auto config = rounds(std::to_string(n));
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->FindProfile("ops")->mcp_approvals.max_rounds, n);
  }
  EXPECT_THAT(rounds("101"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("profiles.ops.mcp_approvals.max_rounds: must be at most 100")));
  EXPECT_THAT(rounds("100000000000"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be at most 100")));
  for (const char* bad : {"-1", "many", "[1]"}) {
    EXPECT_THAT(rounds(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("profiles.ops.mcp_approvals.max_rounds: must be "
                                                "a non-negative number")))
        << bad;
  }
}

// Per-profile limits parse, default to "none" (0), and accept 0 explicitly.
TEST(ConfigTest, ProfileLimitsParse) {
  auto config = ParseConfig(R"(
profiles:
  a: {model: m, limits: {max_concurrent_calls: 4, timeout_ms: 1500}}
  b: {model: m}
  c: {model: m, limits: {max_concurrent_calls: 0, timeout_ms: 0}}
default_profile: a
)",
                            "l.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->FindProfile("a")->limits.max_concurrent_calls, 4u);
  EXPECT_EQ(config->FindProfile("a")->limits.timeout, std::chrono::milliseconds(1500));
  for (const char* name : {"b", "c"}) {
    EXPECT_EQ(config->FindProfile(name)->limits.max_concurrent_calls, 0u) << name;
    EXPECT_EQ(config->FindProfile(name)->limits.timeout, std::chrono::milliseconds(0)) << name;
  }
}

// Unknown keys, negative numbers and a non-mapping are refused with their key path.
TEST(ConfigTest, ProfileLimitMistakesAreNamed) {
  EXPECT_THAT(ParseConfig(R"(
profiles:
  a: {model: m, limits: {max_concurrent_calls: -1, timeout_ms: -5, max_calls: 3}}
  b: {model: m, limits: [1, 2]}
  c: {model: m, limits: {max_concurrent_calls: lots, timeout_ms: soon}}
default_profile: a
)",
                          "l.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("l.yaml: profiles.a.limits.max_concurrent_calls: must be a "
                                       "non-negative number"),
                             HasSubstr("profiles.a.limits.timeout_ms: must be a non-negative "
                                       "number of milliseconds (0: no limit)"),
                             HasSubstr("profiles.a.limits.max_calls: unknown key"),
                             HasSubstr("profiles.b.limits: must be a mapping"),
                             HasSubstr("profiles.c.limits.max_concurrent_calls: must be a "
                                       "non-negative number"),
                             HasSubstr("profiles.c.limits.timeout_ms: must be a non-negative"))));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_THAT(LoadConfigFile("/nonexistent/gw.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/gw.yaml")));
}

TEST(ConfigTest, DatabricksHostBecomesSupervisorBaseUrl) {
  EXPECT_EQ(BaseUrlFromDatabricksHost("adb-1.2.azuredatabricks.net"),
            "https://adb-1.2.azuredatabricks.net/ai-gateway/mlflow/v1");
  EXPECT_EQ(BaseUrlFromDatabricksHost("https://x.cloud.databricks.com/"),
            "https://x.cloud.databricks.com/ai-gateway/mlflow/v1");
  EXPECT_EQ(BaseUrlFromDatabricksHost("http://127.0.0.1:9000"),
            "http://127.0.0.1:9000/ai-gateway/mlflow/v1");
}

}  // namespace
}  // namespace agentgateway

namespace agentgateway {
namespace {

TEST(ConfigTest, ShippedExampleConfigIsValid) {
  auto config = LoadConfigFile(std::string(AG_SOURCE_DIR) + "/deploy/examples/gateway.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->default_profile, "analyst");
  EXPECT_EQ(config->profiles.size(), 3u);
  EXPECT_EQ(config->FindProfile("ops")->tools.size(), 2u);
  EXPECT_EQ(config->FindProfile("assistant")->tools.at(0).type, "function");
  EXPECT_EQ(config->upstream.call_timeout, std::chrono::minutes(30));
  EXPECT_EQ(config->limits.drain_grace, std::chrono::seconds(20));
  EXPECT_EQ(config->upstream.read_idle_timeout, std::chrono::milliseconds(600000));

  // The ops profile documents the approval policy and per-profile limits.
  const Profile* ops = config->FindProfile("ops");
  ASSERT_NE(ops, nullptr);
  const ApprovalPolicy& policy = ops->mcp_approvals;
  ASSERT_EQ(policy.approve.size(), 2u);
  EXPECT_EQ(policy.approve[0].server, "github");
  EXPECT_EQ(policy.approve[0].tool, "list_issues");
  EXPECT_EQ(policy.approve[1].server, "ticket-mcp");
  EXPECT_EQ(policy.approve[1].tool, "");
  ASSERT_EQ(policy.deny.size(), 1u);
  EXPECT_EQ(policy.deny[0].server, "github");
  EXPECT_EQ(policy.deny[0].tool, "delete_repository");
  EXPECT_EQ(policy.max_rounds, 8);
  EXPECT_EQ(policy.Decide("github", "delete_repository"), ApprovalDecision::kDeny);
  EXPECT_EQ(policy.Decide("ticket-mcp", "create_ticket"), ApprovalDecision::kApprove);
  EXPECT_EQ(ops->limits.max_concurrent_calls, 64u);
  EXPECT_EQ(ops->limits.timeout, std::chrono::minutes(10));
  // The other profiles keep the defaults: no policy, no per-profile limits.
  for (const char* name : {"analyst", "assistant"}) {
    EXPECT_TRUE(config->FindProfile(name)->mcp_approvals.empty()) << name;
    EXPECT_EQ(config->FindProfile(name)->limits.max_concurrent_calls, 0u) << name;
    EXPECT_EQ(config->FindProfile(name)->limits.timeout, std::chrono::milliseconds(0)) << name;
  }
}

}  // namespace
}  // namespace agentgateway

namespace agentgateway {
namespace {

TEST(ConfigTest, AToolsOwnTimeoutIsForTheLocalEngine) {
  auto config = ParseConfig(R"(
profiles:
  a:
    model: m
    engine: local
    tools: [{type: genie_space, genie_space: {id: g, timeout_ms: 300000}}]
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  auto bad = ParseConfig(R"(
default_profile: a
profiles:
  a:
    model: m
    tools: [{type: genie_space, genie_space: {id: g, timeout_ms: 300000}}]
  b:
    model: m
    engine: local
    tools: [{type: genie_space, genie_space: {id: g, timeout_ms: soon}}]
)",
                         "c.yaml");
  EXPECT_THAT(bad.status(),
              testing::StatusIs(
                  absl::StatusCode::kInvalidArgument,
                  AllOf(HasSubstr("profiles.a.tools[0].genie_space.timeout_ms: bounds the local "
                                  "engine's calls"),
                        HasSubstr("profiles.b.tools[0].genie_space.timeout_ms: must be a whole "
                                  "number of milliseconds"))));
}

TEST(ConfigTest, GenericMcpToolsAndAppUrlsForTheLocalEngine) {
  auto config = ParseConfig(R"(
local_engine:
  app_urls: {crm: "https://crm-123.databricksapps.com"}
profiles:
  a:
    model: m
    engine: local
    tools:
      - {type: mcp, mcp: {server_url: "https://mcp.example.com/mcp", server_label: notes,
                          require_approval: always}}
      - {type: app, app: {name: crm}}
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->local_engine.app_urls.at("crm"), "https://crm-123.databricksapps.com");
  const Profile* p = config->FindProfile("a");
  ASSERT_EQ(p->tools.size(), 2u);
  EXPECT_EQ(p->tools[0].type, "mcp");
  EXPECT_EQ(p->tools[0].json,
            R"({"type":"mcp","mcp":{"server_url":"https://mcp.example.com/mcp",)"
            R"("server_label":"notes","require_approval":"always"}})");

  auto bad = ParseConfig(R"(
local_engine:
  app_urls: {crm: "crm-123.databricksapps.com"}
profiles:
  a:
    model: m
    engine: local
    tools:
      - {type: mcp, mcp: {server_label: x}}
      - {type: mcp, mcp: {server_url: "ftp://x/mcp", require_approval: sometimes}}
)",
                         "c.yaml");
  EXPECT_THAT(bad.status(),
              testing::StatusIs(
                  absl::StatusCode::kInvalidArgument,
                  AllOf(HasSubstr("local_engine.app_urls.crm: must be the App's URL"),
                        HasSubstr("profiles.a.tools[0].mcp.server_url: required non-empty string"),
                        HasSubstr("profiles.a.tools[1].mcp.server_url: 'ftp://x/mcp' must start "
                                  "with http:// or https://"),
                        HasSubstr("profiles.a.tools[1].mcp.require_approval: must be always or "
                                  "never"))));
}

}  // namespace
}  // namespace agentgateway
