// Internals of HttpPool shared by http_pool.cc (pool bookkeeping, Asio only) and
// http_call.cc (one request/response exchange, the only Beast HTTP code). Not part of the
// upstream API: include http_pool.h instead.
//
// Threading: the pool owns an io_context run by PoolOptions::threads threads. Each
// Connection owns a strand; its socket, timer and read buffer are touched only on that strand.
// A call runs on the strand of the connection it holds (a call that must switch connections
// does so only when no operation of the old one is pending). Pool bookkeeping (idle lists,
// open counts, FIFO waiters) is guarded by PoolImpl::mu_; a call's cross-thread state
// (cancelled, done, current connection) by CallImpl::mu_. Lock order: pool, then call; never
// the reverse, and no callback runs under either lock.
#ifndef AGENTGATEWAY_SERVER_UPSTREAM_POOL_INTERNAL_H_
#define AGENTGATEWAY_SERVER_UPSTREAM_POOL_INTERNAL_H_

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::upstream::internal {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using Strand = net::strand<net::io_context::executor_type>;

// One keep-alive connection to one origin. Shared by the pool (while idle) and by the call
// using it plus that call's pending handlers, which keep it alive until they ran.
class Connection {
 public:
  Connection(Strand strand, ssl::context* tls_context, std::string origin)
      : origin_(std::move(origin)), strand_(strand), timer_(strand) {
    if (tls_context != nullptr) {
      tls_.emplace(strand, *tls_context);
    } else {
      plain_.emplace(strand);
    }
  }

  const std::string& origin() const { return origin_; }
  const Strand& strand() const { return strand_; }
  bool is_tls() const { return tls_.has_value(); }
  ssl::stream<tcp::socket>& tls() { return *tls_; }
  tcp::socket& Socket() { return tls_ ? tls_->next_layer() : *plain_; }
  beast::flat_buffer& buffer() { return buffer_; }
  net::steady_timer& timer() { return timer_; }
  std::uint64_t NextTimerGeneration() { return ++timer_generation_; }
  std::uint64_t timer_generation() const { return timer_generation_; }

  // Runs `f` with the concrete stream type, so composed operations are written once.
  template <class F>
  void Visit(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  // On the strand. No TLS close_notify: a connection we close is never reused, and waiting
  // for the peer's alert would delay cancellation.
  void Close() {
    error_code ignored;  // closing an already-closed or never-opened socket is fine
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
    timer_.cancel();
  }

  // Whether an idle connection is still usable: the peer has not closed it and has sent
  // nothing unsolicited (an HTTP/1.1 server has nothing to say between responses; a TLS
  // close_notify or stray bytes both mean "do not reuse"). Safe off the strand because an
  // idle connection has no operation pending on its socket.
  bool LooksAlive() {
    if (!Socket().is_open()) return false;
    char byte;
    const ssize_t n = ::recv(Socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

 private:
  std::string origin_;
  Strand strand_;
  std::optional<tcp::socket> plain_;
  std::optional<ssl::stream<tcp::socket>> tls_;
  beast::flat_buffer buffer_;
  net::steady_timer timer_;  // phase deadline while busy; idle expiry while idle
  std::uint64_t timer_generation_ = 0;
};

class PoolImpl;

// One request/response exchange. Owned by shared_ptr: by the caller's handle, by the pool
// while it waits for a connection, and by its own pending handlers (each captures
// shared_from_this so the call outlives every operation it started).
class CallImpl : public Call, public std::enable_shared_from_this<CallImpl> {
 public:
  CallImpl(PoolImpl* pool, HttpRequest request, std::shared_ptr<ResponseHandler> handler);
  ~CallImpl() override;

  void Cancel() override;
  void Resume() override;
  // Like Cancel(), but OnComplete receives `status` (the overall deadline uses it).
  void Abort(absl::Status status);
  // Arms the overall backstop (PoolOptions::call_timeout) or, `callers`, the caller's
  // deadline (HttpRequest::deadline); from Start(), before Acquire().
  void StartDeadline(std::chrono::milliseconds timeout, bool callers);
  const HttpRequest& request() const { return request_; }

  const std::string& origin() const { return origin_; }
  // From the pool, any thread: the call may now use `conn` (`fresh`: not yet connected).
  void Assign(std::shared_ptr<Connection> conn, bool fresh);
  // OK, or what Cancel()/Abort() asked the call to end with.
  absl::Status AbortStatus() {
    absl::MutexLock lock(&mu_);
    return abort_status_;
  }
  // From the pool, for a call that never got a connection (shutdown or cancel while queued).
  void CompleteWithoutConnection(absl::Status status);

 private:
  void Begin(std::shared_ptr<Connection> conn, bool fresh);
  void DoResolve();
  void OnResolve(const error_code& ec, const tcp::resolver::results_type& results);
  void DoConnect();
  void OnConnect(const error_code& ec);
  void OnHandshake(const error_code& ec);
  void DoWrite();
  void OnWrite(const error_code& ec);
  void OnReadHeader(const error_code& ec);
  void DoReadBody();
  void OnReadBody(error_code ec);
  bool MaybeRetryStale(const error_code& ec);

  void ArmTimer(std::chrono::milliseconds timeout, const char* phase);
  // The body phase's idle deadline: armed once per run of reads, not per read (a timer set
  // and cancelled per read was a top cost of a fast stream). Each read start moves
  // body_activity_; an expiry that finds recent activity waits again for the rest.
  void ArmBodyTimer();
  void WaitBodyTimer(std::uint64_t generation, std::chrono::steady_clock::duration after);
  void DisarmTimer();
  // True (and the call completed with CANCELLED) when Cancel() was requested: checked before
  // every callback so none runs after Cancel() was seen on the strand.
  bool StopIfCancelled();
  void Fail(absl::Status status);
  void Complete(absl::Status status, bool reusable);

  PoolImpl* const pool_;
  const HttpRequest request_;
  const std::string origin_;
  const std::string host_port_;
  std::shared_ptr<ResponseHandler> handler_;

  absl::Mutex mu_;
  std::shared_ptr<Connection> conn_ ABSL_GUARDED_BY(mu_);  // routes Cancel/Resume
  absl::Status abort_status_ ABSL_GUARDED_BY(mu_);  // non-OK once Cancel()/Abort() ran
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  // The overall backstop. Its handler holds only a weak_ptr, so it never keeps the call
  // alive; it is started and dropped under mu_ (never touched concurrently) and dropped at
  // Complete(), so a finished call holds no Asio object.
  std::optional<net::steady_timer> deadline_ ABSL_GUARDED_BY(mu_);

  // Strand-only state.
  std::shared_ptr<Connection> io_conn_;
  bool fresh_ = false;
  bool retried_stale_ = false;
  std::chrono::steady_clock::time_point sent_at_;  // the request's write started (time to first byte)
  bool paused_ = false;
  std::shared_ptr<CallImpl> paused_self_;  // set only while paused_
  const char* phase_ = "";
  bool body_timer_armed_ = false;  // the body phase's timer is waiting (generation current)
  std::chrono::steady_clock::time_point body_activity_;  // when the latest body read started
  std::optional<tcp::resolver> resolver_;
  std::vector<tcp::endpoint> endpoints_;
  // The Beast request, response parser and body buffer, defined in http_call.cc so that
  // only that file compiles Beast's HTTP code.
  struct Exchange;
  std::unique_ptr<Exchange> exchange_;
};
// The pool proper: per-origin bookkeeping plus the io_context and its threads.
class PoolImpl : public HttpPool {
 public:
  PoolImpl(const PoolOptions& options, ssl::context tls_context);
  ~PoolImpl() override;

  std::shared_ptr<Call> Start(HttpRequest request,
                              std::shared_ptr<ResponseHandler> handler) override;
  absl::StatusOr<FetchResult> Fetch(HttpRequest request) override;
  PoolStats Stats() const override;
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) override;
  std::function<void()> RunAfterCancellable(std::chrono::milliseconds delay,
                                            std::function<void()> fn) override;

  const PoolOptions& options() const { return options_; }
  net::io_context& io_context() { return io_context_; }

  // Gives `call` a connection now (idle or new) or queues it FIFO.
  void Acquire(std::shared_ptr<CallImpl> call);
  // From the connection's strand when a call is done with it.
  void Release(std::shared_ptr<Connection> conn, bool reusable);
  // True when `call` was still queued and has now been removed.
  bool RemoveWaiter(CallImpl* call);
  void Unregister(CallImpl* call);

 private:
  struct OriginState {
    std::size_t open = 0;  // busy + idle
    std::deque<std::shared_ptr<Connection>> idle;  // most recently used at the back
    std::deque<std::shared_ptr<CallImpl>> waiters;
  };
  struct Grant {
    std::shared_ptr<CallImpl> call;
    std::shared_ptr<Connection> conn;  // null: open a new one
  };

  void GrantNewLocked(OriginState& origin, std::vector<Grant>& grants)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Dispatch(std::vector<Grant> grants);
  void ArmIdleTimer(const std::shared_ptr<Connection>& conn);
  void OnIdleTimeout(const std::shared_ptr<Connection>& conn, std::uint64_t generation);

  const PoolOptions options_;
  net::io_context io_context_;
  // The RunAfter timers not fired yet, so the destructor can cancel them (and a cancel that
  // comes after the pool is gone does nothing). Shared with the cancels handed out.
  struct Timers;
  std::shared_ptr<Timers> timers_;
  ssl::context tls_context_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;

  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, OriginState> origins_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<CallImpl*, std::weak_ptr<CallImpl>> live_calls_ ABSL_GUARDED_BY(mu_);
  std::uint64_t connections_opened_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t connections_reused_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agentgateway::upstream::internal

#endif  // AGENTGATEWAY_SERVER_UPSTREAM_POOL_INTERNAL_H_
