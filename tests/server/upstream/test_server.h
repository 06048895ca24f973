// A small blocking HTTP/1.1 server for pool tests: listens on 127.0.0.1 (or a given address)
// port 0, plain or TLS, one thread per connection, and answers each request with a
// test-supplied Responder that writes raw bytes (so tests control framing exactly).
// It records accepted and closed connections and lets tests wait on them.
#ifndef AGENTGATEWAY_TESTS_SERVER_UPSTREAM_TEST_SERVER_H_
#define AGENTGATEWAY_TESTS_SERVER_UPSTREAM_TEST_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tests/testing/tls_certs.h"

namespace agentgateway::upstream::testing {

// One accepted connection, as seen by a Responder.
class ServerConn {
 public:
  virtual ~ServerConn() = default;
  // Writes raw bytes; false once the peer is gone.
  virtual bool Write(std::string_view bytes) = 0;
  // Blocks until the peer closes (EOF or reset) or the server shuts down.
  virtual void WaitForPeerClose() = 0;
};

struct ServerRequest {
  std::string method;
  std::string target;
  std::string body;
  int index = 0;  // 0-based count of requests across all connections
};

// Returns true to keep the connection open for another request.
using Responder = std::function<bool(const ServerRequest&, ServerConn&)>;

class TestServer {
 public:
  // `pki` set: TLS with its leaf certificate. `address`: where to listen.
  TestServer(Responder responder, std::optional<agentgateway::testing::TestPki> pki = std::nullopt,
             std::string address = "127.0.0.1");
  ~TestServer();

  uint16_t port() const;
  int accepted() const;
  int closed() const;
  int requests() const;
  // The server name (SNI) the last TLS client sent; empty when none.
  std::string last_sni() const;
  // Waits (up to a generous failure bound) until the server has accepted `n` connections,
  // seen `n` closed, or served `n` requests. False on timeout.
  bool WaitAccepted(int n);
  bool WaitClosed(int n);
  bool WaitRequests(int n);

  // "HTTP/1.1 200 OK" with Content-Length and the given extra header lines.
  static std::string Response(int status, std::string_view body, std::string_view extra = "");

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgateway::upstream::testing

#endif  // AGENTGATEWAY_TESTS_SERVER_UPSTREAM_TEST_SERVER_H_
