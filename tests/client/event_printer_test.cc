// EventPrinter on scripted events (no sockets): the answer's text streams to stdout as deltas
// arrive, tool activity and approvals become one readable line each, --json keeps every event
// on its own line, and what the answer leaves to the caller is tracked.
#include "client/event_printer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace agentgateway::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Delta(const std::string& item, const std::string& text) {
  return R"({"type":"response.output_text.delta","item_id":")" + item + R"(","delta":")" + text + "\"}";
}
std::string Done(const std::string& item_json) {
  return R"({"type":"response.output_item.done","item":)" + item_json + "}";
}
constexpr char kCompleted[] = R"({"type":"response.completed","response":{"output":[]}})";

class EventPrinterTest : public ::testing::Test {
 protected:
  void Feed(EventPrinter& printer, const std::string& json, bool typed = true) {
    std::string type;
    if (typed) {
      std::size_t start = json.find("\"type\":\"") + 8;
      type = json.substr(start, json.find('"', start) - start);
    }
    printer.OnEvent(type, json);
  }
  std::ostringstream out_, err_;
};

TEST_F(EventPrinterTest, TextStreamsAsDeltasArriveAndEndsItsLine) {
  EventPrinter printer(out_, err_, {});
  Feed(printer, Delta("msg_1", "You "));
  EXPECT_EQ(out_.str(), "You ");
  Feed(printer, Delta("msg_1", "asked."));
  EXPECT_EQ(out_.str(), "You asked.");
  Feed(printer, Done(R"({"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"You asked."}]})"));
  printer.Finish();
  EXPECT_EQ(out_.str(), "You asked.\n") << "the item's text is not printed twice";
  EXPECT_THAT(err_.str(), IsEmpty());
  EXPECT_FALSE(printer.AwaitsCaller());
}

TEST_F(EventPrinterTest, AMessageWithoutDeltasIsPrintedWhole) {
  EventPrinter printer(out_, err_, {});
  Feed(printer, Done(R"({"type":"message","id":"m","content":[{"type":"output_text","text":"Whole answer"}]})"));
  EXPECT_EQ(out_.str(), "Whole answer\n");
}

TEST_F(EventPrinterTest, ToolCallsAndTheirOutputsAreOneLineEach) {
  EventPrinter printer(out_, err_, {});
  Feed(printer, Done(R"({"type":"function_call","call_id":"c1","name":"sales","arguments":"{\"question\":\"q\"}"})"));
  EXPECT_TRUE(printer.AwaitsCaller()) << "until its output arrives";
  Feed(printer, Done(R"({"type":"function_call_output","call_id":"c1","output":"Genie space sales\nfound 3 rows"})"));
  EXPECT_EQ(err_.str(),
            "[tool] sales {\"question\":\"q\"}\n"
            "[tool] sales -> Genie space sales found 3 rows\n");
  EXPECT_FALSE(printer.AwaitsCaller());
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(EventPrinterTest, AToolLineNeverJoinsTheAnswersUnfinishedLine) {
  EventPrinter printer(out_, err_, {});
  Feed(printer, Delta("m", "Partial"));
  Feed(printer, Done(R"({"type":"function_call","call_id":"c","name":"f","arguments":"{}"})"));
  EXPECT_EQ(out_.str(), "Partial\n");
}

TEST_F(EventPrinterTest, AnUnansweredApprovalIsShownWhenItsRoundCompletes) {
  EventPrinter printer(out_, err_, {});
  Feed(printer, Done(R"({"type":"mcp_approval_request","id":"mcpr_1","server_label":"github","name":"list_issues","arguments":"{\"repo\":\"x\"}"})"));
  EXPECT_THAT(err_.str(), IsEmpty()) << "the policy may still answer it in this round";
  Feed(printer, kCompleted);
  EXPECT_EQ(err_.str(),
            "[approval needed] github/list_issues {\"repo\":\"x\"} (answer with "
            "{\"type\":\"mcp_approval_response\",\"approval_request_id\":\"mcpr_1\",\"approve\":true})\n");
  EXPECT_THAT(printer.pending_approvals(), ElementsAre("mcpr_1"));
  EXPECT_THAT(printer.AwaitingSummary(), HasSubstr("1 approval request (mcpr_1)"));
}

TEST_F(EventPrinterTest, ApprovalsAnsweredByPolicyAreShownAsSuch) {
  EventPrinter printer(out_, err_, {});
  Feed(printer, Done(R"({"type":"mcp_approval_request","id":"a1","server_label":"github","name":"gh","arguments":"{}"})"));
  Feed(printer, Done(R"({"type":"mcp_approval_request","id":"a2","server_label":"tickets","name":"tk","arguments":"{}"})"));
  Feed(printer, Done(R"({"type":"mcp_approval_response","approval_request_id":"a1","approve":true,"reason":"approved by policy P"})"));
  Feed(printer, Done(R"({"type":"mcp_approval_response","approval_request_id":"a2","approve":false,"reason":"denied by policy P"})"));
  Feed(printer, kCompleted);
  printer.Finish();
  EXPECT_EQ(err_.str(),
            "[approved by policy] github/gh {} (approved by policy P)\n"
            "[denied by policy] tickets/tk {} (denied by policy P)\n");
  EXPECT_FALSE(printer.AwaitsCaller());
}

TEST_F(EventPrinterTest, AClientFunctionCallAwaitsTheCaller) {
  EventPrinter printer(out_, err_, {});
  Feed(printer, Done(R"({"type":"function_call","call_id":"call_9","name":"lookup","arguments":"{}"})"));
  printer.Finish();
  EXPECT_THAT(printer.pending_calls(), ElementsAre("call_9"));
  EXPECT_THAT(printer.AwaitingSummary(), HasSubstr("1 function call (call_9)"));
}

TEST_F(EventPrinterTest, ColorDimsToolLinesOnly) {
  EventPrinter printer(out_, err_, {.json = false, .color = true});
  Feed(printer, Done(R"({"type":"function_call_output","call_id":"c","output":"x"})"));
  EXPECT_EQ(err_.str(), "\x1b[2m[tool] c -> x\x1b[0m\n");
}

TEST_F(EventPrinterTest, JsonModePrintsEveryEventOnItsOwnLineAndNothingElse) {
  EventPrinter printer(out_, err_, {.json = true});
  Feed(printer, Delta("m", "Hi"));
  Feed(printer, "{\"type\":\"response.completed\",\n  \"response\": {}}");
  Feed(printer, Done(R"({"type":"mcp_approval_request","id":"a","server_label":"s","name":"n"})"), false);
  printer.Finish();
  EXPECT_EQ(out_.str(),
            Delta("m", "Hi") + "\n" + R"({"type":"response.completed","response":{}})" + "\n" +
                Done(R"({"type":"mcp_approval_request","id":"a","server_label":"s","name":"n"})") + "\n");
  EXPECT_THAT(err_.str(), IsEmpty());
  EXPECT_TRUE(printer.AwaitsCaller()) << "tracked in --json mode too (an untyped event)";
}

TEST_F(EventPrinterTest, EventsItDoesNotUnderstandAreSkipped) {
  EventPrinter printer(out_, err_, {});
  printer.OnEvent("response.output_item.done", "not json");
  printer.OnEvent("", "[1,2]");
  printer.OnEvent("response.output_item.done", R"({"item":{"type":"reasoning","summary":[]}})");
  printer.Finish();
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST(OneLineTest, JoinsLinesAndCutsOnACharacterBoundary) {
  EXPECT_EQ(OneLine("a\nb\r\nc", 100), "a b c");
  EXPECT_EQ(OneLine("abcdef", 3), "abc...");
  EXPECT_EQ(OneLine("ab\xC3\xA9", 3), "ab...") << "never half of a UTF-8 character";
}

}  // namespace
}  // namespace agentgateway::client
