#include "tests/bench/load_stats.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agentgateway::bench {
namespace {

std::vector<std::int64_t> OneTo(int n) {
  std::vector<std::int64_t> v;
  for (int i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

TEST(NearestRank, EmptyIsZero) { EXPECT_EQ(NearestRank({}, 0.5), 0); }

TEST(NearestRank, OneSampleIsEveryPercentile) {
  EXPECT_EQ(NearestRank({7}, 0.001), 7);
  EXPECT_EQ(NearestRank({7}, 0.5), 7);
  EXPECT_EQ(NearestRank({7}, 1.0), 7);
}

TEST(NearestRank, HundredSamples) {
  auto v = OneTo(100);
  EXPECT_EQ(NearestRank(v, 0.50), 50);
  EXPECT_EQ(NearestRank(v, 0.99), 99);
  EXPECT_EQ(NearestRank(v, 0.999), 100);  // ceil(99.9) = 100
  EXPECT_EQ(NearestRank(v, 1.0), 100);
  EXPECT_EQ(NearestRank(v, 0.57), 57);  // 0.57 * 100 is 57.00000000000001 in binary
  EXPECT_EQ(NearestRank(v, 0.29), 29);
}

TEST(NearestRank, RanksRoundUp) {
  auto v = OneTo(10);
  EXPECT_EQ(NearestRank(v, 0.50), 5);
  EXPECT_EQ(NearestRank(v, 0.51), 6);
  EXPECT_EQ(NearestRank(v, 0.99), 10);
  auto w = OneTo(1000);
  EXPECT_EQ(NearestRank(w, 0.999), 999);
  EXPECT_EQ(NearestRank(w, 0.9991), 1000);
}

TEST(PercentileMs, NanosecondsToMilliseconds) {
  EXPECT_DOUBLE_EQ(PercentileMs({1'500'000, 2'000'000}, 0.5), 1.5);
}

std::vector<std::int64_t> Scan(const std::vector<std::string>& pieces) {
  StampScanner scanner;
  std::vector<std::int64_t> found;
  for (const std::string& piece : pieces) {
    scanner.Feed(piece, [&](std::int64_t t) { found.push_back(t); });
  }
  return found;
}

TEST(StampScanner, FindsStampsInOnePiece) {
  EXPECT_EQ(Scan({R"({"delta":"@123;abcdef"} x {"delta":"@456;zz"})"}),
            (std::vector<std::int64_t>{123, 456}));
}

TEST(StampScanner, StampStraddlingReadsAtEveryByte) {
  const std::string text = R"(data: {"delta":"@98765432101;pad"}\n\ndata: {"delta":"@98765432199;x"})";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(Scan({text.substr(0, cut), text.substr(cut)}),
              (std::vector<std::int64_t>{98765432101, 98765432199}))
        << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  EXPECT_EQ(Scan(bytes), (std::vector<std::int64_t>{98765432101, 98765432199}));
}

TEST(StampScanner, IgnoresWhatIsNotAStamp) {
  EXPECT_TRUE(Scan({"user@example.com; @; @12x; @ 12; 12;"}).empty());
  EXPECT_TRUE(Scan({"@12"}).empty());  // never terminated
  // Too many digits for int64: not a stamp.
  EXPECT_TRUE(Scan({"@1234567890123456789;"}).empty());  // 19 digits could overflow int64
  EXPECT_EQ(Scan({"@123456789012345678;"}), (std::vector<std::int64_t>{123456789012345678}));
  // An '@' inside a would-be stamp starts a new one.
  EXPECT_EQ(Scan({"@12@34;"}), (std::vector<std::int64_t>{34}));
}

TEST(StampScanner, RepeatedStampsOfClosingEventsAreReportedOnce) {
  // Deltas, then output_text.done repeating the whole text.
  EXPECT_EQ(Scan({"@100;aa", "@200;bb", R"("text":"@100;aa@200;bb")"}),
            (std::vector<std::int64_t>{100, 200}));
}

TEST(StampScanner, ResetStartsANewStream) {
  StampScanner scanner;
  std::vector<std::int64_t> found;
  auto add = [&](std::int64_t t) { found.push_back(t); };
  scanner.Feed("@500;", add);
  scanner.Feed("@12", add);
  scanner.Reset();
  scanner.Feed("3;@400;", add);  // no half stamp carried over; 400 < 500 is fine after Reset
  EXPECT_EQ(found, (std::vector<std::int64_t>{500, 400}));
}

TEST(LagNs, NeverNegative) {
  EXPECT_EQ(LagNs(1000, 400), 600);
  EXPECT_EQ(LagNs(400, 1000), 0);
}

TEST(AppendJsonEscaped, EscapesQuotesBackslashesAndControls) {
  std::string out;
  AppendJsonEscaped("a\"b\\c\nd\x01", out);
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\u0001");
}

}  // namespace
}  // namespace agentgateway::bench
