// The emulator's one Beast translation unit: listener, sessions (http_session.h) and the
// Emulator object that owns the io_context and its threads.
#include "tests/emulator/emulator.h"

#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "tests/emulator/str_util.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/strand.hpp"
#include "tests/emulator/http_session.h"

namespace agentgateway::emulator {

using tcp = asio::ip::tcp;

std::string SerializeReplyHead(const Reply& reply, bool keep_alive) {
  std::string head = Cat(
      "HTTP/1.1 ", reply.status, " ",
      std::string_view(http::obsolete_reason(static_cast<http::status>(reply.status))),
      "\r\nServer: supervisor-emulator\r\nContent-Type: ", reply.content_type,
      "\r\nContent-Length: ", reply.body.size(), "\r\n");
  for (const auto& [name, value] : reply.headers) Append(head, name, ": ", value, "\r\n");
  if (!keep_alive) head += "Connection: close\r\n";
  head += "\r\n";
  return head;
}

std::string StreamHead(bool keep_alive) {
  return Cat(
      "HTTP/1.1 200 OK\r\nServer: supervisor-emulator\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n",
      keep_alive ? "" : "Connection: close\r\n", "\r\n");
}

namespace {

IdentityOptions ToIdentityOptions(const EmulatorOptions& options) {
  IdentityOptions identity;
  identity.oauth_clients = options.oauth_clients;
  identity.token_ttl_seconds = options.token_ttl_seconds;
  identity.require_known_tokens = options.require_known_tokens;
  return identity;
}

}  // namespace

struct Emulator::Impl {
  explicit Impl(const EmulatorOptions& o)
      : options(o), router(ToIdentityOptions(o), o.bench) {}

  EmulatorOptions options;
  uint16_t port = 0;
  // Destroyed after the io_context (declared first): sessions reach them until then.
  Router router;
  std::optional<asio::ssl::context> ssl;
  std::optional<asio::io_context> ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;

  void DoAccept() {
    acceptor->async_accept(asio::make_strand(*ioc),
                           [this](beast::error_code ec, tcp::socket socket) {
                             OnAccept(ec, std::move(socket));
                           });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      if (ssl) {
        std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(
            beast::ssl_stream<beast::tcp_stream>(std::move(socket), *ssl), router,
            options.on_client_closed)
            ->Start();
      } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)),
                                                         router, options.on_client_closed)
            ->Start();
      }
    }
    DoAccept();  // an accept error (e.g. out of descriptors) is not fatal for the listener
  }
};

absl::StatusOr<std::unique_ptr<Emulator>> Emulator::Create(const EmulatorOptions& options) {
  for (const auto& [id, secret] : options.oauth_clients) {
    if (id.empty() || id.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(Cat("bad OAuth client id '", id, "'"));
    }
  }
  if (options.token_ttl_seconds <= 0) {
    return absl::InvalidArgumentError("token_ttl_seconds must be positive");
  }
  auto impl = std::make_unique<Impl>(options);
  beast::error_code ec;
  std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError(Cat("bad listen host '", options.host, "'"));
  if (!options.cert_pem.empty() || !options.key_pem.empty()) {
    impl->ssl.emplace(asio::ssl::context::tls_server);
    impl->ssl->set_options(asio::ssl::context::default_workarounds |
                           asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3);
    impl->ssl->use_certificate_chain(asio::buffer(options.cert_pem), ec);
    if (!ec) impl->ssl->use_private_key(asio::buffer(options.key_pem), asio::ssl::context::pem, ec);
    if (ec) return absl::InvalidArgumentError(Cat("bad TLS certificate or key: ",
                                                           ec.message()));
  }
  int threads = std::max(options.threads, 1);
  impl->ioc.emplace(threads);
  impl->acceptor.emplace(*impl->ioc);
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(Cat("cannot listen on ", options.host, ":",
                                               options.port, ": ", ec.message()));
  }
  impl->port = impl->acceptor->local_endpoint().port();
  impl->DoAccept();
  for (int i = 0; i < threads; ++i) {
    impl->threads.emplace_back([ioc = &*impl->ioc] { ioc->run(); });
  }
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Emulator::~Emulator() { Stop(); }

uint16_t Emulator::port() const { return impl_->port; }

bool Emulator::tls() const { return impl_->ssl.has_value(); }

std::string Emulator::BaseUrl() const {
  return Cat(tls() ? "https://" : "http://", impl_->options.host, ":", impl_->port);
}

std::vector<CallRecord> Emulator::Calls(std::size_t limit) const {
  return impl_->router.calls().Recent(limit);
}

void Emulator::Stop() {
  if (!impl_->ioc) return;
  impl_->ioc->stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->acceptor.reset();
  // Destroying the io_context destroys the pending handlers, hence every session and socket.
  impl_->ioc.reset();
}

}  // namespace agentgateway::emulator
