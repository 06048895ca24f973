// HttpPool: asynchronous HTTP/1.1 client over TLS (and plain TCP for loopback tests),
// keeping keep-alive connections per origin (scheme, host, port).
//
// The pool owns its io_context and N threads; each call runs on its own strand. No Asio or
// Beast type appears in this header (pimpl), so including it costs nothing. Beast error codes
// never escape: every failure is an absl::Status with the code the caller should act on
// (see error_mapping.h).
//
// Reuse rules: a connection goes back to the idle list only after a response was read to
// its end, the response did not say `Connection: close`, and the call was not cancelled.
// Idle connections expire after `idle_timeout`. At most `max_connections_per_origin` are open
// (busy + idle) per origin; further calls wait in FIFO order for one to free up, at most
// `max_waiters_per_origin` of them: beyond that a call fails at once with RESOURCE_EXHAUSTED.
//
// Timeouts, each a DEADLINE_EXCEEDED naming the phase and the host: connect (resolve + TCP),
// TLS handshake, response head (request sent -> status line), body idle (between reads), and
// an overall backstop from Start() to the end of the body (`call_timeout`).
#ifndef AGENTGATEWAY_SERVER_UPSTREAM_HTTP_POOL_H_
#define AGENTGATEWAY_SERVER_UPSTREAM_HTTP_POOL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace agentgateway::upstream {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A parsed absolute URL: "https://host[:port]/path?query".
struct Url {
  std::string scheme;  // "http" | "https"
  std::string host;
  uint16_t port = 0;   // defaulted from the scheme when absent
  std::string target;  // path + query, at least "/"
  static absl::StatusOr<Url> Parse(std::string_view text);  // INVALID_ARGUMENT on bad input
  std::string Origin() const;  // "https://host:port"
};

struct HttpRequest {
  std::string method = "POST";
  Url url;
  Headers headers;  // Host, Content-Length and User-Agent are set by the pool
  std::string body;
  // The caller's own deadline, when it has one: the call ends with DEADLINE_EXCEEDED (and its
  // connection closes) at this time or at PoolOptions::call_timeout, whichever comes first.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // What `deadline` is, for the error when it passes ("<reason> passed during the upstream
  // call to HOST"); empty: the caller's deadline.
  std::string deadline_reason;
};

struct HttpResponseHead {
  int status = 0;
  Headers headers;  // names as received
  // First value of a header, case-insensitive; empty when absent.
  std::string_view Header(std::string_view name) const;
};

struct PoolOptions {
  // Observe this pool's time to first byte in the process metrics (the gateway's upstream
  // pool does; a client's pool in the same process does not).
  bool record_metrics = false;
  std::size_t threads = 1;
  std::size_t max_connections_per_origin = 64;
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_waiters_per_origin = 1024;  // calls queued for a connection; 0: no cap
  std::chrono::milliseconds connect_timeout{10'000};   // resolve + TCP connect (every address)
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  std::chrono::milliseconds response_timeout{120'000}; // request sent -> response head
  std::chrono::milliseconds read_idle_timeout{600'000};// between body reads
  std::chrono::milliseconds call_timeout{30 * 60'000}; // Start() -> body end; 0: no backstop
  std::string ca_file;          // empty: system default verify paths (unless ca_pem is set)
  std::string ca_pem;           // trust roots given in memory (PEM); added to ca_file's
  bool verify_peer = true;      // false only for tests that say so
  // host -> addresses (IP literals) used instead of DNS for that host, tried in order, like
  // curl's --resolve. The URL's host still drives SNI and certificate checks. For pinning an
  // upstream and for tests.
  std::vector<std::pair<std::string, std::vector<std::string>>> resolve_overrides;
  std::size_t max_response_head_bytes = 64 * 1024;
  std::size_t max_buffered_body_bytes = 16 << 20;  // Fetch() only
};

// Callbacks of one streaming call. All are invoked on the call's strand, never concurrently,
// and never after OnComplete. The pool holds the handler by shared_ptr until OnComplete ran.
class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  // The status line and headers arrived (any status: 2xx and errors alike).
  virtual void OnHead(const HttpResponseHead& head) = 0;
  // A piece of the (de-chunked) body. Return false to pause reading; Call::Resume() restarts.
  virtual bool OnBody(std::string_view bytes) = 0;
  // Exactly once: OK when the body ended normally; otherwise the failure (UNAVAILABLE for
  // connect/TLS/reset, DEADLINE_EXCEEDED for a timeout, CANCELLED after Call::Cancel()).
  virtual void OnComplete(absl::Status status) = 0;
  // Asked once, just before a body that ended normally lets its connection go back to the
  // pool: false closes it instead (the handler judged the exchange broken, e.g. an SSE stream
  // that ended without its terminal event; a server that misbehaved once is not reused).
  virtual bool ConnectionReusable() { return true; }
};

// Handle to an in-flight call. Thread-safe; may outlive the call.
class Call {
 public:
  virtual ~Call() = default;
  // Aborts the call: the connection is closed (never returned to the pool) and OnComplete
  // receives CANCELLED, unless the call already completed. Idempotent.
  virtual void Cancel() = 0;
  // Resumes reading after OnBody returned false. Ignored when the call is not paused, except
  // that a Resume() made from inside OnBody takes effect once that OnBody returns false.
  // A paused call keeps its connection until Resume() or Cancel(); dropping the handle does
  // not cancel (the pool's destructor does).
  virtual void Resume() = 0;
};

struct PoolStats {
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::size_t open = 0;
  std::size_t idle = 0;
  std::size_t waiting = 0;
  std::size_t timers = 0;  // RunAfter timers not fired (or cancelled) yet
};

class HttpPool {
 public:
  static absl::StatusOr<std::unique_ptr<HttpPool>> Create(const PoolOptions& options);
  virtual ~HttpPool() = default;  // cancels every call, closes every connection, joins threads

  // Starts a call; the handler sees the response as it streams.
  virtual std::shared_ptr<Call> Start(HttpRequest request,
                                      std::shared_ptr<ResponseHandler> handler) = 0;

  struct FetchResult {
    HttpResponseHead head;
    std::string body;
  };
  // Convenience: a whole response, buffered (bounded by max_buffered_body_bytes).
  // Blocks the calling thread; never call it from a pool thread.
  virtual absl::StatusOr<FetchResult> Fetch(HttpRequest request) = 0;

  virtual PoolStats Stats() const = 0;

  // Runs `fn` on a pool thread once `delay` has passed (retry backoff). Dropped unrun if the
  // pool is destroyed first (the destructor does not wait for pending timers).
  virtual void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  // The same, and returns a cancel: called before `fn` ran, it drops `fn` unrun and frees its
  // timer at once (a run's deadline timer, when the run ends first). Thread-safe, idempotent,
  // harmless after `fn` ran or the pool is gone. This default (test pools) cannot cancel.
  virtual std::function<void()> RunAfterCancellable(std::chrono::milliseconds delay,
                                                    std::function<void()> fn) {
    RunAfter(delay, std::move(fn));
    return [] {};
  }
};

}  // namespace agentgateway::upstream

#endif  // AGENTGATEWAY_SERVER_UPSTREAM_HTTP_POOL_H_
