// One HTTP/1.1 session per accepted connection, over plain TCP or TLS (Beast lives in
// http_session.cc only).
#ifndef AGENTGATEWAY_GATEWAY_HTTP_SESSION_H_
#define AGENTGATEWAY_GATEWAY_HTTP_SESSION_H_

#include <atomic>
#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "gateway/agent_backend.h"
#include "gateway/http_server.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace agentgateway::gateway {

// What the registry sees of a session, whatever its stream type.
class HttpSessionBase {
 public:
  virtual ~HttpSessionBase() = default;
  // Thread-safe: posts the close (and the cancel of its call) to the session's strand.
  virtual void Shutdown() = 0;
};

// The live sessions, so Stop() can close them. Sessions add themselves on start and remove
// themselves when destroyed.
class SessionRegistry {
 public:
  // False once ShutdownAll ran: the session must close at once.
  bool Add(const std::shared_ptr<HttpSessionBase>& session);
  void Remove(HttpSessionBase* session);
  // Asks every live session to close (cancelling its call or stream); refuses new ones.
  void ShutdownAll();

  // Requests being answered (from routing until the response's last byte was written or the
  // connection ended), so a drain can wait for final error frames to reach their clients.
  void RequestStarted();
  void RequestEnded();
  bool WaitNoRequests(absl::Duration timeout);

 private:
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::size_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<HttpSessionBase*, std::weak_ptr<HttpSessionBase>> sessions_ ABSL_GUARDED_BY(mu_);
};

// What every session shares; owned by the server, outlives all sessions and calls.
struct SessionEnv {
  HttpServerOptions options;
  AgentBackend* backend = nullptr;
  SessionRegistry* registry = nullptr;
  boost::asio::ssl::context* tls = nullptr;  // set: every connection is TLS
  // Set by HttpServer::BeginDrain: readiness fails and every response closes its connection.
  std::atomic<bool> draining{false};
};

// Starts serving `socket` (whose executor must be a strand) until the client or Stop closes it;
// over TLS when env->tls is set, after a handshake bounded by options.read_timeout.
void StartHttpSession(boost::asio::ip::tcp::socket socket, const SessionEnv* env);

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_HTTP_SESSION_H_
