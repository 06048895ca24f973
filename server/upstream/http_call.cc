// CallImpl: one request/response exchange on a pooled connection. The only translation unit
// of agent_upstream that compiles Beast's HTTP code (each such TU costs ~25 s to build).
#include <array>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/metrics.h"
#include "server/upstream/error_mapping.h"
#include "server/upstream/pool_internal.h"

namespace agentgateway::upstream::internal {

namespace http = boost::beast::http;

namespace {

// One body read's worth, held by every call in flight: small, because each open stream pays it
// (at 16 KiB, 10,000 held streams would hold 160 MiB in these alone); a read of 4 KiB still takes a burst of events.
constexpr std::size_t kBodyChunkBytes = 4 * 1024;
constexpr std::string_view kUserAgent = "agent-gateway/0.1";

bool IsIpLiteral(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

std::string HostPort(const Url& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", url.host, v6 ? "]" : "", ":", url.port);
}

http::request<http::string_body> BuildWireRequest(const HttpRequest& request) {
  http::request<http::string_body> wire;
  const http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    wire.method_string(request.method);
  } else {
    wire.method(verb);
  }
  wire.target(request.url.target);
  wire.version(11);
  const bool default_port = (request.url.scheme == "https" && request.url.port == 443) ||
                            (request.url.scheme == "http" && request.url.port == 80);
  const bool v6 = request.url.host.find(':') != std::string::npos;
  wire.set(http::field::host,
           default_port ? (v6 ? absl::StrCat("[", request.url.host, "]") : request.url.host)
                        : HostPort(request.url));
  bool has_user_agent = false;
  for (const auto& [name, value] : request.headers) {
    // The pool owns framing and routing headers; a caller's copy would conflict with them.
    if (absl::EqualsIgnoreCase(name, "host") || absl::EqualsIgnoreCase(name, "content-length") ||
        absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      continue;
    }
    if (absl::EqualsIgnoreCase(name, "user-agent")) has_user_agent = true;
    wire.insert(name, value);
  }
  if (!has_user_agent) wire.set(http::field::user_agent, kUserAgent);
  wire.body() = request.body;
  if (!request.body.empty() || verb == http::verb::post || verb == http::verb::put ||
      verb == http::verb::patch) {
    wire.content_length(request.body.size());
  }
  return wire;
}

}  // namespace

struct CallImpl::Exchange {
  http::request<http::string_body> request;
  std::optional<http::response_parser<http::buffer_body>> parser;
  std::array<char, kBodyChunkBytes> body_buffer;
};

CallImpl::CallImpl(PoolImpl* pool, HttpRequest request, std::shared_ptr<ResponseHandler> handler)
    : pool_(pool),
      request_(std::move(request)),
      origin_(request_.url.Origin()),
      host_port_(HostPort(request_.url)),
      handler_(std::move(handler)),
      exchange_(std::make_unique<Exchange>()) {
  exchange_->request = BuildWireRequest(request_);
}

CallImpl::~CallImpl() = default;

void CallImpl::Cancel() { Abort(absl::CancelledError("call cancelled")); }

void CallImpl::Abort(absl::Status status) {
  std::shared_ptr<Connection> conn;
  {
    absl::MutexLock lock(&mu_);
    if (done_ || !abort_status_.ok()) return;
    abort_status_ = status;
    conn = conn_;
  }
  auto self = shared_from_this();
  if (conn != nullptr) {
    net::post(conn->strand(), [self] { self->StopIfCancelled(); });
  } else if (pool_->RemoveWaiter(this)) {
    if (status.code() == absl::StatusCode::kCancelled) {
      status = absl::CancelledError("call cancelled while waiting for a connection");
    }
    CompleteWithoutConnection(std::move(status));
  }
  // Otherwise the pool is handing the call a connection right now; Begin() sees the abort.
}

void CallImpl::StartDeadline(std::chrono::milliseconds timeout, bool callers) {
  absl::MutexLock lock(&mu_);
  if (done_) return;
  deadline_.emplace(pool_->io_context());
  deadline_->expires_after(timeout);
  std::string reason = request_.deadline_reason.empty() ? std::string("the caller's deadline")
                                                        : request_.deadline_reason;
  deadline_->async_wait([weak = weak_from_this(), timeout, callers, reason = std::move(reason),
                         host = host_port_](const error_code& ec) {
    if (ec) return;  // the call completed first
    if (std::shared_ptr<CallImpl> self = weak.lock()) {
      self->Abort(absl::DeadlineExceededError(
          callers ? absl::StrCat(reason, " passed during the upstream call to ", host)
                  : absl::StrCat("upstream call to ", host, " exceeded the overall limit of ",
                                 absl::FormatDuration(absl::FromChrono(timeout)),
                                 " (upstream.call_timeout_ms)")));
    }
  });
}

void CallImpl::Resume() {
  std::shared_ptr<Connection> conn;
  {
    absl::MutexLock lock(&mu_);
    if (done_) return;
    conn = conn_;
  }
  if (conn == nullptr) return;
  net::post(conn->strand(), [self = shared_from_this()] {
    if (!self->paused_) return;  // not paused (yet): see Call::Resume()
    self->paused_ = false;
    self->paused_self_.reset();
    self->DoReadBody();
  });
}

void CallImpl::Assign(std::shared_ptr<Connection> conn, bool fresh) {
  {
    absl::MutexLock lock(&mu_);
    conn_ = conn;
  }
  net::post(conn->strand(), [self = shared_from_this(), conn, fresh] {
    self->Begin(conn, fresh);
  });
}

void CallImpl::CompleteWithoutConnection(absl::Status status) {
  // No connection, so no strand: nothing else of this call can run concurrently.
  net::post(pool_->io_context(), [self = shared_from_this(), status = std::move(status)] {
    self->Complete(status, false);
  });
}

void CallImpl::Begin(std::shared_ptr<Connection> conn, bool fresh) {
  io_conn_ = std::move(conn);
  fresh_ = fresh;
  if (StopIfCancelled()) return;
  if (fresh_) {
    DoResolve();
  } else {
    DoWrite();
  }
}

void CallImpl::DoResolve() {
  ArmTimer(pool_->options().connect_timeout, "connecting to");
  endpoints_.clear();
  for (const auto& [host, addresses] : pool_->options().resolve_overrides) {
    if (!absl::EqualsIgnoreCase(host, request_.url.host)) continue;
    for (const std::string& address : addresses) {
      error_code ec;
      const net::ip::address ip = net::ip::make_address(address, ec);
      if (ec) {
        Fail(absl::InvalidArgumentError(absl::StrCat(
            "resolve override for ", host, ": \"", address, "\" is not an IP address")));
        return;
      }
      endpoints_.emplace_back(ip, request_.url.port);
    }
    DoConnect();
    return;
  }
  resolver_.emplace(io_conn_->strand());
  resolver_->async_resolve(
      request_.url.host, std::to_string(request_.url.port),
      [self = shared_from_this(), conn = io_conn_](const error_code& ec,
                                                   const tcp::resolver::results_type& results) {
        self->OnResolve(ec, results);
      });
}

void CallImpl::OnResolve(const error_code& ec, const tcp::resolver::results_type& results) {
  if (StopIfCancelled()) return;
  if (ec) {
    Fail(ConnectFailure(
        absl::StrCat("resolving upstream host ", request_.url.host, " failed: ", ec.message())));
    return;
  }
  for (const auto& entry : results) endpoints_.push_back(entry.endpoint());
  DoConnect();
}

void CallImpl::DoConnect() {
  // The range form tries each address in turn until one accepts.
  net::async_connect(io_conn_->Socket(), endpoints_,
                     [self = shared_from_this(), conn = io_conn_](const error_code& ec,
                                                                  const tcp::endpoint&) {
                       self->OnConnect(ec);
                     });
}

void CallImpl::OnConnect(const error_code& ec) {
  if (StopIfCancelled()) return;
  if (ec) {
    Fail(ConnectFailure(
        absl::StrCat("connecting to upstream ", host_port_, " failed: ", ec.message())));
    return;
  }
  error_code ignored;  // Nagle only delays small request writes; failure to disable is harmless
  io_conn_->Socket().set_option(tcp::no_delay(true), ignored);
  if (!io_conn_->is_tls()) {
    DoWrite();
    return;
  }
  auto& stream = io_conn_->tls();
  error_code setup;
  if (pool_->options().verify_peer) {
    stream.set_verify_mode(ssl::verify_peer, setup);
    if (!setup) stream.set_verify_callback(ssl::host_name_verification(request_.url.host), setup);
  } else {
    stream.set_verify_mode(ssl::verify_none, setup);
  }
  // SNI carries host names only (RFC 6066), never IP literals.
  if (!setup && !IsIpLiteral(request_.url.host) &&
      SSL_set_tlsext_host_name(stream.native_handle(), request_.url.host.c_str()) != 1) {
    setup = error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
  }
  if (setup) {
    Fail(absl::InternalError(
        absl::StrCat("TLS setup for ", host_port_, " failed: ", setup.message())));
    return;
  }
  ArmTimer(pool_->options().tls_handshake_timeout, "in the TLS handshake with");
  stream.async_handshake(ssl::stream_base::client,
                         [self = shared_from_this(), conn = io_conn_](const error_code& ec) {
                           self->OnHandshake(ec);
                         });
}

void CallImpl::OnHandshake(const error_code& ec) {
  if (StopIfCancelled()) return;
  if (ec) {
    std::string reason = ec.message();
    // OpenSSL appends the library name ("... (SSL routines)"): noise for an operator.
    if (const std::size_t lib = reason.rfind(" (SSL routines)"); lib != std::string::npos) {
      reason.erase(lib);
    }
    const long verify = SSL_get_verify_result(io_conn_->tls().native_handle());
    if (verify == X509_V_ERR_UNSPECIFIED ||
        (verify == X509_V_OK && absl::StrContains(reason, "certificate verify failed"))) {
      // The chain itself was acceptable; our host-name check refused the certificate
      // (host_name_verification reports that as an unspecified verification error).
      absl::StrAppend(&reason, ": certificate does not match host name ", request_.url.host);
    } else if (verify != X509_V_OK) {
      absl::StrAppend(&reason, ": ", X509_verify_cert_error_string(verify));
    }
    Fail(absl::UnavailableError(
        absl::StrCat("TLS handshake with ", host_port_, " failed: ", reason)));
    return;
  }
  DoWrite();
}

void CallImpl::DoWrite() {
  ArmTimer(pool_->options().response_timeout, "waiting for the response from");
  io_conn_->Visit([this](auto& stream) {
    sent_at_ = std::chrono::steady_clock::now();
    http::async_write(stream, exchange_->request,
                      [self = shared_from_this(), conn = io_conn_](const error_code& ec,
                                                                   std::size_t) {
                        self->OnWrite(ec);
                      });
  });
}

void CallImpl::OnWrite(const error_code& ec) {
  if (StopIfCancelled()) return;
  if (ec) {
    if (MaybeRetryStale(ec)) return;
    Fail(absl::UnavailableError(
        absl::StrCat("sending the request to upstream ", host_port_, " failed: ", ec.message())));
    return;
  }
  exchange_->parser.emplace();
  exchange_->parser->header_limit(static_cast<std::uint32_t>(pool_->options().max_response_head_bytes));
  exchange_->parser->body_limit(boost::none);  // streamed bodies are unbounded; Fetch() bounds its own
  if (exchange_->request.method() == http::verb::head) exchange_->parser->skip(true);  // headers only
  io_conn_->Visit([this](auto& stream) {
    http::async_read_header(stream, io_conn_->buffer(), *exchange_->parser,
                            [self = shared_from_this(), conn = io_conn_](const error_code& ec,
                                                                         std::size_t) {
                              self->OnReadHeader(ec);
                            });
  });
}

// A kept-alive connection can be closed by the server just as we reuse it. When that shows
// as a failed write, the server never saw a whole request, so one more attempt on a fresh
// connection is safe for any method. EOF before any byte of a response is ambiguous (the
// server may have acted on the request), so that is retried only for idempotent methods: a
// repeated POST could start a second agent run.
bool CallImpl::MaybeRetryStale(const error_code& ec) {
  if (fresh_ || retried_stale_) return false;
  const bool written = exchange_->parser.has_value();  // the parser exists once the write completed
  const http::verb verb = exchange_->request.method();
  const bool idempotent = verb == http::verb::get || verb == http::verb::head ||
                          verb == http::verb::options || verb == http::verb::put ||
                          verb == http::verb::delete_;
  if (written && !idempotent) return false;
  const bool no_response = !written || !exchange_->parser->got_some();
  const bool closed = ec == http::error::end_of_stream || ec == net::error::eof ||
                      ec == net::error::connection_reset || ec == net::error::broken_pipe ||
                      ec == net::ssl::error::stream_truncated;
  if (!no_response || !closed) return false;
  retried_stale_ = true;
  DisarmTimer();
  io_conn_->Close();
  pool_->Release(io_conn_, false);
  absl::Status abort;
  {
    absl::MutexLock lock(&mu_);
    abort = abort_status_;
    conn_ = nullptr;
  }
  io_conn_.reset();
  exchange_->parser.reset();
  if (abort.ok()) {
    pool_->Acquire(shared_from_this());  // also checks for a Cancel() arriving meanwhile
    return true;
  }
  Complete(std::move(abort), false);
  return true;
}

void CallImpl::OnReadHeader(const error_code& ec) {
  if (StopIfCancelled()) return;
  if (ec) {
    if (MaybeRetryStale(ec)) return;
    Fail(absl::UnavailableError(absl::StrCat("reading the response head from upstream ",
                                             host_port_, " failed: ", ec.message())));
    return;
  }
  DisarmTimer();
  HttpResponseHead head;
  const auto& message = exchange_->parser->get();
  head.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  if (pool_->options().record_metrics) {
    Metrics::Get().UpstreamFirstByte(std::chrono::steady_clock::now() - sent_at_);
  }
  handler_->OnHead(head);
  if (exchange_->parser->is_done()) {
    Complete(absl::OkStatus(),
             exchange_->parser->keep_alive() && io_conn_->buffer().size() == 0);
    return;
  }
  DoReadBody();
}

void CallImpl::DoReadBody() {
  if (StopIfCancelled()) return;
  auto& body = exchange_->parser->get().body();
  body.data = exchange_->body_buffer.data();
  body.size = exchange_->body_buffer.size();
  body_activity_ = std::chrono::steady_clock::now();
  ArmBodyTimer();
  io_conn_->Visit([this](auto& stream) {
    http::async_read_some(stream, io_conn_->buffer(), *exchange_->parser,
                          [self = shared_from_this(), conn = io_conn_](const error_code& ec,
                                                                       std::size_t) {
                            self->OnReadBody(ec);
                          });
  });
}

void CallImpl::OnReadBody(error_code ec) {
  if (StopIfCancelled()) return;
  if (ec == http::error::need_buffer) ec = {};  // our chunk buffer is full: not an error
  if (ec) {
    Fail(absl::UnavailableError(absl::StrCat("reading the response body from upstream ",
                                             host_port_, " failed: ", ec.message())));
    return;
  }
  const std::size_t got = exchange_->body_buffer.size() - exchange_->parser->get().body().size;
  bool keep_reading = true;
  if (got > 0) {
    keep_reading = handler_->OnBody(std::string_view(exchange_->body_buffer.data(), got));
    if (StopIfCancelled()) return;
  }
  if (exchange_->parser->is_done()) {
    // Bytes beyond the response mean a confused peer: do not trust the connection again.
    Complete(absl::OkStatus(), exchange_->parser->keep_alive() && io_conn_->buffer().size() == 0);
    return;
  }
  if (!keep_reading) {
    DisarmTimer();
    // No read pending and no timer: a slow consumer is not an idle upstream. With no handler
    // pending nothing else keeps the call alive, so it holds itself until Resume(), Cancel()
    // or pool shutdown; dropping the handle must not strand the connection it occupies.
    paused_ = true;
    paused_self_ = shared_from_this();
    return;
  }
  DoReadBody();
}

void CallImpl::ArmTimer(std::chrono::milliseconds timeout, const char* phase) {
  body_timer_armed_ = false;  // the new generation retires a body timer
  phase_ = phase;
  const std::uint64_t generation = io_conn_->NextTimerGeneration();
  io_conn_->timer().expires_after(timeout);
  io_conn_->timer().async_wait(
      [self = shared_from_this(), conn = io_conn_, generation](const error_code& ec) {
        // operation_aborted or a newer phase: this deadline no longer applies.
        if (ec || generation != conn->timer_generation()) return;
        self->Fail(absl::DeadlineExceededError(
            absl::StrCat("timed out ", self->phase_, " upstream ", self->host_port_)));
      });
}

void CallImpl::ArmBodyTimer() {
  if (body_timer_armed_) return;
  body_timer_armed_ = true;
  phase_ = "reading the response body from";
  WaitBodyTimer(io_conn_->NextTimerGeneration(), pool_->options().read_idle_timeout);
}

void CallImpl::WaitBodyTimer(std::uint64_t generation, std::chrono::steady_clock::duration after) {
  io_conn_->timer().expires_after(after);
  io_conn_->timer().async_wait(
      [self = shared_from_this(), conn = io_conn_, generation](const error_code& ec) {
        // operation_aborted or a newer phase: this deadline no longer applies.
        if (ec || generation != conn->timer_generation()) return;
        const auto idle = std::chrono::steady_clock::now() - self->body_activity_;
        const std::chrono::steady_clock::duration limit = self->pool_->options().read_idle_timeout;
        if (idle < limit) return self->WaitBodyTimer(generation, limit - idle);
        self->Fail(absl::DeadlineExceededError(
            absl::StrCat("timed out ", self->phase_, " upstream ", self->host_port_)));
      });
}

void CallImpl::DisarmTimer() {
  body_timer_armed_ = false;
  io_conn_->NextTimerGeneration();
  io_conn_->timer().cancel();
}

bool CallImpl::StopIfCancelled() {
  absl::Status abort;
  {
    absl::MutexLock lock(&mu_);
    if (done_) return true;
    if (abort_status_.ok()) return false;
    abort = abort_status_;
  }
  Fail(std::move(abort));
  return true;
}

void CallImpl::Fail(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    if (done_) return;
  }
  // Closing the socket makes any pending operation complete with operation_aborted; those
  // handlers then see done_ and return.
  if (io_conn_ != nullptr) io_conn_->Close();
  if (resolver_) resolver_->cancel();
  Complete(std::move(status), false);
}

void CallImpl::Complete(absl::Status status, bool reusable) {
  if (reusable && handler_ != nullptr && !handler_->ConnectionReusable()) reusable = false;
  {
    absl::MutexLock lock(&mu_);
    if (done_) return;
    done_ = true;
    conn_ = nullptr;
    deadline_.reset();  // cancels the wait; its handler sees operation_aborted
  }
  if (io_conn_ != nullptr) {
    DisarmTimer();
    if (!reusable) io_conn_->Close();
    // Before OnComplete: a caller that starts its next request from OnComplete (or right
    // after) must find this connection idle, not busy.
    pool_->Release(std::move(io_conn_), reusable);
    io_conn_.reset();
  }
  // The resolver holds the strand, and with it the io_context: a Call handle may outlive
  // the pool, so a completed call keeps no Asio object.
  resolver_.reset();
  std::shared_ptr<ResponseHandler> handler = std::move(handler_);
  handler->OnComplete(std::move(status));
  pool_->Unregister(this);
  // Last: this may drop the final reference when the call completes while paused.
  std::shared_ptr<CallImpl> keep = std::move(paused_self_);
}

}  // namespace agentgateway::upstream::internal
