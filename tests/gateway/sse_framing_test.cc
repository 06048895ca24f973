#include "gateway/sse_framing.h"

#include <gtest/gtest.h>

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
  // An upstream sequence_number is kept as is.
  EXPECT_EQ(framer.Event(Event(2, "response.output_text.delta",
                               R"({"type":"response.output_text.delta","sequence_number":7})")),
            "event: response.output_text.delta\n"
            "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":7}\n\n");
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

}  // namespace
}  // namespace agentgateway::gateway
