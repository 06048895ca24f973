// Shared by the protocol suites (issue 5): one Stack per suite, built from the suite's own
// YAML, and both front doors driven the same way, so each test reads "REST answers X, gRPC
// answers X, and the emulator saw Y (or nothing)".
#ifndef AGENTGATEWAY_TESTS_PROTOCOL_PROTOCOL_DOORS_H_
#define AGENTGATEWAY_TESTS_PROTOCOL_PROTOCOL_DOORS_H_

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/stack.h"

namespace agentgateway::testing {

// What a gRPC call ended with. `response` is filled by Invoke, `events` by Stream.
struct GrpcOutcome {
  grpc::Status status;
  v1::InvokeResponse response;
  std::vector<v1::StreamEvent> events;
  std::multimap<std::string, std::string> trailers;

  std::string Trailer(const std::string& key) const;
};

using GrpcMetadata = std::vector<std::pair<std::string, std::string>>;

GrpcOutcome GrpcInvoke(Stack& stack, const v1::InvokeRequest& request,
                       const GrpcMetadata& metadata = {});
GrpcOutcome GrpcStream(Stack& stack, const v1::InvokeRequest& request,
                       const GrpcMetadata& metadata = {});

// A request whose items are given as JSON text, exactly as a REST caller would write them.
v1::InvokeRequest JsonRequest(const std::string& profile, const std::vector<std::string>& items);

// The REST /invocations body holding `items` (a JSON array text) and `extra` members.
std::string RestBody(const std::string& items, const std::string& extra = "");

// Parses a JSON text; a parse failure fails the test and yields null.
boost::json::value Json(std::string_view text);

// The `{"detail": ...}` (MLflow) or `{"error": {"message": ...}}` (OpenAI) error message.
std::string RestErrorMessage(const std::string& body);

// Sends `body` straight to the emulator's responses route (not through the gateway) and
// returns the message of its 400: the upstream's own wording for a refusal.
std::string UpstreamRefusal(Stack& stack, const std::string& body);

// The stream events' data (gRPC), or the SSE frames' data without [DONE] (REST), as JSON.
std::vector<boost::json::object> EventData(const std::vector<v1::StreamEvent>& events);
std::vector<boost::json::object> EventData(const std::string& sse_body);

// The items of every response.output_item.done event, in order.
std::vector<boost::json::object> DoneItems(const std::vector<boost::json::object>& events);

// A gtest fixture owning one Stack per suite, built from `Suite::kYaml` (CRTP, so each suite
// has its own Stack even when suites are shuffled).
template <typename Suite>
class ConfiguredStackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto config = ParseConfig(Suite::kYaml, Suite::kYamlName);
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = new Config(*std::move(config));
    StackOptions options;
    options.config = config_;
    stack_ = Stack::Start(options).release();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    delete config_;
    config_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(stack_, nullptr); }

  // Every request the emulator received, token requests included: refusals must not move it.
  static long long UpstreamRequests() {
    const long long n = stack_->EmulatorCounter("requests_total");
    EXPECT_GE(n, 0) << "the emulator has no counter requests_total";
    return n;
  }

  static inline Config* config_ = nullptr;
  static inline Stack* stack_ = nullptr;
};

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_PROTOCOL_PROTOCOL_DOORS_H_
