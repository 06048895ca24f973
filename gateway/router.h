// Turns one HTTP request into either an immediate response or a plan for an AgentService
// call, with no socket in sight (Beast's handle_request idea), and turns finished unary RPC
// results back into responses. Stateless and thread-safe; owned by the HttpServer.
#ifndef AGENTGATEWAY_GATEWAY_ROUTER_H_
#define AGENTGATEWAY_GATEWAY_ROUTER_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "agentgateway/v1/agent_service.pb.h"
#include "gateway/http_types.h"
#include "gateway/sse_framing.h"
#include "gateway/status_mapping.h"
#include "server/call_log.h"

namespace agentgateway::gateway {

// Request headers forwarded to AgentService as gRPC metadata (same lowercase names).
inline constexpr std::string_view kForwardedHeaders[] = {
    "x-forwarded-access-token", "x-forwarded-user", "x-forwarded-email",
    "x-forwarded-preferred-username", "x-real-ip", "x-request-id", "traceparent", "tracestate",
    "x-request-timeout"};

struct RpcPlan {
  // kGetResponse: a background run's poll (GetResponse).
  enum class Kind { kInvoke, kStream, kAgentInfo, kGetResponse };
  Kind kind = Kind::kInvoke;
  ApiFlavor flavor = ApiFlavor::kInvocations;
  agentgateway::v1::InvokeRequest request;  // kInvoke and kStream
  agentgateway::v1::GetResponseRequest get_response;  // kGetResponse
  HeaderList metadata;                      // gRPC metadata, lowercase keys
  std::optional<std::chrono::milliseconds> timeout;  // from x-request-timeout (seconds)
  std::string request_id;
  // The W3C trace id (32 hex) of the call: the caller's traceparent's, or a new trace's.
  std::string trace_id;
  // x-mlflow-return-trace-id: true, or databricks_options.return_trace: true (MLflow framing
  // only): a `{"trace_id"}` frame before [DONE], or metadata.trace_id in a JSON answer.
  bool return_trace_id = false;

  SseFraming framing() const {
    return flavor == ApiFlavor::kResponses ? SseFraming::kOpenAi : SseFraming::kMlflow;
  }
  // The stream's framer (with the trace id frame when asked for).
  SseFramer Framer() const {
    return SseFramer(framing(), return_trace_id && framing() == SseFraming::kMlflow
                                    ? std::optional<std::string>(trace_id)
                                    : std::nullopt);
  }
};

struct RouteResult {
  std::string request_id;                // echoed as the x-request-id response header
  std::optional<HttpResponse> response;  // answer now, or
  std::optional<RpcPlan> rpc;            // call AgentService first
};

// What the server's state adds to routing.
struct ServerState {
  bool draining = false;  // shutting down: /health, /health/ready and /readyz answer 503
  // Why the gateway cannot serve calls now (the app's upstream token cannot be obtained), or
  // empty: /health/ready and /readyz answer 503 with it. /health stays the drain signal only.
  std::string not_ready;
  // Whether forwarded identity headers count (identity.trusted_proxy): /agent/whoami shows
  // them only then, since otherwise calls ignore them.
  bool trusted_proxy = false;
  // The profile behind the Supervisor API drop-in route, or empty (the route is off).
  std::string dropin_profile;
};

// The Supervisor API's own path: its callers change only their base URL to reach the gateway.
// POST runs the request's agent on the drop-in profile (OpenAI Responses shapes, JSON or SSE);
// the caller's `Authorization: Bearer` token is its identity in a user-mode profile. GET
// {path}/{id} polls a background run.
inline constexpr std::string_view kDropinPath = "/ai-gateway/mlflow/v1/responses";

// Background runs are polled with GET /responses/{id} (OpenAI shape) or GET /invocations/{id}
// (MLflow shape: custom_outputs added, {"detail"} errors), and GET /agents/{name}/responses/{id}
// or /agents/{name}/invocations/{id} for a named profile; an id that is not 1-256 characters of
// [A-Za-z0-9_-] is a 400 before any call.
// GET /health: 200 {"status":"healthy"}, 503 {"status":"draining"} once draining (protocol.md).
// GET /health/ready, /readyz: readiness, also 503 {"status":"not_ready","reason"} while
// ServerState::not_ready says so. GET /health/live, /livez: liveness (200 while the process
// serves HTTP at all). GET /metrics: the Prometheus exposition.
RouteResult Route(const HttpRequest& request, const ServerState& state = {});

// An error response for a request that failed before routing (size limits); the shape follows
// the route the target names.
HttpResponse EarlyError(std::string_view target, int http_status, std::string_view message);

// Responses for finished unary calls. `retry_after` comes from trailing metadata.
HttpResponse InvokeResultToHttp(const RpcPlan& plan, const grpc::Status& status,
                                const agentgateway::v1::InvokeResponse& response,
                                std::string_view retry_after);
HttpResponse AgentInfoResultToHttp(const grpc::Status& status,
                                   const agentgateway::v1::AgentInfo& info,
                                   std::string_view retry_after);

// Response headers of a 200 SSE stream (content-type, cache-control, x-accel-buffering).
HeaderList SseResponseHeaders();

// The route template a request target falls under, for metrics and the call's log line:
// `/invocations`, `/responses`, `/agents/{name}/invocations`, `/agents/{name}/responses`,
// `/responses/{id}`, `/invocations/{id}`, `/agents/{name}/responses/{id}`,
// `/agents/{name}/invocations/{id}`, `/health`, `/health/ready`, `/health/live`, `/readyz`,
// `/livez`, `/agent/info`, `/agent/whoami`, `/metrics`, `/ai-gateway/mlflow/v1/responses`,
// `/ai-gateway/mlflow/v1/responses/{id}`, `/`, `/chat.js`, `/chat.css`,
// `/markdown.js`, or `other` (a bounded set: never the raw path).
std::string_view RouteTemplate(std::string_view target);

// A fresh request id (32 lowercase hex digits).
std::string NewRequestId();

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_ROUTER_H_
