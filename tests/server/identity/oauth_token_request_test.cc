// The token request's shape and the mapping of every kind of answer to a Status.
#include "server/identity/oauth_token_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace agentgateway::identity {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kContext[] = "cannot obtain an OAuth token for client c from https://h/oidc/v1/token";

TEST(FormUrlEncodeTest, EncodesReservedCharacters) {
  EXPECT_EQ(FormUrlEncode("all-apis"), "all-apis");
  EXPECT_EQ(FormUrlEncode("sql offline_access a&b=c/d~e.f"), "sql+offline_access+a%26b%3Dc%2Fd~e.f");
}

TEST(BuildTokenRequestTest, EncodesTheScopeAndOmitsAnEmptyOne) {
  auto url = upstream::Url::Parse("https://h.example.com/oidc/v1/token");
  ASSERT_THAT(url.status(), IsOk());
  const Secret secret{std::string("s:e c")};
  EXPECT_EQ(BuildTokenRequest(*url, "id", secret, "sql all-apis").body,
            "grant_type=client_credentials&scope=sql+all-apis");
  const upstream::HttpRequest request = BuildTokenRequest(*url, "id", secret, "");
  EXPECT_EQ(request.body, "grant_type=client_credentials");
  EXPECT_EQ(request.headers.front().second, "Basic aWQ6czplIGM=");  // base64("id:s:e c")
}

TEST(ParseTokenResponseTest, AcceptsNumericAndQuotedLifetimes) {
  for (const char* body : {R"({"access_token":"t","token_type":"bearer","expires_in":3600})",
                           R"({"access_token":"t","token_type":"Bearer","expires_in":3600.0})",
                           R"({"access_token":"t","token_type":"Bearer","expires_in":"3600"})"}) {
    auto answer = ParseTokenResponse(absl::OkStatus(), 200, body, kContext);
    ASSERT_THAT(answer.status(), IsOk()) << body;
    EXPECT_EQ(answer->access_token.Reveal(), "t");
    EXPECT_EQ(answer->expires_in, std::chrono::seconds(3600));
  }
}

TEST(ParseTokenResponseTest, MapsStatusesToCodes) {
  EXPECT_THAT(ParseTokenResponse(absl::OkStatus(), 400, R"({"error":"invalid_scope"})", kContext),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(kContext), HasSubstr("HTTP 400: invalid_scope"))));
  EXPECT_THAT(ParseTokenResponse(absl::OkStatus(), 403, "", kContext),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("HTTP 403")));
  EXPECT_THAT(ParseTokenResponse(absl::OkStatus(), 404, "<html>Not Found</html>", kContext),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("DATABRICKS_HOST")));
  EXPECT_THAT(ParseTokenResponse(absl::OkStatus(), 429,
                                 R"({"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"})",
                                 kContext),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 429: slow down")));
  EXPECT_THAT(ParseTokenResponse(absl::UnavailableError("TLS handshake failed"), 0, "", kContext),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr(kContext), HasSubstr("TLS handshake failed"))));
}

TEST(ParseTokenResponseTest, LongErrorBodiesAreCutAndScrubbed) {
  const std::string body = "Bearer abcdef0123456789 " + std::string(5000, 'x');
  const absl::Status status =
      ParseTokenResponse(absl::OkStatus(), 500, body, kContext).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable,
                               AllOf(HasSubstr("Bearer [redacted]"), Not(HasSubstr("abcdef0123")))));
  EXPECT_LT(status.message().size(), 1000u);
}

}  // namespace
}  // namespace agentgateway::identity
