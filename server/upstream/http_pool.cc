// HttpPool implementation: per-origin connection bookkeeping (idle lists, limits, FIFO
// waiters, idle expiry) and the io_context with its threads. The HTTP exchange itself is in
// http_call.cc; this file needs Asio but not Beast's HTTP code.
#include <future>
#include <map>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl/context.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/upstream/pool_internal.h"

namespace agentgateway::upstream {
namespace internal {
namespace {

// Collects a whole response for Fetch(). The promise is set exactly once: on completion, or
// earlier when the body outgrows its bound (Fetch then cancels the call).
class BufferingHandler : public ResponseHandler {
 public:
  explicit BufferingHandler(std::size_t limit) : limit_(limit) {}
  std::future<absl::StatusOr<HttpPool::FetchResult>> Future() { return promise_.get_future(); }

  void OnHead(const HttpResponseHead& head) override { result_.head = head; }
  bool OnBody(std::string_view bytes) override {
    if (result_.body.size() + bytes.size() > limit_) {
      Settle(absl::ResourceExhaustedError(absl::StrCat(
          "upstream response body exceeds the ", limit_, "-byte limit for buffered reads")));
      return false;
    }
    result_.body.append(bytes);
    return true;
  }
  void OnComplete(absl::Status status) override {
    if (status.ok()) {
      Settle(std::move(result_));
    } else {
      Settle(std::move(status));
    }
  }

 private:
  void Settle(absl::StatusOr<HttpPool::FetchResult> value) {
    if (settled_) return;
    settled_ = true;
    promise_.set_value(std::move(value));
  }

  const std::size_t limit_;
  HttpPool::FetchResult result_;
  bool settled_ = false;  // callbacks never run concurrently, so no lock
  std::promise<absl::StatusOr<HttpPool::FetchResult>> promise_;
};

}  // namespace


// Each timer waits on its own strand, where a cancel is posted (a timer object is not safe to
// cancel from another thread while its wait completes). Open until the pool's destructor.
struct PoolImpl::Timers {
  struct Entry {
    std::weak_ptr<net::steady_timer> timer;
    net::strand<net::io_context::executor_type> strand;
  };
  absl::Mutex mu;
  bool open ABSL_GUARDED_BY(mu) = true;
  std::uint64_t next_id ABSL_GUARDED_BY(mu) = 0;
  std::map<std::uint64_t, Entry> pending ABSL_GUARDED_BY(mu);

  void Cancel(std::uint64_t id) {
    absl::MutexLock lock(&mu);
    if (!open) return;
    auto it = pending.find(id);
    if (it == pending.end()) return;  // fired already
    net::post(it->second.strand, [timer = it->second.timer] {
      if (auto t = timer.lock()) t->cancel();
    });
  }
  void CancelAll() {
    absl::MutexLock lock(&mu);
    open = false;
    for (auto& [id, entry] : pending) {
      net::post(entry.strand, [timer = entry.timer] {
        if (auto t = timer.lock()) t->cancel();
      });
    }
  }
};

PoolImpl::PoolImpl(const PoolOptions& options, ssl::context tls_context)
    : options_(options),
      io_context_(static_cast<int>(options.threads)),
      timers_(std::make_shared<Timers>()),
      tls_context_(std::move(tls_context)) {
  work_.emplace(io_context_.get_executor());
  threads_.reserve(options_.threads);
  for (std::size_t i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { io_context_.run(); });
  }
}

PoolImpl::~PoolImpl() {
  std::vector<std::shared_ptr<CallImpl>> calls;
  std::vector<std::shared_ptr<Connection>> idle;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (auto& [ptr, weak] : live_calls_) {
      if (auto call = weak.lock()) calls.push_back(std::move(call));
    }
    for (auto& [origin, state] : origins_) {
      for (auto& conn : state.idle) idle.push_back(std::move(conn));
      state.open -= state.idle.size();
      state.idle.clear();
    }
  }
  for (auto& call : calls) call->Cancel();
  for (auto& conn : idle) net::post(conn->strand(), [conn] { conn->Close(); });
  timers_->CancelAll();  // pending RunAfter timers would otherwise hold run() until they fire
  calls.clear();
  idle.clear();
  // Every socket is closed and every timer cancelled, so run() returns once the resulting
  // completions (each call's OnComplete among them) have run.
  work_.reset();
  for (std::thread& thread : threads_) thread.join();
}

std::shared_ptr<Call> PoolImpl::Start(HttpRequest request,
                                      std::shared_ptr<ResponseHandler> handler) {
  auto call = std::make_shared<CallImpl>(this, std::move(request), std::move(handler));
  // The backstop, or the caller's deadline when that comes first.
  std::chrono::milliseconds timeout = options_.call_timeout;
  bool callers = false;
  if (call->request().deadline.has_value()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *call->request().deadline - std::chrono::steady_clock::now());
    left = std::max(left, std::chrono::milliseconds(1));
    if (timeout.count() <= 0 || left < timeout) {
      timeout = left;
      callers = true;
    }
  }
  if (timeout.count() > 0) call->StartDeadline(timeout, callers);
  {
    absl::MutexLock lock(&mu_);
    live_calls_.emplace(call.get(), call);
  }
  Acquire(call);
  return call;
}

void PoolImpl::Acquire(std::shared_ptr<CallImpl> call) {
  std::vector<Grant> grants;
  std::vector<std::shared_ptr<Connection>> dead;
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    OriginState& origin = origins_[call->origin()];
    if (shutting_down_) {
      refused = absl::CancelledError("upstream pool is shutting down");
    } else if (absl::Status abort = call->AbortStatus(); !abort.ok()) {
      refused = std::move(abort);
    } else {
      while (!origin.idle.empty()) {
        std::shared_ptr<Connection> conn = std::move(origin.idle.back());
        origin.idle.pop_back();
        if (conn->LooksAlive()) {
          ++connections_reused_;
          grants.push_back({call, std::move(conn)});
          break;
        }
        --origin.open;
        dead.push_back(std::move(conn));
      }
      if (grants.empty()) {
        if (origin.open < options_.max_connections_per_origin) {
          ++origin.open;
          grants.push_back({call, nullptr});
        } else if (options_.max_waiters_per_origin != 0 &&
                   origin.waiters.size() >= options_.max_waiters_per_origin) {
          refused = absl::ResourceExhaustedError(absl::StrCat(
              "upstream ", call->origin(), " is at capacity: ", origin.open,
              " requests in flight and ", origin.waiters.size(),
              " queued (upstream.max_connections, upstream.max_queued_requests); retry shortly"));
        } else {
          origin.waiters.push_back(call);
        }
      }
    }
  }
  for (auto& conn : dead) net::post(conn->strand(), [conn] { conn->Close(); });
  if (!refused.ok()) {
    call->CompleteWithoutConnection(std::move(refused));
    return;
  }
  Dispatch(std::move(grants));
}

void PoolImpl::GrantNewLocked(OriginState& origin, std::vector<Grant>& grants) {
  if (shutting_down_) return;  // queued calls are being cancelled by the destructor
  while (!origin.waiters.empty() && origin.open < options_.max_connections_per_origin) {
    ++origin.open;
    grants.push_back({std::move(origin.waiters.front()), nullptr});
    origin.waiters.pop_front();
  }
}

void PoolImpl::Dispatch(std::vector<Grant> grants) {
  for (Grant& grant : grants) {
    const bool fresh = grant.conn == nullptr;
    if (fresh) {
      const bool tls = absl::StartsWith(grant.call->origin(), "https:");
      grant.conn = std::make_shared<Connection>(net::make_strand(io_context_),
                                                tls ? &tls_context_ : nullptr,
                                                grant.call->origin());
      absl::MutexLock lock(&mu_);
      ++connections_opened_;
    }
    grant.call->Assign(std::move(grant.conn), fresh);
  }
}

void PoolImpl::Release(std::shared_ptr<Connection> conn, bool reusable) {
  std::vector<Grant> grants;
  {
    absl::MutexLock lock(&mu_);
    OriginState& origin = origins_[conn->origin()];
    if (reusable && !shutting_down_) {
      if (!origin.waiters.empty()) {
        ++connections_reused_;
        grants.push_back({std::move(origin.waiters.front()), conn});
        origin.waiters.pop_front();
      } else {
        origin.idle.push_back(conn);
        ArmIdleTimer(conn);  // we are on the connection's strand
      }
    } else {
      if (reusable) conn->Close();  // reusable but the pool is shutting down
      --origin.open;
      GrantNewLocked(origin, grants);
    }
  }
  Dispatch(std::move(grants));
}

void PoolImpl::ArmIdleTimer(const std::shared_ptr<Connection>& conn) {
  const std::uint64_t generation = conn->NextTimerGeneration();
  conn->timer().expires_after(options_.idle_timeout);
  // The pool outlives the timer: the destructor closes idle connections (cancelling their
  // timers) before joining the threads that would run this handler.
  conn->timer().async_wait([this, conn, generation](const error_code& ec) {
    if (ec || generation != conn->timer_generation()) return;  // reused or closed meanwhile
    OnIdleTimeout(conn, generation);
  });
}

void PoolImpl::OnIdleTimeout(const std::shared_ptr<Connection>& conn, std::uint64_t) {
  std::vector<Grant> grants;
  bool expired = false;
  {
    absl::MutexLock lock(&mu_);
    OriginState& origin = origins_[conn->origin()];
    for (auto it = origin.idle.begin(); it != origin.idle.end(); ++it) {
      if (*it == conn) {
        origin.idle.erase(it);
        --origin.open;
        expired = true;
        GrantNewLocked(origin, grants);
        break;
      }
    }
  }
  if (expired) conn->Close();
  Dispatch(std::move(grants));
}

bool PoolImpl::RemoveWaiter(CallImpl* call) {
  absl::MutexLock lock(&mu_);
  auto origin = origins_.find(call->origin());
  if (origin == origins_.end()) return false;
  auto& waiters = origin->second.waiters;
  for (auto it = waiters.begin(); it != waiters.end(); ++it) {
    if (it->get() == call) {
      waiters.erase(it);
      return true;
    }
  }
  return false;
}

void PoolImpl::Unregister(CallImpl* call) {
  absl::MutexLock lock(&mu_);
  live_calls_.erase(call);
}

void PoolImpl::RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  RunAfterCancellable(delay, std::move(fn));
}

std::function<void()> PoolImpl::RunAfterCancellable(std::chrono::milliseconds delay,
                                                    std::function<void()> fn) {
  auto strand = net::make_strand(io_context_);
  // The timer keeps itself alive through its own handler.
  auto timer = std::make_shared<net::steady_timer>(strand, delay);
  std::uint64_t id;
  {
    absl::MutexLock lock(&timers_->mu);
    if (!timers_->open) return [] {};  // the pool is going away: nothing will run
    id = timers_->next_id++;
    timers_->pending.emplace(id, Timers::Entry{timer, strand});
  }
  timer->async_wait([timer, timers = timers_, id, fn = std::move(fn)](boost::system::error_code ec) {
    {
      absl::MutexLock lock(&timers->mu);
      timers->pending.erase(id);
    }
    if (!ec) fn();
  });
  return [timers = timers_, id] { timers->Cancel(id); };
}

PoolStats PoolImpl::Stats() const {
  PoolStats stats;
  {
    absl::MutexLock lock(&timers_->mu);
    stats.timers = timers_->pending.size();
  }
  absl::MutexLock lock(&mu_);
  stats.connections_opened = connections_opened_;
  stats.connections_reused = connections_reused_;
  for (const auto& [name, origin] : origins_) {
    stats.open += origin.open;
    stats.idle += origin.idle.size();
    stats.waiting += origin.waiters.size();
  }
  return stats;
}

absl::StatusOr<HttpPool::FetchResult> PoolImpl::Fetch(HttpRequest request) {
  auto handler = std::make_shared<BufferingHandler>(options_.max_buffered_body_bytes);
  auto future = handler->Future();
  std::shared_ptr<Call> call = Start(std::move(request), handler);
  absl::StatusOr<FetchResult> result = future.get();
  if (!result.ok() && absl::IsResourceExhausted(result.status())) call->Cancel();
  return result;
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<HttpPool>> HttpPool::Create(const PoolOptions& options) {
  namespace net = internal::net;
  namespace ssl = internal::ssl;
  using internal::error_code;
  if (options.threads == 0) return absl::InvalidArgumentError("PoolOptions.threads must be > 0");
  if (options.max_connections_per_origin == 0) {
    return absl::InvalidArgumentError("PoolOptions.max_connections_per_origin must be > 0");
  }
  ssl::context tls(ssl::context::tls_client);
  error_code ec;
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1,
                  ec);
  if (!ec && !options.ca_pem.empty()) {
    tls.add_certificate_authority(net::buffer(options.ca_pem), ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load PoolOptions.ca_pem: ", ec.message()));
    }
  }
  if (!ec && !options.ca_file.empty()) {
    tls.load_verify_file(options.ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load CA file ", options.ca_file, ": ", ec.message()));
    }
  }
  if (!ec && options.ca_pem.empty() && options.ca_file.empty()) tls.set_default_verify_paths(ec);
  if (ec) return absl::InternalError(absl::StrCat("TLS context setup failed: ", ec.message()));
  return std::unique_ptr<HttpPool>(new internal::PoolImpl(options, std::move(tls)));
}

}  // namespace agentgateway::upstream
