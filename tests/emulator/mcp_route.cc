// Router::HandleMcp: the Streamable HTTP transport (MCP 2025-06-18, also 2025-03-26) of the
// emulated managed MCP servers under /api/2.0/mcp/: JSON-RPC 2.0 over POST, answered as one
// JSON body or as an SSE stream; Mcp-Session-Id from initialize on; DELETE ends a session.
#include <algorithm>

#include "boost/json/parse.hpp"
#include "boost/json/serialize.hpp"
#include "tests/emulator/router.h"
#include "tests/emulator/str_util.h"

namespace agentgateway::emulator {
namespace {

namespace json = boost::json;

constexpr std::string_view kOlderProtocolVersion = "2025-03-26";
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kSessionError = -32001;  // server-defined range, as the SDKs answer

bool SupportedVersion(std::string_view v) {
  return v == kMcpProtocolVersion || v == kOlderProtocolVersion;
}

std::string RpcError(const json::value& id, int code, std::string_view message) {
  return json::serialize(json::object{
      {"jsonrpc", "2.0"}, {"id", id}, {"error", json::object{{"code", code}, {"message", message}}}});
}

std::string RpcResult(const json::value& id, json::object result) {
  return json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}

Action RpcErrorAction(int http_status, const json::value& id, int code, std::string_view message) {
  Action action;
  action.reply.status = http_status;
  action.reply.body = RpcError(id, code, message);
  return action;
}

Action Accepted() {
  Action action;
  action.reply.status = 202;
  return action;
}

bool Accepts(std::string_view accept, std::string_view type) {
  return ToLower(accept).find(type) != std::string::npos;
}

int64_t ToolDelayMs(std::string_view arguments) {
  constexpr std::string_view kOpen = "[[tool-delay-ms:";
  std::size_t start = arguments.find(kOpen);
  if (start == std::string_view::npos) return 0;
  start += kOpen.size();
  std::size_t end = arguments.find("]]", start);
  int64_t value = 0;
  if (end == std::string_view::npos || !ParseInt(arguments.substr(start, end - start), value)) {
    return 0;
  }
  return std::clamp<int64_t>(value, 0, 3'600'000);
}

json::object ToolsList(const McpServerSpec& server) {
  json::array tools;
  for (const McpTool& tool : server.tools) {
    tools.push_back(json::object{{"name", tool.name},
                                 {"description", tool.description},
                                 {"inputSchema", tool.input_schema}});
  }
  return {{"tools", std::move(tools)}};
}

// The answer to one JSON-RPC request, as JSON or as SSE (`event: message` frames). A progress
// notification comes first when the request asked for it (params._meta.progressToken); a
// delayed SSE answer without one starts with an SSE comment so the head goes out at once.
Action Answer(std::string body, bool sse, std::chrono::milliseconds delay,
              const json::value* progress_token) {
  Action action;
  action.delay = delay;
  if (!sse) {
    action.reply.body = std::move(body);
    return action;
  }
  action.kind = Action::Kind::kStream;
  if (progress_token != nullptr) {
    json::object note{{"jsonrpc", "2.0"},
                      {"method", "notifications/progress"},
                      {"params", json::object{{"progressToken", *progress_token},
                                              {"progress", 0},
                                              {"total", 1},
                                              {"message", "The emulated tool is running"}}}};
    action.frames.push_back(Cat("event: message\ndata: ", json::serialize(note), "\n\n"));
  } else if (delay.count() > 0) {
    action.frames.push_back(": the emulated tool is running\n\n");
  }
  action.frames.push_back(Cat("event: message\ndata: ", body, "\n\n"));
  action.stop_after = action.frames.size();
  return action;
}

}  // namespace

Action Router::HandleMcp(const HttpRequestData& request, std::string_view path,
                         std::string_view server_path) {
  stats_.Inc(Stats::kMcpRequests);
  CallRecord call{.kind = "mcp", .method = request.method, .path = std::string(path)};
  call.session_id = std::string(request.Header("mcp-session-id"));
  RequestRecord identity_record;
  absl::StatusOr<std::shared_ptr<const Caller>> caller = Identify(request, identity_record);
  call.identity = identity_record.identity;
  Action action;
  absl::StatusOr<McpServerSpec> server = ResolveMcpServer(server_path);
  if (!caller.ok()) {
    action = ReplyAction(ErrorReply(401, "UNAUTHENTICATED", Cat(caller.status().message())));
    action.reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  } else if (!server.ok()) {
    action = ReplyAction(ErrorReply(404, "RESOURCE_DOES_NOT_EXIST", Cat(server.status().message())));
  } else if (absl::Status allowed =
                 CheckUserScope(**caller, server->scope, server->alternative_scope);
             !allowed.ok()) {
    action = ReplyAction(ErrorReply(403, "PERMISSION_DENIED", Cat(allowed.message())));
  } else {
    action = RunMcp(request, **caller, *server, call);
  }
  call.status = AnsweredStatus(action);
  call_log_.Add(std::move(call));
  return action;
}

Action Router::RunMcp(const HttpRequestData& request, const Caller& caller,
                      const McpServerSpec& server, CallRecord& call) {
  if (request.method == "POST") return RunMcpPost(request, caller, server, call);
  if (request.method != "DELETE") {
    // No server-initiated stream is offered on GET, as the spec allows (405).
    Reply reply = ErrorReply(405, "BAD_REQUEST", Cat("Method ", request.method, " not allowed for ",
                                                     request.target));
    reply.headers.emplace_back("Allow", "POST, DELETE");
    return ReplyAction(std::move(reply));
  }
  if (call.session_id.empty()) {
    return RpcErrorAction(400, nullptr, kInvalidRequest, "Bad Request: Mcp-Session-Id header is required");
  }
  std::optional<McpSession> session = mcp_sessions_.Find(call.session_id);
  if (!session || session->server_key != server.key || session->identity != caller.identity ||
      !mcp_sessions_.Erase(call.session_id)) {
    return RpcErrorAction(404, nullptr, kSessionError, "Session not found");
  }
  return ReplyAction(Reply{});
}

Action Router::RunMcpPost(const HttpRequestData& request, const Caller& caller,
                          const McpServerSpec& server, CallRecord& call) {
  std::string_view accept = request.Header("accept");
  if (!accept.empty() && !Accepts(accept, "application/json") &&
      !Accepts(accept, "text/event-stream") && !Accepts(accept, "*/*")) {
    return RpcErrorAction(406, nullptr, kInvalidRequest,
                          "Not Acceptable: Client must accept application/json and text/event-stream");
  }
  std::string_view content_type = request.Header("content-type");
  if (!content_type.empty() && !Accepts(content_type, "application/json")) {
    return RpcErrorAction(415, nullptr, kInvalidRequest,
                          "Unsupported Media Type: Content-Type must be application/json");
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(request.body, ec);
  if (ec) return RpcErrorAction(400, nullptr, kParseError, "Parse error");
  const json::object* message = parsed.if_object();
  if (message == nullptr) {
    return RpcErrorAction(400, nullptr, kInvalidRequest,
                          "Invalid Request: one JSON-RPC message per POST (no batches)");
  }
  const json::value* jsonrpc = message->if_contains("jsonrpc");
  const json::value* method = message->if_contains("method");
  const json::value* id = message->if_contains("id");
  bool valid_id = id == nullptr || id->is_string() || id->is_int64() || id->is_uint64();
  json::value reply_id = id != nullptr && valid_id ? *id : json::value(nullptr);
  bool client_response = method == nullptr && id != nullptr &&
                         (message->contains("result") || message->contains("error"));
  if (jsonrpc == nullptr || !jsonrpc->is_string() || jsonrpc->get_string() != "2.0" ||
      !valid_id || (!client_response && (method == nullptr || !method->is_string()))) {
    return RpcErrorAction(400, reply_id, kInvalidRequest, "Invalid Request");
  }
  call.rpc_method = client_response ? "" : std::string(method->get_string());
  std::string_view version = request.Header("mcp-protocol-version");
  if (!version.empty() && !SupportedVersion(version)) {
    return RpcErrorAction(400, reply_id, kInvalidRequest,
                          Cat("Bad Request: Unsupported protocol version: ", version));
  }
  const json::value* params_value = message->if_contains("params");
  const json::object* params = params_value ? params_value->if_object() : nullptr;
  if (params_value != nullptr && params == nullptr) {
    return RpcErrorAction(200, reply_id, kInvalidParams, "Invalid params: 'params' must be an object");
  }

  if (call.rpc_method == "initialize") {
    const json::value* asked = params ? params->if_contains("protocolVersion") : nullptr;
    if (id == nullptr || asked == nullptr || !asked->is_string()) {
      return RpcErrorAction(200, reply_id, kInvalidParams,
                            "Invalid params: initialize needs an id and params.protocolVersion");
    }
    std::string agreed = SupportedVersion(asked->get_string()) ? std::string(asked->get_string())
                                                               : std::string(kMcpProtocolVersion);
    call.session_id = mcp_sessions_.Create({server.key, caller.identity, agreed});
    stats_.Inc(Stats::kMcpSessionsCreated);
    json::object result{
        {"protocolVersion", agreed},
        {"capabilities", json::object{{"tools", json::object{{"listChanged", false}}}}},
        {"serverInfo", json::object{{"name", Cat("databricks-mcp-", server.kind, "-emulator")},
                                    {"version", "0.1.0"}}},
        {"instructions", Cat("Emulated Databricks managed MCP server for ", server.label, ".")}};
    Action action = ReplyAction(Reply{});
    action.reply.body = RpcResult(reply_id, std::move(result));
    action.reply.headers.emplace_back("Mcp-Session-Id", call.session_id);
    return action;
  }
  if (call.session_id.empty()) {
    return RpcErrorAction(400, reply_id, kInvalidRequest,
                          "Bad Request: Mcp-Session-Id header is required");
  }
  std::optional<McpSession> session = mcp_sessions_.Find(call.session_id);
  if (!session || session->server_key != server.key || session->identity != caller.identity) {
    return RpcErrorAction(404, reply_id, kSessionError, "Session not found");
  }
  if (id == nullptr) return Accepted();  // notifications (notifications/initialized, ...) and
                                         // the client's responses need no answer

  std::string_view rpc = call.rpc_method;
  bool sse = Accepts(accept, "text/event-stream") &&
             (request.Header("x-emulator-mcp-sse") == "1" ||
              (server.sse_default && request.Header("x-emulator-mcp-sse") != "0"));
  call.stream = sse;
  const json::value* meta = params ? params->if_contains("_meta") : nullptr;
  const json::value* progress =
      meta && meta->is_object() ? meta->get_object().if_contains("progressToken") : nullptr;
  if (rpc == "ping") return Answer(RpcResult(reply_id, {}), sse, {}, nullptr);
  if (rpc == "tools/list") return Answer(RpcResult(reply_id, ToolsList(server)), sse, {}, nullptr);
  if (rpc != "tools/call") {
    return RpcErrorAction(200, reply_id, kMethodNotFound, Cat("Method not found: ", rpc));
  }
  const json::value* name = params ? params->if_contains("name") : nullptr;
  const json::value* arguments = params ? params->if_contains("arguments") : nullptr;
  if (name == nullptr || !name->is_string()) {
    return RpcErrorAction(200, reply_id, kInvalidParams, "Invalid params: 'name' is required");
  }
  call.tool = std::string(name->get_string());
  if (arguments != nullptr && !arguments->is_object() && !arguments->is_null()) {
    return RpcErrorAction(200, reply_id, kInvalidParams,
                          "Invalid params: 'arguments' must be an object");
  }
  call.arguments = arguments != nullptr && arguments->is_object() ? json::serialize(*arguments) : "{}";
  bool known = std::any_of(server.tools.begin(), server.tools.end(),
                           [&](const McpTool& t) { return t.name == call.tool; });
  if (!known) return RpcErrorAction(200, reply_id, kInvalidParams, Cat("Unknown tool: ", call.tool));
  McpToolResult result = RunMcpTool(server, call.tool, call.arguments, caller.identity);
  stats_.Inc(Stats::kMcpToolCalls);
  if (result.is_error) stats_.Inc(Stats::kMcpToolErrors);
  json::object out{
      {"content", json::array{json::object{{"type", "text"}, {"text", result.text}}}},
      {"isError", result.is_error}};
  return Answer(RpcResult(reply_id, std::move(out)), sse,
                std::chrono::milliseconds(ToolDelayMs(call.arguments)), progress);
}

}  // namespace agentgateway::emulator
