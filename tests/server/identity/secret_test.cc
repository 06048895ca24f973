// Secret never prints its value; ScrubSecrets removes token-shaped text and nothing else.
#include "server/identity/secret.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "tests/server/identity/test_jwt.h"

namespace agentgateway::identity {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kValue[] = "dapi0123456789abcdef0123456789abcdef";

// What absl::StrCat / StrFormat("%v") would hand to AbslStringify in an abseil that has it.
struct StringSink {
  void Append(std::string_view s) { text.append(s); }
  std::string text;
};

TEST(SecretTest, HasNoImplicitConversionAndCannotBeStrCatted) {
  static_assert(!std::is_convertible_v<Secret, std::string>);
  static_assert(!std::is_convertible_v<Secret, std::string_view>);
  static_assert(!std::is_convertible_v<std::string, Secret>);
  // This abseil (20220623) predates AbslStringify: StrCat(secret) does not even compile.
  static_assert(!std::is_constructible_v<absl::AlphaNum, const Secret&>);
}

TEST(SecretTest, StreamingShowsOnlyTheFingerprint) {
  const Secret secret{std::string(kValue)};
  std::ostringstream os;
  os << "token=" << secret;
  EXPECT_THAT(os.str(), Not(HasSubstr(kValue)));
  EXPECT_THAT(os.str(), Not(HasSubstr("dapi")));
  EXPECT_EQ(os.str(), "token=" + secret.Fingerprint());
}

TEST(SecretTest, AbslStringifyShowsOnlyTheFingerprint) {
  const Secret secret{std::string(kValue)};
  StringSink sink;
  AbslStringify(sink, secret);
  EXPECT_EQ(sink.text, secret.Fingerprint());
}

TEST(SecretTest, GtestPrintsOnlyTheFingerprint) {
  const Secret secret{std::string(kValue)};
  const std::string printed = ::testing::PrintToString(secret);
  EXPECT_THAT(printed, Not(HasSubstr(kValue)));
  EXPECT_THAT(printed, HasSubstr(secret.Fingerprint()));
}

TEST(SecretTest, FingerprintIsSha256Prefix) {
  EXPECT_EQ(Secret(std::string("abc")).Fingerprint(), "sha256:ba7816bf");  // FIPS 180-2 vector
  EXPECT_THAT(Secret(std::string(kValue)).Fingerprint(), MatchesRegex("sha256:[0-9a-f]{8}"));
  EXPECT_EQ(Secret().Fingerprint(), "<empty>");
  EXPECT_TRUE(Secret().empty());
}

TEST(SecretTest, CopiesAndMoves) {
  Secret a{std::string(kValue)};
  Secret b = a;
  EXPECT_EQ(b.Reveal(), kValue);
  Secret c = std::move(a);
  EXPECT_EQ(c.Reveal(), kValue);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is wiped
  Secret d{std::string("short")};
  d = c;
  EXPECT_EQ(d.Reveal(), kValue);
  d = Secret(std::string("other"));
  EXPECT_EQ(d.Reveal(), "other");
  d = d;  // self-assignment keeps the value
  EXPECT_EQ(d.Reveal(), "other");
}

// --- ScrubSecrets ---------------------------------------------------------------------------

TEST(ScrubSecretsTest, RedactsJwts) {
  const std::string jwt = testing::MakeJwt(R"({"sub":"u@x.com","scp":"ai-gateway"})");
  EXPECT_EQ(ScrubSecrets(R"({"access_token":")" + jwt + R"(","token_type":"Bearer","expires_in":3600})"),
            R"({"access_token":"[redacted]","token_type":"Bearer","expires_in":3600})");
  EXPECT_EQ(ScrubSecrets("token=" + jwt + "; rest"), "token=[redacted]; rest");
  EXPECT_EQ(ScrubSecrets("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), "[redacted]");  // unsigned
}

TEST(ScrubSecretsTest, RedactsDatabricksPats) {
  EXPECT_EQ(ScrubSecrets("token dapi0123456789abcdef0123456789abcdef-2 was rejected"),
            "token [redacted] was rejected");
  EXPECT_EQ(ScrubSecrets("(dapi0123456789abcdef0123456789abcdef)"), "([redacted])");
}

TEST(ScrubSecretsTest, RedactsBearerAndBasicCredentials) {
  EXPECT_EQ(ScrubSecrets("Authorization: Bearer dose1a2b3c4d5e6f"),
            "Authorization: Bearer [redacted]");
  EXPECT_EQ(ScrubSecrets("header \"Authorization: Basic dXNlcjpzZWNyZXQ=\" refused"),
            "header \"Authorization: Basic [redacted]\" refused");
  EXPECT_EQ(ScrubSecrets("sent bearer abc123xyz789, then gave up"),
            "sent bearer [redacted], then gave up");
  EXPECT_EQ(ScrubSecrets(R"({"h":"Bearer s3cr3t-t0ken"})"), R"({"h":"Bearer [redacted]"})");
}

TEST(ScrubSecretsTest, RedactsLongOpaqueRuns) {
  EXPECT_EQ(ScrubSecrets("key AbCdEf0123456789GhIjKl0123456789MnOp== is bad"),
            "key [redacted] is bad");
  EXPECT_EQ(ScrubSecrets("https://h.example.com/cb?code=AbCdEf0123456789GhIjKl0123456789MnOp&x=1"),
            "https://h.example.com/cb?code=[redacted]&x=1");
  EXPECT_EQ(ScrubSecrets("secret: 0123456789abcdef0123456789abcdef01234567"), "secret: [redacted]");
}

TEST(ScrubSecretsTest, KeepsOrdinaryErrorMessages) {
  const std::string keep[] = {
      "Connection refused (connect to https://adb-1234567890123456.7.azuredatabricks.net:443/oidc/v1/token)",
      R"({"error_code":"INVALID_PARAMETER_VALUE","message":"Parameter not supported when tools are provided"})",
      R"({"error":"invalid_client","error_description":"Client authentication failed"})",
      "Basic authentication failed: the client id is unknown",
      "Bearer token is missing.",
      R"(WWW-Authenticate: Bearer realm="databricks", error="invalid_token")",
      "Request ID: 3f2a9c1e-7b4d-4e8a-9c3b-0a1b2c3d4e5f (retry later)",
      "cannot load /usr/lib/x86_64-linux-gnu/libssl.so.3: file not found",
      "The model databricks-claude-sonnet-4-5 does not support this parameter",
      "upstream returned HTTP 503: <html><body>Service Unavailable</body></html>",
      "POST https://adb-1.azuredatabricks.net/ai-gateway/mlflow/v1/responses took 12.5 s",
      "",
  };
  for (const std::string& text : keep) EXPECT_EQ(ScrubSecrets(text), text);
}

TEST(ScrubSecretsTest, IsLinearOnHostileMegabyteInputs) {
  const std::size_t kSize = 1 << 20;
  auto repeat = [&](std::string_view unit) {
    std::string s;
    while (s.size() < kSize) s.append(unit);
    return s;
  };
  const std::string inputs[] = {
      repeat("eyJ"),        repeat("eyJa."),      repeat("eyJa.b"),   repeat("a/"),
      repeat("a."),         repeat("Bearer "),    repeat("Bearer a "), repeat("dapi"),
      repeat("a"),          repeat("x= "),        repeat("Basic ab1 "), repeat("a1+/=."),
      "Bearer ab" + repeat("."),
  };
  for (const std::string& input : inputs) {
    const auto start = std::chrono::steady_clock::now();
    const std::string out = ScrubSecrets(input);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, std::chrono::seconds(2)) << input.substr(0, 16);
    EXPECT_LE(out.size(), input.size() + 16);
  }
}

}  // namespace
}  // namespace agentgateway::identity
