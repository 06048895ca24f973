#include "tests/server/upstream/test_server.h"

#include <sys/socket.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/str_cat.h"

namespace agentgateway::upstream::testing {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

constexpr auto kWaitBound = std::chrono::seconds(20);

template <class Stream>
class ConnImpl : public ServerConn {
 public:
  explicit ConnImpl(Stream& stream) : stream_(stream) {}
  bool Write(std::string_view bytes) override {
    error_code ec;
    net::write(stream_, net::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }
  void WaitForPeerClose() override {
    char byte[256];
    error_code ec;
    while (!ec) stream_.read_some(net::buffer(byte), ec);
  }

 private:
  Stream& stream_;
};

}  // namespace

class TestServer::Impl {
 public:
  Impl(Responder responder, std::optional<agentgateway::testing::TestPki> pki,
       const std::string& address)
      : responder_(std::move(responder)), acceptor_(io_) {
    if (pki) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(net::buffer(pki->cert_pem));
      tls_->use_private_key(net::buffer(pki->key_pem), ssl::context::pem);
      SSL_CTX_set_tlsext_servername_callback(tls_->native_handle(), &Impl::OnServerName);
      SSL_CTX_set_tlsext_servername_arg(tls_->native_handle(), this);
    }
    tcp::endpoint endpoint(net::ip::make_address(address), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      // shutdown() wakes threads blocked in accept/read on these sockets; close() alone
      // would not.
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
      for (auto& socket : sockets_) ::shutdown(socket->native_handle(), SHUT_RDWR);
    }
    accept_thread_.join();
    for (std::thread& t : conn_threads_) t.join();
  }

  static int OnServerName(SSL* ssl, int*, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    std::lock_guard lock(self->mu_);
    self->last_sni_ = name != nullptr ? name : "";
    return SSL_TLSEXT_ERR_OK;
  }

  void AcceptLoop() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(io_);
      error_code ec;
      acceptor_.accept(*socket, ec);
      std::lock_guard lock(mu_);
      if (ec || stopping_) return;
      ++accepted_;
      sockets_.push_back(socket);
      cv_.notify_all();
      conn_threads_.emplace_back([this, socket] {
        if (tls_) {
          ssl::stream<tcp::socket&> stream(*socket, *tls_);
          error_code hs;
          stream.handshake(ssl::stream_base::server, hs);
          if (!hs) Serve(stream);
        } else {
          Serve(*socket);
        }
        error_code ignored;
        socket->shutdown(tcp::socket::shutdown_both, ignored);
        std::lock_guard lock(mu_);
        ++closed_;
        cv_.notify_all();
      });
    }
  }

  template <class Stream>
  void Serve(Stream& stream) {
    boost::beast::flat_buffer buffer;
    ConnImpl<Stream> conn(stream);
    for (;;) {
      http::request<http::string_body> request;
      error_code ec;
      http::read(stream, buffer, request, ec);
      if (ec) return;  // EOF, reset, TLS alert or shutdown: the peer closed
      ServerRequest req{std::string(request.method_string()), std::string(request.target()),
                        request.body(), 0};
      {
        std::lock_guard lock(mu_);
        req.index = requests_++;
        cv_.notify_all();
      }
      if (!responder_(req, conn)) return;
    }
  }

  bool Wait(const int& counter, int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWaitBound, [&] { return counter >= n; });
  }

  Responder responder_;
  net::io_context io_;
  std::optional<ssl::context> tls_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;  // kept open until ~Impl: no fd reuse
  std::vector<std::thread> conn_threads_;
  int accepted_ = 0;
  int closed_ = 0;
  int requests_ = 0;
  std::string last_sni_;
};

TestServer::TestServer(Responder responder, std::optional<agentgateway::testing::TestPki> pki,
                       std::string address)
    : impl_(std::make_unique<Impl>(std::move(responder), std::move(pki), address)) {}
TestServer::~TestServer() = default;

uint16_t TestServer::port() const { return impl_->port_; }
int TestServer::accepted() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->accepted_;
}
int TestServer::closed() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->closed_;
}
std::string TestServer::last_sni() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->last_sni_;
}
int TestServer::requests() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_;
}
bool TestServer::WaitAccepted(int n) { return impl_->Wait(impl_->accepted_, n); }
bool TestServer::WaitClosed(int n) { return impl_->Wait(impl_->closed_, n); }
bool TestServer::WaitRequests(int n) { return impl_->Wait(impl_->requests_, n); }

std::string TestServer::Response(int status, std::string_view body, std::string_view extra) {
  return absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: ", body.size(), "\r\n",
                      absl::string_view(extra.data(), extra.size()), "\r\n",
                      absl::string_view(body.data(), body.size()));
}

}  // namespace agentgateway::upstream::testing
