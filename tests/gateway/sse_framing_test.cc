#include "gateway/sse_framing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <vector>

namespace agentgateway::gateway {
namespace {

v1::StreamEvent Event(int64_t seq, std::string type, std::string json) {
  v1::StreamEvent e;
  e.set_sequence_number(seq);
  e.set_type(std::move(type));
  e.set_json(std::move(json));
  return e;
}

TEST(SseFramingTest, MlflowIsDataOnly) {
  SseFramer framer(SseFraming::kMlflow, std::nullopt);
  EXPECT_EQ(framer.Event(Event(1, "response.output_text.delta",
                               R"({"type":"response.output_text.delta","delta":"Hi"})")),
            "data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n");
  EXPECT_EQ(framer.Done(), "data: [DONE]\n\n");
}

TEST(SseFramingTest, MlflowErrorAndTraceId) {
  SseFramer framer(SseFraming::kMlflow, std::string("req-1"));
  EXPECT_EQ(framer.Error("unavailable", "upstream \"down\""),
            "data: {\"error\": \"upstream \\\"down\\\"\"}\n\n");
  EXPECT_EQ(framer.Done(), "data: {\"trace_id\": \"req-1\"}\n\ndata: [DONE]\n\n");
}

TEST(SseFramingTest, MultiLinePayloadBecomesSeveralDataLines) {
  SseFramer framer(SseFraming::kMlflow, std::nullopt);
  EXPECT_EQ(framer.Event(Event(1, "x", "{\n\"a\":1\r\n}")), "data: {\ndata: \"a\":1\ndata: }\n\n");
}

TEST(SseFramingTest, OpenAiAddsEventLineAndSequenceNumber) {
  SseFramer framer(SseFraming::kOpenAi, std::string("ignored"));
  EXPECT_EQ(framer.Event(Event(1, "response.created", R"({"type":"response.created","response":{}})")),
            "event: response.created\n"
            "data: {\"sequence_number\":1,\"type\":\"response.created\",\"response\":{}}\n\n");
  // An upstream sequence_number that would leave a gap is set to the next number, in place.
  EXPECT_EQ(framer.Event(Event(2, "response.output_text.delta",
                               R"({"type":"response.output_text.delta","sequence_number":7})")),
            "event: response.output_text.delta\n"
            "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":2}\n\n");
  // A missing type is taken from the event.
  EXPECT_EQ(framer.Event(Event(3, "error", R"({"message":"boom"})")),
            "event: error\ndata: {\"type\":\"error\",\"sequence_number\":3,\"message\":\"boom\"}\n\n");
  EXPECT_EQ(framer.Event(Event(4, "ping", "{}")),
            "event: ping\ndata: {\"type\":\"ping\",\"sequence_number\":4}\n\n");
  EXPECT_EQ(framer.Error("unavailable", "lost"),
            "event: error\ndata: {\"type\":\"error\",\"code\":\"unavailable\",\"message\":\"lost\","
            "\"sequence_number\":5}\n\n");
  EXPECT_EQ(framer.Done(), "data: [DONE]\n\n");  // no trace frame in OpenAI framing
}

TEST(SseFramingTest, OpenAiNumbersEventsWithoutSequence) {
  SseFramer framer(SseFraming::kOpenAi, std::nullopt);
  EXPECT_EQ(framer.Event(Event(0, "a", R"({"type":"a"})")),
            "event: a\ndata: {\"sequence_number\":1,\"type\":\"a\"}\n\n");
  EXPECT_EQ(framer.Event(Event(0, "b", R"({"type":"b"})")),
            "event: b\ndata: {\"sequence_number\":2,\"type\":\"b\"}\n\n");
  // Non-JSON data is relayed unchanged.
  EXPECT_EQ(framer.Event(Event(0, "", "<html>")), "data: <html>\n\n");
}

TEST(SseFramingTest, OpenAiKeepsUpstreamNumberingThatHasNoGaps) {
  SseFramer framer(SseFraming::kOpenAi, std::nullopt);
  EXPECT_EQ(framer.Event(Event(1, "a", R"({"type":"a","sequence_number":0})")),
            "event: a\ndata: {\"type\":\"a\",\"sequence_number\":0}\n\n");
  EXPECT_EQ(framer.Event(Event(2, "b", R"({"type":"b","sequence_number":1,"x":2})")),
            "event: b\ndata: {\"type\":\"b\",\"sequence_number\":1,\"x\":2}\n\n");
}

// Two upstream rounds (a tool round, then the answer), as the Supervisor API streams them.
std::vector<v1::StreamEvent> TwoRounds() {
  std::vector<std::pair<std::string, std::string>> raw = {
      {"response.created", R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","output":[]}})"},
      {"response.in_progress", R"({"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","output":[]}})"},
      {"response.output_item.added", R"({"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"fc_1","type":"function_call"}})"},
      {"response.output_item.done", R"({"type":"response.output_item.done","sequence_number":3,"output_index":0,"item":{"id":"fc_1","type":"function_call","arguments":"{}"}})"},
      {"response.output_item.done", R"({"type":"response.output_item.done","sequence_number":4,"output_index":1,"item":{"id":"fco_1","type":"function_call_output"}})"},
      {"response.completed", R"({"type":"response.completed","sequence_number":5,"response":{"id":"resp_1","status":"completed","output":[{"id":"fc_1","type":"function_call","arguments":"{}"},{"id":"fco_1","type":"function_call_output"}]}})"},
      {"response.created", R"({"type":"response.created","sequence_number":6,"response":{"id":"resp_1_r1","output":[]}})"},
      {"response.in_progress", R"({"type":"response.in_progress","sequence_number":7,"response":{"id":"resp_1_r1","output":[]}})"},
      {"response.output_item.added", R"({"type":"response.output_item.added","sequence_number":8,"output_index":0,"item":{"id":"msg_1","type":"message"}})"},
      {"response.output_text.delta", R"({"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"sequence_number":9,"delta":"Hi"})"},
      {"response.output_item.done", R"({"type":"response.output_item.done","sequence_number":10,"output_index":0,"item":{"id":"msg_1","type":"message","text":"Hi"}})"},
      {"response.completed", R"({"type":"response.completed","sequence_number":11,"response":{"id":"resp_1_r1","status":"completed","output":[{"id":"msg_1","type":"message","text":"Hi"}],"usage":{"total_tokens":7}}})"},
  };
  std::vector<v1::StreamEvent> events;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    events.push_back(Event(static_cast<int64_t>(i + 1), raw[i].first, raw[i].second));
  }
  return events;
}

namespace json = boost::json;

// The frames of an SSE text, each as (event line, parsed data); [DONE] as ("", null).
std::vector<std::pair<std::string, json::value>> Frames(const std::string& text) {
  std::vector<std::pair<std::string, json::value>> frames;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find("\n\n", start);
    std::string frame = text.substr(start, end - start);
    start = end + 2;
    std::string event;
    if (frame.rfind("event: ", 0) == 0) {
      std::size_t nl = frame.find('\n');
      event = frame.substr(7, nl - 7);
      frame = frame.substr(nl + 1);
    }
    std::string data = frame.substr(6);  // "data: "
    frames.emplace_back(event, data == "[DONE]" ? json::value() : json::parse(data));
  }
  return frames;
}

TEST(SseFramingTest, OpenAiPresentsSeveralRoundsAsOneResponse) {
  SseFramer framer(SseFraming::kOpenAi, std::nullopt);
  std::string text;
  std::vector<std::size_t> empty_at;
  std::vector<v1::StreamEvent> events = TwoRounds();
  for (std::size_t i = 0; i < events.size(); ++i) {
    std::string frames = framer.Event(events[i]);
    if (frames.empty()) empty_at.push_back(i);
    text += frames;
  }
  // Held: both completed events; folded away: the second round's created and in_progress.
  EXPECT_THAT(empty_at, ::testing::ElementsAre(5, 6, 7, 11));
  text += framer.Done();
  auto frames = Frames(text);
  std::vector<std::string> types;
  for (const auto& [event, data] : frames) types.push_back(event);
  EXPECT_THAT(types, ::testing::ElementsAre(
                         "response.created", "response.in_progress", "response.output_item.added",
                         "response.output_item.done", "response.output_item.done",
                         "response.output_item.added", "response.output_text.delta",
                         "response.output_item.done", "response.completed", ""));
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    EXPECT_EQ(frames[i].second.at("sequence_number").to_number<int64_t>(), static_cast<int64_t>(i))
        << "frame " << i;
  }
  // The second round continues the first round's output indices.
  EXPECT_EQ(frames[5].second.at("output_index").to_number<int64_t>(), 2);
  EXPECT_EQ(frames[6].second.at("output_index").to_number<int64_t>(), 2);
  EXPECT_EQ(frames[6].second.at("item_id").as_string(), "msg_1");
  EXPECT_EQ(frames[7].second.at("output_index").to_number<int64_t>(), 2);
  // One completed: the first response's id, every item of every round, the last round's rest.
  const json::object& response = frames[8].second.at("response").as_object();
  EXPECT_EQ(response.at("id").as_string(), "resp_1");
  EXPECT_EQ(response.at("usage").at("total_tokens").to_number<int64_t>(), 7);
  std::vector<std::string> ids;
  for (const json::value& item : response.at("output").as_array()) {
    ids.emplace_back(item.at("id").as_string());
  }
  EXPECT_THAT(ids, ::testing::ElementsAre("fc_1", "fco_1", "msg_1"));
  EXPECT_EQ(frames.back().second, json::value());  // [DONE]
}

TEST(SseFramingTest, OpenAiSingleRoundCompletedIsSentUnchangedAtTheEnd) {
  SseFramer framer(SseFraming::kOpenAi, std::nullopt);
  std::string completed =
      R"({"type":"response.completed","sequence_number":1,"response":{"id":"r","output":[]}})";
  EXPECT_NE(framer.Event(Event(1, "response.created",
                               R"({"type":"response.created","sequence_number":0,"response":{"id":"r"}})")),
            "");
  EXPECT_EQ(framer.Event(Event(2, "response.completed", completed)), "");
  EXPECT_EQ(framer.Done(),
            "event: response.completed\ndata: " + completed + "\n\ndata: [DONE]\n\n");
}

TEST(SseFramingTest, OpenAiHeldCompletedIsSentBeforeAnEventOtherThanANewRound) {
  SseFramer framer(SseFraming::kOpenAi, std::nullopt);
  framer.Event(Event(1, "response.created", R"({"type":"response.created","response":{"id":"r"}})"));
  EXPECT_EQ(framer.Event(Event(2, "response.completed",
                               R"({"type":"response.completed","response":{"id":"r","output":[]}})")),
            "");
  EXPECT_EQ(framer.Event(Event(3, "ping", R"({"type":"ping"})")),
            "event: response.completed\ndata: {\"sequence_number\":2,\"type\":\"response.completed\","
            "\"response\":{\"id\":\"r\",\"output\":[]}}\n\n"
            "event: ping\ndata: {\"sequence_number\":3,\"type\":\"ping\"}\n\n");
  EXPECT_EQ(framer.Done(), "data: [DONE]\n\n");
}

TEST(SseFramingTest, OpenAiFailureAfterAHeldCompletedEndsWithTheErrorFrameOnly) {
  SseFramer framer(SseFraming::kOpenAi, std::nullopt);
  std::vector<v1::StreamEvent> events = TwoRounds();
  std::string text;
  for (std::size_t i = 0; i < 6; ++i) text += framer.Event(events[i]);  // round one, completed held
  EXPECT_EQ(text.find("response.completed"), std::string::npos);
  std::string end = framer.Error("unavailable", "upstream lost");
  end += framer.Done();
  EXPECT_EQ(end,
            "event: error\ndata: {\"type\":\"error\",\"code\":\"unavailable\",\"message\":"
            "\"upstream lost\",\"sequence_number\":5}\n\ndata: [DONE]\n\n");
}

TEST(SseFramingTest, MlflowPassesEveryRoundThrough) {
  SseFramer framer(SseFraming::kMlflow, std::nullopt);
  for (const v1::StreamEvent& e : TwoRounds()) {
    EXPECT_EQ(framer.Event(e), "data: " + e.json() + "\n\n");
  }
}

}  // namespace
}  // namespace agentgateway::gateway
