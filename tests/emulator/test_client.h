// A small synchronous HTTP/1.1 client (plain or TLS) for the emulator's tests. Header-only;
// included by emulator_test.cc and identity_test.cc only (the test's two Beast translation units).
#ifndef AGENTGATEWAY_TESTS_EMULATOR_TEST_CLIENT_H_
#define AGENTGATEWAY_TESTS_EMULATOR_TEST_CLIENT_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl/host_name_verification.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "boost/json.hpp"

namespace agentgateway::emulator::test_client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientResponse {
  beast::error_code ec;  // set when the exchange failed (the parts read so far stay)
  int status = 0;
  http::fields headers;
  std::string body;
  boost::json::value Json() const { return boost::json::parse(body); }
};

struct SseEvent {
  std::string event;  // the `event:` line, empty if none
  std::string data;
  boost::json::value json;  // null when data is not JSON ([DONE])
  std::string Type() const {
    const auto* o = json.if_object();
    const auto* t = o ? o->if_contains("type") : nullptr;
    return t && t->is_string() ? std::string(t->get_string()) : std::string();
  }
};

inline std::vector<SseEvent> ParseSse(std::string_view body) {
  std::vector<SseEvent> events;
  while (!body.empty()) {
    std::size_t end = body.find("\n\n");
    std::string_view block = body.substr(0, end);
    SseEvent event;
    while (!block.empty()) {
      std::size_t nl = block.find('\n');
      std::string_view line = block.substr(0, nl);
      if (line.substr(0, 7) == "event: ") event.event = std::string(line.substr(7));
      if (line.substr(0, 6) == "data: ") event.data = std::string(line.substr(6));
      if (nl == std::string_view::npos) break;
      block.remove_prefix(nl + 1);
    }
    boost::system::error_code ec;
    event.json = boost::json::parse(event.data, ec);
    if (ec) event.json = nullptr;
    events.push_back(std::move(event));
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 2);
  }
  return events;
}

class TestClient {
 public:
  // `ssl` null: plain TCP. Otherwise TLS, verifying the server as "localhost".
  TestClient(uint16_t port, asio::ssl::context* ssl = nullptr) : port_(port) {
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    if (ssl != nullptr) {
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, *ssl);
      SSL_set_tlsext_host_name(tls_->native_handle(), "localhost");
      tls_->set_verify_callback(asio::ssl::host_name_verification("localhost"));
      beast::get_lowest_layer(*tls_).connect(endpoint, connect_ec_);
      if (!connect_ec_) tls_->handshake(asio::ssl::stream_base::client, connect_ec_);
    } else {
      plain_.connect(endpoint, connect_ec_);
    }
  }

  beast::error_code connect_error() const { return connect_ec_; }

  void Send(http::verb verb, std::string_view target, std::string body = {},
            const Headers& headers = {}, bool with_auth = true) {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    if (with_auth) request.set(http::field::authorization, "Bearer test-token");
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    request.prepare_payload();
    beast::error_code ec;
    WithStream([&](auto& s) { http::write(s, request, ec); });
  }

  // Reads one whole response (or what arrived before an error).
  ClientResponse Read() {
    ClientResponse out;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 << 20);
    WithStream([&](auto& s) { http::read(s, buffer_, parser, out.ec); });
    Fill(parser, out);
    return out;
  }

  // Reads the head and body bytes until the body holds `needle`.
  ClientResponse ReadUntil(std::string_view needle) {
    ClientResponse out;
    http::response_parser<http::string_body> parser;
    WithStream([&](auto& s) { http::read_header(s, buffer_, parser, out.ec); });
    while (!out.ec && parser.get().body().find(needle) == std::string::npos && !parser.is_done()) {
      WithStream([&](auto& s) { http::read_some(s, buffer_, parser, out.ec); });
    }
    Fill(parser, out);
    return out;
  }

  ClientResponse Exchange(http::verb verb, std::string_view target, std::string body = {},
                          const Headers& headers = {}, bool with_auth = true) {
    Send(verb, target, std::move(body), headers, with_auth);
    return Read();
  }

  // Reads further bytes; returns the error that ended the connection (eof, reset, ...).
  beast::error_code ReadToEnd() {
    beast::error_code ec;
    char scratch[4096];
    while (!ec) {
      WithStream([&](auto& s) { s.read_some(asio::buffer(scratch), ec); });
    }
    return ec;
  }

  void Close() {
    beast::error_code ignored;
    auto& socket = tls_ ? beast::get_lowest_layer(*tls_).socket() : plain_.socket();
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

 private:
  template <class F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(plain_);
    }
  }

  static void Fill(http::response_parser<http::string_body>& parser, ClientResponse& out) {
    out.status = static_cast<int>(parser.get().result_int());
    out.headers = parser.get().base();
    out.body = parser.get().body();
  }

  asio::io_context ioc_;
  uint16_t port_;
  beast::tcp_stream plain_{ioc_};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  beast::error_code connect_ec_;
};

}  // namespace agentgateway::emulator::test_client

#endif  // AGENTGATEWAY_TESTS_EMULATOR_TEST_CLIENT_H_
