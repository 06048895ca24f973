// JwtScopes / JwtSubject: claims of well-formed tokens, nullopt for everything else.
#include "server/identity/jwt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "tests/server/identity/test_jwt.h"

namespace agentgateway::identity {
namespace {

using ::agentgateway::identity::testing::B64Url;
using ::agentgateway::identity::testing::MakeJwt;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

TEST(JwtScopesTest, ScpAsSpaceSeparatedString) {
  EXPECT_THAT(JwtScopes(MakeJwt(R"({"sub":"u","scp":"ai-gateway  genie offline_access"})")),
              Optional(ElementsAre("ai-gateway", "genie", "offline_access")));
}

TEST(JwtScopesTest, ScpAsArray) {
  EXPECT_THAT(JwtScopes(MakeJwt(R"({"scp":["ai-gateway","dashboards.genie",7,""]})")),
              Optional(ElementsAre("ai-gateway", "dashboards.genie")));
}

TEST(JwtScopesTest, ScopeClaim) {
  EXPECT_THAT(JwtScopes(MakeJwt(R"({"scope":"sql all-apis"})")),
              Optional(ElementsAre("sql", "all-apis")));
}

TEST(JwtScopesTest, ScpWinsOverScope) {
  EXPECT_THAT(JwtScopes(MakeJwt(R"({"scope":"b","scp":"a"})")), Optional(ElementsAre("a")));
  EXPECT_THAT(JwtScopes(MakeJwt(R"({"scp":42,"scope":"b"})")), Optional(ElementsAre("b")));
}

TEST(JwtScopesTest, EmptyClaimIsAnEmptyList) {
  EXPECT_THAT(JwtScopes(MakeJwt(R"({"scp":""})")), Optional(IsEmpty()));
}

TEST(JwtScopesTest, NoClaimIsNullopt) {
  EXPECT_EQ(JwtScopes(MakeJwt(R"({"sub":"u","aud":"x"})")), std::nullopt);
  EXPECT_EQ(JwtScopes(MakeJwt(R"({"scp":{"a":1}})")), std::nullopt);
}

TEST(JwtScopesTest, OpaqueTokensAreNullopt) {
  EXPECT_EQ(JwtScopes("dapi0123456789abcdef0123456789abcdef"), std::nullopt);
  EXPECT_EQ(JwtScopes(""), std::nullopt);
  EXPECT_EQ(JwtScopes("a.b.c"), std::nullopt);
  EXPECT_EQ(JwtScopes("..."), std::nullopt);
  EXPECT_EQ(JwtScopes(".."), std::nullopt);
}

TEST(JwtScopesTest, MalformedJwtsAreNullopt) {
  const std::string header = B64Url(R"({"alg":"none"})");
  const std::string payload = B64Url(R"({"scp":"genie"})");
  EXPECT_EQ(JwtScopes(header + "." + payload + ".sig.extra"), std::nullopt);  // four parts
  EXPECT_EQ(JwtScopes(header + "." + payload), std::nullopt);                 // two parts
  EXPECT_EQ(JwtScopes(header + ".*not*base64*.sig"), std::nullopt);
  EXPECT_EQ(JwtScopes(header + "." + payload.substr(0, 5) + ".sig"), std::nullopt);  // len%4==1
  EXPECT_EQ(JwtScopes(header + "." + B64Url("{\"scp\":\"genie\"") + ".sig"), std::nullopt);
  EXPECT_EQ(JwtScopes(header + "." + B64Url("[\"genie\"]") + ".sig"), std::nullopt);
  EXPECT_EQ(JwtScopes(B64Url("not json") + "." + payload + ".sig"), std::nullopt);
  EXPECT_EQ(JwtScopes(header + "." + payload + ".s!g"), std::nullopt);
  EXPECT_EQ(JwtScopes("." + payload + ".sig"), std::nullopt);
}

TEST(JwtScopesTest, PaddingVariantsAreAccepted) {
  // Payload lengths 1, 2 and 0 mod 3 give 2, 1 and 0 padding characters.
  for (const char* payload : {R"({"scp":"a"})", R"({"scp":"ab"})", R"({"scp":"abc"})"}) {
    for (bool pad : {false, true}) {
      EXPECT_TRUE(JwtScopes(MakeJwt(payload, pad)).has_value()) << payload << " pad=" << pad;
    }
  }
  // An unsigned token ("alg":"none") has an empty signature.
  EXPECT_THAT(JwtScopes(B64Url(R"({"alg":"none"})") + "." + B64Url(R"({"scp":"x"})") + "."),
              Optional(ElementsAre("x")));
}

TEST(JwtSubjectTest, ReadsSub) {
  EXPECT_EQ(JwtSubject(MakeJwt(R"({"sub":"user@example.com"})")), "user@example.com");
  EXPECT_EQ(JwtSubject(MakeJwt(R"({"sub":5})")), std::nullopt);
  EXPECT_EQ(JwtSubject("opaque"), std::nullopt);
}

TEST(JwtFuzzTest, GarbageNeverCrashes) {
  std::mt19937 rng(1234);
  const std::string alphabet = "eyJ.=-_+/AZaz09{}\"[]:, \x00\xff";
  const std::string jwt = MakeJwt(R"({"scp":["a","b"],"sub":"s","nested":{"x":[1,2,{"y":null}]}})");
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    if (i % 2 == 0) {  // mutations of a real token
      input = jwt;
      for (int k = 0; k < 3; ++k) input[rng() % input.size()] = alphabet[rng() % alphabet.size()];
      input = input.substr(0, rng() % (input.size() + 1));
    } else {
      const std::size_t n = rng() % 64;
      for (std::size_t k = 0; k < n; ++k) input.push_back(alphabet[rng() % alphabet.size()]);
    }
    (void)JwtScopes(input);
    (void)JwtSubject(input);
  }
  // Deep nesting stays within the JSON parser's depth limit.
  EXPECT_EQ(JwtScopes(MakeJwt(std::string(10000, '[') + std::string(10000, ']'))), std::nullopt);
  EXPECT_EQ(JwtScopes(std::string(1 << 20, '.')), std::nullopt);
}

}  // namespace
}  // namespace agentgateway::identity
