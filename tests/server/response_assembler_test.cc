// ResponseAssembler: a response.completed with an empty output after streamed items or deltas
// gets the round's items (ids as streamed); everything else passes byte for byte; bounded.
#include "server/response_assembler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "server/logging.h"

namespace agentgateway {
namespace {

using ::testing::HasSubstr;

struct Ev {
  std::string type;
  std::string json;
};

// Feeds `events` in order; returns the events as they would be relayed and counts rewrites.
std::vector<std::string> Feed(ResponseAssembler& assembler, std::vector<Ev> events,
                             int* rewrites = nullptr) {
  std::vector<std::string> out;
  for (Ev& e : events) {
    bool rewritten = assembler.Process(e.type, e.json);
    if (rewrites != nullptr && rewritten) ++*rewrites;
    out.push_back(std::move(e.json));
  }
  return out;
}

constexpr char kFunctionCall[] =
    R"({"type":"function_call","id":"fc_1","call_id":"call_1","name":"sales","arguments":"{}"})";
constexpr char kFunctionOutput[] =
    R"({"type":"function_call_output","id":"fco_1","call_id":"call_1","output":"big: 12345678901234567890123"})";

std::vector<Ev> ToolRoundThenMessageDeltas(const std::string& completed_output) {
  return {
      {"response.created", R"({"type":"response.created","response":{"id":"resp_1","output":[]}})"},
      {"response.output_item.added",
       std::string(R"({"type":"response.output_item.added","output_index":0,"item":)") +
           kFunctionCall + "}"},
      {"response.output_item.done",
       std::string(R"({"type":"response.output_item.done","output_index":0,"item":)") +
           kFunctionCall + "}"},
      {"response.output_item.done",
       std::string(R"({"type":"response.output_item.done","output_index":1,"item":)") +
           kFunctionOutput + "}"},
      {"response.output_item.added",
       R"({"type":"response.output_item.added","output_index":2,"item":{"type":"message","id":"msg_1","role":"assistant","status":"in_progress","content":[]}})"},
      {"response.output_text.delta",
       R"({"type":"response.output_text.delta","item_id":"msg_1","output_index":2,"content_index":0,"delta":"Sales \"rose\""})"},
      {"response.output_text.delta",
       R"({"type":"response.output_text.delta","item_id":"msg_1","output_index":2,"content_index":0,"delta":" 5%."})"},
      {"response.completed",
       R"({"type":"response.completed", "response":{"id":"resp_1","output":)" + completed_output +
           R"(,"usage":{"total_tokens":18446744073709551616}}})"},
  };
}

TEST(ResponseAssemblerTest, EventsThatNeedNoRepairPassByteForByte) {
  std::string output = std::string("[") + kFunctionCall + "]";
  std::vector<Ev> events = ToolRoundThenMessageDeltas(output);
  std::vector<Ev> original = events;
  ResponseAssembler assembler;
  int rewrites = 0;
  std::vector<std::string> out = Feed(assembler, std::move(events), &rewrites);
  EXPECT_EQ(rewrites, 0);
  ASSERT_EQ(out.size(), original.size());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], original[i].json);
}

TEST(ResponseAssemblerTest, EmptyOutputGetsTheStreamedItemsAndAMessageBuiltFromDeltas) {
  ResponseAssembler assembler;
  int rewrites = 0;
  std::vector<std::string> out = Feed(assembler, ToolRoundThenMessageDeltas("[]"), &rewrites);
  EXPECT_EQ(rewrites, 1);
  // Finished items exactly as streamed, the message under the id its deltas carried, and the
  // rest of the event untouched (spacing and a number beyond 64 bits included).
  EXPECT_EQ(out.back(),
            std::string(R"({"type":"response.completed", "response":{"id":"resp_1","output":[)") +
                kFunctionCall + "," + kFunctionOutput +
                R"(,{"type":"message","id":"msg_1","role":"assistant","status":"completed",)"
                R"("content":[{"type":"output_text","text":"Sales \"rose\" 5%.","annotations":[]}]}],)"
                R"("usage":{"total_tokens":18446744073709551616}}})");
}

TEST(ResponseAssemblerTest, FinishedMessageItemWinsOverDeltasAndTextDoneOverDeltas) {
  ResponseAssembler assembler;
  std::vector<std::string> out = Feed(
      assembler,
      {{"response.created", R"({"response":{"id":"r"}})"},
       {"response.output_text.delta", R"({"item_id":"m1","output_index":0,"delta":"par"})"},
       {"response.output_text.done", R"({"item_id":"m1","output_index":0,"text":"partial, whole"})"},
       {"response.output_text.delta", R"({"item_id":"m2","output_index":1,"delta":"x"})"},
       {"response.output_item.done",
        R"({"output_index":1,"item":{"type":"message","id":"m2","content":[{"type":"output_text","text":"final"}]}})"},
       {"response.completed", R"({"response":{"id":"r","output":[ ]}})"}});
  EXPECT_EQ(out.back(),
            R"({"response":{"id":"r","output":[{"type":"message","id":"m1","role":"assistant",)"
            R"("status":"completed","content":[{"type":"output_text","text":"partial, whole",)"
            R"("annotations":[]}]},{"type":"message","id":"m2","content":[{"type":"output_text",)"
            R"("text":"final"}]}]}})");
}

// Repair first looks for an empty output in the text before parsing the completed event (which
// carries the whole answer); that look must miss no spelling an upstream could use.
TEST(ResponseAssemblerTest, AnEmptyOutputIsFoundWhateverItsSpacingOrKeySpelling) {
  for (std::string completed : {R"({"response":{"id":"r","output" :
 [
 ]}})",
                                R"({"response":{"id":"r","outp\u0075t":[]}})"}) {
    ResponseAssembler assembler;
    int rewrites = 0;
    std::vector<std::string> out = Feed(
        assembler,
        {{"response.created", R"({"response":{"id":"r"}})"},
         {"response.output_text.delta", R"({"item_id":"m1","output_index":0,"delta":"hi"})"},
         {"response.completed", completed}},
        &rewrites);
    EXPECT_EQ(rewrites, 1) << completed;
    EXPECT_THAT(out.back(), HasSubstr(R"("text":"hi")")) << completed;
  }
}

// An answer whose text spells an empty output is not mistaken for one.
TEST(ResponseAssemblerTest, AnEmptyOutputSpelledInsideTheTextIsNotRepaired) {
  const std::string completed =
      R"({"response":{"id":"r","output":[{"type":"message","id":"m1","content":[{"type":)"
      R"("output_text","text":"say \"output\":[] please"}]}]}})";
  ResponseAssembler assembler;
  int rewrites = 0;
  std::vector<std::string> out = Feed(
      assembler,
      {{"response.created", R"({"response":{"id":"r"}})"},
       {"response.output_text.delta",
        R"({"item_id":"m1","output_index":0,"delta":"say \"output\":[] please"})"},
       {"response.completed", completed}},
      &rewrites);
  EXPECT_EQ(rewrites, 0);
  EXPECT_EQ(out.back(), completed);
}

TEST(ResponseAssemblerTest, ItemsFollowOutputIndexNotArrivalOrder) {
  ResponseAssembler assembler;
  std::vector<std::string> out =
      Feed(assembler, {{"response.output_item.done", R"({"output_index":1,"item":{"id":"b"}})"},
                      {"response.output_item.done", R"({"output_index":0,"item":{"id":"a"}})"},
                      {"response.completed", R"({"response":{"output":[]}})"}});
  EXPECT_EQ(out.back(), R"({"response":{"output":[{"id":"a"},{"id":"b"}]}})");
}

TEST(ResponseAssemblerTest, EachRoundIsRepairedWithItsOwnItemsOnly) {
  ResponseAssembler assembler;
  int rewrites = 0;
  std::vector<std::string> out = Feed(
      assembler,
      {{"response.created", R"({"response":{"id":"r1","output":[]}})"},
       {"response.output_item.done", R"({"output_index":0,"item":{"id":"fc"}})"},
       {"response.completed", R"({"response":{"id":"r1","output":[{"id":"fc"}]}})"},
       {"response.created", R"({"response":{"id":"r2","output":[]}})"},
       {"response.output_text.delta", R"({"item_id":"msg_2","output_index":0,"delta":"Hi"})"},
       {"response.completed", R"({"response":{"id":"r2","output":[]}})"}},
      &rewrites);
  EXPECT_EQ(rewrites, 1);
  EXPECT_EQ(out[2], R"({"response":{"id":"r1","output":[{"id":"fc"}]}})");
  EXPECT_EQ(out[3], R"({"response":{"id":"r2","output":[]}})");  // created: untouched
  EXPECT_EQ(out.back(),
            R"({"response":{"id":"r2","output":[{"type":"message","id":"msg_2","role":"assistant",)"
            R"("status":"completed","content":[{"type":"output_text","text":"Hi","annotations":[]}]}]}})");
}

TEST(ResponseAssemblerTest, NothingStreamedOrMalformedEventsLeaveTheCompletedAlone) {
  ResponseAssembler assembler;
  int rewrites = 0;
  std::vector<std::string> out = Feed(
      assembler,
      {{"response.created", "not json"},
       {"response.output_text.delta", "{\"delta\":"},
       {"response.output_item.done", R"({"output_index":0})"},  // no item
       {"response.completed", R"({"response":{"output":[]}})"},
       {"response.output_item.done", R"({"output_index":0,"item":{"id":"a"}})"},
       {"response.completed", R"({"response":"not an object"})"},
       {"response.completed", "<html>"}},
      &rewrites);
  EXPECT_EQ(rewrites, 0);
  EXPECT_EQ(out[3], R"({"response":{"output":[]}})");
  EXPECT_EQ(out[5], R"({"response":"not an object"})");
}

TEST(ResponseAssemblerTest, RoundBeyondTheBoundPassesUnchangedAndIsLoggedOnce) {
  std::vector<std::string> lines;
  SetLogSinkForTesting([&](std::string_view line) { lines.emplace_back(line); });
  ResponseAssembler assembler(/*max_round_bytes=*/8);
  std::vector<Ev> big_round = {
      {"response.created", R"({"response":{}})"},
      {"response.output_text.delta", R"({"item_id":"m","delta":"12345"})"},
      {"response.output_text.delta", R"({"item_id":"m","delta":"67890"})"},
      {"response.completed", R"({"response":{"output":[]}})"}};
  int rewrites = 0;
  std::vector<std::string> out = Feed(assembler, big_round, &rewrites);
  out = Feed(assembler, big_round, &rewrites);
  // A round within the bound is repaired again: the bound is per round.
  out = Feed(assembler,
            {{"response.created", R"({"response":{}})"},
             {"response.output_text.delta", R"({"item_id":"m","delta":"ok"})"},
             {"response.completed", R"({"response":{"output":[]}})"}},
            &rewrites);
  SetLogSinkForTesting(nullptr);
  EXPECT_EQ(rewrites, 1);
  EXPECT_THAT(out.back(), HasSubstr(R"("text":"ok")"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("too large to assemble"));
  EXPECT_THAT(lines[0], HasSubstr("\"limit_bytes\":8"));
}

}  // namespace
}  // namespace agentgateway
