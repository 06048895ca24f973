// McpClient::CallTool's cancel handle: a call in flight is closed at the server (the emulator's
// client-close hook sees it) and delivers a CANCELLED outcome at once; a call still waiting
// for its session sends nothing once the session is ready (checked with a raw server that holds
// `initialize` until the test lets it answer); a call that already answered is not touched.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/local/mcp_client.h"
#include "tests/local/local_fixture.h"
#include "tests/server/upstream/test_server.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
namespace json = boost::json;

constexpr auto kPromptly = std::chrono::seconds(2);

class McpCancelTest : public testing::McpLocalTest {
 protected:

  // Starts a call whose outcome lands in the returned future.
  std::shared_ptr<McpCallHandle> Start(const std::string& url, const std::string& tool,
                                       const std::string& args,
                                       std::future<ToolOutcome>& outcome) {
    auto done = std::make_shared<std::promise<ToolOutcome>>();
    outcome = done->get_future();
    return client_->CallTool(url, {"dev-token", "app"}, tool, args,
                             [done](ToolOutcome o) { done->set_value(std::move(o)); });
  }

};

TEST_F(McpCancelTest, CancelClosesTheCallAtTheServerAndDeliversCancelled) {
  std::future<ToolOutcome> outcome;
  auto handle = Start(Url("/api/2.0/mcp/genie/01ef5a"), "query_space_01ef5a",
                      R"({"query":"slow [[tool-delay-ms:15000]]"})", outcome);
  ASSERT_TRUE(WaitForCounter("mcp_tool_calls", 1));  // the emulator holds the answer
  Clock::time_point cancelled_at = Clock::now();
  handle->Cancel();
  handle->Cancel();  // idempotent
  auto o = testing::Await(outcome);
  ASSERT_TRUE(o.has_value());
  EXPECT_LT(Clock::now() - cancelled_at, kPromptly);
  EXPECT_TRUE(o->is_error);
  EXPECT_THAT(o->status, StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  EXPECT_THAT(o->text, HasSubstr("query_space_01ef5a could not be called (CANCELLED)"));
  auto closed = closes_->Wait(1);
  ASSERT_TRUE(closed.has_value());
  EXPECT_LT(closed->at(0) - cancelled_at, kPromptly);
}

TEST_F(McpCancelTest, CancelAfterTheAnswerChangesNothing) {
  std::future<ToolOutcome> outcome;
  auto handle = Start(Url("/api/2.0/mcp/functions/main/tools"), "main__tools__echo",
                      R"({"text":"hi"})", outcome);
  auto o = testing::Await(outcome);
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(o->is_error) << o->text;
  handle->Cancel();  // nothing left to cancel; `done` is not called again (set_value would throw)
  EXPECT_THAT(o->status, IsOk());
}

// A server that answers `initialize` only once released, then the notification and tools/call;
// it records each request's JSON-RPC method.
class HeldServer {
 public:
  HeldServer()
      : server_([this](const upstream::testing::ServerRequest& request,
                       upstream::testing::ServerConn& conn) { return Answer(request, conn); }) {}

  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_.port(), "/mcp"); }
  void Release() { released_.Notify(); }
  bool WaitRequests(int n) { return server_.WaitRequests(n); }
  std::vector<std::string> methods() {
    absl::MutexLock lock(&mu_);
    return methods_;
  }

 private:
  bool Answer(const upstream::testing::ServerRequest& request,
              upstream::testing::ServerConn& conn) {
    json::object message = json::parse(request.body).as_object();
    std::string method(message.at("method").as_string());
    {
      absl::MutexLock lock(&mu_);
      methods_.push_back(method);
    }
    using upstream::testing::TestServer;
    const std::string headers = "Content-Type: application/json\r\nMcp-Session-Id: held-1\r\n";
    if (method == "initialize") {
      released_.WaitForNotificationWithTimeout(absl::FromChrono(testing::kWait));
      json::object result{{"protocolVersion", kMcpProtocolVersion},
                          {"capabilities", json::object()},
                          {"serverInfo", {{"name", "held"}, {"version", "1"}}}};
      return conn.Write(TestServer::Response(
          200, json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", message.at("id")},
                                            {"result", result}}),
          headers));
    }
    if (!message.contains("id")) return conn.Write(TestServer::Response(202, "", headers));
    json::object result{
        {"content", json::array{{{"type", "text"}, {"text", "answered"}}}}, {"isError", false}};
    return conn.Write(TestServer::Response(
        200, json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", message.at("id")},
                                          {"result", result}}),
        headers));
  }

  absl::Notification released_;
  absl::Mutex mu_;
  std::vector<std::string> methods_ ABSL_GUARDED_BY(mu_);
  upstream::testing::TestServer server_;  // last: its threads stop before the rest goes
};

TEST_F(McpCancelTest, ACallCancelledWhileItsSessionIsSetUpNeverSendsIt) {
  HeldServer server;
  std::future<ToolOutcome> first;
  auto handle = Start(server.url(), "first_tool", "{}", first);
  ASSERT_TRUE(server.WaitRequests(1));  // initialize, held
  handle->Cancel();
  auto o = testing::Await(first);
  ASSERT_TRUE(o.has_value());
  EXPECT_THAT(o->status, StatusIs(absl::StatusCode::kCancelled, ::testing::_));

  server.Release();
  // A second call on the same session: once it answered, the first call's turn (it waited
  // for the session before the second did) has passed.
  std::future<ToolOutcome> second;
  Start(server.url(), "second_tool", "{}", second);
  auto o2 = testing::Await(second);
  ASSERT_TRUE(o2.has_value());
  EXPECT_EQ(o2->text, "answered");
  EXPECT_THAT(server.methods(),
              ElementsAre("initialize", "notifications/initialized", "tools/call"));
}

}  // namespace
}  // namespace agentgateway::local
