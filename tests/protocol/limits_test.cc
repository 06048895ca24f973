// Per-profile limits (issue 5 item 1: "each profile: model, instructions, tools, auth mode,
// limits") through both front doors against the emulator: a profile's time limit ends a run
// that hangs upstream with DEADLINE_EXCEEDED / 504 naming the limit, and closes the upstream
// request; a profile's concurrency limit refuses the call beyond it with RESOURCE_EXHAUSTED /
// 429 and Retry-After, while other profiles still run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/protocol/protocol_doors.h"

namespace agentgateway::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kHang[] = R"({"input":[{"role":"user","content":"wait [[fault:hang]]"}]})";
constexpr char kHello[] = R"({"input":[{"role":"user","content":"hello"}]})";
constexpr char kQuickLimit[] =
    "profile 'quick' time limit of 300ms (profiles.quick.limits.timeout_ms) passed";

v1::InvokeRequest HangRequest(const std::string& profile) {
  v1::InvokeRequest request;
  request.set_profile(profile);
  request.add_input()->set_json(R"({"role":"user","content":"wait [[fault:hang]]"})");
  return request;
}

class LimitsTest : public ConfiguredStackTest<LimitsTest> {
 public:
  static constexpr char kYaml[] = R"(
default_profile: open
profiles:
  open:
    model: m
  quick:
    model: m
    limits: {timeout_ms: 300}
  single:
    model: m
    limits: {max_concurrent_calls: 1}
)";
  static constexpr char kYamlName[] = "limits-test.yaml";
};

TEST_F(LimitsTest, AProfileTimeLimitEndsAHangingRunAndClosesTheUpstreamRequest) {
  const long long closed = stack_->EmulatorCounter("streams_client_closed");
  {
    SCOPED_TRACE("gRPC Invoke");
    grpc::ClientContext ctx;
    v1::InvokeResponse response;
    grpc::Status status = stack_->grpc().Invoke(&ctx, HangRequest("quick"), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_THAT(status.error_message(), HasSubstr(kQuickLimit));
  }
  {
    SCOPED_TRACE("gRPC Stream");
    grpc::ClientContext ctx;
    auto reader = stack_->grpc().Stream(&ctx, HangRequest("quick"));
    v1::StreamEvent event;
    while (reader->Read(&event)) {
    }
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_THAT(status.error_message(), HasSubstr(kQuickLimit));
  }
  {
    SCOPED_TRACE("REST JSON");
    auto result = stack_->Post("/agents/quick/invocations", kHang);
    EXPECT_EQ(result.head.status, 504) << result.body;
    EXPECT_THAT(result.body, HasSubstr(kQuickLimit));
  }
  {
    SCOPED_TRACE("REST SSE: nothing was relayed yet, so the HTTP status tells");
    auto handler = std::make_shared<CollectingHandler>();
    stack_->PostStreaming("/agents/quick/invocations",
                          R"({"input":[{"role":"user","content":"wait [[fault:hang]]"}],"stream":true})",
                          handler);
    ASSERT_TRUE(handler->Wait());
    EXPECT_EQ(handler->status_code(), 504);
    EXPECT_THAT(handler->body(), HasSubstr(kQuickLimit));
  }
  // Each of the four upstream requests was closed by the gateway, not left hanging.
  EXPECT_TRUE(stack_->WaitEmulatorCounter("streams_client_closed", closed + 4));
}

TEST_F(LimitsTest, AProfileConcurrencyLimitRefusesTheNextCallAndOthersStillRun) {
  const long long hangs = stack_->EmulatorCounter("faults.hang");
  ASSERT_GE(hangs, 0) << "the emulator's faults.hang counter is unreadable";
  grpc::ClientContext holder;
  auto held = stack_->grpc().Stream(&holder, HangRequest("single"));
  // The call holds its slot once the upstream request is in (the emulator counts the hang).
  ASSERT_TRUE(stack_->WaitEmulatorCounter("faults.hang", hangs + 1));

  auto refused = stack_->Post("/agents/single/invocations", kHello);
  EXPECT_EQ(refused.head.status, 429) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("profile 'single' is at its limit of 1 concurrent calls"));
  EXPECT_EQ(refused.head.Header("retry-after"), "1");

  grpc::ClientContext ctx;
  v1::InvokeRequest request;
  request.set_profile("single");
  request.add_input()->set_json(R"({"role":"user","content":"hello"})");
  v1::InvokeResponse response;
  grpc::Status status = stack_->grpc().Invoke(&ctx, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  auto other = stack_->Post("/invocations", kHello);
  EXPECT_EQ(other.head.status, 200) << other.body;

  holder.TryCancel();
  v1::StreamEvent event;
  while (held->Read(&event)) {
  }
  held->Finish();
  // Once the held call is over on the server too, its slot is free again.
  ASSERT_TRUE(stack_->service().WaitIdle(absl::Seconds(10)));
  grpc::ClientContext again_ctx;
  v1::InvokeResponse again;
  grpc::Status again_status = stack_->grpc().Invoke(&again_ctx, request, &again);
  EXPECT_TRUE(again_status.ok()) << again_status.error_message();
}

}  // namespace
}  // namespace agentgateway::testing
