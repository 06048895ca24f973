// HttpSession: one client connection of the emulator (plain TCP or TLS).
//
// Included by emulator.cc only (it is the one Beast translation unit of the emulator).
// Lifetime: kept alive by its pending handlers (shared_from_this), like Beast's server
// examples; all work runs on the connection's strand (the socket's executor), so members need
// no lock. Requests are parsed with Beast; answers are written as raw bytes built once by the
// Router, which lets faults cut a response anywhere.
//
// While a stream or a hang is open, a read stays pending on the socket ("watch"): its failure
// is how the emulator notices a client that went away (counted in streams_client_closed, and
// reported to EmulatorOptions::on_client_closed with the time it was seen).
#ifndef AGENTGATEWAY_TESTS_EMULATOR_HTTP_SESSION_H_
#define AGENTGATEWAY_TESTS_EMULATOR_HTTP_SESSION_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "tests/emulator/str_util.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "tests/emulator/router.h"

namespace agentgateway::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

inline constexpr std::chrono::seconds kIdleReadTimeout{300};
inline constexpr std::chrono::seconds kHandshakeTimeout{10};
inline constexpr std::size_t kBodyLimit = 64 << 20;
inline constexpr std::size_t kHeaderLimit = 64 << 10;
inline constexpr std::chrono::milliseconds kWaitPollInterval{2};

using ClientClosedHook = std::function<void(std::chrono::steady_clock::time_point)>;

std::string SerializeReplyHead(const Reply& reply, bool keep_alive);
std::string StreamHead(bool keep_alive);

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  // `on_client_closed` (possibly empty) is owned by the Emulator and outlives every session.
  HttpSession(Stream stream, Router& router, const ClientClosedHook& on_client_closed)
      : stream_(std::move(stream)),
        router_(router),
        on_client_closed_(on_client_closed),
        timer_(stream_.get_executor()) {
    router_.stats().ConnectionOpened();
  }
  ~HttpSession() { router_.stats().ConnectionClosed(); }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        beast::get_lowest_layer(self->stream_).expires_after(kHandshakeTimeout);
        self->stream_.async_handshake(
            asio::ssl::stream_base::server,
            [self](beast::error_code ec) { self->OnHandshake(ec); });
      } else {
        self->DoRead();
      }
    });
  }

 private:
  // kFinishing: the last bytes of a complete stream are being written; the stream already
  // counts as completed so a client that saw its end finds the counter up to date.
  enum class State { kIdle, kStreaming, kFinishing, kHanging, kDone };

  void OnHandshake(beast::error_code ec) {
    if (ec) return Close();  // a client that fails the handshake just goes
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    beast::get_lowest_layer(stream_).expires_after(kIdleReadTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return Close();  // end of stream, timeout or a malformed request: nothing to answer
    http::request<http::string_body> message = parser_->release();
    keep_alive_ = message.keep_alive();
    HttpRequestData request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(ToLower(std::string_view(field.name_string())),
                                   std::string(field.value()));
    }
    request.body = std::move(message.body());
    action_ = router_.Handle(request);
    beast::get_lowest_layer(stream_).expires_never();
    Dispatch();
  }

  void Dispatch() {
    switch (action_.kind) {
      case Action::Kind::kReply:
        if (action_.delay.count() > 0) {
          timer_.expires_after(action_.delay);
          timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) self->WriteReply();
          });
          return;
        }
        return WriteReply();
      case Action::Kind::kPartialReply: {
        state_ = action_.end == Action::End::kHang ? State::kHanging : State::kDone;
        out_ = SerializeReplyHead(action_.reply, keep_alive_);
        out_.append(action_.reply.body, 0, action_.reply.body.size() / 2);
        if (state_ == State::kHanging) StartWatch();
        return Write([](HttpSession& self) {
          if (self.state_ == State::kDone) self.Close();
        });
      }
      case Action::Kind::kReset:
        return Reset();
      case Action::Kind::kHang:
        state_ = State::kHanging;
        return StartWatch();
      case Action::Kind::kWait:
        wait_deadline_ = std::chrono::steady_clock::now() + action_.delay;
        return CheckWait();
      case Action::Kind::kBenchStream:
        router_.stats().Inc(Stats::kStreamsStarted);
        state_ = State::kStreaming;
        out_ = StreamHead(keep_alive_);
        StartWatch();
        return WriteBenchEvent();
      case Action::Kind::kStream:
        router_.stats().Inc(Stats::kStreamsStarted);
        state_ = State::kStreaming;
        next_frame_ = 0;
        out_ = StreamHead(keep_alive_);
        StartWatch();
        return WriteFrames();
    }
  }

  void WriteReply() {
    out_ = SerializeReplyHead(action_.reply, keep_alive_);
    out_ += action_.reply.body;
    Write([](HttpSession& self) { self.keep_alive_ ? self.DoRead() : self.Close(); });
  }

  void CheckWait() {
    std::optional<int64_t> value = router_.stats().Get(action_.counter);
    bool reached = value.value_or(0) >= action_.value;
    if (reached || std::chrono::steady_clock::now() >= wait_deadline_) {
      action_.reply = router_.WaitReply(reached);
      return WriteReply();
    }
    timer_.expires_after(kWaitPollInterval);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->CheckWait();
    });
  }

  // Appends the next frames as chunks: all of them, or one per drip interval.
  void WriteFrames() {
    std::size_t stop = action_.stop_after;
    while (next_frame_ < stop) {
      const std::string& frame = action_.frames[next_frame_++];
      Append(out_, Hex(frame.size()), "\r\n", frame, "\r\n");
      if (action_.delay.count() > 0) break;
    }
    bool last = next_frame_ == stop;
    if (last && (action_.end == Action::End::kComplete || action_.end == Action::End::kTruncate)) {
      out_ += "0\r\n\r\n";
    }
    if (last && action_.end == Action::End::kComplete) {
      router_.stats().Inc(Stats::kStreamsCompleted);
      state_ = State::kFinishing;
    }
    Write([](HttpSession& self) { self.OnFramesWritten(); });
  }

  // Bench mode: one event per write, stamped as it is handed to the socket; the next one as
  // soon as the socket took it, or `delay` later when dripping.
  void WriteBenchEvent() {
    BenchStream& bench = *action_.bench;
    bench.AppendNextChunk(out_, SteadyNowNs());
    if (bench.done()) {
      out_ += "0\r\n\r\n";
      router_.stats().Inc(Stats::kStreamsCompleted);
      state_ = State::kFinishing;
    }
    Write([](HttpSession& self) { self.OnBenchEventWritten(); });
  }

  void OnBenchEventWritten() {
    if (state_ != State::kStreaming && state_ != State::kFinishing) return;
    out_.clear();
    if (state_ == State::kFinishing) {
      action_.bench.reset();
      return OnStreamComplete();
    }
    if (action_.delay.count() == 0) return WriteBenchEvent();
    timer_.expires_after(action_.delay);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec && self->state_ == State::kStreaming) self->WriteBenchEvent();
    });
  }

  void OnStreamComplete() {
    state_ = State::kIdle;
    if (!keep_alive_) return Close();
    if (watching_) {
      resume_after_watch_ = true;  // the pending watch read becomes the next request's read
      return;
    }
    DoRead();
  }

  void OnFramesWritten() {
    if (state_ != State::kStreaming && state_ != State::kFinishing) return;
    out_.clear();
    if (next_frame_ < action_.stop_after) {
      timer_.expires_after(action_.delay);
      timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (!ec && self->state_ == State::kStreaming) self->WriteFrames();
      });
      return;
    }
    switch (action_.end) {
      case Action::End::kComplete:
        return OnStreamComplete();
      case Action::End::kTruncate:
        return Close();
      case Action::End::kReset:
        return Reset();
      case Action::End::kHang:
        state_ = State::kHanging;
        return;
    }
  }

  // Writes out_, then runs `next` unless the write failed (then the client is gone).
  template <class Next>
  void Write(Next next) {
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), next](beast::error_code ec, std::size_t) {
                        if (ec) return self->ClientGone();
                        next(*self);
                      });
  }

  void StartWatch() {
    if (watching_) return;
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](
                                                       beast::error_code ec, std::size_t n) {
      self->OnWatch(ec, n);
    });
  }

  void OnWatch(beast::error_code ec, std::size_t n) {
    watching_ = false;
    if (ec) return ClientGone();
    buffer_.commit(n);
    if (resume_after_watch_) {
      resume_after_watch_ = false;
      return DoRead();
    }
    // A client that sends more while being streamed to is there; stop watching so the next
    // read can parse what it sent. A hanging request keeps watching, within a bound.
    if (state_ == State::kHanging && buffer_.size() < kHeaderLimit) StartWatch();
  }

  void ClientGone() {
    if (state_ == State::kStreaming || state_ == State::kHanging) {
      auto seen = std::chrono::steady_clock::now();
      router_.stats().Inc(Stats::kStreamsClientClosed);
      if (on_client_closed_) on_client_closed_(seen);
    }
    Close();
  }

  void Close() {
    if (state_ == State::kDone && closed_) return;
    state_ = State::kDone;
    closed_ = true;
    timer_.cancel();
    auto& socket = beast::get_lowest_layer(stream_).socket();
    beast::error_code ignored;  // the peer may already be gone; closing is all that is left
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  // Hard reset: SO_LINGER 0 makes close() send RST instead of FIN.
  void Reset() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().set_option(asio::socket_base::linger(true, 0),
                                                         ignored);
    state_ = State::kDone;
    closed_ = true;
    timer_.cancel();
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  Stream stream_;
  Router& router_;
  const ClientClosedHook& on_client_closed_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Action action_;
  std::string out_;
  std::size_t next_frame_ = 0;
  std::chrono::steady_clock::time_point wait_deadline_;
  State state_ = State::kIdle;
  bool keep_alive_ = true;
  bool watching_ = false;
  bool resume_after_watch_ = false;
  bool closed_ = false;
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_HTTP_SESSION_H_
