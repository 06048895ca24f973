// The REST door calling the service in-process (server/direct_backend.h): the real HttpServer
// on loopback, AgentServiceImpl's own admission, and an engine the test drives. What the gRPC
// hop used to do for these calls is checked here: framing and order, back-pressure reaching the
// engine, cancellation reaching the engine (client gone, server stop, app token still on its
// way), admission refusals with their HTTP codes and Retry-After, the deadline handed to the
// engine, and a drain's abort.
#include "server/direct_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/http_server.h"
#include "server/agent_service.h"
#include "server/metrics.h"
#include "tests/gateway/test_http_client.h"
#include "tests/server/fake_engine.h"

namespace agentgateway {
namespace {

using gateway::testing::MakeRequest;
using gateway::testing::TestHttpClient;
using gateway::testing::TestResponse;
using ::testing::HasSubstr;

constexpr char kJsonBody[] = R"({"input":[{"role":"user","content":"hi"}]})";
constexpr char kStreamBody[] = R"({"input":[{"role":"user","content":"hi"}],"stream":true})";
constexpr auto kWait = std::chrono::seconds(10);

// An app token source whose tokens arrive when the test says so.
class HeldTokenSource final : public identity::TokenSource {
 public:
  void GetToken(Callback done) override {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_.push_back(std::move(done));
    cv_.notify_all();
  }
  std::string Describe() const override { return "held"; }
  Stats GetStats() const override { return {}; }
  bool WaitRequested() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return !waiting_.empty(); });
  }
  void Release() {
    std::deque<Callback> waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiting.swap(waiting_);
    }
    for (Callback& done : waiting) done(identity::Secret("app-token"));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Callback> waiting_;
};

class DirectBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(identity::MakeStaticTokenSource(identity::Secret("app-token"))); }
  void Start(std::unique_ptr<identity::TokenSource> tokens) {
    app_tokens_ = std::move(tokens);
    auto config = std::make_shared<Config>();
    config->default_profile = "app";
    config->profiles["app"] = Profile{.name = "app", .model = "m"};
    config->profiles["user"] = Profile{.name = "user", .model = "m", .auth = "user"};
    config->profiles["limited"] =
        Profile{.name = "limited", .model = "m", .limits = {.max_concurrent_calls = 1}};
    config->profiles["dropin"] = Profile{
        .name = "dropin", .engine = "local", .auth = "user", .agent_from_request = true};
    config->dropin_profile = "dropin";
    ServiceOptions options;
    options.trusted_proxy = true;
    service_ = std::make_unique<AgentServiceImpl>(config, &engine_, app_tokens_.get(), options);
    backend_ = MakeDirectBackend(service_.get());
    gateway::HttpServerOptions http_options;
    http_options.port = 0;
    http_options.dropin_profile = config->dropin_profile;
    auto http = gateway::HttpServer::Create(http_options, backend_);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
  }
  void TearDown() override {
    if (http_) http_->Stop();
  }
  TestResponse Exchange(const std::string& request) {
    TestHttpClient client(http_->port());
    EXPECT_TRUE(client.Send(request));
    auto response = client.ReadResponse();
    EXPECT_TRUE(response.has_value());
    return response.value_or(TestResponse{});
  }

  FakeEngine engine_;
  std::unique_ptr<identity::TokenSource> app_tokens_;
  std::unique_ptr<AgentServiceImpl> service_;
  std::shared_ptr<gateway::AgentBackend> backend_;
  std::unique_ptr<gateway::HttpServer> http_;
};

TEST_F(DirectBackendTest, StreamFramesEveryEventInOrderAndEndsWithDone) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  for (int i = 0; i < 50; ++i) {
    run->Emit("response.output_text.delta",
              R"({"type":"response.output_text.delta","delta":")" + std::to_string(i) + "\"}");
  }
  run->Finish(absl::OkStatus());
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "text/event-stream");
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    expected += "data: {\"type\":\"response.output_text.delta\",\"delta\":\"" +
                std::to_string(i) + "\"}\n\n";
  }
  EXPECT_EQ(r->body, expected + "data: [DONE]\n\n");
  EXPECT_EQ(engine_.last_token(), "app-token");
}

TEST_F(DirectBackendTest, OpenAiStreamNumbersEveryFrame) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/responses", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  run->Emit("response.output_text.delta", R"({"type":"response.output_text.delta","delta":"a"})");
  run->Emit("response.output_text.delta", R"({"type":"response.output_text.delta","delta":"b"})");
  run->Finish(absl::OkStatus());
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_THAT(r->body, HasSubstr("event: response.output_text.delta\ndata: "));
  EXPECT_THAT(r->body, HasSubstr("\"sequence_number\":1"));
  EXPECT_THAT(r->body, HasSubstr("\"sequence_number\":2"));
}

TEST_F(DirectBackendTest, AFailureAfterEventsEndsTheStreamWithAnErrorFrame) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  run->Emit("response.created", R"({"type":"response.created"})");
  run->Finish(absl::UnavailableError("upstream stream broke"));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "data: {\"type\":\"response.created\"}\n\n"
            "data: {\"error\": \"upstream stream broke\"}\n\n"
            "data: [DONE]\n\n");
}

TEST_F(DirectBackendTest, AFailureBeforeAnyEventIsAnHttpError) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  run->Finish(WithRetryAfter(absl::UnavailableError("upstream busy"), std::chrono::seconds(7)));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->Header("retry-after"), "7");
  EXPECT_EQ(r->body, R"({"detail":"upstream busy"})");
}

TEST_F(DirectBackendTest, UnaryResultAndEngineRetryAfter) {
  std::future<TestResponse> ok =
      std::async(std::launch::async, [&] { return Exchange(MakeRequest("POST", "/invocations", kJsonBody)); });
  auto done = engine_.WaitInvoke();
  ASSERT_NE(done, nullptr);
  done(InvokeResult{.response_json = R"({"id":"resp_1","output":[]})", .id = "resp_1"});
  TestResponse r = ok.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"id\":\"resp_1\""));

  std::future<TestResponse> busy =
      std::async(std::launch::async, [&] { return Exchange(MakeRequest("POST", "/responses", kJsonBody)); });
  done = engine_.WaitInvoke();
  ASSERT_NE(done, nullptr);
  done(WithRetryAfter(absl::ResourceExhaustedError("rate limited upstream"), std::chrono::seconds(4)));
  r = busy.get();
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "4");
  EXPECT_THAT(r.body, HasSubstr("rate limited upstream"));
}

TEST_F(DirectBackendTest, AdmissionRefusalsKeepTheirCodes) {
  TestResponse r = Exchange(MakeRequest("POST", "/agents/nope/invocations", kStreamBody));
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("unknown agent profile 'nope'; known: app, dropin, limited, user"));
  r = Exchange(MakeRequest("POST", "/agents/nope/invocations", kJsonBody));
  EXPECT_EQ(r.status, 404);
  // A user-identity profile without the forwarded token: 401, never the app's identity.
  r = Exchange(MakeRequest("POST", "/agents/user/invocations", kStreamBody));
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("X-Forwarded-Access-Token"));
  EXPECT_EQ(engine_.WaitRun(0, std::chrono::milliseconds(0)), nullptr);
}

TEST_F(DirectBackendTest, ProfileLimitAnswers429WithRetryAfter) {
  TestHttpClient first(http_->port());
  ASSERT_TRUE(first.Send(MakeRequest("POST", "/agents/limited/invocations", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  TestResponse r = Exchange(MakeRequest("POST", "/agents/limited/invocations", kStreamBody));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_THAT(r.body, HasSubstr("at its limit of 1 concurrent calls"));
  run->Finish(absl::OkStatus());
  ASSERT_TRUE(first.ReadResponse().has_value());
  // The slot was freed with the first call's end: the next call is admitted.
  TestHttpClient next(http_->port());
  ASSERT_TRUE(next.Send(MakeRequest("POST", "/agents/limited/invocations", kStreamBody)));
  auto second = engine_.WaitRun(1);
  ASSERT_NE(second, nullptr);
  second->Finish(absl::OkStatus());
  EXPECT_EQ(next.ReadResponse().value_or(TestResponse{}).status, 200);
}

TEST_F(DirectBackendTest, TheRequestTimeoutIsTheEnginesDeadline) {
  const auto before = std::chrono::steady_clock::now();
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(
      MakeRequest("POST", "/invocations", kStreamBody, {{"x-request-timeout", "2.5"}})));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  const auto after = std::chrono::steady_clock::now();
  auto deadline = engine_.last_deadline();
  ASSERT_TRUE(deadline.has_value());
  // No margin (gRPC's timer used to come first): the engine's deadline is the caller's.
  EXPECT_GE(*deadline, before + std::chrono::milliseconds(2500) - std::chrono::milliseconds(5));
  EXPECT_LE(*deadline, after + std::chrono::milliseconds(2500));
  EXPECT_EQ(engine_.last_deadline_reason(), "");
  run->Finish(absl::DeadlineExceededError("the caller's deadline passed during the upstream call"));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 504);
  EXPECT_THAT(r->body, HasSubstr("the caller's deadline passed"));
}

// Every event larger than the session's outbox bound (16 KiB) makes the sink ask for a pause;
// the engine here behaves like a real one and sends nothing more until it is resumed, which
// happens once the session has taken the bytes for writing. (That a paused stream stays paused
// while its client reads nothing is measured on the real binary: tests/load/backpressure_test.)
TEST_F(DirectBackendTest, EachPauseIsFollowedByAResumeAndNothingIsLost) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  const std::string json =
      R"({"type":"response.output_text.delta","delta":")" + std::string(256 * 1024, 'x') + "\"}";
  constexpr int kEvents = 64;  // 16 MiB: more than loopback buffers take without reading
  std::future<int> emitter = std::async(std::launch::async, [&] {
    int pauses = 0;
    for (int i = 0; i < kEvents; ++i) {
      if (!run->Emit("response.output_text.delta", json)) {
        ++pauses;
        if (!run->WaitResumes(pauses, kWait)) return -pauses;  // stuck: no resume came
      }
    }
    run->Finish(absl::OkStatus());
    return pauses;
  });
  auto head = client.ReadHead();
  ASSERT_TRUE(head.has_value());
  std::size_t received = 0;
  while (auto chunk = client.ReadChunk()) received += chunk->size();
  const int pauses = emitter.get();
  EXPECT_EQ(pauses, kEvents);
  EXPECT_EQ(received, kEvents * ("data: " + json + "\n\n").size() +
                          std::string("data: [DONE]\n\n").size());
}

TEST_F(DirectBackendTest, AClientThatLeavesCancelsTheRun) {
  auto client = std::make_unique<TestHttpClient>(http_->port());
  ASSERT_TRUE(client->Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  run->Emit("response.created", R"({"type":"response.created"})");
  ASSERT_TRUE(client->ReadHead().has_value());
  client.reset();  // closes the socket
  EXPECT_TRUE(run->WaitCancelled(kWait));
}

TEST_F(DirectBackendTest, StopCancelsCallsInFlightAndLaterCallsAreRefused) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  http_->Stop();  // returns only after the call let go of its sink
  EXPECT_TRUE(run->WaitCancelled(std::chrono::milliseconds(0)));
  // The backend refuses what comes after, at once.
  gateway::RpcPlan plan;
  plan.kind = gateway::RpcPlan::Kind::kInvoke;
  std::optional<gateway::HttpResponse> answer;
  EXPECT_EQ(backend_->StartUnary(plan, [&](gateway::HttpResponse r) { answer = std::move(r); }),
            nullptr);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 503);
  EXPECT_THAT(answer->body, HasSubstr("the gateway is shutting down"));
}

TEST_F(DirectBackendTest, ADrainAbortEndsAStartedStreamWithItsReason) {
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/invocations", kStreamBody)));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  run->Emit("response.created", R"({"type":"response.created"})");
  service_->StartDrain();
  EXPECT_EQ(service_->AbortAll(absl::UnavailableError("agent-gateway is shutting down")), 1u);
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body,
            "data: {\"type\":\"response.created\"}\n\n"
            "data: {\"error\": \"agent-gateway is shutting down\"}\n\n"
            "data: [DONE]\n\n");
  EXPECT_TRUE(service_->WaitAllDone(absl::Seconds(5)));
  // Draining: a new call is refused with 503 before the engine sees it.
  TestResponse refused = Exchange(MakeRequest("POST", "/invocations", kJsonBody));
  EXPECT_EQ(refused.status, 503);
}

TEST_F(DirectBackendTest, AgentInfoIsAnsweredInProcess) {
  TestResponse r = Exchange(MakeRequest("GET", "/agent/info"));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"default_profile\":\"app\""));
  EXPECT_THAT(r.body, HasSubstr("\"limited\""));
}

// The Supervisor API drop-in: the request's agent runs on the drop-in profile's engine, as the
// caller's own bearer token.
TEST_F(DirectBackendTest, TheDropinRouteRunsTheRequestsAgentAsTheCallersToken) {
  const std::string body =
      R"({"model":"databricks-claude-sonnet-4-5","input":[{"role":"user","content":"hi"}],)"
      R"("instructions":"Be brief.","tools":[{"type":"genie_space","genie_space":{"id":"g1",)"
      R"("description":"Sales"}}],"stream":true})";
  TestHttpClient client(http_->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/ai-gateway/mlflow/v1/responses", body,
                                      {{"authorization", "Bearer dapi-caller-token"}})));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(engine_.last_token(), "dapi-caller-token");
  EXPECT_EQ(engine_.last_model(), "databricks-claude-sonnet-4-5");
  EXPECT_EQ(engine_.last_instructions(), "Be brief.");
  EXPECT_THAT(engine_.last_tools(),
              ::testing::ElementsAre(R"({"type":"genie_space","genie_space":{"id":"g1",)"
                                     R"("description":"Sales"}})"));
  run->Emit("response.output_text.delta", R"({"type":"response.output_text.delta","delta":"x"})");
  run->Finish(absl::OkStatus());
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("event: response.output_text.delta\n"));
}

TEST_F(DirectBackendTest, TheDropinRouteRefusesAMissingTokenAndABadAgent) {
  const std::string body =
      R"({"model":"m","input":[{"role":"user","content":"hi"}],"tools":[{"type":"shell"}]})";
  TestResponse r = Exchange(MakeRequest("POST", "/ai-gateway/mlflow/v1/responses",
                                        R"({"model":"m","input":[{"role":"user","content":"hi"}]})"));
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("no Authorization: Bearer token"));
  r = Exchange(MakeRequest("POST", "/ai-gateway/mlflow/v1/responses", body,
                           {{"authorization", "Bearer t"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("tools[0].type: unknown tool type 'shell'"));
  // The caller's Authorization counts on the drop-in route only.
  r = Exchange(MakeRequest("POST", "/agents/user/invocations", kJsonBody,
                           {{"authorization", "Bearer t"}}));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(engine_.WaitRun(0, std::chrono::milliseconds(0)), nullptr);
}

// agentgateway_cancellations_total{by="caller"}, from the metrics text.
double CallerCancellations() {
  const std::string text = Metrics::Get().Text();
  constexpr std::string_view kSeries = "agentgateway_cancellations_total{by=\"caller\"} ";
  const std::size_t at = text.find(kSeries);
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + kSeries.size()));
}

class HeldTokenTest : public DirectBackendTest {
 protected:
  void SetUp() override {
    auto tokens = std::make_unique<HeldTokenSource>();
    held_ = tokens.get();
    Start(std::move(tokens));
  }
  HeldTokenSource* held_ = nullptr;
};

TEST_F(HeldTokenTest, ACancelWhileTheAppTokenIsOnItsWayCancelsTheRunOnceItStarts) {
  auto client = std::make_unique<TestHttpClient>(http_->port());
  ASSERT_TRUE(client->Send(MakeRequest("POST", "/invocations", kStreamBody)));
  ASSERT_TRUE(held_->WaitRequested());
  const double before = CallerCancellations();
  client.reset();  // the client leaves before the run exists
  // The session's cancel reaches the call (it counts it) before the token arrives.
  const auto give_up = std::chrono::steady_clock::now() + kWait;
  while (CallerCancellations() == before && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_EQ(CallerCancellations(), before + 1);
  held_->Release();
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  EXPECT_TRUE(run->WaitCancelled(kWait));
}

}  // namespace
}  // namespace agentgateway
