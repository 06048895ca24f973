// Interop: the local engine's agent loop against an MCP server written with the official
// TypeScript SDK (server.mjs: @modelcontextprotocol/sdk, Streamable HTTP, stateful sessions),
// started by the test on an ephemeral port, in both of the SDK's answer modes (SSE streams, its
// default, and JSON bodies). The emulator's scripted Chat model asks for the server's tools by
// name; the profile names the server as a generic `mcp` tool. Asserted: the tool's real output
// (computed by the server) reaches the function_call_output item and the answer, an isError
// result is fed back and the loop goes on, and at the server, the session the SDK issued is
// used by every later request, with the protocol version negotiated, and listed tools are
// cached between runs. The server is outside the workspace, so it never sees the run's token.
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/local/engine_fixture.h"
#include "tests/testing/child_process.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::local {
namespace {

using ::agentgateway::testing::ChildOptions;
using ::agentgateway::testing::ChildProcess;
using ::agentgateway::testing::IsOk;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::RecordingSink;
using testing::Str;

namespace json = boost::json;

constexpr char kBanner[] = "mcp-interop-server listening on ";
constexpr char kToken[] = "interop-token-7f3a";

// One JSON-RPC message the SDK server saw (its GET /calls).
struct ServerCall {
  std::string method, session_id, protocol_version, tool;
};

class McpInteropTest : public testing::LocalEngineTest,
                       public ::testing::WithParamInterface<bool /*json answers*/> {
 protected:
  void SetUp() override {
    LocalEngineTest::SetUp();
    ChildOptions options;
    options.argv = {AG_NODE, AG_MCP_INTEROP_SERVER};
    if (GetParam()) options.argv.push_back("--json");
    auto child = ChildProcess::Start(std::move(options));
    ASSERT_TRUE(child.ok()) << child.status();
    server_ = *std::move(child);
    // The banner line is printed once the port is bound: no sleep, no polling of the port.
    ASSERT_TRUE(server_->WaitForStdout("/mcp\n", testing::kWait))
        << "the MCP SDK server did not start (run tests/local/mcp_interop/setup.sh?)\nstdout: "
        << server_->out() << "\nstderr: " << server_->err();
    std::string out = server_->out();
    std::size_t start = out.find(kBanner);
    ASSERT_NE(start, std::string::npos) << out;
    start += sizeof(kBanner) - 1;
    mcp_url_ = out.substr(start, out.find('\n', start) - start);
    AddTool("mcp", json::serialize(json::object{
                       {"type", "mcp"},
                       {"mcp", {{"server_url", mcp_url_}, {"description", "SDK server"}}}}));
  }
  void TearDown() override {
    LocalEngineTest::TearDown();
    if (server_) {
      server_->Signal(SIGTERM);
      EXPECT_EQ(server_->Wait(testing::kWait), 0) << server_->err();
    }
  }

  std::vector<ServerCall> ServerCalls() {
    upstream::HttpRequest request;
    request.method = "GET";
    std::string base = mcp_url_.substr(0, mcp_url_.size() - 4);  // without "/mcp"
    request.url = *upstream::Url::Parse(absl::StrCat(base, "/calls"));
    auto fetched = pool_->Fetch(std::move(request));
    EXPECT_TRUE(fetched.ok()) << fetched.status();
    std::vector<ServerCall> out;
    if (!fetched.ok()) return out;
    json::value parsed = json::parse(fetched->body);
    for (const json::value& v : parsed.as_array()) {
      const json::object& o = v.as_object();
      out.push_back({Str(o, "method"), Str(o, "session_id"), Str(o, "protocol_version"),
                     Str(o, "tool")});
    }
    return out;
  }

  std::unique_ptr<ChildProcess> server_;
  std::string mcp_url_;
};

TEST_P(McpInteropTest, TheSdkServersToolOutputReachesTheAnswer) {
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Please run word_stats on: the quick brown fox"), sink, Context(kToken)),
              IsOk());
  // Computed by the server from the arguments the model gave (the whole question).
  const std::string expected =
      R"(8 words, 36 letters, longest "word_stats"; counted by MCP SDK 1.)";
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(items, SizeIs(3));
  EXPECT_EQ(Str(items[0], "type"), "function_call");
  EXPECT_EQ(Str(items[0], "name"), "word_stats");
  EXPECT_EQ(Str(items[1], "type"), "function_call_output");
  EXPECT_EQ(Str(items[1], "call_id"), Str(items[0], "call_id"));
  // The server is not on the workspace's origin: the run's Databricks token never reaches it.
  EXPECT_THAT(Str(items[1], "output"), AllOf(HasSubstr(expected), HasSubstr("without a token")));
  EXPECT_EQ(Str(items[2], "type"), "message");
  EXPECT_THAT(sink->text(), AllOf(HasSubstr("The tool word_stats said: "), HasSubstr(expected)));
  EXPECT_THAT(Calls("model"), SizeIs(2));
  EXPECT_THAT(Calls("mcp"), SizeIs(0));  // nothing went to the emulator's own MCP servers

  std::vector<ServerCall> calls = ServerCalls();
  ASSERT_THAT(calls, SizeIs(4));
  EXPECT_EQ(calls[0].method, "initialize");
  EXPECT_EQ(calls[0].session_id, "");
  EXPECT_EQ(calls[1].method, "notifications/initialized");
  EXPECT_EQ(calls[2].method, "tools/list");
  EXPECT_EQ(calls[3].method, "tools/call");
  EXPECT_EQ(calls[3].tool, "word_stats");
  ASSERT_FALSE(calls[1].session_id.empty());
  for (std::size_t i = 1; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].session_id, calls[1].session_id) << calls[i].method;
    EXPECT_EQ(calls[i].protocol_version, kMcpProtocolVersion) << calls[i].method;
  }
}

TEST_P(McpInteropTest, AToolThatThrowsIsFedBackAsItsErrorAndTheLoopAnswers) {
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_THAT(Run(Ask("Try always_fails first"), sink, Context(kToken)), IsOk());
  std::vector<json::object> items = sink->items();
  ASSERT_THAT(items, SizeIs(3));
  EXPECT_EQ(Str(items[0], "name"), "always_fails");
  EXPECT_THAT(Str(items[1], "output"), HasSubstr("the index is offline"));
  EXPECT_EQ(Str(items[2], "type"), "message");
  EXPECT_THAT(sink->text(), AllOf(HasSubstr("The tool always_fails said: "),
                                  HasSubstr("the index is offline")));
}

TEST_P(McpInteropTest, ASecondRunReusesTheSessionAndTheListedTools) {
  for (int run = 0; run < 2; ++run) {
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_THAT(Run(Ask("word_stats again"), sink, Context(kToken)), IsOk()) << run;
    EXPECT_THAT(sink->text(), HasSubstr(R"(2 words, 14 letters, longest "word_stats")")) << run;
  }
  int initialize = 0, list = 0, call = 0;
  for (const ServerCall& c : ServerCalls()) {
    initialize += c.method == "initialize";
    list += c.method == "tools/list";
    call += c.method == "tools/call";
  }
  EXPECT_EQ(initialize, 1);
  EXPECT_EQ(list, 1);
  EXPECT_EQ(call, 2);
}

INSTANTIATE_TEST_SUITE_P(AnswerModes, McpInteropTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Json" : "Sse";
                         });

}  // namespace
}  // namespace agentgateway::local
