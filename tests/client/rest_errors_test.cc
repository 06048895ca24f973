// The REST door's error translation (client/rest_errors.cc): HTTP status -> code, the message
// of each error body shape, and transport failures worded with the gateway as the peer.
#include "client/rest_errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/agent_client.h"
#include "client/sse_collector.h"
#include "server/upstream/error_mapping.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::client {
namespace {

using ::agentgateway::testing::StatusIs;
using ::testing::HasSubstr;

TEST(RestErrorsTest, HttpStatusesMapToTheCodesTheGatewayMapsFrom) {
  EXPECT_EQ(CodeFromHttpStatus(400), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeFromHttpStatus(401), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CodeFromHttpStatus(403), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeFromHttpStatus(404), absl::StatusCode::kNotFound);
  EXPECT_EQ(CodeFromHttpStatus(429), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeFromHttpStatus(503), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeFromHttpStatus(504), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CodeFromHttpStatus(418), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeFromHttpStatus(500), absl::StatusCode::kUnknown);
}

TEST(RestErrorsTest, EveryErrorBodyShapeGivesItsMessage) {
  EXPECT_EQ(ErrorMessage(R"({"detail":"bad item"})"), "bad item");
  EXPECT_EQ(ErrorMessage(R"({"error":{"message":"openai shape","type":"x"}})"), "openai shape");
  EXPECT_EQ(ErrorMessage(R"({"error":"frame shape"})"), "frame shape");
  EXPECT_EQ(ErrorMessage("<html>\n<body>Bad gateway</body>\n</html>"),
            "<html> <body>Bad gateway</body> </html>");
  EXPECT_EQ(ErrorMessage(""), "(empty body)");
  EXPECT_THAT(HttpError(404, R"({"detail":"unknown agent profile 'x'"})"),
              StatusIs(absl::StatusCode::kNotFound, "unknown agent profile 'x' (HTTP 404)"));
}

TEST(RestErrorsTest, AConnectFailureMeansTheGatewayWasNotReached) {
  absl::Status s = TransportError(
      upstream::ConnectFailure("connecting to upstream 127.0.0.1:9 failed: Connection refused"),
      /*head_received=*/false, "http://127.0.0.1:9");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable,
                          "cannot reach the gateway at http://127.0.0.1:9: connecting to "
                          "127.0.0.1:9 failed: Connection refused"));
  EXPECT_TRUE(IsUnreachable(s));
  absl::Status tls = TransportError(
      absl::UnavailableError("TLS handshake with 127.0.0.1:9 failed: certificate verify failed"),
      false, "https://127.0.0.1:9");
  EXPECT_TRUE(IsUnreachable(tls)) << tls;
}

TEST(RestErrorsTest, AFailureAfterTheAnswerStartedIsTheGatewaysOwn) {
  absl::Status s = TransportError(
      absl::UnavailableError("reading the response body from upstream 127.0.0.1:9 failed: reset"),
      /*head_received=*/true, "http://127.0.0.1:9");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable,
                          "reading the response body from 127.0.0.1:9 failed: reset"));
  EXPECT_FALSE(IsUnreachable(s));
  EXPECT_THAT(TransportError(absl::DeadlineExceededError(
                                 "the call's deadline of 1s passed during the upstream call to h"),
                             false, "http://h"),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("during the call to h")));
}

// An error answer cut short by the caller's own deadline (the 504 head arrived, its body did
// not): the outcome is the deadline, naming its length, not a status with an empty body. Seen
// once as a flaky agentctl --timeout test under load.
TEST(RestErrorsTest, AnErrorAnswerCutByTheDeadlineReportsTheDeadline) {
  DataCallback ignore = [](std::string_view, std::string_view) { return true; };
  SseCollector cut(ignore);
  upstream::HttpResponseHead head;
  head.status = 504;
  cut.OnHead(head);
  cut.OnBody(R"({"error_code":"DEADL)");
  cut.OnComplete(absl::DeadlineExceededError(
      "the call's deadline of 300ms passed during the upstream call to 127.0.0.1"));
  EXPECT_THAT(cut.Outcome("http://127.0.0.1:1"),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("300ms")));

  SseCollector whole(ignore);
  whole.OnHead(head);
  whole.OnBody(R"({"detail":"the gateway's own deadline of 300ms passed"})");
  whole.OnComplete(absl::OkStatus());
  EXPECT_THAT(whole.Outcome("http://127.0.0.1:1"),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       "the gateway's own deadline of 300ms passed (HTTP 504)"));
}

}  // namespace
}  // namespace agentgateway::client
