// Stopping a LocalEngine run: Cancel() and the caller's deadline, during a model turn and while
// a tool call is in flight. Waits are on the emulator's counters (its long poll) and on its
// client-close hook, which records when it saw the gateway's side of a stream close: a tool
// call the run stopped must be closed at the server promptly, not left to run its delay.
#include <chrono>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/local/engine_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::LocalEngineTest;
using testing::RecordingSink;
using Clock = std::chrono::steady_clock;

constexpr char kGenieTool[] =
    R"({"type":"genie_space","genie_space":{"id":"01ef5a","description":"Sales data"}})";
// Far longer than any bound below: a call that is not closed would still be running.
constexpr char kSlowQuestion[] = "Ask query_space_01ef5a [[tool-delay-ms:15000]]";
constexpr auto kPromptly = std::chrono::seconds(2);

TEST_F(LocalEngineTest, CancelEndsAHangingModelTurnWithCancelled) {
  auto sink = std::make_shared<RecordingSink>();
  auto handle = engine_->Stream(profile_, Ask("wait [[fault:hang]]"), Context(), sink);
  ASSERT_THAT(handle.status(), ::agentgateway::testing::IsOk());
  ASSERT_TRUE(WaitForCounter("model_requests", 1));
  Clock::time_point cancelled_at = Clock::now();
  (*handle)->Cancel();
  (*handle)->Cancel();  // idempotent
  EXPECT_THAT(sink->Wait(), StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  auto closed = closes_->Wait(1);  // the hang's client left
  ASSERT_TRUE(closed.has_value());
  EXPECT_LT(closed->at(0) - cancelled_at, kPromptly);
}

TEST_F(LocalEngineTest, CancelClosesTheToolCallInFlightAtTheServer) {
  AddTool("genie_space", kGenieTool);
  auto sink = std::make_shared<RecordingSink>();
  auto handle = engine_->Stream(profile_, Ask(kSlowQuestion), Context(), sink);
  ASSERT_THAT(handle.status(), ::agentgateway::testing::IsOk());
  // The tools/call reached the emulator, which holds its answer (an SSE stream) on a timer.
  ASSERT_TRUE(WaitForCounter("mcp_tool_calls", 1));
  EXPECT_EQ(closes_->count(), 0u);
  Clock::time_point cancelled_at = Clock::now();
  (*handle)->Cancel();
  EXPECT_THAT(sink->Wait(), StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  EXPECT_LT(Clock::now() - cancelled_at, kPromptly);
  auto closed = closes_->Wait(1);
  ASSERT_TRUE(closed.has_value());
  EXPECT_LT(closed->at(0) - cancelled_at, kPromptly);
  auto calls = Calls("mcp", "tools/call");
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_EQ(calls[0].tool, "query_space_01ef5a");
  EXPECT_THAT(Calls("model"), SizeIs(1));  // no turn after the cancel
}

TEST_F(LocalEngineTest, DeadlineClosesTheToolCallInFlightAndEndsTheRun) {
  AddTool("genie_space", kGenieTool);
  auto sink = std::make_shared<RecordingSink>();
  RunContext context = Context();
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(500);
  context.deadline = deadline;
  context.deadline_reason = "the test's deadline";
  auto handle = engine_->Stream(profile_, Ask(kSlowQuestion), std::move(context), sink);
  ASSERT_THAT(handle.status(), ::agentgateway::testing::IsOk());
  EXPECT_THAT(sink->Wait(),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("the test's deadline")));
  EXPECT_LT(Clock::now() - deadline, kPromptly);
  auto closed = closes_->Wait(1);
  ASSERT_TRUE(closed.has_value());
  EXPECT_GE(closed->at(0), deadline);
  EXPECT_LT(closed->at(0) - deadline, kPromptly);
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(1));
  EXPECT_THAT(Calls("model"), SizeIs(1));
  // The tool round had begun: its function_call went out before the deadline.
  ASSERT_FALSE(sink->items().empty());
  EXPECT_EQ(testing::Str(sink->items()[0], "type"), "function_call");
}

TEST_F(LocalEngineTest, DeadlineEndsAHangingModelTurn) {
  auto sink = std::make_shared<RecordingSink>();
  RunContext context = Context();
  context.deadline = Clock::now() + std::chrono::milliseconds(200);
  auto handle = engine_->Stream(profile_, Ask("wait [[fault:hang]]"), std::move(context), sink);
  ASSERT_THAT(handle.status(), ::agentgateway::testing::IsOk());
  EXPECT_THAT(sink->Wait(), StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
  ASSERT_TRUE(closes_->Wait(1).has_value());
}

}  // namespace
}  // namespace agentgateway::local
