// Tests of the emulated managed MCP servers over loopback: the Streamable HTTP handshake,
// tools/list and tools/call as JSON and as SSE, the session rules, each JSON-RPC error, isError,
// delayed tools, scopes for user tokens, and the call records.
#include <chrono>

#include "gtest/gtest.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/test_client.h"

namespace agentgateway::emulator {
namespace {

using test_client::ClientResponse;
using test_client::Headers;
using test_client::ParseSse;
using test_client::SseEvent;
using test_client::TestClient;
namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::string_view kGenie = "/api/2.0/mcp/genie/01ef5a";
constexpr std::string_view kFunctions = "/api/2.0/mcp/functions/main/tools";
constexpr std::string_view kFunction = "/api/2.0/mcp/functions/system/ai/python_exec";
constexpr std::string_view kExternal = "/api/2.0/mcp/external/github_conn";
constexpr std::string_view kAccept = "application/json, text/event-stream";

std::string Str(const json::value& v) { return std::string(v.as_string()); }

json::object Rpc(std::string_view method, json::object params = {}, int64_t id = 1) {
  json::object m{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.empty()) m["params"] = std::move(params);
  return m;
}

json::object Initialize(std::string_view version = "2025-06-18") {
  return Rpc("initialize", {{"protocolVersion", version},
                            {"capabilities", json::object()},
                            {"clientInfo", json::object{{"name", "test"}, {"version", "1"}}}});
}

json::object Call(std::string_view tool, json::object arguments, int64_t id = 3) {
  return Rpc("tools/call", {{"name", tool}, {"arguments", std::move(arguments)}}, id);
}

class McpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmulatorOptions options;
    options.threads = 2;
    auto created = Emulator::Create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    emulator_ = *std::move(created);
  }

  ClientResponse Send(http::verb verb, std::string_view path, std::string body,
                      std::string_view session = {}, Headers headers = {}) {
    headers.emplace_back("Accept", std::string(kAccept));
    if (!session.empty()) headers.emplace_back("Mcp-Session-Id", std::string(session));
    TestClient client(emulator_->port());
    return client.Exchange(verb, path, std::move(body), headers);
  }
  ClientResponse Post(std::string_view path, const json::object& message,
                      std::string_view session = {}, Headers headers = {}) {
    return Send(http::verb::post, path, json::serialize(message), session, std::move(headers));
  }

  // initialize + notifications/initialized; the session id.
  std::string Open(std::string_view path, Headers headers = {}) {
    ClientResponse r = Post(path, Initialize(), {}, headers);
    EXPECT_EQ(r.status, 200) << r.body;
    std::string session(r.headers["Mcp-Session-Id"]);
    EXPECT_FALSE(session.empty());
    json::object note{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
    ClientResponse n = Post(path, note, session, headers);
    EXPECT_EQ(n.status, 202);
    EXPECT_TRUE(n.body.empty());
    return session;
  }

  // The JSON-RPC response of an answer, JSON or SSE (the last `event: message`).
  static json::value Message(const ClientResponse& r) {
    if (std::string(r.headers[http::field::content_type]) != "text/event-stream") return r.Json();
    std::vector<SseEvent> events = ParseSse(r.body);
    EXPECT_FALSE(events.empty());
    EXPECT_EQ(events.back().event, "message");
    return events.back().json;
  }

  std::string UserToken(json::array scopes) {
    TestClient client(emulator_->port());
    ClientResponse r = client.Exchange(
        http::verb::post, "/emulator/users/token",
        json::serialize(json::object{{"user", "bob@example.com"}, {"scopes", scopes}}));
    return Str(r.Json().at("access_token"));
  }

  std::unique_ptr<Emulator> emulator_;
};

TEST_F(McpServerTest, GenieHandshakeListAndCallAnswerAsSse) {
  ClientResponse init = Post(kGenie, Initialize());
  ASSERT_EQ(init.status, 200) << init.body;
  json::value result = init.Json().at("result");
  EXPECT_EQ(Str(result.at("protocolVersion")), "2025-06-18");
  EXPECT_TRUE(result.at("capabilities").at("tools").is_object());
  EXPECT_FALSE(Str(result.at("serverInfo").at("name")).empty());
  std::string session(init.headers["Mcp-Session-Id"]);
  ASSERT_FALSE(session.empty());
  ClientResponse note = Post(kGenie, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                             session);
  EXPECT_EQ(note.status, 202);

  ClientResponse list = Post(kGenie, Rpc("tools/list", {}, 2), session);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(std::string(list.headers[http::field::content_type]), "text/event-stream");
  json::value listed = Message(list);
  EXPECT_EQ(listed.at("id").as_int64(), 2);
  const json::array& tools = listed.at("result").at("tools").as_array();
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(Str(tools[0].at("name")), "query_space_01ef5a");
  EXPECT_EQ(Str(tools[1].at("name")), "poll_response_01ef5a");
  EXPECT_EQ(Str(tools[0].at("inputSchema").at("type")), "object");

  ClientResponse call = Post(kGenie, Call("query_space_01ef5a", {{"query", "sales by region"}}), session);
  json::value answer = Message(call);
  EXPECT_FALSE(answer.at("result").at("isError").as_bool());
  std::string text = Str(answer.at("result").at("content").at(0).at("text"));
  for (std::string_view part : {"Genie space 01ef5a", "query_space_01ef5a", "sales by region", "static"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << " in " << text;
  }
  // JSON when asked for, and when the client accepts only JSON.
  ClientResponse plain = Post(kGenie, Rpc("tools/list", {}, 4), session, {{"X-Emulator-Mcp-Sse", "0"}});
  EXPECT_EQ(std::string(plain.headers[http::field::content_type]), "application/json");
  EXPECT_EQ(plain.Json().at("id").as_int64(), 4);
}

TEST_F(McpServerTest, FunctionServersListPerSchemaAndPerFunctionAndAnswerJson) {
  std::string session = Open(kFunctions);
  ClientResponse list = Post(kFunctions, Rpc("tools/list", {}, 2), session);
  EXPECT_EQ(std::string(list.headers[http::field::content_type]), "application/json");
  json::value tools_doc = list.Json();
  const json::array& tools = tools_doc.at("result").at("tools").as_array();
  ASSERT_EQ(tools.size(), 3u);
  EXPECT_EQ(Str(tools[0].at("name")), "main__tools__lookup");
  ClientResponse call = Post(kFunctions, Call("main__tools__echo", {{"question", "hi"}}), session);
  std::string text = Str(call.Json().at("result").at("content").at(0).at("text"));
  EXPECT_NE(text.find("Function main.tools.echo returned 42"), std::string::npos) << text;

  std::string one = Open(kFunction);
  list = Post(kFunction, Rpc("tools/list", {}, 2), one);
  json::value single_doc = list.Json();
  const json::array& single = single_doc.at("result").at("tools").as_array();
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(Str(single[0].at("name")), "system__ai__python_exec");
}

TEST_F(McpServerTest, ExternalConnectionStreamsWhenAskedWithProgress) {
  std::string session = Open(kExternal);
  json::object call = Call("search", {{"query", "open issues"}});
  call["params"].as_object()["_meta"] = json::object{{"progressToken", "p1"}};
  ClientResponse r = Post(kExternal, call, session, {{"X-Emulator-Mcp-Sse", "1"}});
  ASSERT_EQ(std::string(r.headers[http::field::content_type]), "text/event-stream");
  std::vector<SseEvent> events = ParseSse(r.body);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(Str(events[0].json.at("method")), "notifications/progress");
  EXPECT_EQ(Str(events[0].json.at("params").at("progressToken")), "p1");
  std::string text = Str(events[1].json.at("result").at("content").at(0).at("text"));
  EXPECT_NE(text.find("Connection github_conn found 2 results"), std::string::npos) << text;
}

TEST_F(McpServerTest, SessionRules) {
  ClientResponse r = Post(kExternal, Rpc("tools/list"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json().at("error").at("code").as_int64(), -32600);
  r = Post(kExternal, Rpc("tools/list"), "mcp-0-unknown");
  EXPECT_EQ(r.status, 404);
  std::string session = Open(kExternal);
  r = Post(kGenie, Rpc("tools/list"), session);  // a session belongs to its server
  EXPECT_EQ(r.status, 404);
  r = Post(kExternal, Rpc("tools/list"), session, {{"Authorization", "Bearer " + UserToken({"all-apis"})}});
  EXPECT_EQ(r.status, 404) << "and to its identity";
  r = Post(kExternal, Rpc("tools/list"), session, {{"MCP-Protocol-Version", "1999-01-01"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Send(http::verb::delete_, kExternal, {}).status, 400);
  EXPECT_EQ(Send(http::verb::delete_, kExternal, {}, session).status, 200);
  EXPECT_EQ(Send(http::verb::delete_, kExternal, {}, session).status, 404);
  EXPECT_EQ(Post(kExternal, Rpc("tools/list"), session).status, 404);
  EXPECT_EQ(Send(http::verb::get, kExternal, {}, session).status, 405);
  // The older protocol version is agreed; an unknown one gets the server's own.
  EXPECT_EQ(Str(Post(kExternal, Initialize("2025-03-26")).Json().at("result").at("protocolVersion")),
            "2025-03-26");
  EXPECT_EQ(Str(Post(kExternal, Initialize("2023-01-01")).Json().at("result").at("protocolVersion")),
            "2025-06-18");
}

TEST_F(McpServerTest, JsonRpcErrorsAndToolErrors) {
  std::string session = Open(kFunctions);
  ClientResponse r = Send(http::verb::post, kFunctions, "{oops", session);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json().at("error").at("code").as_int64(), -32700);
  r = Send(http::verb::post, kFunctions, "[]", session);
  EXPECT_EQ(r.Json().at("error").at("code").as_int64(), -32600);
  r = Post(kFunctions, Rpc("resources/list", {}, 7), session);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json().at("error").at("code").as_int64(), -32601);
  EXPECT_EQ(r.Json().at("id").as_int64(), 7);
  r = Post(kFunctions, Call("main__tools__nope", {}), session);
  EXPECT_EQ(r.Json().at("error").at("code").as_int64(), -32602);
  r = Post(kFunctions, Call("main__tools__lookup", {{"question", "x [[tool-error]]"}}), session);
  json::value result = r.Json().at("result");
  EXPECT_TRUE(result.at("isError").as_bool());
  EXPECT_NE(Str(result.at("content").at(0).at("text")).find("failed"), std::string::npos);
  EXPECT_EQ(Post(kFunctions, Rpc("ping", {}, 9), session).Json().at("result").as_object().size(), 0u);
  EXPECT_EQ(Post("/api/2.0/mcp/genie/missing-space", Initialize()).status, 404);
  EXPECT_EQ(Post("/api/2.0/mcp/unknown/x", Initialize()).status, 404);
}

TEST_F(McpServerTest, ToolDelayHoldsTheAnswerOnATimer) {
  std::string session = Open(kFunctions);
  for (std::string_view sse : {"0", "1"}) {
    auto start = std::chrono::steady_clock::now();
    ClientResponse r = Post(kFunctions, Call("main__tools__echo", {{"question", "[[tool-delay-ms:250]]"}}),
                            session, {{"X-Emulator-Mcp-Sse", std::string(sse)}});
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
    EXPECT_FALSE(Message(r).at("result").at("isError").as_bool()) << r.body;
  }
  // The io thread stays free meanwhile: another client is answered during a delay.
  TestClient slow(emulator_->port());
  slow.Send(http::verb::post, kFunctions,
            json::serialize(Call("main__tools__echo", {{"question", "[[tool-delay-ms:2000]]"}})),
            {{"Accept", std::string(kAccept)}, {"Mcp-Session-Id", session}});
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Post(kFunctions, Rpc("ping", {}, 2), session).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
  slow.Close();
}

TEST_F(McpServerTest, UserTokensNeedEachServersScope) {
  struct Case {
    std::string_view path;
    std::string_view missing;
    std::string_view granted;
  };
  for (const Case& c : {Case{kGenie, "genie (or dashboards.genie)", "dashboards.genie"},
                        Case{kFunctions, "unity-catalog (or mcp.functions)", "mcp.functions"},
                        Case{kExternal, "catalog.connections", "catalog.connections"}}) {
    Headers wrong = {{"Authorization", "Bearer " + UserToken({"ai-gateway", "model-serving"})}};
    ClientResponse r = Post(c.path, Initialize(), {}, wrong);
    ASSERT_EQ(r.status, 403) << c.path;
    EXPECT_EQ(Str(r.Json().at("message")),
              "The access token lacks the scope(s) this request needs: " + std::string(c.missing));
    Headers right = {{"Authorization", "Bearer " + UserToken({std::string(c.granted)})}};
    std::string session = Open(c.path, right);
    json::object args{{"query", "q"}};
    std::string tool = c.path == kGenie ? "query_space_01ef5a"
                       : c.path == kFunctions ? "main__tools__lookup" : "fetch";
    r = Post(c.path, Call(tool, args), session, right);
    EXPECT_NE(Str(Message(r).at("result").at("content").at(0).at("text")).find("user:bob@example.com"),
              std::string::npos);
  }
  TestClient client(emulator_->port());
  ClientResponse r = client.Exchange(http::verb::post, kGenie, json::serialize(Initialize()), {}, false);
  EXPECT_EQ(r.status, 401);
}

TEST_F(McpServerTest, EveryRequestIsRecordedWithMethodToolIdentityAndSession) {
  Headers user = {{"Authorization", "Bearer " + UserToken({"genie"})}};
  std::string session = Open(kGenie, user);
  Post(kGenie, Call("query_space_01ef5a", {{"query", "top customers"}}), session, user);
  std::vector<CallRecord> calls = emulator_->Calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].rpc_method, "initialize");
  EXPECT_EQ(calls[0].session_id, session);
  EXPECT_EQ(calls[1].rpc_method, "notifications/initialized");
  EXPECT_EQ(calls[1].status, 202);
  EXPECT_EQ(calls[2].rpc_method, "tools/call");
  EXPECT_EQ(calls[2].tool, "query_space_01ef5a");
  EXPECT_EQ(calls[2].arguments, R"({"query":"top customers"})");
  EXPECT_TRUE(calls[2].stream);
  for (const CallRecord& c : calls) {
    EXPECT_EQ(c.kind, "mcp");
    EXPECT_EQ(c.identity, "user:bob@example.com");
    EXPECT_EQ(c.path, kGenie);
  }
  TestClient client(emulator_->port());
  json::value http_calls = client.Exchange(http::verb::get, "/emulator/calls?limit=1").Json();
  EXPECT_EQ(http_calls.at("total").as_int64(), 3);
  ASSERT_EQ(http_calls.at("calls").as_array().size(), 1u);
  EXPECT_EQ(Str(http_calls.at("calls").at(0).at("session_id")), session);
  TestClient stats_client(emulator_->port());
  json::value stats = stats_client.Exchange(http::verb::get, "/emulator/stats").Json();
  EXPECT_EQ(stats.at("mcp_requests").as_int64(), 3);
  EXPECT_EQ(stats.at("mcp_sessions_created").as_int64(), 1);
  EXPECT_EQ(stats.at("mcp_tool_calls").as_int64(), 1);
  EXPECT_EQ(stats.at("mcp_tool_errors").as_int64(), 0);
}

}  // namespace
}  // namespace agentgateway::emulator
