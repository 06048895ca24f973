// Resilience of the loop. Model turns get the Supervisor adapter's rules: a turn that failed
// before the model answered (429, 502, 503, 504, no connection) is tried again with backoff,
// within the policy's attempts, its total wait and the deadline; other failures end the run at
// once. Counted at the emulator, whose `[[fault:NAME*N]]` fails only the first N calls. Tool
// calls are bounded by the tool's own timeout_ms, else the engine's tool_timeout.
#include <memory>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/local/model_client.h"
#include "tests/local/engine_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::RecordingSink;

class LocalEngineRetryTest : public testing::LocalEngineTest {
 protected:
  void SetUp() override {
    LocalEngineTest::SetUp();
    LocalEngineOptions options = Options();
    options.retry.initial_backoff = std::chrono::milliseconds(20);  // quick, still jittered
    options.retry.max_backoff = std::chrono::milliseconds(40);
    MakeEngine(std::move(options));
  }
  RunContext Counted() {
    RunContext context = Context();
    context.retries = retries_;
    return context;
  }
  std::shared_ptr<std::atomic<int>> retries_ = std::make_shared<std::atomic<int>>(0);
};

TEST_F(LocalEngineRetryTest, ATurnThatFailedBeforeAnswerIsTriedAgain) {
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("[[fault:503*1]] What is the capital of France?"), sink, Counted()),
              IsOk());
  EXPECT_THAT(Calls("model"), SizeIs(2));  // the failed turn, then the same turn again
  EXPECT_EQ(retries_->load(), 1);          // the call's log line counts it
  EXPECT_THAT(sink->text(), HasSubstr("France"));
}

TEST_F(LocalEngineRetryTest, RetriesAreBoundedAndTheFailureSaysHowManyAttempts) {
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_THAT(Run(Ask("[[fault:503]] What is the capital of France?"), sink, Counted()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("(after 3 attempts)")));
  EXPECT_THAT(Calls("model"), SizeIs(3));  // RetryPolicy::max_attempts
  EXPECT_EQ(retries_->load(), 2);
}

TEST_F(LocalEngineRetryTest, AServerErrorThatIsNotTransientIsNotRetried) {
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_THAT(Run(Ask("[[fault:500]] What is the capital of France?"), sink, Counted()),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::Not(HasSubstr("attempts"))));
  EXPECT_THAT(Calls("model"), SizeIs(1));
  EXPECT_EQ(retries_->load(), 0);
}

TEST_F(LocalEngineRetryTest, NoRetryThatCouldNotEndBeforeTheDeadline) {
  // 429 asks for Retry-After: 1 s; the caller has less than that left.
  auto sink = std::make_shared<RecordingSink>();
  RunContext context = Counted();
  context.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  EXPECT_THAT(Run(Ask("[[fault:429*1]] What is the capital of France?"), sink,
                  std::move(context)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("Retry-After: 1")));
  EXPECT_THAT(Calls("model"), SizeIs(1));
}

// A run that ends before its deadline leaves no timer behind: with a long deadline (a profile
// timeout of minutes) and many calls, finished runs' timers would otherwise pile up.
TEST_F(LocalEngineRetryTest, AFinishedRunLeavesNoDeadlineTimer) {
  auto sink = std::make_shared<RecordingSink>();
  RunContext context = Counted();
  context.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  ASSERT_THAT(Run(Ask("What is the capital of France?"), sink, std::move(context)), IsOk());
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool_->Stats().timers != 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  EXPECT_EQ(pool_->Stats().timers, 0u);
}

// The tool's own bound wins over the engine's: the slow call is closed and its failure fed back
// to the model, which answers.
TEST_F(LocalEngineRetryTest, AToolsOwnTimeoutBoundsItsCalls) {
  AddTool("genie_space",
          R"({"type":"genie_space","genie_space":{"id":"01ef5a","description":"Sales",)"
          R"("timeout_ms":200}})");  // the engine's tool_timeout here is 5 s
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Ask query_space_01ef5a [[tool-delay-ms:15000]]"), sink, Counted()),
              IsOk());
  std::vector<boost::json::object> items = sink->items();
  ASSERT_THAT(items, SizeIs(3));
  EXPECT_EQ(testing::Str(items[1], "type"), "function_call_output");
  EXPECT_THAT(testing::Str(items[1], "output"),
              HasSubstr("could not be called (DEADLINE_EXCEEDED)"));
  EXPECT_THAT(Calls("model"), SizeIs(2));  // the model heard of the failure and answered
}

TEST(RetryableTurnFailureTest, OnlyTransientFailuresCarryTheMark) {
  EXPECT_FALSE(RetryableTurnFailure(absl::UnavailableError("x")).has_value());
  absl::Status marked = absl::UnavailableError("x");
  marked.SetPayload(kRetryableTurnPayload, absl::Cord("1000"));
  EXPECT_EQ(RetryableTurnFailure(marked), std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace agentgateway::local
