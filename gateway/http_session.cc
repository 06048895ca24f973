// HttpSession<Stream>: one per connection, over beast::tcp_stream or
// beast::ssl_stream<beast::tcp_stream>; all handlers on the connection's strand. A TLS session
// first completes its handshake (bounded by read_timeout), then reads a request
// (header first, so size limits apply before the body arrives), routes it without I/O, and
// either answers at once or calls AgentService; for streams it acts as the SSE stream's sink.
// While a call is in flight it keeps one read pending on the socket so that a client that goes
// away cancels the call (and, through it, the upstream). A TLS session that ends cleanly sends
// close_notify (bounded by kTlsShutdownTimeout); one that failed just closes its socket.
// An open SSE stream that writes nothing for options.sse_heartbeat gets a `: keep-alive` frame,
// only between whole frames and never with another write in flight.
#include "gateway/http_session.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/strings/ascii.h"
#include "gateway/text.h"
#include "gateway/router.h"
#include "gateway/sse_framing.h"
#include "server/metrics.h"

namespace agentgateway::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::size_t kHeaderLimit = 8 * 1024;
// Bytes a client may send while its call runs (pipelining) before we stop watching the socket.
constexpr std::size_t kMaxPipelinedBytes = 64 * 1024;
// Small: every open call keeps this much read buffer (it only has to notice a departed client;
// pipelined bytes arrive over several reads).
constexpr std::size_t kWatchReadSize = 512;
// How long a closing TLS session waits for its close_notify exchange before dropping the socket.
constexpr std::chrono::milliseconds kTlsShutdownTimeout{2000};
// Unwritten SSE bytes a stream may queue before it stops reading events: enough to coalesce a
// burst of events into one socket write, small enough that a slow reader costs little.
constexpr std::size_t kOutboxHighWater = 16 * 1024;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// The SSE bytes a stream handed over that the session has not started writing yet. Filled by
// SessionSink::Write on gRPC threads, emptied on the session's strand; one posted flush per
// batch (flush_posted_ stays true while the session is writing: it takes the next batch when
// the write completes). Guarded by mu_; no callback runs under it.
class SseOutbox {
 public:
  using Ready = std::function<void(bool)>;
  struct Added {
    bool post_flush = false;  // the caller must post a flush to the strand
    bool more = false;        // the stream may write more at once
    bool broken = false;      // refused: the caller reports `ready(false)` itself
  };

  // Queues `data`. When the bound is reached, `ready` is kept (moved from) until Take() frees
  // room or Break() reports the failure.
  Added Add(std::string&& data, Ready& ready) {
    absl::MutexLock lock(&mu_);
    Added out;
    if (broken_) {
      out.broken = true;
      return out;
    }
    if (pending_.empty()) {
      pending_ = std::move(data);
    } else {
      pending_ += data;
    }
    out.post_flush = !std::exchange(flush_posted_, true);
    out.more = pending_.size() < kOutboxHighWater;
    if (!out.more) waiter_ = std::move(ready);
    return out;
  }
  // Everything queued, and the waiting stream's `ready` (to call with true) now that there is
  // room. Empty: the outbox is idle, and the next Add posts a flush.
  std::string Take(Ready* ready) {
    absl::MutexLock lock(&mu_);
    *ready = std::move(waiter_);
    waiter_ = nullptr;
    if (pending_.empty()) flush_posted_ = false;
    return std::exchange(pending_, std::string());
  }
  // The stream broke: later Adds are refused; returns the waiting `ready` (to call with false).
  Ready Break() {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    pending_.clear();
    return std::exchange(waiter_, nullptr);
  }

 private:
  absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  Ready waiter_ ABSL_GUARDED_BY(mu_);
  bool flush_posted_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

template <class Stream>
class HttpSession : public HttpSessionBase,
                    public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  template <class... StreamArgs>
  HttpSession(const SessionEnv* env, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...), env_(env) {}
  ~HttpSession() override {
    EndRequest();
    env_->registry->Remove(this);
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->DoHandshake();
      } else {
        self->DoRead();
      }
    });
  }
  void Shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->OnShutdown(); });
  }
  net::any_io_executor executor() { return stream_.get_executor(); }

  // StreamSink entry points, on the strand. StreamFlush writes what the outbox holds.
  void StreamFlush();
  void StreamEnd(std::string data);
  void StreamFail(HttpResponse response, std::string frames);
  // A unary call's answer (or a stream that failed before its first event), on the strand.
  void OnCallResponse(HttpResponse response);
  void StreamAbort() { Drop(); }

 private:
  beast::tcp_stream& transport() { return beast::get_lowest_layer(stream_); }
  void DoHandshake();
  void OnHandshake(beast::error_code ec);
  void DoRead();
  void OnReadHeader(beast::error_code ec);
  void OnReadBody(beast::error_code ec);
  void Dispatch(HttpRequest request);
  void StartRpc(RpcPlan plan);
  void SendResponse(HttpResponse response, bool close);
  void OnWrite(bool close, beast::error_code ec);
  void Continue();
  void DoWatch();
  void OnWatch(beast::error_code ec, std::size_t n);
  void WithHead(std::function<void(bool)> next);
  void WriteChunk(std::string data, std::function<void(bool)> done);
  void OnStreamWritten(bool ok);
  void ArmHeartbeat();
  void DisarmHeartbeat();
  void StopHeartbeat();
  void OnHeartbeat();
  void OnHeartbeatWritten(bool ok);
  void OnShutdown();
  void Close();  // a clean end: over TLS, close_notify first
  void Drop();   // after a failure: the socket just closes (no-op once closing)
  void CloseSocket();
  void EndRequest() {
    if (std::exchange(in_request_, false)) env_->registry->RequestEnded();
  }
  bool Draining() const { return env_->draining.load(std::memory_order_relaxed); }

  Stream stream_;
  const SessionEnv* env_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string target_;
  std::string request_id_;
  bool keep_alive_ = true;
  bool http10_ = false;  // HTTP/1.0 has no chunked encoding: SSE is close-delimited
  bool tls_ready_ = !kTls;  // the handshake completed (always true for plain TCP)
  bool closed_ = false;
  bool stopping_ = false;
  bool in_request_ = false;  // counted in the registry's requests (see RequestStarted)
  // Call in flight (unary or stream): cancelled when the client goes away or on Stop.
  std::shared_ptr<CallHandle> call_;
  bool client_gone_ = false;
  bool watching_ = false;          // a watch read is pending
  bool resume_after_watch_ = false;  // the call is over: read the next request once it returns
  // SSE response state; the head and serializer must live until the header write completes.
  std::unique_ptr<http::response<http::empty_body>> sse_head_;
  std::unique_ptr<http::response_serializer<http::empty_body>> sse_serializer_;
  bool head_sent_ = false;
  std::string chunk_;  // the chunk being written: untouched until its write completes
  // A stream write that makes no progress for read_timeout closes the connection (a client
  // that stopped reading would otherwise hold the upstream open forever).
  net::steady_timer write_timer_{stream_.get_executor()};
  // SSE heartbeat (options.sse_heartbeat): armed while a stream is open and nothing is being
  // written; every frame written re-arms it. A new generation turns a stale expiry into a no-op
  // (an expiry already queued when the timer is re-armed cannot be cancelled).
  net::steady_timer heartbeat_timer_{stream_.get_executor()};
  uint64_t heartbeat_generation_ = 0;
  bool sse_open_ = false;        // a stream call is running: heartbeats may be due
  bool heartbeat_armed_ = false;
  // The running stream's queued events (shared with its SessionSink); null once it ended.
  std::shared_ptr<SseOutbox> outbox_;
  bool stream_writing_ = false;  // the head, an event or a heartbeat is being written
  // The stream's end (End or Fail) when it came while a write was in flight; runs when that
  // write completes. At most one: a stream ends once.
  std::function<void()> deferred_;
  // Bounds the TLS close. Its own timer, not tcp_stream's: a watch read may be pending with no
  // expiry, and tcp_stream applies a new expiry only to operations started after it.
  net::steady_timer shutdown_timer_{stream_.get_executor()};
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
};

namespace {

// Thread-safe bridge from SseStream (gRPC threads) to the session's strand. Holds the session
// weakly: a late event for a session that is gone reports a failed write, which cancels the call.
template <class Session>
class SessionSink : public StreamSink {
 public:
  explicit SessionSink(const std::shared_ptr<Session>& session, std::shared_ptr<SseOutbox> outbox)
      : session_(session), executor_(session->executor()), outbox_(std::move(outbox)) {}

  bool Write(std::string data, std::function<void(bool)> ready) override {
    SseOutbox::Added added = outbox_->Add(std::move(data), ready);
    if (added.broken) {
      net::post(executor_, [ready = std::move(ready)] { ready(false); });
      return false;
    }
    if (added.post_flush) {
      net::post(executor_, [weak = session_, outbox = outbox_] {
        if (auto s = weak.lock()) return s->StreamFlush();
        if (auto ready = outbox->Break()) ready(false);
      });
    }
    return added.more;
  }
  void End(std::string data) override {
    net::post(executor_, [weak = session_, data = std::move(data)]() mutable {
      if (auto s = weak.lock()) s->StreamEnd(std::move(data));
    });
  }
  void Fail(HttpResponse response, std::string frames) override {
    net::post(executor_, [weak = session_, response = std::move(response),
                          frames = std::move(frames)]() mutable {
      if (auto s = weak.lock()) s->StreamFail(std::move(response), std::move(frames));
    });
  }
  void Abort() override {
    net::post(executor_, [weak = session_] {
      if (auto s = weak.lock()) s->StreamAbort();
    });
  }

 private:
  std::weak_ptr<Session> session_;
  net::any_io_executor executor_;
  std::shared_ptr<SseOutbox> outbox_;
};

HttpRequest ToHttpRequest(const http::request<http::string_body>& req) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = absl::ascii_tolower(static_cast<unsigned char>(c));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  out.body = req.body();
  return out;
}

}  // namespace

template <class Stream>
void HttpSession<Stream>::DoHandshake() {
  transport().expires_after(env_->options.read_timeout);
  stream_.async_handshake(net::ssl::stream_base::server,
                          [self = this->shared_from_this()](beast::error_code ec) {
                            self->OnHandshake(ec);
                          });
}

template <class Stream>
void HttpSession<Stream>::OnHandshake(beast::error_code ec) {
  // A plaintext client, a wrong CA on either side, a missing client certificate or a timeout:
  // there is no HTTP channel to answer on, so the connection just closes.
  if (ec) return Drop();
  tls_ready_ = true;
  DoRead();
}

template <class Stream>
void HttpSession<Stream>::DoRead() {
  if (stopping_ || closed_) return Close();
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(env_->options.max_body_bytes);
  call_.reset();
  client_gone_ = false;
  head_sent_ = false;
  transport().expires_after(env_->options.read_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                            self->OnReadHeader(ec);
                          });
}

template <class Stream>
void HttpSession<Stream>::OnReadHeader(beast::error_code ec) {
  request_id_.clear();
  if (ec == http::error::header_limit) {
    return SendResponse(EarlyError("", 431, "request header fields too large"), true);
  }
  if (ec == http::error::end_of_stream) return Close();
  if (ec == beast::error::timeout) return Drop();  // tcp_stream closed the socket already
  if (ec == http::error::body_limit) {  // Beast checks Content-Length when the header completes
    return SendResponse(
        EarlyError(std::string(parser_->get().target()),
                   413, Cat("request body exceeds ", env_->options.max_body_bytes, " bytes")),
        true);
  }
  if (ec) {
    if (&ec.category() == &http::make_error_code(http::error::bad_target).category()) {
      // A malformed request line or header.
      return SendResponse(EarlyError("", 400, Cat("bad request: ", ec.message())), true);
    }
    return Drop();
  }
  const auto& req = parser_->get();
  target_ = std::string(req.target());
  if (auto length = parser_->content_length(); length && *length > env_->options.max_body_bytes) {
    return SendResponse(
        EarlyError(target_, 413,
                   Cat("request body exceeds ", env_->options.max_body_bytes, " bytes")),
        true);
  }
  auto read_body = [self = this->shared_from_this()] {
    http::async_read(self->stream_, self->buffer_, *self->parser_,
                     [self](beast::error_code ec, std::size_t) { self->OnReadBody(ec); });
  };
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    net::async_write(stream_, net::buffer(kContinue),
                     [self = this->shared_from_this(), read_body](beast::error_code ec, std::size_t) {
                       if (ec) return self->Drop();
                       read_body();
                     });
    return;
  }
  read_body();
}

template <class Stream>
void HttpSession<Stream>::OnReadBody(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return SendResponse(
        EarlyError(target_, 413,
                   Cat("request body exceeds ", env_->options.max_body_bytes, " bytes")),
        true);
  }
  if (ec == beast::error::timeout || ec == net::error::eof || ec == http::error::end_of_stream ||
      ec == http::error::partial_message) {
    return Drop();
  }
  if (ec) {
    return SendResponse(EarlyError(target_, 400, Cat("bad request: ", ec.message())), true);
  }
  keep_alive_ = parser_->get().keep_alive();
  http10_ = parser_->get().version() < 11;
  Dispatch(ToHttpRequest(parser_->get()));
}

template <class Stream>
void HttpSession<Stream>::Dispatch(HttpRequest request) {
  in_request_ = true;
  env_->registry->RequestStarted();
  ServerState state{.draining = Draining(),
                    .trusted_proxy = env_->options.trusted_proxy,
                    .dropin_profile = env_->options.dropin_profile};
  if (env_->options.readiness_problem) {
    std::string_view route = RouteTemplate(request.target);
    if (route == "/readyz" || route == "/health/ready") {
      state.not_ready = env_->options.readiness_problem();
    }
  }
  RouteResult route = Route(request, state);
  request_id_ = std::move(route.request_id);
  if (route.response.has_value()) return SendResponse(*std::move(route.response), false);
  // The call may run for minutes: no read timeout now; the watch read notices a client leaving.
  transport().expires_never();
  StartRpc(*std::move(route.rpc));
  DoWatch();
}

template <class Stream>
void HttpSession<Stream>::StartRpc(RpcPlan plan) {
  if (plan.kind == RpcPlan::Kind::kStream) {
    outbox_ = std::make_shared<SseOutbox>();
    call_ = env_->backend->StartStream(
        std::move(plan),
        std::make_shared<SessionSink<HttpSession>>(this->shared_from_this(), outbox_));
    sse_open_ = true;
    ArmHeartbeat();
    return;
  }
  std::weak_ptr<HttpSession> weak = this->weak_from_this();
  auto executor = stream_.get_executor();
  call_ = env_->backend->StartUnary(
      std::move(plan), [weak, executor](HttpResponse response) {
        net::post(executor, [weak, response = std::move(response)]() mutable {
          if (auto self = weak.lock()) self->OnCallResponse(std::move(response));
        });
      });
}

template <class Stream>
void HttpSession<Stream>::SendResponse(HttpResponse response, bool close) {
  if (closed_) return;
  if (client_gone_) return Drop();
  auto res = std::make_shared<http::response<http::string_body>>();
  res->version(11);
  res->result(static_cast<unsigned>(response.status));
  for (auto& [name, value] : response.headers) res->set(name, value);
  if (!request_id_.empty()) res->set("x-request-id", request_id_);
  Metrics::Get().HttpRequest(RouteTemplate(target_), response.status);
  close = close || !keep_alive_ || stopping_ || Draining();
  res->keep_alive(!close);
  res->body() = std::move(response.body);
  res->prepare_payload();
  http::async_write(stream_, *res,
                    [self = this->shared_from_this(), res, close](beast::error_code ec, std::size_t) {
                      self->OnWrite(close, ec);
                    });
}

template <class Stream>
void HttpSession<Stream>::OnWrite(bool close, beast::error_code ec) {
  if (ec) return Drop();
  if (close) return Close();
  Continue();
}

// The response is complete: read the next request, after the watch read (if any) returns.
template <class Stream>
void HttpSession<Stream>::Continue() {
  call_.reset();
  EndRequest();
  if (stopping_ || !keep_alive_ || Draining()) return Close();
  if (watching_) {
    resume_after_watch_ = true;
    beast::error_code ignored;  // cancel fails only on a closed socket, seen by OnWatch anyway
    transport().socket().cancel(ignored);
    return;
  }
  DoRead();
}

template <class Stream>
void HttpSession<Stream>::DoWatch() {
  watching_ = true;
  stream_.async_read_some(buffer_.prepare(kWatchReadSize),
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->OnWatch(ec, n);
                          });
}

template <class Stream>
void HttpSession<Stream>::OnWatch(beast::error_code ec, std::size_t n) {
  watching_ = false;
  buffer_.commit(n);
  if (resume_after_watch_) {
    resume_after_watch_ = false;
    if (ec && ec != net::error::operation_aborted) return Drop();
    return DoRead();
  }
  if (ec) {
    // The client went away (or Stop closed the socket): cancel the call; its end closes us.
    client_gone_ = true;
    // A TLS close waiting for the peer's close_notify behind this read has nothing left to
    // wait for (seen: asio's shutdown then idles until shutdown_timer_ fires).
    if (closed_) CloseSocket();
    if (call_) call_->Cancel();
    return;
  }
  // Pipelined bytes are kept for the next request; past the cap we stop watching (the next
  // failed write still notices a departed client).
  if (buffer_.size() < kMaxPipelinedBytes) DoWatch();
}

template <class Stream>
void HttpSession<Stream>::WithHead(std::function<void(bool)> next) {
  if (head_sent_) return next(true);
  head_sent_ = true;
  sse_head_ = std::make_unique<http::response<http::empty_body>>(http::status::ok, 11);
  for (auto& [name, value] : SseResponseHeaders()) sse_head_->set(name, value);
  sse_head_->set("x-request-id", request_id_);
  Metrics::Get().HttpRequest(RouteTemplate(target_), 200);
  if (http10_) {
    keep_alive_ = false;  // the end of the body is the end of the connection
    sse_head_->version(10);
  } else {
    sse_head_->chunked(true);
  }
  sse_head_->keep_alive(keep_alive_ && !stopping_ && !Draining());
  sse_serializer_ = std::make_unique<http::response_serializer<http::empty_body>>(*sse_head_);
  http::async_write_header(stream_, *sse_serializer_,
                           [self = this->shared_from_this(), next = std::move(next)](
                               beast::error_code ec, std::size_t) { next(!ec); });
}

template <class Stream>
void HttpSession<Stream>::WriteChunk(std::string data, std::function<void(bool)> done) {
  chunk_ = std::move(data);
  write_timer_.expires_after(env_->options.read_timeout);
  write_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
    if (!ec) self->Drop();  // timed out; operation_aborted means the write finished
  });
  auto on_written = [self = this->shared_from_this(), done = std::move(done)](beast::error_code ec,
                                                                        std::size_t) {
    self->write_timer_.cancel();
    if (ec) self->client_gone_ = true;
    done(!ec);
  };
  if (http10_) {
    net::async_write(stream_, net::buffer(chunk_), std::move(on_written));
  } else {
    net::async_write(stream_, http::make_chunk(net::buffer(chunk_)), std::move(on_written));
  }
}

// Heartbeats. Expiries and writes all run on the strand, so the flags need no lock.
template <class Stream>
void HttpSession<Stream>::ArmHeartbeat() {
  DisarmHeartbeat();
  if (env_->options.sse_heartbeat.count() <= 0 || !sse_open_ || closed_) return;
  heartbeat_armed_ = true;
  heartbeat_timer_.expires_after(env_->options.sse_heartbeat);
  // Weak: a pending heartbeat must not keep a finished session alive.
  heartbeat_timer_.async_wait([weak = this->weak_from_this(),
                               generation = heartbeat_generation_](beast::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || generation != self->heartbeat_generation_) return;
    self->heartbeat_armed_ = false;
    self->OnHeartbeat();
  });
}

template <class Stream>
void HttpSession<Stream>::DisarmHeartbeat() {
  ++heartbeat_generation_;
  if (std::exchange(heartbeat_armed_, false)) heartbeat_timer_.cancel();
}

template <class Stream>
void HttpSession<Stream>::StopHeartbeat() {
  sse_open_ = false;
  DisarmHeartbeat();
}

// Sends the head first when no event has: a long call before the first event needs the
// keep-alive most, at the price that a later failure becomes an SSE error frame, not a status.
template <class Stream>
void HttpSession<Stream>::OnHeartbeat() {
  if (closed_ || client_gone_ || stopping_ || !sse_open_ || stream_writing_) return;
  stream_writing_ = true;
  WithHead([self = this->shared_from_this()](bool ok) {
    if (!ok) return self->OnHeartbeatWritten(false);
    self->WriteChunk(std::string(kSseKeepAliveFrame),
                     [self](bool ok) { self->OnHeartbeatWritten(ok); });
  });
}

template <class Stream>
void HttpSession<Stream>::OnHeartbeatWritten(bool ok) {
  stream_writing_ = false;
  if (!ok) {
    client_gone_ = true;
    // The stream may sit idle for minutes before its next write would notice: cancel now.
    if (call_) call_->Cancel();
  }
  if (auto next = std::exchange(deferred_, nullptr)) return next();
  StreamFlush();  // events that came during the heartbeat
  if (ok && !stream_writing_) ArmHeartbeat();
}

// Writes everything the outbox holds as one chunk; when that write completes, the next batch.
template <class Stream>
void HttpSession<Stream>::StreamFlush() {
  if (outbox_ == nullptr || stream_writing_) return;  // ended, or the write in flight flushes next
  if (closed_ || client_gone_ || stopping_) {
    if (auto ready = outbox_->Break()) ready(false);
    return;
  }
  SseOutbox::Ready ready;
  std::string data = outbox_->Take(&ready);
  if (ready) ready(true);  // room again: the stream reads on while this batch is written
  if (data.empty()) return;
  stream_writing_ = true;
  DisarmHeartbeat();
  WithHead([self = this->shared_from_this(), data = std::move(data)](bool ok) mutable {
    if (!ok) return self->OnStreamWritten(false);
    self->WriteChunk(std::move(data), [self](bool ok) { self->OnStreamWritten(ok); });
  });
}

template <class Stream>
void HttpSession<Stream>::OnStreamWritten(bool ok) {
  stream_writing_ = false;
  if (!ok) {
    client_gone_ = true;
    if (outbox_ != nullptr) {
      if (auto ready = outbox_->Break()) ready(false);
    }
    // The stream may be waiting for its next event, not for us: cancel the call now.
    if (call_) call_->Cancel();
  }
  if (auto next = std::exchange(deferred_, nullptr)) return next();
  if (!ok) return;
  StreamFlush();
  if (!stream_writing_) ArmHeartbeat();
}

template <class Stream>
void HttpSession<Stream>::StreamFail(HttpResponse response, std::string frames) {
  if (stream_writing_) {
    deferred_ = [self = this->shared_from_this(), response = std::move(response),
                 frames = std::move(frames)]() mutable {
      self->StreamFail(std::move(response), std::move(frames));
    };
    return;
  }
  if (head_sent_) return StreamEnd(std::move(frames));  // a heartbeat opened the stream
  StopHeartbeat();
  outbox_.reset();  // nothing was queued: the stream failed before its first event
  OnCallResponse(std::move(response));
}

template <class Stream>
void HttpSession<Stream>::StreamEnd(std::string data) {
  if (stream_writing_) {
    deferred_ = [self = this->shared_from_this(), data = std::move(data)]() mutable {
      self->StreamEnd(std::move(data));
    };
    return;
  }
  StopHeartbeat();
  if (outbox_ != nullptr) {
    // Events still queued go out first, in the same write. The stream has stopped reading, so
    // no `ready` waits.
    SseOutbox::Ready unused;
    std::string queued = outbox_->Take(&unused);
    outbox_.reset();
    if (!queued.empty()) data = std::move(queued) + data;
  }
  if (closed_ || client_gone_) return Drop();
  WithHead([self = this->shared_from_this(), data = std::move(data)](bool ok) mutable {
    if (!ok) return self->Drop();
    self->WriteChunk(std::move(data), [self](bool ok) {
      if (!ok) return self->Drop();
      if (self->http10_) return self->Close();  // over TLS, close_notify marks a complete body
      net::async_write(self->stream_, http::make_chunk_last(),
                       [self](beast::error_code ec, std::size_t) {
                         self->OnWrite(!self->keep_alive_ || self->stopping_ || self->Draining(),
                                       ec);
                       });
    });
  });
}

template <class Stream>
void HttpSession<Stream>::OnCallResponse(HttpResponse response) {
  if (closed_ || client_gone_) return Drop();
  SendResponse(std::move(response), false);
}

template <class Stream>
void HttpSession<Stream>::OnShutdown() {
  stopping_ = true;
  if (call_) call_->Cancel();
  Close();
}

template <class Stream>
void HttpSession<Stream>::Close() {
  StopHeartbeat();
  EndRequest();
  if (closed_) return;
  if constexpr (kTls) {
    if (tls_ready_ && !client_gone_) {
      closed_ = true;
      shutdown_timer_.expires_after(kTlsShutdownTimeout);
      shutdown_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->CloseSocket();  // the peer never answered close_notify
      });
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        // Errors are ignored: many clients just close the TCP connection after our
        // close_notify (stream_truncated), and either way the socket closes now.
        self->shutdown_timer_.cancel();
        self->CloseSocket();
      });
      return;
    }
  }
  Drop();
}

template <class Stream>
void HttpSession<Stream>::Drop() {
  // A TLS close already under way ends by itself (shutdown_timer_ bounds it); failures seen
  // meanwhile (the watch read, a cancelled stream's last write) must not cut it short.
  StopHeartbeat();
  EndRequest();
  if (closed_) return;
  closed_ = true;
  CloseSocket();
}

template <class Stream>
void HttpSession<Stream>::CloseSocket() {
  beast::error_code ignored;  // the peer may have reset already; nothing left to tell it
  transport().socket().shutdown(tcp::socket::shutdown_both, ignored);
  transport().close();
}

bool SessionRegistry::Add(const std::shared_ptr<HttpSessionBase>& session) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  sessions_.emplace(session.get(), session);
  return true;
}

void SessionRegistry::Remove(HttpSessionBase* session) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(session);
}

void SessionRegistry::ShutdownAll() {
  std::vector<std::shared_ptr<HttpSessionBase>> live;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Shutdown();
}

void SessionRegistry::RequestStarted() {
  absl::MutexLock lock(&mu_);
  ++requests_;
}

void SessionRegistry::RequestEnded() {
  absl::MutexLock lock(&mu_);
  --requests_;
}

bool SessionRegistry::WaitNoRequests(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return requests_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

void StartHttpSession(tcp::socket socket, const SessionEnv* env) {
  auto start = [env](auto session) {
    if (!env->registry->Add(session)) return;  // stopping: the socket closes with the session
    session->Run();
  };
  if (env->tls != nullptr) {
    start(std::make_shared<HttpSession<TlsStream>>(env, std::move(socket), *env->tls));
  } else {
    start(std::make_shared<HttpSession<PlainStream>>(env, std::move(socket)));
  }
}

}  // namespace agentgateway::gateway
