#include "server/json_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace agentgateway {
namespace {

using ::agentgateway::testing::StatusIs;

TEST(JsonTextTest, SplitsMembersKeepingExactValueText) {
  auto members = SplitJsonObject(
      R"( { "a" : 12345678901234567890123 , "b\"q":{"x":["}",{"y":"\\"}]}, "c":"\u00e9\ud83d\ude00","d":true,"e":null,"f":-1.50e+3 } )");
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_EQ(members->size(), 6u);
  EXPECT_EQ((*members)[0].key, "a");
  EXPECT_EQ((*members)[0].value, "12345678901234567890123");
  EXPECT_EQ((*members)[1].key, "b\"q");
  EXPECT_EQ((*members)[1].value, R"({"x":["}",{"y":"\\"}]})");
  EXPECT_EQ((*members)[2].value, R"("\u00e9\ud83d\ude00")");
  EXPECT_EQ((*members)[3].value, "true");
  EXPECT_EQ((*members)[4].value, "null");
  EXPECT_EQ((*members)[5].value, "-1.50e+3");
}

TEST(JsonTextTest, EmptyObjectHasNoMembers) {
  auto members = SplitJsonObject("{}");
  ASSERT_TRUE(members.ok());
  EXPECT_TRUE(members->empty());
}

TEST(JsonTextTest, RefusesNonObjectsAndMalformedText) {
  EXPECT_THAT(SplitJsonObject("[1]"), StatusIs(absl::StatusCode::kInvalidArgument,
                                               ::testing::HasSubstr("expected a JSON object")));
  EXPECT_THAT(SplitJsonObject(R"({"a":1)"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                     ::testing::HasSubstr("malformed JSON")));
  EXPECT_THAT(SplitJsonObject(R"({"a":1} x)"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                        ::testing::HasSubstr("malformed JSON")));
}

TEST(JsonTextTest, QuotesAndEscapes) {
  EXPECT_EQ(JsonQuote("plain"), R"("plain")");
  EXPECT_EQ(JsonQuote("a\"b\\c\nd"), R"("a\"b\\c\nd")");
}

}  // namespace
}  // namespace agentgateway
