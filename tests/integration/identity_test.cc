// Identity end to end against the emulator, which knows who each token stands for: the app via
// OAuth M2M (single flight, endpoint down then back), the user via a forwarded token (never
// mixed up between callers, never replaced by the app's), JWT scope refusal, and a canary
// secret that must never reach a log line or a response body.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>

#include "server/logging.h"
#include "tests/integration/stack.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

// Two profiles using a Genie space: one as the app, one as the requesting user.
Config IdentityConfig() {
  auto config = ParseConfig(R"(
identity:
  user_api_scopes: [ai-gateway, genie]
default_profile: app
profiles:
  app:
    model: m
    tools: [{type: genie_space, genie_space: {id: sales, description: Sales}}]
  user:
    model: m
    auth: user
    tools: [{type: genie_space, genie_space: {id: sales, description: Sales}}]
)",
                            "identity-test.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

std::string IdentityOf(const std::string& response_json) {
  json::value v = json::parse(response_json);
  return std::string(v.at("metadata").at("emulator_identity").as_string());
}

// Runs `n` Invoke calls concurrently on the callback API; returns their outcomes in order.
struct Outcome {
  grpc::Status status;
  v1::InvokeResponse response;
};
std::vector<Outcome> InvokeConcurrently(
    v1::AgentService::Stub& stub, int n,
    const std::function<void(int, grpc::ClientContext&, v1::InvokeRequest&)>& prepare) {
  std::vector<Outcome> outcomes(n);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::InvokeRequest> requests(n);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  for (int i = 0; i < n; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts[i]->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    prepare(i, *contexts[i], requests[i]);
  }
  for (int i = 0; i < n; ++i) {
    stub.async()->Invoke(contexts[i].get(), &requests[i], &outcomes[i].response,
                         [&, i](grpc::Status status) {
                           std::lock_guard<std::mutex> lock(mu);
                           outcomes[i].status = std::move(status);
                           ++done;
                           cv.notify_all();
                         });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == n; });
  return outcomes;
}

class AppIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = IdentityConfig();
    StackOptions options;
    options.config = &config_;
    options.oauth_m2m = true;
    options.require_known_tokens = true;
    stack_ = Stack::Start(options);
    ASSERT_NE(stack_, nullptr);
  }
  Config config_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(AppIdentityTest, TwoHundredConcurrentRequestsShareOneTokenCall) {
  auto outcomes = InvokeConcurrently(stack_->grpc(), 200, [](int i, grpc::ClientContext&,
                                                             v1::InvokeRequest& r) {
    r = TextRequest("sales question " + std::to_string(i));
  });
  for (const Outcome& o : outcomes) {
    ASSERT_TRUE(o.status.ok()) << o.status.error_message();
    EXPECT_EQ(IdentityOf(o.response.response_json()), "app:gw-client");
  }
  EXPECT_EQ(stack_->EmulatorCounter("token_requests"), 1);
}

TEST_F(AppIdentityTest, TokenEndpointDownThenBack) {
  stack_->EmulatorPost("/emulator/token-endpoint?fail=503");
  grpc::ClientContext ctx;
  v1::InvokeResponse response;
  grpc::Status status = stack_->grpc().Invoke(&ctx, TextRequest("hello"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("/oidc/v1/token"));
  EXPECT_EQ(stack_->EmulatorCounter("responses_requests"), 0);  // nothing sent without a token
  // Readiness says why the gateway cannot serve; liveness does not care.
  auto ready = stack_->Get("/readyz");
  EXPECT_EQ(ready.head.status, 503);
  EXPECT_THAT(ready.body, HasSubstr("the app's upstream token cannot be obtained"));
  EXPECT_EQ(stack_->Get("/livez").head.status, 200);

  stack_->EmulatorPost("/emulator/token-endpoint?fail=0");
  // Back-off here is at most 5 ms; each attempt is one real RPC (bounded, no sleeps).
  grpc::Status last;
  for (int attempt = 0; attempt < 200; ++attempt) {
    grpc::ClientContext retry;
    last = stack_->grpc().Invoke(&retry, TextRequest("hello again"), &response);
    if (last.ok()) break;
    EXPECT_EQ(last.error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  ASSERT_TRUE(last.ok()) << last.error_message();
  EXPECT_EQ(IdentityOf(response.response_json()), "app:gw-client");
  EXPECT_GE(stack_->EmulatorCounter("token_failures"), 1);
  EXPECT_EQ(stack_->Get("/readyz").head.status, 200);
}

class UserIdentityTest : public AppIdentityTest {};

TEST_F(UserIdentityTest, MissingForwardedTokenIsRefusedWithZeroUpstreamCalls) {
  auto rest = stack_->Post("/agents/user/invocations",
                           R"({"input":[{"role":"user","content":"sales?"}]})");
  EXPECT_EQ(rest.head.status, 401);
  EXPECT_THAT(rest.body, HasSubstr("X-Forwarded-Access-Token"));
  grpc::ClientContext ctx;
  v1::InvokeRequest request = TextRequest("sales?");
  request.set_profile("user");
  v1::InvokeResponse response;
  EXPECT_EQ(stack_->grpc().Invoke(&ctx, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stack_->EmulatorCounter("responses_requests"), 0);
  EXPECT_EQ(stack_->EmulatorCounter("token_requests"), 0);  // never the app identity instead
}

TEST_F(UserIdentityTest, ThousandConcurrentRequestsFromFiftyUsersEachRunAsTheirCaller) {
  constexpr int kUsers = 50;
  std::vector<std::string> tokens;
  for (int u = 0; u < kUsers; ++u) {
    tokens.push_back(stack_->MintUserToken("user" + std::to_string(u) + "@example.com",
                                           {"ai-gateway", "genie"}, u % 2 ? "jwt" : "opaque"));
  }
  auto outcomes = InvokeConcurrently(stack_->grpc(), 1000, [&](int i, grpc::ClientContext& ctx,
                                                              v1::InvokeRequest& r) {
    r = TextRequest("sales for request " + std::to_string(i));
    r.set_profile("user");
    ctx.AddMetadata("x-forwarded-access-token", tokens[i % kUsers]);
  });
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(outcomes[i].status.ok()) << i << ": " << outcomes[i].status.error_message();
    EXPECT_EQ(IdentityOf(outcomes[i].response.response_json()),
              "user:user" + std::to_string(i % kUsers) + "@example.com")
        << "request " << i;
  }
  EXPECT_EQ(stack_->EmulatorCounter("token_requests"), 0);
}

TEST_F(UserIdentityTest, RestDoorForwardsTheUserToken) {
  std::string token = stack_->MintUserToken("rest@example.com", {"ai-gateway", "genie"});
  auto result = stack_->Post("/agents/user/invocations",
                             R"({"input":[{"role":"user","content":"sales?"}]})",
                             {{"X-Forwarded-Access-Token", token}});
  ASSERT_EQ(result.head.status, 200) << result.body;
  EXPECT_EQ(IdentityOf(result.body), "user:rest@example.com");
}

TEST_F(UserIdentityTest, JwtLackingAToolScopeIsRefusedBeforeTheUpstream) {
  std::string token = stack_->MintUserToken("bob@example.com", {"ai-gateway"}, "jwt");
  auto result = stack_->Post("/agents/user/invocations",
                             R"({"input":[{"role":"user","content":"sales?"}]})",
                             {{"X-Forwarded-Access-Token", token}});
  EXPECT_EQ(result.head.status, 403);
  EXPECT_THAT(result.body, HasSubstr("genie"));
  EXPECT_EQ(stack_->EmulatorCounter("responses_requests"), 0);
}

TEST_F(UserIdentityTest, ExpiredTokenIsTheUpstreamsUnauthenticated) {
  std::string token = stack_->MintUserToken("old@example.com", {"ai-gateway", "genie"}, "opaque", 0);
  auto result = stack_->Post("/agents/user/invocations",
                             R"({"input":[{"role":"user","content":"sales?"}]})",
                             {{"X-Forwarded-Access-Token", token}});
  EXPECT_EQ(result.head.status, 401);
  EXPECT_THAT(result.body, HasSubstr("expired"));
}

// A canary secret and canary user tokens go through successes and failures; afterwards no log
// line and no response body contains any of them.
TEST(CanaryTest, SecretsNeverReachLogsOrResponses) {
  std::mutex mu;
  std::vector<std::string> lines;
  SetLogSinkForTesting([&](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  });
  const std::string canary_secret = "canary-SECRET-7f3a9c1e5b2d4f6a8c0e";
  Config config = IdentityConfig();
  StackOptions options;
  options.config = &config;
  options.oauth_m2m = true;
  options.oauth_client_secret = canary_secret;
  options.require_known_tokens = true;
  std::vector<std::string> secrets = {canary_secret};
  std::vector<std::string> bodies;
  {
    auto stack = Stack::Start(options);
    ASSERT_NE(stack, nullptr);
    std::string good = stack->MintUserToken("carol@example.com", {"ai-gateway", "genie"}, "jwt");
    std::string narrow = stack->MintUserToken("dan@example.com", {"ai-gateway"}, "jwt");
    std::string expired = stack->MintUserToken("eve@example.com", {"ai-gateway", "genie"}, "opaque", 0);
    secrets.insert(secrets.end(), {good, narrow, expired});
    const std::string body = R"({"input":[{"role":"user","content":"sales?"}]})";
    for (const std::string& token : {good, narrow, expired}) {
      bodies.push_back(stack->Post("/agents/user/invocations", body,
                                   {{"X-Forwarded-Access-Token", token}, {"X-Forwarded-User", "u"}})
                           .body);
    }
    bodies.push_back(stack->Post("/invocations", body).body);  // app identity via OAuth
    stack->EmulatorPost("/emulator/token-endpoint?fail=401");
    stack->EmulatorPost("/emulator/token-endpoint?fail=0");
    bodies.push_back(stack->Post("/invocations",
                                 R"({"input":[{"role":"user","content":"x [[fault:500]]"}]})")
                         .body);
  }
  SetLogSinkForTesting(nullptr);
  ASSERT_GE(lines.size(), 5u);  // one line per call at least
  bool saw_user = false;
  for (const std::string& line : lines) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(line.find(secret), std::string::npos) << "log line leaks a secret: " << line;
    }
    saw_user = saw_user || line.find(R"("user":"u")") != std::string::npos;
  }
  EXPECT_TRUE(saw_user) << "X-Forwarded-User should reach the call log";
  for (const std::string& body : bodies) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(body.find(secret), std::string::npos) << "response leaks a secret: " << body;
    }
  }
}

}  // namespace
}  // namespace agentgateway::testing
