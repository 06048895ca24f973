#include "server/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace agentgateway {
namespace {

TEST(LoggingTest, WritesOneJsonObjectPerLineWithScrubbedStrings) {
  std::vector<std::string> lines;
  SetLogSinkForTesting([&](std::string_view line) { lines.emplace_back(line); });
  Log(LogLevel::kInfo, "call",
      {{"request_id", std::string("0f8b7a36-5d7e-4c1a-9b2e-3a1d2c4b5e6f")},
       {"error", std::string("upstream said: Bearer dapi0123456789abcdef0123456789abcdef")},
       {"duration_ms", 12.3456},
       {"events", std::int64_t{7}},
       {"ok", true}});
  Log(LogLevel::kDebug, "dropped below the default level");
  SetLogSinkForTesting(nullptr);
  ASSERT_EQ(lines.size(), 1u);
  boost::json::value v = boost::json::parse(lines[0]);
  EXPECT_EQ(v.at("msg").as_string(), "call");
  EXPECT_EQ(v.at("level").as_string(), "info");
  EXPECT_EQ(v.at("request_id").as_string(), "0f8b7a36-5d7e-4c1a-9b2e-3a1d2c4b5e6f");
  EXPECT_EQ(v.at("events").as_int64(), 7);
  EXPECT_TRUE(v.at("ok").as_bool());
  EXPECT_THAT(lines[0], ::testing::HasSubstr(R"("duration_ms":12.346)"));
  EXPECT_THAT(lines[0], ::testing::Not(::testing::HasSubstr("dapi0123456789abcdef")));
}

TEST(LoggingTest, TraceIdsAreKeptButOnlyInTheTraceIdFieldAndOnlyInTheirShape) {
  std::vector<std::string> lines;
  SetLogSinkForTesting([&](std::string_view line) { lines.emplace_back(line); });
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  Log(LogLevel::kInfo, "call",
      {{"trace_id", trace},
       {"error", "token " + trace},
       {"other", std::string("trace_id dapi0123456789abcdef0123456789abcdef")}});
  Log(LogLevel::kInfo, "call", {{"trace_id", std::string("dapi0123456789abcdef0123456789abcdef")}});
  SetLogSinkForTesting(nullptr);
  ASSERT_EQ(lines.size(), 2u);
  boost::json::value v = boost::json::parse(lines[0]);
  EXPECT_EQ(v.at("trace_id").as_string(), trace);
  EXPECT_THAT(std::string(v.at("error").as_string()), ::testing::Not(::testing::HasSubstr(trace)));
  EXPECT_THAT(lines[0], ::testing::Not(::testing::HasSubstr("dapi0123456789abcdef")));
  EXPECT_THAT(lines[1], ::testing::Not(::testing::HasSubstr("dapi0123456789abcdef")));
}

}  // namespace
}  // namespace agentgateway
