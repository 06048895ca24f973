// Engine: what runs an agent request upstream. Adapters: SupervisorEngine (one Supervisor API
// call). The interface holds no gRPC or Asio types so reactors and tests can use any engine.
#ifndef AGENTGATEWAY_SERVER_ENGINE_H_
#define AGENTGATEWAY_SERVER_ENGINE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/status/statusor.h"
#include "agentgateway/v1/agent_service.pb.h"
#include "server/config.h"
#include "server/identity/secret.h"

namespace agentgateway {

// A failure the upstream asked to be retried later (its Retry-After, once the gateway's own
// retries are spent) carries the delay in whole seconds as this payload; the service turns it
// into the `retry-after` trailer (REST: the Retry-After header).
inline constexpr char kRetryAfterPayload[] = "agentgateway.dev/retry-after";

inline absl::Status WithRetryAfter(absl::Status status, std::chrono::seconds delay) {
  if (!status.ok() && delay.count() > 0) {
    status.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(delay.count())));
  }
  return status;
}

struct EngineEvent {
  std::string type;  // e.g. response.output_text.delta, error
  std::string json;  // the event's data, as the upstream sent it
};

// Receives one run's events. Called from engine threads, never concurrently for one run.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Returns false to ask the engine to stop reading upstream until RunHandle::Resume().
  virtual bool OnEvent(EngineEvent event) = 0;
  // Exactly once, after the last OnEvent. Non-OK when the run failed at any point, including
  // an upstream stream that ended without a terminal event or that reported an error.
  virtual void OnFinish(absl::Status status) = 0;
};

// Handle to a running request. Thread-safe, idempotent.
class RunHandle {
 public:
  virtual ~RunHandle() = default;
  virtual void Cancel() = 0;  // closes the upstream request; OnFinish(CANCELLED) follows
  virtual void Resume() = 0;  // after OnEvent returned false
};

struct InvokeResult {
  std::string response_json;
  std::string id;
  std::string status;
  std::string output_text;
};

// The result as AgentService answers it (both doors).
inline void MoveInto(InvokeResult result, v1::InvokeResponse* response) {
  response->set_response_json(std::move(result.response_json));
  response->set_id(std::move(result.id));
  response->set_status(std::move(result.status));
  response->set_output_text(std::move(result.output_text));
}

// Per-request facts the engine needs besides the request itself.
struct RunContext {
  identity::Secret bearer_token;  // the identity tools run as (never printable)
  std::vector<std::pair<std::string, std::string>> forward_headers;  // traceparent, ...
  // The caller's deadline (gRPC deadline; REST X-Request-Timeout): the upstream call ends at
  // it by itself, without waiting for the caller's cancellation to arrive.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::string deadline_reason;  // empty: the caller's deadline (see HttpRequest)
  // Upstream attempts after the first; the engine counts them here for the call's log line.
  std::shared_ptr<std::atomic<int>> retries;
  // Owns the Profile the engine was given when the request defined its own agent (a drop-in
  // profile); engines keep their run's context, so the profile lives as long as the run.
  std::shared_ptr<const void> profile_owner;
};

class Engine {
 public:
  using InvokeDone = std::function<void(absl::StatusOr<InvokeResult>)>;
  virtual ~Engine() = default;

  // Validation failures return an error at once (nothing was sent); afterwards every outcome
  // reaches the sink.
  virtual absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                            const v1::InvokeRequest& request,
                                                            RunContext context,
                                                            std::shared_ptr<EventSink> sink) = 0;
  virtual absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                            const v1::InvokeRequest& request,
                                                            RunContext context,
                                                            InvokeDone done) = 0;
  // Polls a background run started by Invoke (GET .../responses/{id}); the result is the
  // Responses object as it stands. An invalid id fails at once, before anything is sent.
  // Engines without background runs keep this default.
  virtual absl::StatusOr<std::shared_ptr<RunHandle>> Poll(const Profile& /*profile*/,
                                                          std::string /*id*/,
                                                          RunContext /*context*/,
                                                          InvokeDone /*done*/) {
    return absl::UnimplementedError("this engine has no background runs to poll");
  }
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_ENGINE_H_
