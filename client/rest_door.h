// RestDoor: agentctl's way through the gateway's REST door, over the project's own HTTP client
// (server/upstream HttpPool) and SSE decoder. It offers what agentctl needs of AgentClient:
// a streamed answer, the agent's description and the health check, with the same CallOptions
// (sent as X-Forwarded-* / X-Request-Id / traceparent headers, the timeout also as
// X-Request-Timeout), the same retry rule (a failure to connect or a 503 before any event)
// and the same status codes (HTTP status -> absl code in one table, rest_errors.cc).
//
//   POST {base}/invocations or {base}/agents/{profile}/invocations, "stream": true, read as
//   the MLflow framing: `data: <event JSON>` frames, `data: {"error": "..."}` for a failure,
//   `data: {"trace_id": ...}`, ending `data: [DONE]`.
//
// Owns its pool (one I/O thread). Calls block the calling thread; the Stream callback runs on
// the pool's thread, one event at a time. No Asio type in this header.
#ifndef AGENTGATEWAY_CLIENT_REST_DOOR_H_
#define AGENTGATEWAY_CLIENT_REST_DOOR_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agentgateway/v1/agent_service.pb.h"
#include "client/agent_client.h"
#include "client/sse_collector.h"

namespace agentgateway::upstream {
class HttpPool;
}

namespace agentgateway::client {

struct RestOptions {
  std::string base_url;  // "http://127.0.0.1:8000" (a path prefix is kept)
  std::string ca_file;   // trust roots for https; empty: the system's
  std::chrono::milliseconds default_timeout{0};
  int max_attempts = 3;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2'000};
};

class RestDoor {
 public:
  // INVALID_ARGUMENT for a base URL that is not http(s)://host[:port][/prefix].
  static absl::StatusOr<std::unique_ptr<RestDoor>> Create(RestOptions options);
  ~RestDoor();

  // Streams the answer to `question` (a user message) from options.profile's route.
  absl::Status Stream(std::string_view question, const CallOptions& options,
                      const DataCallback& on_data);
  // GET /agent/info, as the proto message (so one printer serves both doors).
  absl::StatusOr<v1::AgentInfo> GetAgentInfo(const CallOptions& options);
  // GET /health: 200 -> SERVING, 503 -> NOT_SERVING; anything else is an error.
  absl::StatusOr<HealthStatus> Health(const CallOptions& options);
  // The raw body of the last successful GET (for --json).
  const std::string& last_body() const { return last_body_; }
  const std::string& base_url() const { return options_.base_url; }

 private:
  explicit RestDoor(RestOptions options);
  absl::StatusOr<std::string> Get(std::string_view path, const CallOptions& options,
                                  bool retry_unavailable, int* http_status);

  RestOptions options_;
  std::unique_ptr<upstream::HttpPool> pool_;
  std::string last_body_;
};

}  // namespace agentgateway::client

#endif  // AGENTGATEWAY_CLIENT_REST_DOOR_H_
