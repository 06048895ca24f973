// Background runs (issue 5 item 4) through both front doors against the emulator: a run starts
// at once with its id, polls say in_progress (partial items pass through) then completed with
// only the produced output (the upstream's input echo cut), and the refusals: unknown id, bad
// id (nothing sent upstream), stream+background, a user-identity poll without a token, and a
// poll under the other identity kind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/integration/stack.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Config BackgroundConfig() {
  auto config = ParseConfig(R"(
identity:
  user_api_scopes: [ai-gateway]
default_profile: app
profiles:
  app:
    model: m
  user:
    model: m
    auth: user
)",
                            "background-test.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

constexpr char kQuestion[] = "What is in the background?";
constexpr char kAnswer[] = "You asked: \"What is in the background?\".";

std::string Str(const json::value& v, std::string_view key) {
  const json::value* field = v.as_object().if_contains(key);
  return field && field->is_string() ? std::string(field->as_string()) : std::string();
}

// The roles (or types, for items without one) of a Responses object's output, in order.
std::vector<std::string> OutputKinds(const json::value& response) {
  std::vector<std::string> kinds;
  for (const json::value& item : response.at("output").as_array()) {
    std::string role = Str(item, "role");
    kinds.push_back(role.empty() ? Str(item, "type") : role);
  }
  return kinds;
}

class BackgroundTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static const Config config = BackgroundConfig();
    StackOptions options;
    options.config = &config;
    stack_ = Stack::Start(options).release();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(stack_, nullptr); }

  // A REST call with headers (Stack::Get takes none).
  static upstream::HttpPool::FetchResult Call(const std::string& method, const std::string& path,
                                              const std::string& body = "",
                                              upstream::Headers headers = {}) {
    upstream::HttpRequest r;
    r.method = method;
    auto url = upstream::Url::Parse(stack_->gateway_url() + path);
    EXPECT_TRUE(url.ok()) << url.status();
    r.url = *url;
    r.headers = std::move(headers);
    if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    r.body = body;
    auto result = stack_->client_pool().Fetch(std::move(r));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : upstream::HttpPool::FetchResult{};
  }

  static std::string BackgroundBody(const std::string& input_items) {
    return R"({"input":)" + input_items + R"(,"background":true})";
  }

  static grpc::Status Poll(const std::string& id, const std::string& profile,
                           v1::InvokeResponse* response, const std::string& user_token = "") {
    grpc::ClientContext ctx;
    if (!user_token.empty()) ctx.AddMetadata("x-forwarded-access-token", user_token);
    v1::GetResponseRequest request;
    request.set_id(id);
    request.set_profile(profile);
    return stack_->grpc().GetResponse(&ctx, request, response);
  }

  static inline Stack* stack_ = nullptr;
};

TEST_F(BackgroundTest, RestStartsAtOnceThenPollsToTheAnswerWithoutTheEcho) {
  const std::string input = std::string(R"([{"role":"user","content":")") + kQuestion + R"("}])";
  auto started = stack_->Post("/responses", BackgroundBody(input));
  ASSERT_EQ(started.head.status, 200) << started.body;
  json::value run = json::parse(started.body);
  EXPECT_EQ(Str(run, "status"), "in_progress");
  const std::string id = Str(run, "id");
  ASSERT_THAT(id, StartsWith("resp_"));
  EXPECT_THAT(stack_->LastUpstreamBody(), HasSubstr(R"("background":true)"));

  // First poll: still running. (The emulator's in-progress answer holds no items yet; partial
  // items passing through untouched is covered by supervisor_engine_test.)
  auto first = stack_->Get("/responses/" + id);
  ASSERT_EQ(first.head.status, 200) << first.body;
  json::value in_progress = json::parse(first.body);
  EXPECT_EQ(Str(in_progress, "status"), "in_progress");
  EXPECT_EQ(Str(in_progress, "id"), id);
  EXPECT_THAT(OutputKinds(in_progress), Not(::testing::Contains("user")));
  EXPECT_FALSE(in_progress.as_object().contains("custom_outputs"));  // OpenAI shape

  // Second poll: done. The emulator echoes the input first (upstream quirk): cut here.
  auto second = stack_->Get("/responses/" + id);
  ASSERT_EQ(second.head.status, 200) << second.body;
  json::value completed = json::parse(second.body);
  EXPECT_EQ(Str(completed, "status"), "completed");
  EXPECT_EQ(OutputKinds(completed), std::vector<std::string>{"assistant"});
  EXPECT_EQ(Str(completed.at("output").at(0).at("content").at(0), "text"), kAnswer);
  EXPECT_THAT(second.body, Not(HasSubstr(R"("role":"user")")));

  // Both polls reached the upstream as GETs, with the app's identity.
  json::value records = json::parse(stack_->EmulatorGet("/emulator/requests?limit=2"));
  for (const json::value& r : records.at("requests").as_array()) {
    EXPECT_EQ(Str(r, "method"), "GET");
    EXPECT_EQ(Str(r, "identity"), "static");
    EXPECT_EQ(r.at("status").to_number<int>(), 200);
  }
}

TEST_F(BackgroundTest, MlflowPollUnderANamedProfileAddsCustomOutputs) {
  auto started = stack_->Post("/agents/app/invocations",
                              BackgroundBody(R"([{"role":"user","content":"hello"}])"));
  ASSERT_EQ(started.head.status, 200) << started.body;
  const std::string id = Str(json::parse(started.body), "id");
  ASSERT_FALSE(id.empty());
  auto first = stack_->Get("/agents/app/invocations/" + id);
  ASSERT_EQ(first.head.status, 200) << first.body;
  EXPECT_TRUE(json::parse(first.body).as_object().contains("custom_outputs"));
  auto second = stack_->Get("/agents/app/responses/" + id);
  ASSERT_EQ(second.head.status, 200) << second.body;
  json::value completed = json::parse(second.body);
  EXPECT_EQ(Str(completed, "status"), "completed");
  EXPECT_EQ(OutputKinds(completed), std::vector<std::string>{"assistant"});
}

TEST_F(BackgroundTest, GrpcStartsAtOnceThenPollsAndTheReplayedHistoryIsCut) {
  // A conversation with an earlier assistant turn: its text must not read as the answer.
  v1::InvokeRequest request;
  request.add_input()->set_json(R"({"role":"user","content":"Hi"})");
  request.add_input()->set_json(R"({"type":"message","role":"assistant","content":)"
                                R"([{"type":"output_text","text":"Earlier answer."}]})");
  request.add_input()->set_json(std::string(R"({"role":"user","content":")") + kQuestion + "\"}");
  request.set_extra_json(R"({"background":true})");
  v1::InvokeResponse started;
  {
    grpc::ClientContext ctx;
    grpc::Status status = stack_->grpc().Invoke(&ctx, request, &started);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(started.status(), "in_progress");
  ASSERT_THAT(started.id(), StartsWith("resp_"));

  v1::InvokeResponse first;
  ASSERT_TRUE(Poll(started.id(), "", &first).ok());
  EXPECT_EQ(first.status(), "in_progress");
  EXPECT_EQ(first.id(), started.id());

  v1::InvokeResponse done;
  grpc::Status status = Poll(started.id(), "app", &done);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(done.status(), "completed");
  EXPECT_EQ(done.output_text(), kAnswer);
  json::value completed = json::parse(done.response_json());
  EXPECT_EQ(OutputKinds(completed), std::vector<std::string>{"assistant"});
  EXPECT_THAT(done.response_json(), Not(HasSubstr("Earlier answer.")));
}

TEST_F(BackgroundTest, UnknownIdIsNotFoundWithTheUpstreamMessage) {
  auto rest = stack_->Get("/responses/resp_999999");
  EXPECT_EQ(rest.head.status, 404);
  EXPECT_THAT(rest.body, HasSubstr("Response 'resp_999999' does not exist"));
  EXPECT_THAT(rest.body, HasSubstr(R"("error":{)"));  // OpenAI error shape

  v1::InvokeResponse response;
  grpc::Status status = Poll("resp_999998", "", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("Response 'resp_999998' does not exist"));
}

TEST_F(BackgroundTest, BadIdIsRefusedAndNothingGoesUpstream) {
  const long long before = stack_->EmulatorCounter("requests_total");
  for (const std::string path : {"/responses/a%2Fb", "/responses/..%2F..%2Foidc",
                                 "/invocations/a%20b", "/agents/app/responses/x.y"}) {
    auto rest = stack_->Get(path);
    EXPECT_EQ(rest.head.status, 400) << path;
    EXPECT_THAT(rest.body, HasSubstr("invalid response id")) << path;
  }
  const std::string bad_ids[] = {"a/b", "../x", "", "resp_1?x=1", std::string(257, 'r')};
  for (const std::string& id : bad_ids) {
    v1::InvokeResponse response;
    grpc::Status status = Poll(id, "", &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << id;
    EXPECT_THAT(status.error_message(), HasSubstr("[A-Za-z0-9_-]")) << id;
  }
  EXPECT_EQ(stack_->EmulatorCounter("requests_total"), before);
}

TEST_F(BackgroundTest, StreamAndBackgroundTogetherAreRefused) {
  const long long before = stack_->EmulatorCounter("requests_total");
  auto rest = stack_->Post(
      "/invocations",
      R"({"input":[{"role":"user","content":"q"}],"stream":true,"background":true})");
  EXPECT_EQ(rest.head.status, 400) << rest.body;
  EXPECT_THAT(rest.body, HasSubstr("background"));

  grpc::ClientContext ctx;
  v1::InvokeRequest request = TextRequest("q");
  request.set_extra_json(R"({"background":true})");
  auto reader = stack_->grpc().Stream(&ctx, request);
  v1::StreamEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("background"));
  EXPECT_EQ(stack_->EmulatorCounter("requests_total"), before);
}

TEST_F(BackgroundTest, UserProfilePollNeedsTheForwardedToken) {
  const long long before = stack_->EmulatorCounter("requests_total");
  auto rest = stack_->Get("/agents/user/responses/resp_1");
  EXPECT_EQ(rest.head.status, 401) << rest.body;
  EXPECT_THAT(rest.body, HasSubstr("X-Forwarded-Access-Token"));
  v1::InvokeResponse response;
  grpc::Status status = Poll("resp_1", "user", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stack_->EmulatorCounter("requests_total"), before);
}

TEST_F(BackgroundTest, AUserRunIsPolledAsTheUserAndNeverWithTheAppIdentity) {
  const std::string token = stack_->MintUserToken("alice@example.com", {"ai-gateway"});
  auto started = Call("POST", "/agents/user/invocations",
                      BackgroundBody(R"([{"role":"user","content":"mine"}])"),
                      {{"X-Forwarded-Access-Token", token}});
  ASSERT_EQ(started.head.status, 200) << started.body;
  const std::string id = Str(json::parse(started.body), "id");
  ASSERT_FALSE(id.empty());

  // Through the app profile: refused by the gateway before anything is sent.
  const long long before = stack_->EmulatorCounter("requests_total");
  auto as_app = stack_->Get("/responses/" + id);
  EXPECT_EQ(as_app.head.status, 403) << as_app.body;
  EXPECT_THAT(as_app.body, HasSubstr("started with user identity"));
  v1::InvokeResponse response;
  EXPECT_EQ(Poll(id, "app", &response).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stack_->EmulatorCounter("requests_total"), before);

  // As the user, on both doors: the emulator sees the user's identity.
  auto rest =
      Call("GET", "/agents/user/responses/" + id, "", {{"X-Forwarded-Access-Token", token}});
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  EXPECT_EQ(Str(json::parse(rest.body).at("metadata"), "emulator_identity"),
            "user:alice@example.com");
  grpc::Status status = Poll(id, "user", &response, token);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), "completed");
  EXPECT_EQ(OutputKinds(json::parse(response.response_json())),
            std::vector<std::string>{"assistant"});
}

}  // namespace
}  // namespace agentgateway::testing
