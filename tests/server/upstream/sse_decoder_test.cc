#include "server/upstream/sse_decoder.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace agentgateway::upstream {
namespace {

struct Expected {
  std::string event;
  std::string data;
  std::string id;
};

struct Case {
  std::string name;
  std::string input;
  std::vector<Expected> events;
  bool partial = false;
  bool overflow = false;
  std::size_t max_bytes = 8u << 20;
};

struct Outcome {
  std::vector<Expected> events;
  bool partial = false;
  bool overflow = false;
};

Outcome Decode(const Case& c, const std::vector<std::string_view>& chunks) {
  SseDecoder decoder(c.max_bytes);
  Outcome out;
  for (std::string_view chunk : chunks) {
    decoder.Feed(chunk, [&](SseEvent&& e) {
      out.events.push_back({std::move(e.event), std::move(e.data), std::move(e.id)});
    });
  }
  decoder.Finish();
  out.partial = decoder.had_partial_event();
  out.overflow = decoder.overflowed();
  return out;
}

void ExpectSame(const Case& c, const Outcome& got, const std::string& how) {
  SCOPED_TRACE(c.name + " fed " + how);
  ASSERT_EQ(got.events.size(), c.events.size());
  for (std::size_t i = 0; i < got.events.size(); ++i) {
    EXPECT_EQ(got.events[i].event, c.events[i].event) << "event #" << i;
    EXPECT_EQ(got.events[i].data, c.events[i].data) << "event #" << i;
    EXPECT_EQ(got.events[i].id, c.events[i].id) << "event #" << i;
  }
  EXPECT_EQ(got.partial, c.partial);
  EXPECT_EQ(got.overflow, c.overflow);
}

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {"typed json event", "event: response.created\ndata: {\"type\":\"response.created\"}\n\n",
       {{"response.created", "{\"type\":\"response.created\"}", ""}}},
      {"error type only on the event line",
       "event: error\ndata: {\"code\":\"oauth\",\"message\":\"log in at https://x\"}\n\n",
       {{"error", "{\"code\":\"oauth\",\"message\":\"log in at https://x\"}", ""}}},
      {"done marker", "data: {\"a\":1}\n\ndata: [DONE]\n\n",
       {{"", "{\"a\":1}", ""}, {"", "[DONE]", ""}}},
      {"html instead of json", "data: <html><body>502 Bad Gateway</body></html>\n\n",
       {{"", "<html><body>502 Bad Gateway</body></html>", ""}}},
      {"crlf line ends", "event: a\r\ndata: x\r\n\r\ndata: y\r\n\r\n",
       {{"a", "x", ""}, {"", "y", ""}}},
      {"lone cr line ends", "event: a\rdata: x\r\rdata: y\r\r", {{"a", "x", ""}, {"", "y", ""}}},
      {"mixed line ends", "data: 1\r\n\ndata: 2\n\r\ndata: 3\r\r\n",
       {{"", "1", ""}, {"", "2", ""}, {"", "3", ""}}},
      {"multi-line data", "data: first\ndata:second\ndata:  third\n\n",
       {{"", "first\nsecond\n third", ""}}},
      {"comments ignored", ": keep-alive\n:\ndata: x\n: between\n\n: trailing\n",
       {{"", "x", ""}}},
      {"leading bom stripped", "\xEF\xBB\xBF" "data: x\n\n", {{"", "x", ""}}},
      {"bom only at stream start", "data: \xEF\xBB\xBFx\n\n", {{"", "\xEF\xBB\xBFx", ""}}},
      {"no trailing blank line", "data: a\n\ndata: b\n", {{"", "a", ""}}, /*partial=*/true},
      {"unterminated last line", "data: a\n\ndata: b", {{"", "a", ""}}, /*partial=*/true},
      {"event without data not dispatched", "event: ping\n\ndata: x\n\n", {{"", "x", ""}}},
      {"empty data line dispatches empty data", "data\n\ndata:\n\n", {{"", "", ""}, {"", "", ""}}},
      {"field without colon", "event\ndata: x\n\n", {{"", "x", ""}}},
      {"retry and unknown fields ignored", "retry: 10\nfoo: bar\ndata: x\n\n", {{"", "x", ""}}},
      {"id persists across events", "id: 7\ndata: a\n\ndata: b\n\n", {{"", "a", "7"}, {"", "b", "7"}}},
      {"only one space stripped", "data:   x  \n\n", {{"", "  x  ", ""}}},
      {"colon in value kept", "data: a: b\n\n", {{"", "a: b", ""}}},
      {"utf8 data", "data: gr\xC3\xBC\xC3\x9F \xE2\x9C\x93\n\n", {{"", "gr\xC3\xBC\xC3\x9F \xE2\x9C\x93", ""}}},
      {"overflow", "data: 0123456789\ndata: 0123456789\n\n", {}, false, /*overflow=*/true, 16},
      {"overflow of one endless line", "data: 0123456789012345678901234567890", {}, false, true, 16},
      {"within the bound", "data: 0123456789\n\n", {{"", "0123456789", ""}}, false, false, 64},
      {"empty stream", "", {}},
  };
  return *cases;
}

class SseDecoderTest : public ::testing::TestWithParam<Case> {};

TEST_P(SseDecoderTest, SameEventsForEveryChunking) {
  const Case& c = GetParam();
  ExpectSame(c, Decode(c, {c.input}), "whole");
  for (std::size_t split = 0; split <= c.input.size(); ++split) {
    std::string_view in = c.input;
    ExpectSame(c, Decode(c, {in.substr(0, split), in.substr(split)}),
               "split at " + std::to_string(split));
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < c.input.size(); ++i) bytes.push_back(std::string_view(c.input).substr(i, 1));
  ExpectSame(c, Decode(c, bytes), "byte by byte");
  // Every pair of boundaries: catches state carried across more than one Feed().
  for (std::size_t a = 0; a <= c.input.size() && c.input.size() <= 80; ++a) {
    for (std::size_t b = a; b <= c.input.size(); ++b) {
      std::string_view in = c.input;
      ExpectSame(c, Decode(c, {in.substr(0, a), in.substr(a, b - a), in.substr(b)}),
                 "split at " + std::to_string(a) + "," + std::to_string(b));
      if (HasFatalFailure()) return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, SseDecoderTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char ch : info.param.name) {
                             name.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
                           }
                           return name;
                         });

TEST(SseDecoder, CrAtChunkEndThenLfIsOneLineEnd) {
  SseDecoder decoder;
  std::vector<std::string> data;
  auto sink = [&](SseEvent&& e) { data.push_back(e.data); };
  decoder.Feed("data: a\r", sink);
  decoder.Feed("\n\r", sink);
  ASSERT_EQ(data.size(), 1u);  // "\r" + "\n" one line end, then "\r" the blank line
  decoder.Feed("\ndata: b\r\n\r\n", sink);  // the "\n" after the blank line's "\r" is swallowed
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[1], "b");
}

TEST(SseDecoder, OverflowStopsDecoding) {
  SseDecoder decoder(8);
  int events = 0;
  auto sink = [&](SseEvent&&) { ++events; };
  decoder.Feed("data: 0123456789\n", sink);
  EXPECT_TRUE(decoder.overflowed());
  decoder.Feed("\ndata: x\n\n", sink);
  EXPECT_EQ(events, 0);
}

}  // namespace
}  // namespace agentgateway::upstream
