// The REST shim's HTTP/1.1 server: POST /invocations, /responses, /agents/{name}/invocations
// (JSON or SSE), GET /health, /agent/info and the chat page at /, all served by calling
// AgentService through an AgentBackend (agent_backend.h): in agent-gateway the service itself,
// in-process; in tests also a gRPC channel to a fake service.
//
// Owns an io_context run by `threads` threads, the listener, the TLS context (when the options
// ask for HTTPS) and, through them, one session per connection. Beast stays out of this header
// (pimpl).
#ifndef AGENTGATEWAY_GATEWAY_HTTP_SERVER_H_
#define AGENTGATEWAY_GATEWAY_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace agentgateway::gateway {

class AgentBackend;

struct HttpServerOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t port = 8000;  // 0 = ephemeral
  std::size_t threads = 2;
  std::size_t max_body_bytes = 4 << 20;  // larger -> 413
  std::chrono::milliseconds read_timeout{60'000};
  // An open SSE response with no frame written for this long gets a `: keep-alive` comment
  // frame, so proxies and idle timers don't cut streams during long tool calls. 0 disables.
  std::chrono::milliseconds sse_heartbeat{15'000};
  std::string default_profile_hint;  // informational; the service picks the default profile
  // HTTPS: both set -> the port serves TLS only (1.2+, ALPN http/1.1); one without the other is
  // INVALID_ARGUMENT. The cert PEM is the leaf first, then any intermediates.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Mutual TLS: set -> every client must present a certificate chaining to one of these CAs.
  std::string tls_client_ca_pem;
  // Asked on each readiness probe: empty when ready, else why not (see ServerState::not_ready).
  std::function<std::string()> readiness_problem;
  // identity.trusted_proxy: whether GET /agent/whoami shows the forwarded identity headers.
  bool trusted_proxy = false;
  // The profile serving the Supervisor API drop-in route (POST /ai-gateway/mlflow/v1/responses);
  // empty: the route answers 404 saying how to turn it on.
  std::string dropin_profile;
};

class HttpServer {
 public:
  // Binds and starts serving; errors: INVALID_ARGUMENT (bad host, TLS options incomplete or
  // not parseable, with OpenSSL's reason), UNAVAILABLE (bind/listen).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                            std::shared_ptr<AgentBackend> backend);
  // Through a gRPC channel to an AgentService (MakeGrpcBackend).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                            std::shared_ptr<grpc::Channel> channel);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // Stop()

  uint16_t port() const;  // the bound port

  // Graceful drain, step 1: stops accepting; readiness (/health) answers 503 from now on and
  // every response closes its connection. Calls in flight go on. Idempotent.
  void BeginDrain();
  // Step 2 (after the calls ended): waits until every response in progress was written, so
  // final error frames reach their clients. True when none is left within `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout);

  // Stops accepting, closes idle sessions, cancels open streams and calls, joins the threads.
  // Idempotent. Must not be called from an io thread or a gRPC callback.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_HTTP_SERVER_H_
