// The Supervisor API drop-in's profile (agent_from_request): how the config file declares it,
// and the agent each request defines (AgentFromRequest), checked like a config file's tools.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/config.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway {
namespace {

using ::agentgateway::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kDropinYaml[] = R"(
default_profile: agents
profiles:
  agents:
    model: m
    tools: [{type: genie_space, genie_space: {id: s, description: d}}]
  dropin:
    engine: local
    auth: user
    agent_from_request: true
)";

TEST(AgentFromRequestTest, AProfileServesTheDropinRouteWithoutModelOrTools) {
  auto config = ParseConfig(kDropinYaml, "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->dropin_profile, "dropin");
  const Profile* p = config->FindProfile("dropin");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->agent_from_request);
  EXPECT_FALSE(config->FindProfile("agents")->agent_from_request);
}

TEST(AgentFromRequestTest, TheConfigRefusesWhatCannotWork) {
  auto config = ParseConfig(R"(
default_profile: a
profiles:
  a: {model: m, agent_from_request: true}
  b: {engine: local, agent_from_request: true, instructions: x,
      tools: [{type: genie_space, genie_space: {id: s, description: d}}]}
  c: {model: m, engine: local, agent_from_request: yes please}
)",
                            "c.yaml");
  EXPECT_THAT(config.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("profiles.a.agent_from_request: needs engine: local"),
                             HasSubstr("profiles.b.agent_from_request: each request brings its "
                                       "own instructions and tools"),
                             HasSubstr("profiles.b.agent_from_request: profile 'a' already "
                                       "serves the drop-in route"),
                             HasSubstr("profiles.c.agent_from_request: must be true or false"))));
}

TEST(AgentFromRequestTest, TheRequestDefinesModelInstructionsAndTools) {
  auto config = ParseConfig(kDropinYaml, "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const Profile& base = *config->FindProfile("dropin");
  // A function tool's JSON Schema is kept byte for byte (numbers and booleans included).
  const std::string function =
      R"({"type":"function","name":"lookup","parameters":{"type":"object","properties":)"
      R"({"n":{"type":"integer","maximum":10}},"additionalProperties":false}})";
  auto agent = AgentFromRequest(
      base, "databricks-claude-sonnet-4-5",
      R"({"instructions":"Be brief.","tools":[{"type":"genie_space","genie_space":)"
      R"({"id":"01ef","description":"Sales"}},{"type":"uc_function","uc_function":)"
      R"({"name":"main.default.add"}}],"temperature":0.2,)"
      R"("trace_destination":{"catalog_name":"c","schema_name":"s"}})");
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->name, "dropin");
  EXPECT_EQ(agent->auth, "user");
  EXPECT_EQ(agent->engine, "local");
  EXPECT_EQ(agent->model, "databricks-claude-sonnet-4-5");
  EXPECT_EQ(agent->instructions, "Be brief.");
  ASSERT_EQ(agent->tools.size(), 2u);
  EXPECT_EQ(agent->tools[0].type, "genie_space");
  EXPECT_EQ(agent->tools[0].json,
            R"({"type":"genie_space","genie_space":{"id":"01ef","description":"Sales"}})");
  EXPECT_EQ(agent->tools[1].type, "uc_function");
  EXPECT_EQ(agent->trace_destination_json, R"({"catalog_name":"c","schema_name":"s"})");
  EXPECT_TRUE(agent->agent_from_request);  // the request's fields are in it

  auto with_function = AgentFromRequest(base, "m", R"({"tools":[)" + function + "]}");
  ASSERT_TRUE(with_function.ok()) << with_function.status();
  ASSERT_EQ(with_function->tools.size(), 1u);
  EXPECT_EQ(with_function->tools[0].json, function);
}

TEST(AgentFromRequestTest, EveryProblemOfTheRequestsAgentIsNamed) {
  auto config = ParseConfig(kDropinYaml, "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const Profile& base = *config->FindProfile("dropin");
  EXPECT_THAT(AgentFromRequest(base, "", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request: model: required")));
  auto bad = AgentFromRequest(
      base, "m",
      R"({"instructions":7,"tools":[{"type":"genie_space"},{"type":"shell"},)"
      R"({"type":"function","name":"no spaces"},{"type":"uc_function","uc_function":)"
      R"({"name":"just_one"}},"oops"],"trace_destination":{"catalog_name":"c"}})");
  EXPECT_THAT(bad.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("request: instructions: must be a string"),
                             HasSubstr("request: tools[0].genie_space: required"),
                             HasSubstr("request: tools[1].type: unknown tool type 'shell'"),
                             HasSubstr("request: tools[2].name: function name 'no spaces'"),
                             HasSubstr("'just_one' must be catalog.schema.function"),
                             HasSubstr("request: tools[4]: must be a mapping"),
                             HasSubstr("request: trace_destination: must be an object with "
                                       "catalog_name and schema_name"))));
  // Hosted tools next to a client function: refused unless the profile allows the mix.
  EXPECT_THAT(AgentFromRequest(base, "m",
                               R"({"tools":[{"type":"genie_space","genie_space":{"id":"s",)"
                               R"("description":"d"}},{"type":"function","name":"f"}]})")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request: tools: mixes 1")));
  // A generic mcp tool would have the gateway call any URL a caller names.
  EXPECT_THAT(AgentFromRequest(base, "m",
                               R"({"tools":[{"type":"mcp","mcp":{"server_url":)"
                               R"("http://169.254.169.254/mcp"}}]})")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tools[0].type: a generic mcp tool is configured in a profile")));
  EXPECT_THAT(AgentFromRequest(base, "m", R"({"tools":{"type":"function"}})").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tools: must be an array of tool objects")));
}

TEST(AgentFromRequestTest, AllowedModelsStillApply) {
  Profile base{.name = "d", .engine = "local", .allowed_models = {"a", "b"},
               .agent_from_request = true};
  EXPECT_TRUE(AgentFromRequest(base, "b", "").ok());
  EXPECT_THAT(AgentFromRequest(base, "c", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("model: 'c' is not allowed here (allowed: a, b)")));
}

}  // namespace
}  // namespace agentgateway
