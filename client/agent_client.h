// AgentClient: a C++ client of agentgateway.v1.AgentService (and grpc.health.v1.Health) over
// the generated stubs, with what every caller would otherwise write again: deadlines, retry of
// UNAVAILABLE while that is safe, and the identity / tracing metadata the gateway reads.
//
//   auto client = AgentClient::Create({.target = "127.0.0.1:50051"});
//   CallOptions call{.profile = "sales", .timeout = std::chrono::seconds(30)};
//   absl::Status s = (*client)->Stream(TextRequest("How did sales do?"), call,
//                                      [](const v1::StreamEvent& e) { ...; return true; });
//
// Retries (ClientOptions::max_attempts, exponential backoff with jitter, within the call's
// deadline). Tool calls have side effects, so a call is repeated only when it cannot have run:
//   * Stream: UNAVAILABLE before the first event (the gateway relays response.created before
//     any tool runs); never once an event was delivered.
//   * Invoke: only when the gateway was not reached (connect failure); an UNAVAILABLE the
//     gateway itself answered may come after tools ran.
//   * GetResponse, GetAgentInfo, Health (reads): any UNAVAILABLE.
// A status after retries says "(after N attempts)". A failure to reach the gateway at all is
// UNAVAILABLE marked so that IsUnreachable() tells it from the gateway's own UNAVAILABLE.
//
// Thread-safety: one AgentClient may serve many calls at once from any threads. Calls block
// the calling thread; the Stream callback runs on it too. The header holds no gRPC types.
#ifndef AGENTGATEWAY_CLIENT_AGENT_CLIENT_H_
#define AGENTGATEWAY_CLIENT_AGENT_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agentgateway/v1/agent_service.pb.h"

namespace agentgateway::client {

struct TlsOptions {
  bool enabled = false;
  std::string ca_file;    // trust roots (PEM); empty: the system's
  std::string cert_file;  // client certificate chain (PEM), for mutual TLS
  std::string key_file;   // its private key (PEM); set both or neither
};

struct ClientOptions {
  std::string target = "127.0.0.1:50051";  // any gRPC target: HOST:PORT, dns:///..., unix:...
  TlsOptions tls;
  // Deadline of a call whose CallOptions set none; zero: no deadline.
  std::chrono::milliseconds default_timeout{0};
  // Attempts per call for the retryable failures (see the header comment); 1: no retry.
  int max_attempts = 3;
  std::chrono::milliseconds initial_backoff{100};  // doubles per retry, up to max_backoff;
  std::chrono::milliseconds max_backoff{2'000};    // each wait is drawn from [b/2, b]
  // Told before each retry (attempt = the one that failed, from 1), on the calling thread.
  std::function<void(int attempt, const absl::Status& failure)> on_retry;
};

using Metadata = std::vector<std::pair<std::string, std::string>>;

// What one call sends besides its request message. Metadata keys are lowercase.
struct CallOptions {
  std::string profile;  // non-empty: replaces the request's profile
  // This call's deadline (overrides ClientOptions::default_timeout; covers every attempt).
  std::optional<std::chrono::milliseconds> timeout;
  std::string user_token;       // x-forwarded-access-token (profiles with `auth: user`)
  std::string forwarded_user;   // x-forwarded-user
  std::string forwarded_email;  // x-forwarded-email
  std::string request_id;       // x-request-id
  std::string traceparent;      // W3C trace context to join
  Metadata metadata;            // anything else
};

// What a call learned besides its answer (optional out-parameter).
struct CallReport {
  int attempts = 0;
  std::string trace_id;  // the gateway's `x-trace-id` trailer
  Metadata trailers;     // every trailing metadata entry
};

enum class HealthStatus { kUnknown, kServing, kNotServing, kServiceUnknown };
std::string_view HealthStatusName(HealthStatus status);  // "SERVING", ...

// Called per stream event in order; return false to stop the stream (it is cancelled).
using EventCallback = std::function<bool(const v1::StreamEvent& event)>;

class AgentClient {
 public:
  // Builds the channel (it connects lazily). INVALID_ARGUMENT for unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<AgentClient>> Create(ClientOptions options);
  ~AgentClient();

  absl::StatusOr<v1::InvokeResponse> Invoke(const v1::InvokeRequest& request,
                                            const CallOptions& options = {},
                                            CallReport* report = nullptr);

  // Runs a Stream call, handing each event to `on_event`. OK when the stream ended cleanly;
  // CANCELLED ("stopped by the caller") when `on_event` returned false; else the failure.
  absl::Status Stream(const v1::InvokeRequest& request, const CallOptions& options,
                      const EventCallback& on_event, CallReport* report = nullptr);

  // Polls a background run (GetResponse{id, profile}); options.profile is used when set.
  absl::StatusOr<v1::InvokeResponse> GetResponse(const std::string& id,
                                                 const CallOptions& options = {},
                                                 CallReport* report = nullptr);

  absl::StatusOr<v1::AgentInfo> GetAgentInfo(const CallOptions& options = {});

  // grpc.health.v1.Health/Check for `service` ("" = the whole server).
  absl::StatusOr<HealthStatus> Health(const std::string& service = "",
                                      const CallOptions& options = {});

  const std::string& target() const;

 private:
  struct Impl;
  explicit AgentClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when `status` says the gateway could not be reached at all (connect refused, no route,
// TLS handshake failed): nothing was sent to it.
bool IsUnreachable(const absl::Status& status);
// Marks `status` as unreachable (used by other transports, e.g. agentctl's REST door).
absl::Status MarkUnreachable(absl::Status status);

// A request holding one user text message.
v1::InvokeRequest TextRequest(std::string_view question, std::string_view profile = {});

}  // namespace agentgateway::client

#endif  // AGENTGATEWAY_CLIENT_AGENT_CLIENT_H_
