// One JSON-RPC exchange with an MCP server over the Streamable HTTP transport: a POST of one
// message, answered by a JSON body, by an SSE stream in which the response with the same `id`
// is found (notifications such as progress are skipped), or, for a notification, by 202.
//
// Internal to McpClient. PostRpc() is asynchronous: `done` runs once, on a pool thread.
#ifndef AGENTGATEWAY_SERVER_LOCAL_MCP_EXCHANGE_H_
#define AGENTGATEWAY_SERVER_LOCAL_MCP_EXCHANGE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::local::mcp {

struct RpcRequest {
  upstream::Url url;
  std::string bearer_token;
  std::string session_id;        // empty: none yet (initialize)
  std::string protocol_version;  // empty before initialize
  std::optional<int64_t> id;     // empty: a notification
  std::string method;
  std::string params_json;       // a JSON object as text; empty: no params
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct RpcReply {
  // OK when the server answered the request (a JSON-RPC error included). Otherwise the
  // transport failure, or the HTTP error mapped by upstream::StatusFromHttpError with the
  // server's message, or UNAVAILABLE/INTERNAL for an answer that holds no response.
  absl::Status status;
  int http_status = 0;
  std::string session_id;  // the answer's Mcp-Session-Id header, if any
  bool sse = false;        // answered as an SSE stream
  // JSON-RPC outcome (status OK and a request): `error` or `result` (JSON text).
  std::optional<int64_t> error_code;
  std::string error_message;
  std::string result_json;
};

using RpcDone = std::function<void(RpcReply)>;

// Returns the exchange's HTTP call: Cancel() closes it and `done` gets CANCELLED.
std::shared_ptr<upstream::Call> PostRpc(upstream::HttpPool& pool, RpcRequest request,
                                        RpcDone done);

}  // namespace agentgateway::local::mcp

#endif  // AGENTGATEWAY_SERVER_LOCAL_MCP_EXCHANGE_H_
