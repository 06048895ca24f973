// Environment overrides on top of the YAML file, and the --check-config report.
#include "server/config_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace agentgateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
}

Config TwoProfiles() {
  auto config = ParseConfig(R"(
default_profile: a
identity: {user_api_scopes: [ai-gateway, genie]}
profiles:
  a: {model: m}
  b:
    model: n
    auth: user
    tools:
      - {type: genie_space, genie_space: {id: space-1, description: d}}
      - {type: uc_connection, uc_connection: {name: github, description: d}}
    mcp_approvals: {approve: [github/list_issues], deny: [github]}
    limits: {max_concurrent_calls: 3, timeout_ms: 90000}
)",
                            "test.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

TEST(ConfigEnvironmentTest, OverridesWinOverTheFileAndAreNamed) {
  Config config = TwoProfiles();
  std::vector<std::string> applied;
  ASSERT_TRUE(ApplyEnvironment(FakeEnv({{"AGENTGATEWAY_HTTP_ADDRESS", "0.0.0.0:8080"},
                                        {"AGENTGATEWAY_GRPC_ADDRESS", "0.0.0.0:9090"},
                                        {"AGENTGATEWAY_UPSTREAM_BASE_URL", "https://h/ai-gateway/mlflow/v1"},
                                        {"AGENTGATEWAY_MAX_CONCURRENT_CALLS", "12"},
                                        {"AGENTGATEWAY_DRAIN_GRACE_MS", "0"},
                                        {"AGENTGATEWAY_DEFAULT_PROFILE", "b"},
                                        {"AGENTGATEWAY_TRUSTED_PROXY", "false"},
                                        {"AGENTGATEWAY_USER_API_SCOPES", "ai-gateway, genie catalog.connections"}}),
                               &config, &applied)
                  .ok());
  EXPECT_EQ(config.listen.http_address, "0.0.0.0:8080");
  EXPECT_EQ(config.listen.grpc_address, "0.0.0.0:9090");
  EXPECT_EQ(config.upstream.base_url, "https://h/ai-gateway/mlflow/v1");
  EXPECT_EQ(config.limits.max_concurrent_calls, 12u);
  EXPECT_EQ(config.limits.drain_grace.count(), 0);
  EXPECT_EQ(config.default_profile, "b");
  EXPECT_EQ(config.identity.trusted_proxy, false);
  EXPECT_THAT(config.identity.user_api_scopes,
              ElementsAre("ai-gateway", "genie", "catalog.connections"));
  EXPECT_EQ(applied.size(), 8u);
}

TEST(ConfigEnvironmentTest, UnsetVariablesLeaveTheFileAlone) {
  Config config = TwoProfiles();
  std::vector<std::string> applied;
  ASSERT_TRUE(ApplyEnvironment(FakeEnv({}), &config, &applied).ok());
  EXPECT_TRUE(applied.empty());
  EXPECT_EQ(config.default_profile, "a");
  EXPECT_EQ(config.limits.max_concurrent_calls, 1024u);
}

TEST(ConfigEnvironmentTest, EveryBadValueIsNamedAndNothingIsApplied) {
  Config config = TwoProfiles();
  absl::Status s = ApplyEnvironment(FakeEnv({{"AGENTGATEWAY_HTTP_ADDRESS", "8080"},
                                             {"AGENTGATEWAY_MAX_CONCURRENT_CALLS", "-1"},
                                             {"AGENTGATEWAY_DRAIN_GRACE_MS", "soon"},
                                             {"AGENTGATEWAY_DEFAULT_PROFILE", "zzz"},
                                             {"AGENTGATEWAY_TRUSTED_PROXY", "maybe"},
                                             {"AGENTGATEWAY_UPSTREAM_BASE_URL", "ftp://x"},
                                             {"AGENTGATEWAY_GRPC_ADDRESS", "0.0.0.0:9090"}}),
                                    &config);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("AGENTGATEWAY_HTTP_ADDRESS: '8080' must be HOST:PORT"));
  EXPECT_THAT(s.message(), HasSubstr("AGENTGATEWAY_MAX_CONCURRENT_CALLS: '-1' must be a non-negative whole number"));
  EXPECT_THAT(s.message(), HasSubstr("AGENTGATEWAY_DRAIN_GRACE_MS: 'soon'"));
  EXPECT_THAT(s.message(), HasSubstr("AGENTGATEWAY_DEFAULT_PROFILE: no profile 'zzz' in the config (known: a, b)"));
  EXPECT_THAT(s.message(), HasSubstr("AGENTGATEWAY_TRUSTED_PROXY: 'maybe' must be true or false"));
  EXPECT_THAT(s.message(), HasSubstr("AGENTGATEWAY_UPSTREAM_BASE_URL: 'ftp://x' must start with"));
  EXPECT_EQ(config.listen.grpc_address, "");  // nothing applied, the good ones included
}

TEST(ConfigReportTest, DescribesEveryProfileWithItsToolsScopesPolicyAndLimits) {
  Config config = TwoProfiles();
  std::string report = ConfigReport(config, FakeEnv({{"DATABRICKS_HOST", "adb-1.net"}}),
                                    {"AGENTGATEWAY_MAX_CONCURRENT_CALLS"});
  EXPECT_THAT(report, HasSubstr("environment overrides: AGENTGATEWAY_MAX_CONCURRENT_CALLS"));
  EXPECT_THAT(report, HasSubstr("base URL: https://adb-1.net/ai-gateway/mlflow/v1 (from DATABRICKS_HOST)"));
  EXPECT_THAT(report, HasSubstr("profiles (default: a)"));
  EXPECT_THAT(report, HasSubstr("  a: model m, engine supervisor, runs as the app"));
  EXPECT_THAT(report, HasSubstr("  b: model n, engine supervisor, runs as the requesting user"));
  EXPECT_THAT(report, HasSubstr("tool genie_space space-1 (user scope: genie | dashboards.genie)"));
  EXPECT_THAT(report, HasSubstr("tool uc_connection github (user scope: catalog.connections)"));
  EXPECT_THAT(report, HasSubstr("user token must carry: ai-gateway, genie | dashboards.genie, catalog.connections"));
  EXPECT_THAT(report, HasSubstr("MCP approvals by policy: approve github/list_issues; deny github; at most 8 rounds"));
  EXPECT_THAT(report, HasSubstr("limits: 3 concurrent calls, run time 1m30s"));
  EXPECT_THAT(report, HasSubstr("forwarded user headers trusted: no (default outside a Databricks App)"));
}

TEST(ConfigReportTest, SaysWhereTheUpstreamAndIdentityComeFrom) {
  Config config = TwoProfiles();
  std::string local = ConfigReport(config, FakeEnv({}), {});
  EXPECT_THAT(local, HasSubstr("the local emulator"));
  EXPECT_THAT(local, HasSubstr("app credentials: none set"));
  std::string app = ConfigReport(
      config, FakeEnv({{"DATABRICKS_APP_PORT", "8000"}, {"DATABRICKS_CLIENT_ID", "id"}}), {});
  EXPECT_THAT(app, HasSubstr("yes (default inside a Databricks App)"));
  EXPECT_THAT(app, HasSubstr("OAuth M2M"));
}

}  // namespace
}  // namespace agentgateway

namespace agentgateway {
namespace {

TEST(ConfigReportTest, NamesTheProfileServingTheDropinRoute) {
  auto config = ParseConfig(R"(
default_profile: dropin
profiles:
  dropin: {engine: local, auth: user, agent_from_request: true}
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  std::string report = ConfigReport(*config, [](const std::string&) { return std::string(); }, {});
  EXPECT_THAT(report, ::testing::HasSubstr(
                          "  dropin: model (from each request), engine local, runs as the "
                          "requesting user\n    serves the Supervisor API drop-in route POST "
                          "/ai-gateway/mlflow/v1/responses: each request brings its model, "
                          "instructions and tools and runs as its Authorization: Bearer token\n"));
  EXPECT_THAT(report, ::testing::Not(::testing::HasSubstr("no tools")));
}

}  // namespace
}  // namespace agentgateway
