#include "server/upstream/error_mapping.h"

#include "gtest/gtest.h"

namespace agentgateway::upstream {
namespace {

using absl::StatusCode;

TEST(CodeForHttpStatus, Table) {
  const std::pair<int, StatusCode> table[] = {
      {200, StatusCode::kOk},
      {204, StatusCode::kOk},
      {400, StatusCode::kInvalidArgument},
      {401, StatusCode::kUnauthenticated},
      {403, StatusCode::kPermissionDenied},
      {404, StatusCode::kNotFound},
      {409, StatusCode::kAborted},
      {413, StatusCode::kInvalidArgument},
      {422, StatusCode::kInvalidArgument},
      {429, StatusCode::kResourceExhausted},
      {500, StatusCode::kUnavailable},
      {502, StatusCode::kUnavailable},
      {503, StatusCode::kUnavailable},
      {504, StatusCode::kDeadlineExceeded},
      {599, StatusCode::kUnavailable},
      {301, StatusCode::kUnknown},
      {405, StatusCode::kUnknown},
      {418, StatusCode::kUnknown},
      {100, StatusCode::kUnknown},
  };
  for (const auto& [http, code] : table) {
    EXPECT_EQ(CodeForHttpStatus(http), code) << "HTTP " << http;
  }
}

TEST(StatusFromHttpError, DatabricksShape) {
  absl::Status s = StatusFromHttpError(
      400, R"({"error_code":"INVALID_PARAMETER_VALUE","message":"Parameter not supported when tools are provided"})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "upstream returned HTTP 400 (INVALID_PARAMETER_VALUE): Parameter not supported when "
            "tools are provided");
}

TEST(StatusFromHttpError, OpenAiShape) {
  absl::Status s = StatusFromHttpError(
      429, R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "upstream returned HTTP 429 (rate_limit_exceeded): Rate limit reached");
}

TEST(StatusFromHttpError, CodeMessageShape) {
  absl::Status s = StatusFromHttpError(
      401, R"({"code":"oauth","message":"Please login at https://example/login"})");
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "upstream returned HTTP 401 (oauth): Please login at https://example/login");
}

TEST(StatusFromHttpError, OauthIsUnauthenticatedWhateverTheHttpStatus) {
  // The Supervisor API has sent the sign-in request as 403 too; as a stream error event it is
  // UNAUTHENTICATED, so the HTTP flavour must be the same.
  absl::Status s = StatusFromHttpError(
      403, R"({"code":"oauth","message":"Please login to the connection to continue"})");
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusFromHttpError(403, R"({"error_code":"PERMISSION_DENIED","message":"no"})").code(),
            StatusCode::kPermissionDenied);
}

TEST(StatusFromHttpError, HtmlBadGatewayPage) {
  absl::Status s = StatusFromHttpError(
      502,
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
      "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "upstream returned HTTP 502: 502 Bad Gateway 502 Bad Gateway nginx");
}

TEST(StatusFromHttpError, LongHtmlIsCut) {
  std::string body = "<p>" + std::string(5000, 'x') + "</p>";
  absl::Status s = StatusFromHttpError(503, body);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_LT(s.message().size(), 300u);
}

TEST(StatusFromHttpError, ExcerptNeverSplitsUtf8) {
  std::string body(199, 'x');
  body += "\xC3\xBC\xC3\xBC";  // 'ü' straddles the 200-byte cut
  absl::Status s = StatusFromHttpError(500, body);
  const std::string message(s.message());
  ASSERT_FALSE(message.empty());
  EXPECT_NE(static_cast<unsigned char>(message.back()) & 0xC0, 0xC0u);
  EXPECT_EQ(message, "upstream returned HTTP 500: " + std::string(199, 'x'));
}

TEST(StatusFromHttpError, EmptyBody) {
  absl::Status s = StatusFromHttpError(503, "");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "upstream returned HTTP 503");
}

TEST(StatusFromHttpError, JsonWithoutMessage) {
  absl::Status s = StatusFromHttpError(404, R"({"foo":1})");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "upstream returned HTTP 404");
}

TEST(StatusFromHttpError, SuccessStatusIsNeverOk) {
  EXPECT_EQ(StatusFromHttpError(200, "").code(), StatusCode::kUnknown);
}

TEST(ErrorMessageFromJson, AllShapes) {
  EXPECT_EQ(ErrorMessageFromJson(R"({"error_code":"X","message":"m1"})"), "m1");
  EXPECT_EQ(ErrorMessageFromJson(R"({"error":{"message":"m2","type":"t"}})"), "m2");
  EXPECT_EQ(ErrorMessageFromJson(R"({"code":"oauth","message":"m3"})"), "m3");
  EXPECT_EQ(ErrorMessageFromJson(R"({"type":"error","error":{"message":"m4"}})"), "m4");
  EXPECT_EQ(ErrorMessageFromJson(R"({"error":"m5"})"), "m5");
  EXPECT_EQ(ErrorMessageFromJson(R"({"detail":"m6"})"), "m6");
}

TEST(ErrorMessageFromJson, NothingFound) {
  EXPECT_EQ(ErrorMessageFromJson(""), "");
  EXPECT_EQ(ErrorMessageFromJson("[DONE]"), "");
  EXPECT_EQ(ErrorMessageFromJson("<html>oops</html>"), "");
  EXPECT_EQ(ErrorMessageFromJson("[1,2]"), "");
  EXPECT_EQ(ErrorMessageFromJson(R"({"message":42})"), "");
}

}  // namespace
}  // namespace agentgateway::upstream
