#include "gateway/json_span.h"

#include <gtest/gtest.h>

namespace agentgateway::gateway::json_span {
namespace {

TEST(JsonSpanTest, ObjectMembersKeepExactValueText) {
  auto members = ObjectMembers(R"( { "a" : 1.50 , "b":{"x":[1, 2]} ,"c":"q\"}" , "d" : null } )");
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_EQ(members->size(), 4u);
  EXPECT_EQ((*members)[0].key, "a");
  EXPECT_EQ((*members)[0].value, "1.50");
  EXPECT_EQ((*members)[1].value, R"({"x":[1, 2]})");
  EXPECT_EQ((*members)[2].value, R"("q\"}")");
  EXPECT_EQ((*members)[3].value, "null");
}

TEST(JsonSpanTest, KeysWithEscapesAreDecoded) {
  auto members = ObjectMembers(R"({"\u0069nput":[], "a\"b":1})");
  ASSERT_TRUE(members.ok());
  EXPECT_EQ((*members)[0].key, "input");
  EXPECT_EQ((*members)[1].key, "a\"b");
}

TEST(JsonSpanTest, ArrayElementsWithNestingAndStrings) {
  auto elements = ArrayElements(R"([ {"a":"]}"} ,[[]], "s\\" ,12345678901234567890123,-1e400,true])");
  ASSERT_TRUE(elements.ok()) << elements.status();
  ASSERT_EQ(elements->size(), 6u);
  EXPECT_EQ((*elements)[0], R"({"a":"]}"})");
  EXPECT_EQ((*elements)[1], "[[]]");
  EXPECT_EQ((*elements)[2], R"("s\\")");
  EXPECT_EQ((*elements)[3], "12345678901234567890123");
  EXPECT_EQ((*elements)[4], "-1e400");
  EXPECT_EQ((*elements)[5], "true");
}

TEST(JsonSpanTest, EmptyContainers) {
  EXPECT_TRUE(ArrayElements(" [ ] ")->empty());
  EXPECT_TRUE(ObjectMembers("{}")->empty());
}

TEST(JsonSpanTest, RawUtf8AndSurrogatesPassThrough) {
  std::string text = "[\"h\xC3\xA9\", \"\\ud83d\\ude00\", \"\xF0\x9F\x98\x80\"]";
  auto elements = ArrayElements(text);
  ASSERT_TRUE(elements.ok());
  EXPECT_EQ((*elements)[0], "\"h\xC3\xA9\"");
  EXPECT_EQ((*elements)[1], "\"\\ud83d\\ude00\"");
  EXPECT_EQ((*elements)[2], "\"\xF0\x9F\x98\x80\"");
}

TEST(JsonSpanTest, InvalidTextIsAnErrorNotACrash) {
  for (const char* bad : {"", "[", "{", "{\"a\"", "{\"a\":}", "[1,", "[1 2]", "{\"a\":1,}", "\"abc",
                          "[\"\\", "{]", "[}", "{\"a\":1} x", "[1]]"}) {
    EXPECT_FALSE(ArrayElements(bad).ok()) << bad;
    EXPECT_FALSE(ObjectMembers(bad).ok()) << bad;
  }
  EXPECT_FALSE(ObjectMembers("[1]").ok());
  EXPECT_FALSE(ArrayElements("{}").ok());
  EXPECT_FALSE(ArrayElements("[1 2]").ok());
  EXPECT_FALSE(ObjectMembers("{\"a\":1,}").ok());
}

TEST(JsonSpanTest, DeepNestingIsIterative) {
  std::string deep = "[" + std::string(100000, '[') + std::string(100000, ']') + "]";
  auto elements = ArrayElements(deep);
  ASSERT_TRUE(elements.ok());
  EXPECT_EQ(elements->size(), 1u);
}

TEST(JsonSpanTest, HasTopLevelKeyIgnoresNestedKeys) {
  EXPECT_TRUE(HasTopLevelKey(R"({"a":{"b":1},"sequence_number":3})", "sequence_number"));
  EXPECT_FALSE(HasTopLevelKey(R"({"a":{"sequence_number":1}})", "sequence_number"));
  EXPECT_FALSE(HasTopLevelKey("not json", "a"));
}

TEST(JsonSpanTest, QuoteEscapes) {
  EXPECT_EQ(Quote("a\"b\\c\n"), R"("a\"b\\c\n")");
  EXPECT_EQ(Quote("h\xC3\xA9"), "\"h\xC3\xA9\"");
}

}  // namespace
}  // namespace agentgateway::gateway::json_span
