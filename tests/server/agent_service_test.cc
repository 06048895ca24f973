// AgentService over a real gRPC server on loopback, with an engine the test drives: normal
// end, failure mid-stream, cancel, deadline, slow reader (back-pressure), shutdown, identity.
#include "server/agent_service.h"

#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/logging.h"
#include "tests/server/fake_engine.h"
#include "tests/server/identity/test_jwt.h"

namespace agentgateway {
namespace {

using ::testing::HasSubstr;

class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = std::make_shared<Config>();
    config->default_profile = "app";
    config->profiles["app"] = Profile{.name = "app", .model = "m"};
    config->profiles["user"] = Profile{.name = "user", .model = "m", .auth = "user"};
    config->profiles["genie"] = Profile{
        .name = "genie",
        .model = "m",
        .auth = "user",
        .tools = {{"genie_space", R"({"type":"genie_space","genie_space":{"id":"g"}})"}}};
    config->profiles["limited"] = Profile{
        .name = "limited",
        .model = "m",
        .limits = {.max_concurrent_calls = 1, .timeout = std::chrono::seconds(20)}};
    ServiceOptions options;
    options.trusted_proxy = trusted_proxy_;
    options.max_concurrent_calls = max_concurrent_calls_;
    service_ = std::make_unique<AgentServiceImpl>(config, &engine_, app_tokens_.get(), options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    stub_ = v1::AgentService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  static v1::InvokeRequest Hello(std::string profile = "") {
    v1::InvokeRequest r;
    r.set_profile(std::move(profile));
    auto* item = r.add_input();
    item->set_role("user");
    item->set_text("hello");
    return r;
  }

  bool trusted_proxy_ = true;
  std::size_t max_concurrent_calls_ = 0;
  FakeEngine engine_;
  std::unique_ptr<identity::TokenSource> app_tokens_ =
      identity::MakeStaticTokenSource(identity::Secret("app-token"));
  std::unique_ptr<AgentServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
};

TEST_F(AgentServiceTest, StreamRelaysEveryEventOnceInOrderWithSequenceNumbers) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) run->Emit("response.output_text.delta", "{\"i\":" + std::to_string(i) + "}");
    run->Emit("response.completed", "{}");
    run->Finish(absl::OkStatus());
  });
  v1::StreamEvent event;
  std::vector<v1::StreamEvent> events;
  while (reader->Read(&event)) events.push_back(event);
  producer.join();
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 101u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(events[i].sequence_number(), i + 1);
    EXPECT_EQ(events[i].json(), "{\"i\":" + std::to_string(i) + "}");
  }
  EXPECT_EQ(events[100].type(), "response.completed");
  EXPECT_EQ(engine_.last_token(), "app-token");
}

TEST_F(AgentServiceTest, FailureAfterEventsEndsWithNonOkStatus) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  run->Emit("response.created", "{}");
  run->Finish(absl::UnavailableError("upstream stream ended without a terminal event"));
  v1::StreamEvent event;
  int n = 0;
  while (reader->Read(&event)) ++n;
  grpc::Status status = reader->Finish();
  EXPECT_EQ(n, 1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("without a terminal event"));
}

TEST_F(AgentServiceTest, ClientCancelMidStreamCancelsTheRun) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  run->Emit("response.created", "{}");
  v1::StreamEvent event;
  ASSERT_TRUE(reader->Read(&event));
  ctx.TryCancel();
  EXPECT_TRUE(run->WaitCancelled(std::chrono::seconds(5)));
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(AgentServiceTest, DeadlineCancelsTheRunBeforeAnyEvent) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  EXPECT_TRUE(run->WaitCancelled(std::chrono::seconds(5)));
  v1::StreamEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(AgentServiceTest, LargeEventsPauseTheRunByBytesNotOnlyByCount) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  // 256 KiB events: 64 of them would be 16 MiB in the queue. The byte bound (128 KiB) pauses
  // after a handful: one queued, one being written, what the transport's window takes.
  const std::string big(256 * 1024, 'y');
  int sent = 0;
  bool paused = false;
  while (sent < 64 && !paused) {
    paused = !run->Emit("delta", "\"" + big + "\"");
    ++sent;
  }
  EXPECT_TRUE(paused);
  EXPECT_LE(sent, 8) << "the engine was asked to pause only after " << sent << " large events";
  run->Finish(absl::OkStatus());
  v1::StreamEvent event;
  int received = 0;
  while (reader->Read(&event)) ++received;
  EXPECT_EQ(received, sent);
  EXPECT_TRUE(reader->Finish().ok());
  // The resume goes out just after the write that drained the queue, so it may land a moment
  // after the caller has read everything.
  EXPECT_TRUE(run->WaitResumed(std::chrono::seconds(10)));
}

TEST_F(AgentServiceTest, APauseBeforeTheEngineReturnsItsHandleIsStillResumed) {
  // A 256 KiB event pauses the run at once, before the reactor holds the run's handle; the
  // resume that comes due when the event is written must reach the run all the same.
  engine_.EmitBeforeReturning("\"" + std::string(256 * 1024, 'z') + "\"");
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  EXPECT_FALSE(engine_.early_keep_reading());
  v1::StreamEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_TRUE(run->WaitResumed(std::chrono::seconds(10)));
  run->Finish(absl::OkStatus());
  while (reader->Read(&event)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(AgentServiceTest, SlowReaderPausesTheRunAndEverythingStillArrives) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  // The client reads nothing yet: transport windows fill, then the reactor's queue, then the
  // engine is told to pause. Bounded loop: the pause must come well before 5,000 events.
  const std::string big(16 * 1024, 'x');
  int sent = 0;
  bool paused = false;
  while (sent < 5000 && !paused) {
    paused = !run->Emit("delta", "\"" + big + std::to_string(sent) + "\"");
    ++sent;
  }
  ASSERT_TRUE(paused) << "engine never asked to pause after " << sent << " events";
  run->Emit("response.completed", "{}");
  run->Finish(absl::OkStatus());
  v1::StreamEvent event;
  int received = 0;
  while (reader->Read(&event)) {
    if (received < sent) {
      EXPECT_EQ(event.json(), "\"" + big + std::to_string(received) + "\"");
    }
    ++received;
  }
  EXPECT_EQ(received, sent + 1);
  EXPECT_TRUE(reader->Finish().ok());
  // The resume goes out just after the write that drained the queue, so it may land a moment
  // after the caller has read everything.
  EXPECT_TRUE(run->WaitResumed(std::chrono::seconds(10)));
}

TEST_F(AgentServiceTest, ShutdownWithAStreamOpenCancelsItsRun) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  EXPECT_TRUE(run->WaitCancelled(std::chrono::seconds(5)));
  v1::StreamEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_FALSE(reader->Finish().ok());
  server_.reset();
}

TEST_F(AgentServiceTest, UnknownProfileIsNotFoundAndNamesTheKnownOnes) {
  grpc::ClientContext ctx;
  v1::InvokeResponse response;
  grpc::Status status = stub_->Invoke(&ctx, Hello("nope"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("unknown agent profile 'nope'; known: app, genie, limited, user"));
}

TEST_F(AgentServiceTest, UserProfileWithoutForwardedTokenIsRefusedNeverRunAsTheApp) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello("user"));
  v1::StreamEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("X-Forwarded-Access-Token"));
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("app-token")));
  EXPECT_EQ(engine_.last_token(), "");  // the engine was never called
}

TEST_F(AgentServiceTest, UserProfileUsesTheForwardedToken) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-forwarded-access-token", "user-token");
  auto reader = stub_->Stream(&ctx, Hello("user"));
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(engine_.last_token(), "user-token");
  run->Emit("response.completed", "{}");
  run->Finish(absl::OkStatus());
  v1::StreamEvent event;
  while (reader->Read(&event)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
}

class UntrustedProxyTest : public AgentServiceTest {
 protected:
  void SetUp() override {
    trusted_proxy_ = false;
    AgentServiceTest::SetUp();
  }
};

TEST_F(UntrustedProxyTest, ForwardedTokenIsIgnoredWithoutATrustedProxy) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-forwarded-access-token", "user-token");
  auto reader = stub_->Stream(&ctx, Hello("user"));
  v1::StreamEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("identity.trusted_proxy"));
  EXPECT_EQ(engine_.last_token(), "");
}

TEST_F(AgentServiceTest, UserTokenLackingToolScopesIsRefusedBeforeTheEngine) {
  // A JWT whose scp claim covers ai-gateway but not genie (unsigned test data).
  std::string jwt = identity::testing::MakeJwt(R"({"sub":"alice","scp":"ai-gateway"})");
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-forwarded-access-token", jwt);
  v1::InvokeResponse response;
  grpc::Status status = stub_->Invoke(&ctx, Hello("genie"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("genie"));
  EXPECT_EQ(engine_.last_token(), "");
}

class LoadSheddingTest : public AgentServiceTest {
 protected:
  void SetUp() override {
    max_concurrent_calls_ = 2;
    AgentServiceTest::SetUp();
  }
};

TEST_F(LoadSheddingTest, CallsBeyondTheCapAreRefusedAtOnceAndSlotsComeBack) {
  // One call at a time until the server has it: two calls started together may reach the
  // server in either order, and run i must belong to call i.
  grpc::ClientContext c1, c2;
  auto r1 = stub_->Stream(&c1, Hello());
  auto run1 = engine_.WaitRun(0);
  ASSERT_NE(run1, nullptr);
  auto r2 = stub_->Stream(&c2, Hello());
  auto run2 = engine_.WaitRun(1);
  ASSERT_NE(run2, nullptr);

  grpc::ClientContext c3;
  v1::InvokeResponse response;
  grpc::Status refused = stub_->Invoke(&c3, Hello(), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("limit of 2 concurrent calls"));
  auto retry_after = c3.GetServerTrailingMetadata().find("retry-after");
  ASSERT_NE(retry_after, c3.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(retry_after->second.data(), retry_after->second.size()), "1");

  run1->Emit("response.completed", "{}");
  run1->Finish(absl::OkStatus());
  v1::StreamEvent event;
  while (r1->Read(&event)) {
  }
  ASSERT_TRUE(r1->Finish().ok());
  // The slot is released when the finished call's reactor is gone: a new call gets in.
  grpc::ClientContext c4;
  auto r4 = stub_->Stream(&c4, Hello());
  EXPECT_NE(engine_.WaitRun(2), nullptr);
  c4.TryCancel();
  c2.TryCancel();
  while (r4->Read(&event)) {
  }
  while (r2->Read(&event)) {
  }
  r4->Finish();
  r2->Finish();
}

TEST_F(AgentServiceTest, AProfileAtItsOwnLimitRefusesWhileOtherProfilesStillRun) {
  grpc::ClientContext c1;
  auto r1 = stub_->Stream(&c1, Hello("limited"));
  auto run1 = engine_.WaitRun(0);
  ASSERT_NE(run1, nullptr);

  grpc::ClientContext c2;
  v1::InvokeResponse response;
  grpc::Status refused = stub_->Invoke(&c2, Hello("limited"), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("profile 'limited' is at its limit of 1 concurrent calls "
                        "(profiles.limited.limits.max_concurrent_calls)"));
  auto retry_after = c2.GetServerTrailingMetadata().find("retry-after");
  ASSERT_NE(retry_after, c2.GetServerTrailingMetadata().end());

  // Another profile is not held back by this one's limit.
  grpc::ClientContext c3;
  auto r3 = stub_->Stream(&c3, Hello("app"));
  auto run3 = engine_.WaitRun(1);
  ASSERT_NE(run3, nullptr);
  run3->Finish(absl::OkStatus());
  v1::StreamEvent event;
  while (r3->Read(&event)) {
  }
  EXPECT_TRUE(r3->Finish().ok());

  // The slot comes back when the call ends.
  run1->Finish(absl::OkStatus());
  while (r1->Read(&event)) {
  }
  EXPECT_TRUE(r1->Finish().ok());
  grpc::ClientContext c4;
  auto r4 = stub_->Stream(&c4, Hello("limited"));
  auto run4 = engine_.WaitRun(2);
  ASSERT_NE(run4, nullptr);
  run4->Finish(absl::OkStatus());
  while (r4->Read(&event)) {
  }
  EXPECT_TRUE(r4->Finish().ok());
}

TEST_F(AgentServiceTest, AProfileTimeoutBoundsTheRunUnlessTheCallersDeadlineIsSooner) {
  const auto before = std::chrono::steady_clock::now();
  {
    grpc::ClientContext ctx;
    auto reader = stub_->Stream(&ctx, Hello("limited"));
    auto run = engine_.WaitRun(0);
    ASSERT_NE(run, nullptr);
    auto deadline = engine_.last_deadline();
    ASSERT_TRUE(deadline.has_value());
    EXPECT_GT(*deadline, before + std::chrono::seconds(19));
    EXPECT_LT(*deadline, before + std::chrono::seconds(21));
    EXPECT_EQ(engine_.last_deadline_reason(),
              "profile 'limited' time limit of 20s (profiles.limited.limits.timeout_ms)");
    run->Finish(absl::OkStatus());
    v1::StreamEvent event;
    while (reader->Read(&event)) {
    }
    EXPECT_TRUE(reader->Finish().ok());
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto reader = stub_->Stream(&ctx, Hello("limited"));
    auto run = engine_.WaitRun(1);
    ASSERT_NE(run, nullptr);
    auto deadline = engine_.last_deadline();
    ASSERT_TRUE(deadline.has_value());
    EXPECT_LT(*deadline, before + std::chrono::seconds(6));
    EXPECT_EQ(engine_.last_deadline_reason(), "");  // the caller's own
    run->Finish(absl::OkStatus());
    v1::StreamEvent event;
    while (reader->Read(&event)) {
    }
    EXPECT_TRUE(reader->Finish().ok());
  }
}

// Graceful drain, as main() runs it: refuse new calls, let running ones finish within the
// grace, then end the rest with an explicit UNAVAILABLE.
TEST_F(AgentServiceTest, DrainRefusesNewCallsAndLetsRunningOnesFinish) {
  grpc::ClientContext running_ctx;
  auto running = stub_->Stream(&running_ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(service_->active_calls(), 1u);

  service_->StartDrain();
  grpc::ClientContext late_ctx;
  v1::InvokeResponse response;
  grpc::Status late = stub_->Invoke(&late_ctx, Hello(), &response);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(late.error_message(), HasSubstr("shutting down"));
  EXPECT_FALSE(service_->WaitIdle(absl::Milliseconds(1)));

  run->Emit("response.completed", "{}");
  run->Finish(absl::OkStatus());
  v1::StreamEvent event;
  int events = 0;
  while (running->Read(&event)) ++events;
  EXPECT_TRUE(running->Finish().ok());
  EXPECT_EQ(events, 1);
  EXPECT_TRUE(service_->WaitIdle(absl::Seconds(10)));
  EXPECT_EQ(service_->active_calls(), 0u);
}

TEST_F(AgentServiceTest, AbortAllEndsStreamsWithTheGivenStatusAfterTheirQueuedEvents) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  run->Emit("response.output_text.delta", R"({"delta":"a"})");
  v1::StreamEvent event;
  ASSERT_TRUE(reader->Read(&event));

  service_->StartDrain();
  EXPECT_EQ(service_->AbortAll(absl::UnavailableError("gateway is shutting down")), 1u);
  EXPECT_TRUE(run->WaitCancelled(std::chrono::seconds(10)));  // upstream is closed too
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "gateway is shutting down");
  EXPECT_TRUE(service_->WaitIdle(absl::Seconds(10)));
}

TEST_F(AgentServiceTest, AbortAllEndsAnInvokeWithTheGivenStatus) {
  grpc::Status status;
  std::thread client([&] {
    grpc::ClientContext ctx;
    v1::InvokeResponse response;
    status = stub_->Invoke(&ctx, Hello(), &response);
  });
  std::shared_ptr<FakeInvokeRun> run = engine_.WaitInvokeRun();
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(service_->AbortAll(absl::UnavailableError("gateway is shutting down")), 1u);
  client.join();
  EXPECT_EQ(run->cancels(), 1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "gateway is shutting down");
  EXPECT_TRUE(service_->WaitIdle(absl::Seconds(10)));
}

TEST_F(AgentServiceTest, AbortAfterTheRunFinishedChangesNothing) {
  grpc::ClientContext ctx;
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  // The reader is not reading yet, so the call is still registered when the abort comes.
  run->Emit("response.completed", "{}");
  run->Finish(absl::OkStatus());
  service_->AbortAll(absl::UnavailableError("too late"));
  v1::StreamEvent event;
  int events = 0;
  while (reader->Read(&event)) ++events;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(events, 1);
}

TEST_F(AgentServiceTest, EngineValidationErrorIsInvalidArgument) {
  grpc::ClientContext ctx;
  v1::InvokeRequest empty;
  auto reader = stub_->Stream(&ctx, empty);
  v1::StreamEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AgentServiceTest, InvokeReturnsTheResultFields) {
  v1::InvokeResponse response;
  grpc::Status status;
  std::thread client([&] {
    grpc::ClientContext ctx;
    status = stub_->Invoke(&ctx, Hello(), &response);
  });
  auto done = engine_.WaitInvoke();
  ASSERT_NE(done, nullptr);
  done(InvokeResult{.response_json = R"({"id":"r1"})", .id = "r1", .status = "completed",
                    .output_text = "hi"});
  client.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.response_json(), R"({"id":"r1"})");
  EXPECT_EQ(response.output_text(), "hi");
}

TEST_F(AgentServiceTest, InvokeErrorKeepsCodeAndMessage) {
  grpc::Status status;
  std::thread client([&] {
    grpc::ClientContext ctx;
    v1::InvokeResponse response;
    status = stub_->Invoke(&ctx, Hello(), &response);
  });
  engine_.WaitInvoke()(absl::ResourceExhaustedError("slow down"));
  client.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "slow down");
}

TEST_F(AgentServiceTest, AgentInfoListsProfiles) {
  grpc::ClientContext ctx;
  v1::AgentInfo info;
  ASSERT_TRUE(stub_->GetAgentInfo(&ctx, v1::GetAgentInfoRequest(), &info).ok());
  EXPECT_EQ(info.agent_api(), "responses");
  EXPECT_EQ(info.default_profile(), "app");
  ASSERT_EQ(info.profiles_size(), 4);
  EXPECT_EQ(info.profiles(3).auth(), "user");
}

}  // namespace
}  // namespace agentgateway

namespace agentgateway {
namespace {

TEST_F(AgentServiceTest, CallsJoinTheCallersTraceOrStartOne) {
  // The fake engine does not expose RunContext headers, so this checks the caller-visible
  // half: the trace id comes back in trailing metadata.
  grpc::ClientContext joined;
  joined.AddMetadata("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  v1::InvokeResponse response;
  std::thread first([&] { stub_->Invoke(&joined, Hello(), &response); });
  engine_.WaitInvoke()(InvokeResult{.response_json = "{}"});
  first.join();
  auto trace = joined.GetServerTrailingMetadata().find("x-trace-id");
  ASSERT_NE(trace, joined.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(trace->second.data(), trace->second.size()),
            "4bf92f3577b34da6a3ce929d0e0e4736");

  grpc::ClientContext fresh;
  fresh.AddMetadata("traceparent", "garbage");
  std::thread second([&] { stub_->Invoke(&fresh, Hello(), &response); });
  engine_.WaitInvoke()(InvokeResult{.response_json = "{}"});
  second.join();
  trace = fresh.GetServerTrailingMetadata().find("x-trace-id");
  ASSERT_NE(trace, fresh.GetServerTrailingMetadata().end());
  EXPECT_THAT(std::string(trace->second.data(), trace->second.size()),
              ::testing::MatchesRegex("[0-9a-f]{32}"));
}

}  // namespace
}  // namespace agentgateway

namespace agentgateway {
namespace {

TEST_F(AgentServiceTest, AnExpiredDeadlineIsLoggedAsDeadlineExceeded) {
  std::vector<std::string> lines;
  std::mutex mu;
  SetLogSinkForTesting([&](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  });
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  auto reader = stub_->Stream(&ctx, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  EXPECT_TRUE(run->WaitCancelled(std::chrono::seconds(10)));
  v1::StreamEvent event;
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));  // logs flushed
  server_.reset();
  SetLogSinkForTesting(nullptr);
  std::lock_guard<std::mutex> lock(mu);
  bool found = false;
  for (const std::string& line : lines) {
    if (line.find("\"msg\":\"call\"") == std::string::npos) continue;
    found = true;
    EXPECT_NE(line.find("\"code\":\"DEADLINE_EXCEEDED\""), std::string::npos) << line;
  }
  EXPECT_TRUE(found);
}

TEST_F(AgentServiceTest, TheCallersDeadlineReachesTheEngine) {
  grpc::ClientContext with_deadline;
  const auto before = std::chrono::steady_clock::now();
  with_deadline.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub_->Stream(&with_deadline, Hello());
  auto run = engine_.WaitRun(0);
  ASSERT_NE(run, nullptr);
  auto deadline = engine_.last_deadline();
  ASSERT_TRUE(deadline.has_value());
  // 30 s away, give or take gRPC's rounding and the 100 ms margin.
  EXPECT_GT(*deadline, before + std::chrono::seconds(29));
  EXPECT_LT(*deadline, before + std::chrono::seconds(31));
  run->Finish(absl::OkStatus());
  v1::StreamEvent event;
  while (reader->Read(&event)) {
  }
  EXPECT_TRUE(reader->Finish().ok());

  grpc::ClientContext without;
  auto second = stub_->Stream(&without, Hello());
  auto run2 = engine_.WaitRun(1);
  ASSERT_NE(run2, nullptr);
  EXPECT_FALSE(engine_.last_deadline().has_value());
  run2->Finish(absl::OkStatus());
  while (second->Read(&event)) {
  }
  EXPECT_TRUE(second->Finish().ok());
}

}  // namespace
}  // namespace agentgateway
