// Hosted tool -> MCP / serving endpoint mapping, each tool type and the bad inputs; and one
// mapped uc_function called for real through McpClient against the emulator.
#include "server/local/tool_endpoints.h"

#include <future>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "server/local/mcp_client.h"
#include "tests/local/local_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ToolEndpointConfig Config() {
  ToolEndpointConfig c;
  c.host = "adb-123.azuredatabricks.net/";
  c.app_urls = {{"crm-mcp", "https://crm-mcp-123.databricksapps.com/"}};
  return c;
}

TEST(ToolEndpointsTest, GenieSpace) {
  auto e = ResolveHostedTool(R"({"type":"genie_space","genie_space":{"id":"01ef5a","description":"Sales"}})",
                             Config());
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->url, "https://adb-123.azuredatabricks.net/api/2.0/mcp/genie/01ef5a");
  EXPECT_EQ(e->kind, ToolEndpointKind::kMcp);
  EXPECT_THAT(e->mcp_tool, IsEmpty());
  EXPECT_THAT(e->user_scopes, ElementsAre("genie", "dashboards.genie"));
  EXPECT_TRUE(e->user_auth_allowed);
  EXPECT_EQ(e->description, "Sales");
}

TEST(ToolEndpointsTest, UcFunctionPerFunctionAndPerSchema) {
  const char* tool = R"({"type":"uc_function","uc_function":{"name":"system.ai.python_exec"}})";
  auto e = ResolveHostedTool(tool, Config());
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->url, "https://adb-123.azuredatabricks.net/api/2.0/mcp/functions/system/ai/python_exec");
  EXPECT_EQ(e->mcp_tool, "system__ai__python_exec");
  EXPECT_THAT(e->user_scopes, ElementsAre("mcp.functions", "unity-catalog"));
  ToolEndpointConfig schema = Config();
  schema.uc_function_server_per_function = false;
  e = ResolveHostedTool(tool, schema);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->url, "https://adb-123.azuredatabricks.net/api/2.0/mcp/functions/system/ai");
  EXPECT_EQ(e->mcp_tool, "system__ai__python_exec");
}

TEST(ToolEndpointsTest, UcConnectionKnowledgeAssistantAppAndGenericMcp) {
  auto conn = ResolveHostedTool(R"({"type":"uc_connection","uc_connection":{"name":"github_conn"}})",
                                Config());
  ASSERT_THAT(conn, IsOk());
  EXPECT_EQ(conn->url, "https://adb-123.azuredatabricks.net/api/2.0/mcp/external/github_conn");
  EXPECT_THAT(conn->user_scopes, ElementsAre("catalog.connections"));
  EXPECT_TRUE(conn->needs_approval);
  EXPECT_EQ(conn->server_label, "github_conn");

  auto ka = ResolveHostedTool(
      R"({"type":"knowledge_assistant","knowledge_assistant":{"knowledge_assistant_id":"ka-hr-docs"}})",
      Config());
  ASSERT_THAT(ka, IsOk());
  EXPECT_EQ(ka->kind, ToolEndpointKind::kServingEndpoint);
  EXPECT_EQ(ka->name, "ka-hr-docs");
  EXPECT_EQ(ka->url, "https://adb-123.azuredatabricks.net/serving-endpoints/ka-hr-docs/invocations");
  EXPECT_THAT(ka->user_scopes, ElementsAre("model-serving", "serving.serving-endpoints"));

  auto app = ResolveHostedTool(R"({"type":"app","app":{"name":"crm-mcp"}})", Config());
  ASSERT_THAT(app, IsOk());
  EXPECT_EQ(app->url, "https://crm-mcp-123.databricksapps.com/mcp");
  EXPECT_FALSE(app->user_auth_allowed);
  EXPECT_TRUE(app->needs_approval);
  EXPECT_EQ(app->server_label, "crm-mcp");
  EXPECT_FALSE(ka->needs_approval);

  auto mcp = ResolveHostedTool(R"({"type":"mcp","mcp":{"server_url":"https://mcp.example.com/x"}})",
                               ToolEndpointConfig{});  // needs no workspace host
  ASSERT_THAT(mcp, IsOk());
  EXPECT_EQ(mcp->url, "https://mcp.example.com/x");
  EXPECT_THAT(mcp->user_scopes, IsEmpty());
  EXPECT_FALSE(mcp->needs_approval);
  EXPECT_EQ(mcp->server_label, "mcp.example.com");

  auto asking = ResolveHostedTool(
      R"({"type":"mcp","mcp":{"server_url":"http://127.0.0.1:9/mcp","server_label":"notes",)"
      R"("require_approval":"always"}})",
      ToolEndpointConfig{});
  ASSERT_THAT(asking, IsOk());
  EXPECT_TRUE(asking->needs_approval);
  EXPECT_EQ(asking->server_label, "notes");
}

TEST(ToolEndpointsTest, AToolMayBoundItsOwnCalls) {
  const ToolEndpointConfig c = Config();
  auto plain = ResolveHostedTool(R"({"type":"genie_space","genie_space":{"id":"g"}})", c);
  ASSERT_THAT(plain, IsOk());
  EXPECT_FALSE(plain->timeout.has_value());
  auto number = ResolveHostedTool(
      R"({"type":"genie_space","genie_space":{"id":"g","timeout_ms":300000}})", c);
  ASSERT_THAT(number, IsOk());
  EXPECT_EQ(number->timeout, std::chrono::milliseconds(300000));
  // A YAML config reads tool settings as strings.
  auto text = ResolveHostedTool(
      R"({"type":"uc_function","uc_function":{"name":"a.b.c","timeout_ms":"1500"}})", c);
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->timeout, std::chrono::milliseconds(1500));
  for (const char* bad : {"0", "-5", "\"soon\"", "86400001", "1.5"}) {
    auto refused = ResolveHostedTool(
        absl::StrCat(R"({"type":"genie_space","genie_space":{"id":"g","timeout_ms":)", bad, "}}"),
        c);
    EXPECT_THAT(refused.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("timeout_ms must be a whole number")))
        << bad;
  }
}

// The run's Databricks token goes to the workspace's own servers and the configured Apps only;
// a generic mcp server anywhere else is called without it.
TEST(ToolEndpointsTest, OnlyWorkspaceServersGetTheToken) {
  const ToolEndpointConfig c = Config();  // workspace https://adb-123.azuredatabricks.net
  auto genie = ResolveHostedTool(R"({"type":"genie_space","genie_space":{"id":"g"}})", c);
  ASSERT_THAT(genie, IsOk());
  EXPECT_TRUE(genie->send_token);
  auto app = ResolveHostedTool(R"({"type":"app","app":{"name":"crm-mcp"}})", c);
  ASSERT_THAT(app, IsOk());
  EXPECT_TRUE(app->send_token);
  auto own = ResolveHostedTool(
      R"({"type":"mcp","mcp":{"server_url":"https://adb-123.azuredatabricks.net/api/2.0/mcp/x"}})",
      c);
  ASSERT_THAT(own, IsOk());
  EXPECT_TRUE(own->send_token);
  for (const char* url : {"https://mcp.example.com/x", "http://adb-123.azuredatabricks.net/x",
                          "https://adb-123.azuredatabricks.net:8443/x",
                          "https://adb-123.azuredatabricks.net.evil.example/x"}) {
    auto other = ResolveHostedTool(
        absl::StrCat(R"({"type":"mcp","mcp":{"server_url":")", url, R"("}})"), c);
    ASSERT_THAT(other, IsOk()) << url;
    EXPECT_FALSE(other->send_token) << url;
  }
  auto no_workspace = ResolveHostedTool(
      R"({"type":"mcp","mcp":{"server_url":"https://mcp.example.com/x"}})", ToolEndpointConfig{});
  ASSERT_THAT(no_workspace, IsOk());
  EXPECT_FALSE(no_workspace->send_token);
}

TEST(ToolEndpointsTest, ScopeOverridesReplaceTheDefaults) {
  ToolEndpointConfig c = Config();
  c.scope_overrides["uc_function"] = {"unity-catalog"};
  auto e = ResolveHostedTool(R"({"type":"uc_function","uc_function":{"name":"a.b.c"}})", c);
  ASSERT_THAT(e, IsOk());
  EXPECT_THAT(e->user_scopes, ElementsAre("unity-catalog"));
}

TEST(ToolEndpointsTest, BadInputsAreInvalidArgumentWithAReason) {
  const auto bad = [](std::string_view json, std::string_view why,
                      ToolEndpointConfig config = Config()) {
    EXPECT_THAT(ResolveHostedTool(json, config),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(why))))
        << json;
  };
  bad("not json", "JSON object");
  bad(R"([1])", "JSON object");
  bad(R"({"type":"genie_space"})", "missing its `genie_space` object");
  bad(R"({"type":"genie_space","genie_space":{}})", "`id`");
  bad(R"({"type":"genie_space","genie_space":{"id":"../admin"}})", "not a valid name");
  bad(R"({"type":"uc_function","uc_function":{"name":"a.b"}})", "catalog.schema.function");
  bad(R"({"type":"uc_function","uc_function":{"name":"a.b.c.d"}})", "catalog.schema.function");
  bad(R"({"type":"uc_function","uc_function":{"name":"a.b/x.c"}})", "not a valid name");
  bad(R"({"type":"uc_connection","uc_connection":{"name":""}})", "non-empty");
  bad(R"({"type":"knowledge_assistant","knowledge_assistant":{"id":"x"}})",
      "knowledge_assistant_id");
  bad(R"({"type":"app","app":{"name":"unknown-app"}})", "no URL configured");
  bad(R"({"type":"mcp","mcp":{"server_url":"ftp://x"}})", "http(s)");
  bad(R"({"type":"mcp","mcp":{"server_url":"https://x/m","require_approval":"sometimes"}})",
      "require_approval");
  bad(R"({"type":"web_search","web_search":{}})", "unknown hosted tool type");
  bad(R"({"type":"genie_space","genie_space":{"id":"x"}})", "no workspace host",
      ToolEndpointConfig{});
}

class MappedToolTest : public testing::LocalTest {};

TEST_F(MappedToolTest, MappedUcFunctionRunsOnTheEmulator) {
  ToolEndpointConfig config;
  config.host = emulator_->BaseUrl();
  auto endpoint = ResolveHostedTool(
      R"({"type":"uc_function","uc_function":{"name":"system.ai.python_exec"}})", config);
  ASSERT_THAT(endpoint, IsOk());
  auto client = McpClient::Create(pool_.get());
  ASSERT_THAT(client, IsOk());
  std::promise<ToolOutcome> done;
  auto future = done.get_future();
  (*client)->CallTool(endpoint->url, {"dev-token", "app"}, endpoint->mcp_tool,
                      R"j({"code":"print(1)"})j",
                      [&done](ToolOutcome o) { done.set_value(std::move(o)); });
  auto outcome = testing::Await(future);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->is_error) << outcome->text;
  EXPECT_THAT(outcome->text, HasSubstr("system__ai__python_exec"));
}

}  // namespace
}  // namespace agentgateway::local
