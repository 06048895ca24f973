// McpClient over loopback against the emulator's managed MCP servers: the session handshake,
// session reuse, the per-identity tools cache (checked in the emulator's call records), JSON
// and SSE answers, isError, JSON-RPC errors as tool output, session expiry, scopes, timeouts.
#include "server/local/mcp_client.h"

#include <future>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/local/local_fixture.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kFunctions[] = "/api/2.0/mcp/functions/main/tools";
constexpr char kGenie[] = "/api/2.0/mcp/genie/01ef5a";
constexpr char kExternal[] = "/api/2.0/mcp/external/github_conn";

class McpClientTest : public testing::McpLocalTest {
 protected:

  absl::StatusOr<std::vector<McpTool>> List(std::string_view path, const McpIdentity& who) {
    std::promise<absl::StatusOr<std::vector<McpTool>>> done;
    auto future = done.get_future();
    client_->ListTools(Url(path), who, [&done](auto r) { done.set_value(std::move(r)); });
    auto r = testing::Await(future);
    return r ? *std::move(r) : absl::DeadlineExceededError("test wait");
  }

  ToolOutcome Call(std::string_view path, const McpIdentity& who, const std::string& tool,
                   const std::string& args,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    std::promise<ToolOutcome> done;
    auto future = done.get_future();
    client_->CallTool(Url(path), who, tool, args,
                      [&done](ToolOutcome o) { done.set_value(std::move(o)); }, timeout);
    auto r = testing::Await(future);
    return r ? *std::move(r) : ToolOutcome{"test wait", true};
  }

  std::vector<emulator::CallRecord> Records(std::string_view rpc_method) {
    std::vector<emulator::CallRecord> out;
    for (auto& c : emulator_->Calls()) {
      if (c.kind == "mcp" && c.rpc_method == rpc_method) out.push_back(c);
    }
    return out;
  }

  const McpIdentity app_{"dev-token", "app"};
};

TEST_F(McpClientTest, SessionIsReusedAndToolsAreListedOncePerIdentity) {
  auto tools = List(kFunctions, app_);
  ASSERT_THAT(tools, IsOk());
  std::vector<std::string> names;
  for (const McpTool& t : *tools) {
    names.push_back(t.name);
    EXPECT_THAT(t.input_schema_json, HasSubstr("object"));
  }
  EXPECT_THAT(names, ElementsAre("main__tools__lookup", "main__tools__python_exec",
                                 "main__tools__echo"));
  ASSERT_THAT(List(kFunctions, app_), IsOk());  // from the cache
  ToolOutcome outcome = Call(kFunctions, app_, "main__tools__echo", R"({"x":"hello"})");
  EXPECT_THAT(outcome.status, IsOk());
  EXPECT_FALSE(outcome.is_error);
  EXPECT_THAT(outcome.text, AllOf(HasSubstr("main__tools__echo"), HasSubstr(R"({"x":"hello"})"),
                                  HasSubstr("ran as")));

  // Another identity: its own session and its own listing.
  std::string token = UserToken("alice@example.com", {"unity-catalog"});
  McpIdentity alice{token, "user:alice@example.com"};
  ASSERT_THAT(List(kFunctions, alice), IsOk());
  ASSERT_THAT(List(kFunctions, alice), IsOk());
  EXPECT_THAT(Call(kFunctions, alice, "main__tools__echo", "{}").text,
              HasSubstr("ran as user:alice@example.com"));

  auto inits = Records("initialize");
  ASSERT_THAT(inits, SizeIs(2));
  EXPECT_THAT(Records("notifications/initialized"), SizeIs(2));
  EXPECT_THAT(Records("tools/list"), SizeIs(2));
  std::map<std::string, std::string> session_by_identity;
  for (const auto& c : inits) session_by_identity[c.identity] = c.session_id;
  ASSERT_THAT(session_by_identity, SizeIs(2));
  for (const auto& c : emulator_->Calls()) {
    EXPECT_EQ(c.status / 100, 2) << c.rpc_method;
    EXPECT_EQ(c.session_id, session_by_identity[c.identity]) << c.rpc_method;
  }
}

TEST_F(McpClientTest, ConcurrentCallsShareOneInitialize) {
  std::vector<std::future<ToolOutcome>> futures;
  std::vector<std::shared_ptr<std::promise<ToolOutcome>>> promises;
  for (int i = 0; i < 4; ++i) {
    auto p = std::make_shared<std::promise<ToolOutcome>>();
    futures.push_back(p->get_future());
    client_->CallTool(Url(kExternal), app_, "search", R"({"query":"q"})",
                      [p](ToolOutcome o) { p->set_value(std::move(o)); });
    promises.push_back(p);
  }
  for (auto& f : futures) {
    auto o = testing::Await(f);
    ASSERT_TRUE(o.has_value());
    EXPECT_FALSE(o->is_error) << o->text;
  }
  EXPECT_THAT(Records("initialize"), SizeIs(1));
  EXPECT_THAT(Records("tools/call"), SizeIs(4));
}

TEST_F(McpClientTest, SseAndJsonAnswersGiveTheSameKindOfOutcome) {
  ToolOutcome genie = Call(kGenie, app_, "query_space_01ef5a", R"({"query":"sales by region"})");
  EXPECT_THAT(genie.status, IsOk());
  EXPECT_FALSE(genie.is_error);
  EXPECT_THAT(genie.text, HasSubstr("Genie space 01ef5a"));
  // A delayed SSE answer (an SSE comment line first) too.
  ToolOutcome slow =
      Call(kGenie, app_, "query_space_01ef5a", R"({"query":"x [[tool-delay-ms:50]]"})");
  EXPECT_THAT(slow.text, HasSubstr("Genie space 01ef5a"));
  ToolOutcome json = Call(kExternal, app_, "fetch", R"({"id":"doc-1"})");
  EXPECT_THAT(json.text, HasSubstr("doc-1"));
  auto calls = Records("tools/call");
  ASSERT_THAT(calls, SizeIs(3));
  EXPECT_TRUE(calls[0].stream);
  EXPECT_TRUE(calls[1].stream);
  EXPECT_FALSE(calls[2].stream);
}

TEST_F(McpClientTest, IsErrorResultIsAnErrorOutcomeWithTheText) {
  ToolOutcome o = Call(kExternal, app_, "search", R"({"query":"[[tool-error]]"})");
  EXPECT_THAT(o.status, IsOk());
  EXPECT_TRUE(o.is_error);
  EXPECT_FALSE(o.rpc_error.has_value());
  EXPECT_THAT(o.text, HasSubstr("reported an error"));
}

TEST_F(McpClientTest, UnknownToolIsToolOutputNotACrash) {
  ToolOutcome o = Call(kExternal, app_, "no_such_tool", "{}");
  EXPECT_THAT(o.status, IsOk());
  EXPECT_TRUE(o.is_error);
  EXPECT_EQ(o.rpc_error, -32602);
  EXPECT_THAT(o.text, AllOf(HasSubstr("no_such_tool"), HasSubstr("-32602")));
}

TEST_F(McpClientTest, ExpiredSessionIsReinitializedOnce) {
  ASSERT_THAT(List(kExternal, app_), IsOk());
  std::string first = Records("initialize").at(0).session_id;
  // The server forgets the session behind the client's back.
  upstream::HttpRequest del;
  del.method = "DELETE";
  del.url = *upstream::Url::Parse(Url(kExternal));
  del.headers = {{"Authorization", "Bearer dev-token"}, {"Mcp-Session-Id", first}};
  auto deleted = pool_->Fetch(std::move(del));
  ASSERT_THAT(deleted, IsOk());
  ASSERT_EQ(deleted->head.status, 200);

  ToolOutcome o = Call(kExternal, app_, "search", R"({"query":"again"})");
  EXPECT_FALSE(o.is_error) << o.text;
  auto calls = Records("tools/call");
  ASSERT_THAT(calls, SizeIs(2));
  EXPECT_EQ(calls[0].status, 404);
  EXPECT_EQ(calls[0].session_id, first);
  EXPECT_EQ(calls[1].status, 200);
  auto inits = Records("initialize");
  ASSERT_THAT(inits, SizeIs(2));
  EXPECT_NE(inits[1].session_id, first);
  EXPECT_EQ(calls[1].session_id, inits[1].session_id);
  // The next call uses the new session directly.
  Call(kExternal, app_, "search", "{}");
  EXPECT_THAT(Records("initialize"), SizeIs(2));
}

TEST_F(McpClientTest, UserTokenWithoutScopeIsPermissionDeniedNamingIt) {
  std::string token = UserToken("bob@example.com", {"unity-catalog"});
  McpIdentity bob{token, ""};  // no key: a fingerprint of the token
  EXPECT_THAT(List(kGenie, bob),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("genie")));
  ToolOutcome o = Call(kGenie, bob, "query_space_01ef5a", "{}");
  EXPECT_THAT(o.status, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("genie")));
  EXPECT_TRUE(o.is_error);
  EXPECT_THAT(o.text, AllOf(HasSubstr("PERMISSION_DENIED"), HasSubstr("genie")));
  // A failed initialize is not remembered: a later call tries again.
  Call(kGenie, bob, "query_space_01ef5a", "{}");
  auto calls = emulator_->Calls();
  ASSERT_THAT(calls, SizeIs(3));  // each an initialize, refused before its body was read
  for (const auto& c : calls) EXPECT_EQ(c.status, 403);
}

TEST_F(McpClientTest, TimeoutIsDeadlineExceededOutcome) {
  ASSERT_THAT(List(kExternal, app_), IsOk());
  ToolOutcome o = Call(kExternal, app_, "search", R"({"query":"[[tool-delay-ms:3000]]"})",
                       std::chrono::milliseconds(200));
  EXPECT_THAT(o.status, StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
  EXPECT_TRUE(o.is_error);
  EXPECT_THAT(o.text, HasSubstr("DEADLINE_EXCEEDED"));
  // The session survives a slow tool.
  EXPECT_FALSE(Call(kExternal, app_, "search", "{}").is_error);
  EXPECT_THAT(Records("initialize"), SizeIs(1));
}

TEST_F(McpClientTest, BadInputsAreErrorOutcomes) {
  EXPECT_THAT(List("/api/2.0/mcp/genie/missing_space", app_),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(Call(kExternal, {"", "app"}, "search", "{}").status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token")));
  // Only the explicit anonymous identity goes without a token (servers outside the workspace);
  // the emulator's own server then refuses the call itself.
  EXPECT_THAT(Call(kExternal, McpIdentity::Anonymous(), "search", "{}").status,
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
  EXPECT_THAT(Call(kExternal, app_, "search", "[1]").status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON object")));
  std::promise<ToolOutcome> done;
  auto future = done.get_future();
  client_->CallTool("not a url", app_, "t", "{}",
                    [&done](ToolOutcome o) { done.set_value(std::move(o)); });
  auto o = testing::Await(future);
  ASSERT_TRUE(o.has_value());
  EXPECT_THAT(o->status, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST(McpIdentityKeyTest, NeverHoldsTheToken) {
  std::string key = McpClient::IdentityKey({"secret-token-123", ""});
  EXPECT_THAT(key, AllOf(HasSubstr("sha256:"), Not(HasSubstr("secret-token-123"))));
  EXPECT_EQ(key, McpClient::IdentityKey({"secret-token-123", ""}));
  EXPECT_NE(key, McpClient::IdentityKey({"secret-token-124", ""}));
  EXPECT_EQ(McpClient::IdentityKey({"secret-token-123", "app"}), "id:app");
}

TEST(ToolResultTextTest, SummarisesNonTextParts) {
  bool is_error = true;
  EXPECT_EQ(ToolResultText(R"({"content":[{"type":"text","text":"a"},{"type":"image","data":"AAAA",
      "mimeType":"image/png"},{"type":"resource","resource":{"uri":"file:///x","text":"body"}},
      {"type":"resource_link","uri":"file:///y"}]})", &is_error),
            "a\n[image: image/png]\nbody\n[resource link: file:///y]");
  EXPECT_FALSE(is_error);
  EXPECT_EQ(ToolResultText(R"({"content":[],"structuredContent":{"n":1},"isError":true})",
                           &is_error),
            R"({"n":1})");
  EXPECT_TRUE(is_error);
  ToolResultText("[]", &is_error);
  EXPECT_TRUE(is_error);
}

}  // namespace
}  // namespace agentgateway::local
