#include "tests/load/sse_generator.h"

#include <optional>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/load/stream_script.h"

namespace agentgateway::load {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr std::string_view kHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

std::optional<int> StreamIdIn(std::string_view body) {
  std::size_t at = body.find(kStreamMarker);
  if (at == std::string_view::npos) return std::nullopt;
  at += sizeof(kStreamMarker) - 1;
  int id = 0;
  std::size_t digits = 0;
  for (; at < body.size() && body[at] >= '0' && body[at] <= '9' && digits < 7; ++at, ++digits) {
    id = id * 10 + (body[at] - '0');
  }
  if (digits == 0) return std::nullopt;
  return id;
}

}  // namespace

class SseGenerator::Impl {
 public:
  explicit Impl(const GeneratorOptions& options) : options_(options), acceptor_(io_) {}

  const GeneratorOptions options_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  absl::Mutex mu_;
  GeneratorStats stats_ ABSL_GUARDED_BY(mu_);
  std::vector<std::uint64_t> produced_ ABSL_GUARDED_BY(mu_);

  void DoAccept();
};

namespace {

// One upstream connection; lives on the io thread, kept alive by its pending handler.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(SseGenerator::Impl* gen, tcp::socket socket)
      : gen_(gen), socket_(std::move(socket)) {}

  void Start() {
    error_code ignored;  // a default-size buffer only makes the test less strict, never wrong
    socket_.set_option(net::socket_base::send_buffer_size(gen_->options_.send_buffer_bytes),
                       ignored);
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(error_code ec) {
    if (ec) return;  // the gateway closed an idle connection: nothing was started
    std::optional<int> id = StreamIdIn(request_.body());
    if (request_.method() != http::verb::post || !id.has_value()) {
      pending_ = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      last_queued_ = true;
      return DoWrite();
    }
    if (gen_->options_.idle_first_id >= 0 && *id >= gen_->options_.idle_first_id) {
      idle_ = true;
      pending_ = std::string(kHead);
      return DoWrite();
    }
    id_ = *id;
    script_.emplace(id_, gen_->options_.deltas, gen_->options_.delta_bytes);
    {
      absl::MutexLock lock(&gen_->mu_);
      ++gen_->stats_.started;
      if (gen_->produced_.size() <= static_cast<std::size_t>(id_)) gen_->produced_.resize(id_ + 1);
    }
    pending_ = std::string(kHead);
    Fill();
    DoWrite();
  }

  // Appends the next chunk of frames (and the last-chunk marker after the final event).
  void Fill() {
    std::string frames;
    while (next_event_ < script_->size() && frames.size() < gen_->options_.batch_bytes) {
      frames += script_->Frame(next_event_++);
    }
    absl::StrAppend(&pending_, absl::Hex(frames.size()), "\r\n", frames, "\r\n");
    if (next_event_ == script_->size()) {
      pending_ += "0\r\n\r\n";
      last_queued_ = true;
    }
  }

  // Writes without blocking until the socket is full (then waits for it to drain) or done.
  void DoWrite() {
    for (;;) {
      error_code ec;
      socket_.non_blocking(true, ec);
      std::size_t n = ec ? 0 : socket_.write_some(net::buffer(pending_.data() + offset_,
                                                              pending_.size() - offset_), ec);
      if (ec == net::error::would_block || ec == net::error::try_again) {
        SetBlocked(true, 0);
        socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](error_code ec) {
          if (ec) return self->Broke();
          self->DoWrite();
        });
        return;
      }
      if (ec) return Broke();
      SetBlocked(false, n);
      offset_ += n;
      if (offset_ < pending_.size()) continue;
      pending_.clear();
      offset_ = 0;
      if (idle_) return AwaitClose();
      if (last_queued_) return Finish();
      Fill();
    }
  }

  // An idle stream: nothing more to send; the connection ends when the gateway closes it.
  void AwaitClose() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code) {
      error_code ignored;  // whatever woke us (EOF, reset, stray bytes), the stream is over
      self->socket_.close(ignored);
    });
  }

  void SetBlocked(bool blocked, std::size_t wrote) {
    if (idle_) return;
    absl::MutexLock lock(&gen_->mu_);
    if (blocked != blocked_) gen_->stats_.blocked += blocked ? 1 : -1;
    blocked_ = blocked;
    if (wrote > 0) {
      ++gen_->stats_.writes;
      gen_->stats_.produced_bytes += wrote;
      if (script_.has_value()) gen_->produced_[id_] += wrote;
    }
  }

  void Finish() {
    if (script_.has_value()) {
      absl::MutexLock lock(&gen_->mu_);
      ++gen_->stats_.finished;
    }
    error_code ignored;  // the peer may have closed first; the stream is complete either way
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  void Broke() {
    {
      absl::MutexLock lock(&gen_->mu_);
      if (blocked_) --gen_->stats_.blocked;
      blocked_ = false;
      if (script_.has_value()) ++gen_->stats_.broken;
    }
    error_code ignored;  // closing a broken socket
    socket_.close(ignored);
  }

  SseGenerator::Impl* gen_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  int id_ = -1;
  std::optional<StreamScript> script_;
  int next_event_ = 0;
  std::string pending_;
  std::size_t offset_ = 0;
  bool last_queued_ = false;
  bool blocked_ = false;
  bool idle_ = false;
};

}  // namespace

void SseGenerator::Impl::DoAccept() {
  acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;  // shutting down
    if (!ec) std::make_shared<Connection>(this, std::move(socket))->Start();
    DoAccept();
  });
}

absl::StatusOr<std::unique_ptr<SseGenerator>> SseGenerator::Start(
    const GeneratorOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  error_code ec;
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  impl->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor_.bind(endpoint, ec);
  if (!ec) impl->acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("generator listen: ", ec.message()));
  impl->DoAccept();
  Impl* raw = impl.get();
  impl->thread_ = std::thread([raw] { raw->io_.run(); });
  return std::unique_ptr<SseGenerator>(new SseGenerator(std::move(impl)));
}

SseGenerator::SseGenerator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SseGenerator::~SseGenerator() {
  impl_->io_.stop();  // abandons every connection; their sockets close with the io_context
  impl_->thread_.join();
}

std::uint16_t SseGenerator::port() const { return impl_->acceptor_.local_endpoint().port(); }

GeneratorStats SseGenerator::Stats() {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->stats_;
}

std::vector<std::uint64_t> SseGenerator::ProducedPerStream() {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->produced_;
}

bool SseGenerator::WaitFor(const std::function<bool(const GeneratorStats&)>& done,
                           absl::Duration timeout) {
  Impl* impl = impl_.get();
  absl::MutexLock lock(&impl->mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu_) { return done(impl->stats_); };
  return impl->mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

bool SseGenerator::WaitForStall(int streams, absl::Duration quiet, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  Impl* impl = impl_.get();
  absl::MutexLock lock(&impl->mu_);
  for (;;) {
    auto stalled = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu_) {
      return impl->stats_.blocked >= streams;
    };
    if (!impl->mu_.AwaitWithDeadline(absl::Condition(&stalled), deadline)) return false;
    // Stalled now; stalled for good if no socket accepts another byte for `quiet`.
    const std::uint64_t writes = impl->stats_.writes;
    auto moved = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu_) {
      return impl->stats_.writes != writes;
    };
    if (!impl->mu_.AwaitWithTimeout(absl::Condition(&moved), quiet)) return true;
    if (absl::Now() >= deadline) return false;
  }
}

}  // namespace agentgateway::load
