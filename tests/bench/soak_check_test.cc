// The soak's checker must see what it is there to see: a lost, repeated or foreign event,
// a clean end that is short, and ids or a fault marker that differ for no reason.
#include "tests/bench/soak_check.h"

#include <gtest/gtest.h>

namespace agentgateway::soak {
namespace {

std::string Event(int seq, const std::string& text = "x") {
  return "{\"type\":\"response.output_text.delta\",\"sequence_number\":" + std::to_string(seq) +
         ",\"item_id\":\"msg_" + std::to_string(seq * 7) + "\",\"delta\":\"" + text + "\"}";
}

std::vector<std::string> Reference(int n) {
  std::vector<std::string> ref;
  for (int i = 0; i < n; ++i) ref.push_back(Normalize(Event(i), ""));
  return ref;
}

std::vector<SeenEvent> Seen(const std::vector<int>& seqs, const std::string& fault = "") {
  std::vector<SeenEvent> seen;
  for (int s : seqs) seen.push_back(ToSeenEvent(Event(s), fault));
  return seen;
}

TEST(SoakCheckTest, NormalizeHidesIdsTimesAndTheFaultMarker) {
  EXPECT_EQ(Normalize(R"({"id":"resp_1","created_at":5,"text":"Hi [[fault:reset]]"})", "reset"),
            Normalize(R"({"id":"resp_9","created_at":7,"text":"Hi [[fault:none]]"})", ""));
  EXPECT_NE(Normalize(R"({"text":"Hi [[fault:reset]]"})", ""),
            Normalize(R"({"text":"Hi [[fault:none]]"})", ""));
}

TEST(SoakCheckTest, AFullStreamAndAPrefixAreClean) {
  StreamCheck full = CheckStream(Seen({0, 1, 2, 3}), Reference(4), {1, 2, 3, 4}, true);
  EXPECT_EQ(full.lost + full.duplicated, 0);
  EXPECT_TRUE(full.complete);
  StreamCheck cut = CheckStream(Seen({0, 1}), Reference(4), {1, 2}, false);
  EXPECT_EQ(cut.lost + cut.duplicated, 0);
  EXPECT_FALSE(cut.complete);
}

TEST(SoakCheckTest, CountsLostEvents) {
  EXPECT_EQ(CheckStream(Seen({0, 2, 3}), Reference(4), {}, true).lost, 1);
  EXPECT_EQ(CheckStream(Seen({0, 1}), Reference(4), {}, true).lost, 2);  // a short clean end
  EXPECT_EQ(CheckStream(Seen({0, 1}), Reference(4), {1, 3}, false).lost, 1);  // gateway gap
  auto foreign = Seen({0});
  foreign.push_back(ToSeenEvent(Event(1, "other"), ""));
  EXPECT_EQ(CheckStream(foreign, Reference(4), {}, false).lost, 1);
}

TEST(SoakCheckTest, CountsDuplicatedEvents) {
  EXPECT_EQ(CheckStream(Seen({0, 1, 1, 2}), Reference(4), {}, false).duplicated, 1);
  EXPECT_EQ(CheckStream(Seen({0, 1}), Reference(4), {1, 1}, false).duplicated, 1);
}

TEST(SoakCheckTest, StopsComparingAtAnUpstreamError) {
  auto seen = Seen({0, 1});
  seen.push_back(ToSeenEvent(R"({"type":"error","sequence_number":2,"message":"m"})", ""));
  seen.push_back(ToSeenEvent(R"({"message":"no type"})", ""));
  StreamCheck check = CheckStream(seen, Reference(4), {}, false);
  EXPECT_TRUE(check.upstream_error);
  EXPECT_EQ(check.lost, 0);
}

}  // namespace
}  // namespace agentgateway::soak
