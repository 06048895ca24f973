// Each emulator fault, through both front doors: the mapped error, never a hang, a crash or a
// clean end. Cancellation and deadlines reach the upstream (observed at the emulator).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/integration/stack.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

struct FaultCase {
  std::string fault;
  grpc::StatusCode grpc_code;
  std::string message_part;
  bool after_events;  // the failure comes after the stream started
  int http_status;    // REST status when it fails before the stream started
  int attempts;       // upstream requests the emulator sees: retried only before any event
};

void PrintTo(const FaultCase& c, std::ostream* os) { *os << "fault " << c.fault; }

std::string Question(const std::string& fault) {
  return "Tell me about sales [[fault:" + fault + "]]";
}

using FaultsTest = SharedStackTest<::testing::TestWithParam<FaultCase>>;

TEST_P(FaultsTest, GrpcStreamEndsWithTheMappedStatus) {
  const FaultCase& c = GetParam();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::InvokeRequest request = TextRequest(Question(c.fault));
  long long before = stack_->EmulatorCounter("responses_requests");
  auto reader = stack_->grpc().Stream(&ctx, request);
  v1::StreamEvent event;
  int events = 0;
  while (reader->Read(&event)) ++events;
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), c.grpc_code) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(c.message_part));
  EXPECT_EQ(stack_->EmulatorCounter("responses_requests") - before, c.attempts);
  if (c.after_events) {
    EXPECT_GT(events, 0);
  } else {
    EXPECT_EQ(events, 0);
  }
}

TEST_P(FaultsTest, RestStreamEndsWithAnErrorFrameOrAnHttpError) {
  const FaultCase& c = GetParam();
  auto handler = std::make_shared<CollectingHandler>();
  json::object body{{"stream", true},
                    {"input", json::array{json::object{{"role", "user"},
                                                       {"content", Question(c.fault)}}}}};
  stack_->PostStreaming("/invocations", json::serialize(body), handler);
  ASSERT_TRUE(handler->Wait(std::chrono::seconds(20)));
  if (!c.after_events) {
    EXPECT_EQ(handler->status_code(), c.http_status) << handler->body();
    EXPECT_THAT(std::string(json::parse(handler->body()).at("detail").as_string()),
                HasSubstr(c.message_part));
    return;
  }
  EXPECT_EQ(handler->status_code(), 200);
  std::vector<Frame> frames = ParseSse(handler->body());
  ASSERT_GE(frames.size(), 3u);
  EXPECT_EQ(frames.back().data, "[DONE]");
  json::value error = json::parse(frames[frames.size() - 2].data);
  ASSERT_TRUE(error.as_object().contains("error")) << frames[frames.size() - 2].data;
  EXPECT_THAT(json::serialize(error.at("error")), HasSubstr(c.message_part));
}

INSTANTIATE_TEST_SUITE_P(
    EveryFault, FaultsTest,
    ::testing::Values(
        FaultCase{"429", grpc::StatusCode::RESOURCE_EXHAUSTED, "after 3 attempts", false, 429, 3},
        FaultCase{"500", grpc::StatusCode::UNAVAILABLE, "HTTP 500", false, 503, 1},
        FaultCase{"503", grpc::StatusCode::UNAVAILABLE, "after 3 attempts", false, 503, 3},
        FaultCase{"html-502", grpc::StatusCode::UNAVAILABLE, "502", false, 503, 3},
        FaultCase{"reset", grpc::StatusCode::UNAVAILABLE, "broke after", true, 0, 1},
        FaultCase{"truncate", grpc::StatusCode::UNAVAILABLE, "without a terminal event", true, 0, 1},
        FaultCase{"error-then-completed", grpc::StatusCode::UNKNOWN, "upstream error", true, 0, 1},
        FaultCase{"error-event", grpc::StatusCode::UNKNOWN, "upstream error", true, 0, 1},
        FaultCase{"oauth", grpc::StatusCode::UNAUTHENTICATED, "login", true, 0, 1}),
    [](const ::testing::TestParamInfo<FaultCase>& info) {
      std::string name = info.param.fault;
      std::replace(name.begin(), name.end(), '-', '_');
      return "fault_" + name;
    });

using CancellationTest = SharedStackTest<::testing::Test>;

TEST_F(CancellationTest, GrpcDeadlineClosesTheUpstreamRequest) {
  long long closed = stack_->EmulatorCounter("streams_client_closed");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  v1::InvokeRequest request = TextRequest(Question("hang"));
  auto reader = stack_->grpc().Stream(&ctx, request);
  v1::StreamEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(stack_->WaitEmulatorCounter("streams_client_closed", closed + 1));
}

TEST_F(CancellationTest, GrpcCancelMidStreamClosesTheUpstreamRequest) {
  long long closed = stack_->EmulatorCounter("streams_client_closed");
  grpc::ClientContext ctx;
  v1::InvokeRequest request = TextRequest(Question("hang-mid"));
  auto reader = stack_->grpc().Stream(&ctx, request);
  v1::StreamEvent event;
  ASSERT_TRUE(reader->Read(&event));
  ctx.TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(stack_->WaitEmulatorCounter("streams_client_closed", closed + 1));
}

TEST_F(CancellationTest, RestClientClosingMidStreamClosesTheUpstreamRequest) {
  long long closed = stack_->EmulatorCounter("streams_client_closed");
  auto handler = std::make_shared<CollectingHandler>();
  json::object body{{"stream", true},
                    {"input", json::array{json::object{{"role", "user"},
                                                       {"content", Question("hang-mid")}}}}};
  auto call = stack_->PostStreaming("/invocations", json::serialize(body), handler);
  ASSERT_TRUE(handler->WaitFor("data: "));
  call->Cancel();
  EXPECT_TRUE(stack_->WaitEmulatorCounter("streams_client_closed", closed + 1));
}

TEST_F(CancellationTest, GrpcCancelDuringNonStreamingCallClosesTheUpstreamRequest) {
  long long closed = stack_->EmulatorCounter("streams_client_closed");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  v1::InvokeRequest request = TextRequest(Question("hang"));
  v1::InvokeResponse response;
  EXPECT_EQ(stack_->grpc().Invoke(&ctx, request, &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(stack_->WaitEmulatorCounter("streams_client_closed", closed + 1));
}

}  // namespace
}  // namespace agentgateway::testing
