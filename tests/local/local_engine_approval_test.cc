// MCP approvals in the local loop, the way the Supervisor API does them: a call to a
// `uc_connection` tool first ends the run with an `mcp_approval_request` item (nothing is
// called); the caller's next request carries it and an `mcp_approval_response`, and the loop
// calls the tool (approved) or tells the model it was not run (denied). Through the
// ApprovalEngine decorator, a profile's mcp_approvals policy answers the request within one
// call, as it does for the Supervisor engine. Tool calls are checked at the emulator.
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/approval_engine.h"
#include "tests/local/engine_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using testing::RecordingSink;
using testing::Str;

namespace json = boost::json;

constexpr char kConnection[] =
    R"({"type":"uc_connection","uc_connection":{"name":"github_conn","description":"GitHub"}})";
constexpr char kQuestion[] = "Please search github_conn for open issues";
constexpr char kSearchResult[] = "Connection github_conn found 2 results.";

class LocalApprovalTest : public testing::LocalEngineTest {
 protected:
  void SetUp() override {
    LocalEngineTest::SetUp();
    AddTool("uc_connection", kConnection);
  }

  std::vector<std::string> Types(const std::vector<json::object>& items) {
    std::vector<std::string> out;
    for (const json::object& item : items) out.push_back(Str(item, "type"));
    return out;
  }

  // The first run: asks for approval of `search` and calls nothing.
  json::object AskForApproval() {
    auto sink = std::make_shared<RecordingSink>();
    EXPECT_THAT(Run(Ask(kQuestion), sink), IsOk());
    std::vector<json::object> items = sink->items();
    EXPECT_THAT(Types(items), ElementsAre("mcp_approval_request"));
    EXPECT_EQ(sink->types().back(), "response.completed");
    return items.empty() ? json::object() : items[0];
  }

  // The caller's next request: the question, the request, the answer.
  v1::InvokeRequest Answer(const json::object& request, bool approve) {
    v1::InvokeRequest next = Ask(kQuestion);
    next.add_input()->set_json(json::serialize(request));
    next.add_input()->set_json(json::serialize(json::object{
        {"type", "mcp_approval_response"}, {"approval_request_id", request.at("id")},
        {"approve", approve}}));
    return next;
  }
};

TEST_F(LocalApprovalTest, AConnectionToolAsksForApprovalAndCallsNothing) {
  json::object request = AskForApproval();
  EXPECT_EQ(Str(request, "name"), "search");
  EXPECT_EQ(Str(request, "server_label"), "github_conn");
  EXPECT_THAT(Str(request, "arguments"), HasSubstr(kQuestion));
  EXPECT_LE(Str(request, "id").size(), 64u);
  EXPECT_THAT(Calls("mcp", "tools/call"), IsEmpty());
  EXPECT_THAT(Calls("model"), SizeIs(1));
}

TEST_F(LocalApprovalTest, ApprovedByTheCallerTheToolRunsAndItsOutputIsAnswered) {
  json::object request = AskForApproval();
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Answer(request, true), sink), IsOk());
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(Types(items), ElementsAre("function_call", "function_call_output", "message"));
  EXPECT_EQ(Str(items[0], "call_id"), Str(request, "id"));
  EXPECT_EQ(Str(items[0], "name"), "search");
  EXPECT_EQ(Str(items[1], "call_id"), Str(request, "id"));
  EXPECT_THAT(Str(items[1], "output"), HasSubstr(kSearchResult));
  EXPECT_THAT(sink->text(), AllOf(HasSubstr("The tool search said:"), HasSubstr(kSearchResult)));
  // The approved call and the turn after it are one response.
  int completed = 0;
  for (const std::string& t : sink->types()) completed += t == "response.completed";
  EXPECT_EQ(completed, 1);
  auto calls = Calls("mcp", "tools/call");
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_EQ(calls[0].tool, "search");
  EXPECT_THAT(calls[0].arguments, HasSubstr(kQuestion));
}

TEST_F(LocalApprovalTest, DeniedByTheCallerTheToolIsNotRunAndTheModelIsTold) {
  json::object request = AskForApproval();
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Answer(request, false), sink), IsOk());
  EXPECT_THAT(Types(sink->items()), ElementsAre("message"));
  EXPECT_THAT(sink->text(), HasSubstr("The tool search was not run: the approval was denied."));
  EXPECT_THAT(Calls("mcp", "tools/call"), IsEmpty());
}

TEST_F(LocalApprovalTest, AReplayedApprovedCallIsNotRunAgain) {
  json::object request = AskForApproval();
  auto first = std::make_shared<RecordingSink>();
  v1::InvokeRequest next = Answer(request, true);
  ASSERT_THAT(Run(next, first), IsOk());
  // The caller's history now holds the call and its output: a new question runs no tool.
  for (const json::object& item : first->items()) next.add_input()->set_json(json::serialize(item));
  next.add_input()->set_json(R"({"role":"user","content":"Thanks, and what else?"})");
  auto second = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(next, second), IsOk());
  EXPECT_THAT(Types(second->items()), ElementsAre("message"));
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(1));
}

// Through the decorator the service puts around every engine.
class LocalApprovalPolicyTest : public LocalApprovalTest {
 protected:
  absl::Status RunWithPolicy(std::shared_ptr<RecordingSink> sink) {
    ApprovalEngine approvals(engine_.get());
    auto handle = approvals.Stream(profile_, Ask(kQuestion), Context(), sink);
    if (!handle.ok()) return handle.status();
    return sink->Wait();
  }
};

TEST_F(LocalApprovalPolicyTest, AnApproveRuleRunsTheToolWithinOneCall) {
  profile_.mcp_approvals.approve.push_back(ApprovalRule{"github_conn", "search"});
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(RunWithPolicy(sink), IsOk());
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(Types(items), ElementsAre("mcp_approval_request", "mcp_approval_response",
                                        "function_call", "function_call_output", "message"));
  EXPECT_TRUE(items[1].at("approve").as_bool());
  EXPECT_EQ(Str(items[1], "approval_request_id"), Str(items[0], "id"));
  EXPECT_THAT(Str(items[3], "output"), HasSubstr(kSearchResult));
  EXPECT_THAT(sink->text(), HasSubstr(kSearchResult));
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(1));
  EXPECT_THAT(Calls("model"), SizeIs(2));
}

TEST_F(LocalApprovalPolicyTest, ADenyRuleKeepsTheToolFromRunning) {
  profile_.mcp_approvals.approve.push_back(ApprovalRule{"github_conn", ""});
  profile_.mcp_approvals.deny.push_back(ApprovalRule{"github_conn", "search"});  // deny wins
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(RunWithPolicy(sink), IsOk());
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(Types(items),
              ElementsAre("mcp_approval_request", "mcp_approval_response", "message"));
  EXPECT_FALSE(items[1].at("approve").as_bool());
  EXPECT_THAT(sink->text(), HasSubstr("was not run: the approval was denied"));
  EXPECT_THAT(Calls("mcp", "tools/call"), IsEmpty());
}

TEST_F(LocalApprovalPolicyTest, ARequestNoRuleDecidesGoesToTheCaller) {
  profile_.mcp_approvals.approve.push_back(ApprovalRule{"other_conn", ""});
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(RunWithPolicy(sink), IsOk());
  EXPECT_THAT(Types(sink->items()), ElementsAre("mcp_approval_request"));
  EXPECT_THAT(Calls("mcp", "tools/call"), IsEmpty());
  EXPECT_THAT(sink->text(), Not(HasSubstr("found")));
}

TEST_F(LocalApprovalPolicyTest, InvokeFoldsTheApprovedCallIntoOneObject) {
  profile_.mcp_approvals.approve.push_back(ApprovalRule{"github_conn", "search"});
  ApprovalEngine approvals(engine_.get());
  std::promise<absl::StatusOr<InvokeResult>> done;
  auto future = done.get_future();
  auto handle = approvals.Invoke(
      profile_, Ask(kQuestion), Context(),
      [&done](absl::StatusOr<InvokeResult> r) { done.set_value(std::move(r)); });
  ASSERT_THAT(handle.status(), IsOk());
  auto result = testing::Await(future);
  ASSERT_TRUE(result.has_value());
  ASSERT_THAT(result->status(), IsOk());
  EXPECT_THAT((*result)->output_text, HasSubstr(kSearchResult));
  std::vector<json::object> items;
  json::value response = json::parse((*result)->response_json);
  for (const json::value& v : response.at("output").as_array()) {
    items.push_back(v.as_object());
  }
  EXPECT_THAT(Types(items), ElementsAre("mcp_approval_request", "mcp_approval_response",
                                        "function_call", "function_call_output", "message"));
  EXPECT_THAT(Calls("mcp", "tools/call"), SizeIs(1));
}

}  // namespace
}  // namespace agentgateway::local
