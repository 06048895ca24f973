// The Databricks App files: the committed deploy/databricks-app/ equals a fresh render of
// deploy/examples/gateway.yaml, and the renderer's rules on small configs (tool type -> grant,
// user profile -> scopes, refusals).
#include "server/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/testing/status_matchers.h"

namespace agentgateway::render {
namespace {

using ::agentgateway::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "line N: want '...' got '...'" for the first line where two texts differ.
std::string FirstDifference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(a, la));
    const bool hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "they differ only in the final newline";
    if (!ha || !hb || la != lb) {
      return "line " + std::to_string(line) + ": committed '" + (ha ? la : "<end>") +
             "', rendered '" + (hb ? lb : "<end>") + "'";
    }
  }
}

TEST(DatabricksAppFilesTest, CommittedFilesMatchAFreshRenderOfTheExampleConfig) {
  const std::string root = AG_SOURCE_DIR;
  auto files = RenderDatabricksApp(ReadFile(root + "/deploy/examples/gateway.yaml"),
                                   "deploy/examples/gateway.yaml", DatabricksAppOptions{});
  ASSERT_TRUE(files.ok()) << files.status();
  const std::pair<const char*, const std::string*> expected[] = {
      {"app.yaml", &files->app_yaml},
      {"databricks.yml", &files->databricks_yml},
      {"gateway.yaml", &files->gateway_yaml}};
  for (const auto& [name, rendered] : expected) {
    const std::string committed = ReadFile(root + "/deploy/databricks-app/" + name);
    EXPECT_TRUE(committed == *rendered)
        << "deploy/databricks-app/" << name
        << " is out of date with deploy/examples/gateway.yaml ("
        << FirstDifference(committed, *rendered)
        << ").\nRegenerate it from the repository root with\n"
           "  build/server/agent-gateway render databricks-app --config "
           "deploy/examples/gateway.yaml --out deploy/databricks-app";
  }
}

Config Parse(const std::string& yaml) {
  auto config = ParseConfig(yaml, "test.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *std::move(config) : Config{};
}

YAML::Node RenderedApp(const std::string& bundle) {
  return YAML::Load(bundle)["resources"]["apps"]["agent_gateway"];
}

// The app resource whose key is `key`, or a null node.
YAML::Node Resource(const YAML::Node& app, const std::string& key) {
  for (const YAML::Node& r : app["resources"]) {
    if (r["name"].as<std::string>() == key) return r;
  }
  return YAML::Node();
}

constexpr char kAllToolTypes[] = R"yaml(
profiles:
  ops:
    model: databricks-claude-sonnet-4-5
    allowed_models: [databricks-gpt-5]
    tools:
      - {type: genie_space, genie_space: {id: 01ab, description: Sales}}
      - {type: uc_function, uc_function: {name: main.finance.fx_rate}}
      - type: knowledge_assistant
        knowledge_assistant: {knowledge_assistant_id: ka-1, description: Docs}
      - {type: uc_connection, uc_connection: {name: github, description: GitHub}}
      - {type: app, app: {name: ticket-mcp, description: Tickets}}
)yaml";

TEST(RenderBundleTest, EachToolTypeOfAnAppProfileGetsItsGrant) {
  auto bundle = RenderBundleYaml(Parse(kAllToolTypes), {});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const YAML::Node app = RenderedApp(*bundle);
  EXPECT_EQ(app["name"].as<std::string>(), "agent-gateway");
  EXPECT_EQ(app["resources"].size(), 7u) << *bundle;

  YAML::Node model = Resource(app, "model-databricks-claude-sonnet-4-5")["serving_endpoint"];
  EXPECT_EQ(model["name"].as<std::string>(), "databricks-claude-sonnet-4-5");
  EXPECT_EQ(model["permission"].as<std::string>(), "CAN_QUERY");
  EXPECT_EQ(Resource(app, "model-databricks-gpt-5")["serving_endpoint"]["name"].as<std::string>(),
            "databricks-gpt-5");

  YAML::Node genie = Resource(app, "genie-space-01ab")["genie_space"];
  EXPECT_EQ(genie["space_id"].as<std::string>(), "01ab");
  EXPECT_EQ(genie["permission"].as<std::string>(), "CAN_RUN");

  YAML::Node function = Resource(app, "uc-function-main-finance-fx-rate")["uc_securable"];
  EXPECT_EQ(function["securable_full_name"].as<std::string>(), "main.finance.fx_rate");
  EXPECT_EQ(function["securable_type"].as<std::string>(), "FUNCTION");
  EXPECT_EQ(function["permission"].as<std::string>(), "EXECUTE");

  YAML::Node ka = Resource(app, "knowledge-assistant-ka-1")["serving_endpoint"];
  EXPECT_EQ(ka["name"].as<std::string>(), "${var.knowledge_assistant_ka_1_endpoint}");
  EXPECT_EQ(ka["permission"].as<std::string>(), "CAN_QUERY");
  EXPECT_THAT(YAML::Load(*bundle)["variables"]["knowledge_assistant_ka_1_endpoint"]["description"]
                  .as<std::string>(),
              HasSubstr("knowledge-assistants/ka-1"));

  YAML::Node connection = Resource(app, "uc-connection-github")["uc_securable"];
  EXPECT_EQ(connection["securable_full_name"].as<std::string>(), "github");
  EXPECT_EQ(connection["securable_type"].as<std::string>(), "CONNECTION");
  EXPECT_EQ(connection["permission"].as<std::string>(), "USE_CONNECTION");

  YAML::Node other_app = Resource(app, "app-ticket-mcp")["app"];
  EXPECT_EQ(other_app["name"].as<std::string>(), "ticket-mcp");
  EXPECT_EQ(other_app["permission"].as<std::string>(), "CAN_USE");

  EXPECT_FALSE(app["user_api_scopes"]) << "no user profile, no scopes configured";
}

TEST(RenderBundleTest, KnownKnowledgeAssistantEndpointNeedsNoVariable) {
  DatabricksAppOptions options;
  options.knowledge_assistant_endpoints["ka-1"] = "ka-1234abcd-endpoint";
  auto bundle = RenderBundleYaml(Parse(kAllToolTypes), options);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(Resource(RenderedApp(*bundle), "knowledge-assistant-ka-1")["serving_endpoint"]["name"]
                .as<std::string>(),
            "ka-1234abcd-endpoint");
  EXPECT_FALSE(YAML::Load(*bundle)["variables"]);
}

TEST(RenderBundleTest, UserProfileGetsTheConfiguredScopesAndNoToolGrants) {
  auto bundle = RenderBundleYaml(Parse(R"yaml(
identity:
  user_api_scopes: [ai-gateway, dashboards.genie, unity-catalog]
profiles:
  analyst:
    model: m
    auth: user
    tools:
      - {type: genie_space, genie_space: {id: g1}}
      - {type: uc_function, uc_function: {name: c.s.f}}
)yaml"),
                                 {});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const YAML::Node app = RenderedApp(*bundle);
  EXPECT_EQ(app["user_api_scopes"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"ai-gateway", "dashboards.genie", "unity-catalog"}));
  EXPECT_FALSE(app["resources"]) << "tools of user profiles run as the caller: " << *bundle;
  EXPECT_THAT(*bundle, HasSubstr("#   genie space g1\n"));
  EXPECT_THAT(*bundle, HasSubstr("#   function c.s.f\n"));
}

TEST(RenderBundleTest, UserProfileWithoutItsScopesIsRefused) {
  auto bundle = RenderBundleYaml(Parse(R"yaml(
identity: {user_api_scopes: [ai-gateway]}
profiles:
  analyst:
    model: m
    auth: user
    tools: [{type: uc_connection, uc_connection: {name: github}}]
)yaml"),
                                 {});
  EXPECT_THAT(bundle, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("missing user scope(s): catalog.connections")));
}

TEST(RenderBundleTest, AppToolInUserProfileIsRefused) {
  auto bundle = RenderBundleYaml(Parse(R"yaml(
identity: {user_api_scopes: [all-apis]}
profiles:
  analyst: {model: m, auth: user, tools: [{type: app, app: {name: ticket-mcp}}]}
)yaml"),
                                 {});
  EXPECT_THAT(bundle, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("app 'ticket-mcp' cannot run with user authorization")));
}

TEST(RenderBundleTest, UserProfileBehindAnUntrustedProxyIsRefused) {
  auto bundle = RenderBundleYaml(Parse(R"yaml(
identity: {trusted_proxy: false, user_api_scopes: [ai-gateway]}
profiles:
  analyst: {model: m, auth: user}
)yaml"),
                                 {});
  EXPECT_THAT(bundle, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("identity.trusted_proxy is false")));
}

TEST(RenderBundleTest, TlsOnTheRestDoorIsRefused) {
  auto bundle = RenderBundleYaml(Parse(R"yaml(
listen: {http: {address: "0.0.0.0:8000", tls_cert: c.pem, tls_key: k.pem}}
profiles: {p: {model: m}}
)yaml"),
                                 {});
  EXPECT_THAT(bundle, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("forwards plain HTTP")));
}

TEST(RenderBundleTest, BadAppNameIsRefused) {
  DatabricksAppOptions options;
  options.app_name = "Agent_Gateway";
  EXPECT_THAT(RenderBundleYaml(Parse("profiles: {p: {model: m}}"), options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'Agent_Gateway'")));
}

TEST(RenderBundleTest, ToolSharedByProfilesIsGrantedOnce) {
  auto bundle = RenderBundleYaml(Parse(R"yaml(
default_profile: a
profiles:
  a: {model: m, tools: [{type: genie_space, genie_space: {id: g1}}]}
  b: {model: m, tools: [{type: genie_space, genie_space: {id: g1}}]}
)yaml"),
                                 {});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(RenderedApp(*bundle)["resources"].size(), 2u) << *bundle;
  EXPECT_THAT(*bundle, HasSubstr("# profile(s): a, b\n        - name: genie-space-g1\n"));
}

TEST(RenderBundleTest, ValuesThatLookLikeOtherTypesStayStrings) {
  auto bundle = RenderBundleYaml(Parse(R"yaml(
profiles:
  p:
    model: "my:model #1"
    tools:
      - {type: genie_space, genie_space: {id: "12345"}}
      - {type: uc_connection, uc_connection: {name: "on"}}
)yaml"),
                                 {});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_THAT(*bundle, HasSubstr("space_id: \"12345\""));
  EXPECT_THAT(*bundle, HasSubstr("securable_full_name: \"on\""));
  EXPECT_THAT(*bundle, HasSubstr("name: \"my:model #1\""));
  const YAML::Node app = RenderedApp(*bundle);
  EXPECT_EQ(Resource(app, "model-my-model-1")["serving_endpoint"]["name"].as<std::string>(),
            "my:model #1");
}

TEST(RenderAppYamlTest, CommandRunsTheBinaryWithTheConfigOnTheAppPort) {
  auto app_yaml = RenderAppYaml(Parse("profiles: {p: {model: m}}"), {});
  ASSERT_TRUE(app_yaml.ok()) << app_yaml.status();
  const YAML::Node app = YAML::Load(*app_yaml);
  EXPECT_THAT(app["command"].as<std::vector<std::string>>(),
              ElementsAre("bin/agent-gateway", "--config", "gateway.yaml", "--http-listen",
                          "0.0.0.0:$DATABRICKS_APP_PORT"));
  ASSERT_EQ(app["env"].size(), 2u);
  EXPECT_EQ(app["env"][0]["name"].as<std::string>(), "AGENT_GATEWAY_LOG_LEVEL");
  EXPECT_EQ(app["env"][1]["name"].as<std::string>(), "LD_LIBRARY_PATH");
  EXPECT_EQ(app["env"][1]["value"].as<std::string>(), "lib");

  DatabricksAppOptions options;
  options.library_dir.clear();
  app_yaml = RenderAppYaml(Parse("profiles: {p: {model: m}}"), options);
  ASSERT_TRUE(app_yaml.ok());
  EXPECT_EQ(YAML::Load(*app_yaml)["env"].size(), 1u);
}

TEST(WriteDatabricksAppTest, WritesTheThreeFilesAndNamesAMissingConfig) {
  char dir_template[] = "/tmp/render_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string config_path = dir + "/gateway.in.yaml";
  std::ofstream(config_path) << "profiles: {p: {model: m}}\n";
  ASSERT_TRUE(WriteDatabricksApp(config_path, dir).ok());
  EXPECT_EQ(ReadFile(dir + "/gateway.yaml"), "profiles: {p: {model: m}}\n");
  EXPECT_THAT(ReadFile(dir + "/app.yaml"), HasSubstr("command:"));
  EXPECT_THAT(ReadFile(dir + "/databricks.yml"), HasSubstr("source_code_path: ."));
  EXPECT_THAT(WriteDatabricksApp(dir + "/missing.yaml", dir),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.yaml")));
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace agentgateway::render
