// Start-up and per-request scope checks for `auth: user` profiles.
#include "server/identity/scope_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/server/identity/test_jwt.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::identity {
namespace {

using ::agentgateway::identity::testing::MakeJwt;
using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

ToolSpec Tool(std::string type, std::string name = "x") {
  return {type, absl::StrCat(R"({"type":")", type, R"(",")", type, R"(":{"name":")", name, R"("}})")};
}

Profile UserProfile(std::string name, std::vector<ToolSpec> tools, std::string auth = "user") {
  Profile p;
  p.name = std::move(name);
  p.model = "m";
  p.auth = std::move(auth);
  p.tools = std::move(tools);
  return p;
}

Config ConfigWith(std::vector<Profile> profiles) {
  Config config;
  config.source = "gateway.yaml";
  for (Profile& p : profiles) config.profiles[p.name] = std::move(p);
  return config;
}

class CheckUserProfilesTest : public ::testing::Test {
 protected:
  const ScopeTable table_ = ScopeTable::Defaults();
};

TEST_F(CheckUserProfilesTest, CoveredProfilesPass) {
  const Config config = ConfigWith({UserProfile(
      "analyst", {Tool("genie_space"), Tool("uc_function"), Tool("knowledge_assistant"),
                  Tool("uc_connection"), Tool("function")})});
  EXPECT_THAT(CheckUserProfiles(config,
                                {"ai-gateway", "genie", "mcp.functions", "model-serving",
                                 "catalog.connections"},
                                table_),
              IsOk());
}

TEST_F(CheckUserProfilesTest, AlternativesAreAccepted) {
  const Config config = ConfigWith({UserProfile(
      "analyst", {Tool("genie_space"), Tool("uc_function"), Tool("knowledge_assistant")})});
  EXPECT_THAT(CheckUserProfiles(config,
                                {"ai-gateway", "dashboards.genie", "unity-catalog",
                                 "serving.serving-endpoints"},
                                table_),
              IsOk());
}

TEST_F(CheckUserProfilesTest, AppProfilesAreNotChecked) {
  const Config config = ConfigWith({UserProfile("ops", {Tool("app", "ticket-mcp")}, "app")});
  EXPECT_THAT(CheckUserProfiles(config, {}, table_), IsOk());
}

TEST_F(CheckUserProfilesTest, ListsEveryMissingScopeAndAppToolInOneMessage) {
  const Config config = ConfigWith(
      {UserProfile("analyst", {Tool("genie_space"), Tool("genie_space"), Tool("uc_connection"),
                               Tool("app", "ticket-mcp")}),
       UserProfile("helper", {Tool("knowledge_assistant")}),
       UserProfile("fine", {Tool("function")})});
  const absl::Status status = CheckUserProfiles(config, {"ai-gateway"}, table_);
  EXPECT_THAT(
      status,
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("gateway.yaml: 2 profile(s)"),
                     HasSubstr("\nprofile 'analyst' (auth: user): missing user scope(s): genie (or "
                               "dashboards.genie), catalog.connections; tool app 'ticket-mcp' "
                               "cannot run with user authorization"),
                     HasSubstr("\nprofile 'helper' (auth: user): missing user scope(s): "
                               "model-serving (or serving.serving-endpoints)"),
                     Not(HasSubstr("'fine'")))));
}

TEST_F(CheckUserProfilesTest, EachCaseHasItsLine) {
  struct Case {
    std::vector<ToolSpec> tools;
    std::vector<std::string> scopes;
    std::string line;
  };
  const Case cases[] = {
      {{}, {}, "profile 'p' (auth: user): missing user scope(s): ai-gateway"},
      {{Tool("genie_space")}, {"ai-gateway"},
       "profile 'p' (auth: user): missing user scope(s): genie (or dashboards.genie)"},
      {{Tool("uc_function")}, {"ai-gateway"},
       "profile 'p' (auth: user): missing user scope(s): mcp.functions (or unity-catalog)"},
      {{Tool("knowledge_assistant")}, {"ai-gateway"},
       "profile 'p' (auth: user): missing user scope(s): model-serving (or "
       "serving.serving-endpoints)"},
      {{Tool("uc_connection")}, {"ai-gateway"},
       "profile 'p' (auth: user): missing user scope(s): catalog.connections"},
      {{Tool("app", "ticket-mcp")}, {"ai-gateway"},
       "profile 'p' (auth: user): tool app 'ticket-mcp' cannot run with user authorization"},
      {{Tool("app", "a"), Tool("app", "b")}, {"all-apis"},
       "profile 'p' (auth: user): tool app 'a' cannot run with user authorization; tool app 'b' "
       "cannot run with user authorization"},
  };
  for (const Case& c : cases) {
    const absl::Status status =
        CheckUserProfiles(ConfigWith({UserProfile("p", c.tools)}), c.scopes, table_);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(c.line)));
    // The line is whole: nothing else follows it.
    EXPECT_TRUE(absl::EndsWith(status.message(), c.line)) << status;
  }
}

TEST(CheckTokenScopesTest, JwtLackingScopesIsPermissionDenied) {
  const Profile profile =
      UserProfile("analyst", {Tool("genie_space"), Tool("uc_connection"), Tool("function")});
  const Secret token{MakeJwt(R"({"sub":"u@example.com","scp":"ai-gateway sql"})")};
  EXPECT_THAT(CheckTokenScopes(profile, token, ScopeTable::Defaults()),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("profile 'analyst'"),
                             HasSubstr(": genie (or dashboards.genie), catalog.connections "),
                             HasSubstr("token scopes: [ai-gateway, sql]"),
                             Not(HasSubstr(token.Reveal())))));
}

TEST(CheckTokenScopesTest, MissingRequestScopeIsListed) {
  const Profile profile = UserProfile("p", {});
  EXPECT_THAT(CheckTokenScopes(profile, Secret(MakeJwt(R"({"scp":[]})")), ScopeTable::Defaults()),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(": ai-gateway ")));
}

TEST(CheckTokenScopesTest, SufficientScopesPass) {
  const Profile profile = UserProfile("p", {Tool("genie_space"), Tool("knowledge_assistant")});
  EXPECT_THAT(CheckTokenScopes(profile,
                               Secret(MakeJwt(R"({"scp":["ai-gateway","dashboards.genie",)"
                                              R"("serving.serving-endpoints"]})")),
                               ScopeTable::Defaults()),
              IsOk());
  EXPECT_THAT(CheckTokenScopes(profile, Secret(MakeJwt(R"({"scope":"all-apis"})")),
                               ScopeTable::Defaults()),
              IsOk());
}

TEST(CheckTokenScopesTest, OpaqueOrClaimlessTokensPass) {
  const Profile profile = UserProfile("p", {Tool("genie_space")});
  EXPECT_THAT(CheckTokenScopes(profile, Secret(std::string("dapi0123456789abcdef0123456789abcdef")),
                               ScopeTable::Defaults()),
              IsOk());
  EXPECT_THAT(CheckTokenScopes(profile, Secret(MakeJwt(R"({"sub":"u"})")), ScopeTable::Defaults()),
              IsOk());
}

TEST(CheckTokenScopesTest, UsesTheGivenTable) {
  ScopeTable table;
  table.tool_scopes["genie_space"] = {"my.genie"};
  const Profile profile = UserProfile("p", {Tool("genie_space")});
  EXPECT_THAT(CheckTokenScopes(profile, Secret(MakeJwt(R"({"scp":"genie"})")), table),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(": my.genie ")));
  EXPECT_THAT(CheckTokenScopes(profile, Secret(MakeJwt(R"({"scp":"my.genie"})")), table), IsOk());
}

}  // namespace
}  // namespace agentgateway::identity
