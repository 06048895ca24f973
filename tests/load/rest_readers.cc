// RestReaders: the REST half of slow_readers.h (the only file here that compiles Beast's HTTP).
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/strings/str_cat.h"
#include "tests/load/slow_readers.h"

namespace agentgateway::load {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

struct RestReaders::Impl {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
  int port;
  ScriptShape shape;
  int receive_buffer_bytes;
  ReaderBoard* board;
  std::vector<std::shared_ptr<Reader>> readers;  // touched on the io thread only
  std::thread thread;
};

// One POST /invocations stream; lives on the io thread, held by RestReaders::Impl.
class RestReaders::Reader : public std::enable_shared_from_this<Reader> {
 public:
  Reader(Impl* impl, int stream_id)
      : impl_(impl), stream_id_(stream_id),
        script_(stream_id, impl->shape.deltas, impl->shape.delta_bytes), socket_(impl->io) {}

  void Start() {
    error_code ec;
    socket_.open(tcp::v4(), ec);
    // Set before connecting so that the window the gateway sees is small from the start.
    if (!ec) socket_.set_option(net::socket_base::receive_buffer_size(impl_->receive_buffer_bytes), ec);
    if (ec) return Fail(absl::StrCat("socket: ", ec.message()));
    const std::string body = absl::StrCat(R"({"input":[{"role":"user","content":")",
                                          kStreamMarker, stream_id_, R"("}],"stream":true})");
    request_ = absl::StrCat("POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:", impl_->port,
                            "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                            "\r\n\r\n", body);
    socket_.async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(impl_->port)),
        [self = shared_from_this()](error_code ec) {
          if (ec) return self->Fail(absl::StrCat("connect: ", ec.message()));
          net::async_write(self->socket_, net::buffer(self->request_),
                           [self](error_code ec, std::size_t) {
                             if (ec) return self->Fail(absl::StrCat("write: ", ec.message()));
                             self->parser_.body_limit(boost::none);
                             self->DoRead();
                           });
        });
  }

  int id() const { return stream_id_; }

  void Resume() {
    resumed_ = true;
    if (std::exchange(holding_, false)) DoRead();
  }

  void Close() {
    error_code ignored;  // closing at shutdown
    socket_.close(ignored);
  }

  void Leave() {
    if (ended_) return;
    ended_ = true;
    impl_->board->Cancelled();
    Close();
  }

 private:
  void DoRead() {
    http::async_read_some(socket_, buffer_, parser_,
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            self->OnRead(ec);
                          });
  }

  void OnRead(error_code ec) {
    if (ec) return Fail(absl::StrCat("read: ", ec.message(), " after ", received_, " events"));
    if (parser_.is_header_done() && parser_.get().result_int() != 200) {
      return Fail(absl::StrCat("HTTP ", parser_.get().result_int()));
    }
    if (!ConsumeFrames()) return;
    if (parser_.is_done()) {
      if (!done_seen_ || received_ != script_.size()) {
        return Fail(absl::StrCat("ended after ", received_, " of ", script_.size(),
                                 " events, [DONE] ", done_seen_ ? "seen" : "missing"));
      }
      ended_ = true;
      impl_->board->Completed();
      return Close();
    }
    if (received_ > 0 && !resumed_) {
      holding_ = true;  // a slow reader: no read until Resume()
      return;
    }
    DoRead();
  }

  // Checks each complete frame in the body read so far; false after a failure.
  bool ConsumeFrames() {
    std::string& body = parser_.get().body();
    std::size_t start = 0;
    for (std::size_t end; (end = body.find("\n\n", start)) != std::string::npos; start = end + 2) {
      absl::string_view frame(body.data() + start, end - start);
      if (absl::StartsWith(frame, ":")) {  // a heartbeat comment
        impl_->board->Heartbeat();
        continue;
      }
      if (!absl::StartsWith(frame, "data: ") || done_seen_) {
        Fail(absl::StrCat("unexpected frame: ", frame.substr(0, 120)));
        return false;
      }
      frame.remove_prefix(6);
      if (frame == "[DONE]") {
        done_seen_ = true;
        continue;
      }
      if (received_ >= script_.size() || frame != script_.Delivered(received_)) {
        Fail(absl::StrCat("event #", received_, " is ", frame.substr(0, 120)));
        return false;
      }
      if (received_++ == 0) impl_->board->FirstEvent();
    }
    body.erase(0, start);  // string_body appends at its end: the rest waits for more bytes
    return true;
  }

  void Fail(std::string reason) {
    if (ended_) return;
    ended_ = true;
    impl_->board->Failed(absl::StrCat("REST stream ", stream_id_, ": ", reason));
    Close();
  }

  Impl* impl_;
  const int stream_id_;
  const StreamScript script_;
  tcp::socket socket_;
  std::string request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  int received_ = 0;
  bool done_seen_ = false;
  bool holding_ = false;
  bool resumed_ = false;
  bool ended_ = false;
};

RestReaders::RestReaders(int port, ScriptShape shape, int receive_buffer_bytes,
                         ReaderBoard* board)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->shape = shape;
  impl_->receive_buffer_bytes = receive_buffer_bytes;
  impl_->board = board;
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

RestReaders::~RestReaders() {
  net::post(impl_->io, [impl = impl_.get()] {
    for (auto& reader : impl->readers) reader->Close();
    impl->readers.clear();
    impl->work.reset();
  });
  impl_->thread.join();
}

void RestReaders::Open(int stream_id) {
  net::post(impl_->io, [impl = impl_.get(), stream_id] {
    auto reader = std::make_shared<Reader>(impl, stream_id);
    impl->readers.push_back(reader);
    reader->Start();
  });
}

void RestReaders::CloseAll() {
  net::post(impl_->io, [impl = impl_.get()] {
    for (auto& reader : impl->readers) reader->Leave();
  });
}

void RestReaders::Resume(int first_id, int count) {
  net::post(impl_->io, [impl = impl_.get(), first_id, count] {
    for (auto& reader : impl->readers) {
      if (reader->id() >= first_id && reader->id() < first_id + count) reader->Resume();
    }
  });
}

void RestReaders::ResumeAll() {
  net::post(impl_->io, [impl = impl_.get()] {
    for (auto& reader : impl->readers) reader->Resume();
  });
}

}  // namespace agentgateway::load
