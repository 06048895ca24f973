// A tiny blocking HTTP/1.1 client over a raw loopback socket (optionally TLS, with OpenSSL
// directly), for the server tests: it sends exactly the bytes it is given and decodes
// Content-Length and chunked responses itself, so framing is checked independently of Beast.
#ifndef AGENTGATEWAY_TESTS_GATEWAY_TEST_HTTP_CLIENT_H_
#define AGENTGATEWAY_TESTS_GATEWAY_TEST_HTTP_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct ssl_ctx_st;
struct ssl_st;

namespace agentgateway::gateway::testing {

struct TlsClientOptions {
  std::string ca_cert_pem;                // trust root; the server's chain is always verified
  std::string server_name = "localhost";  // SNI and the name checked against the certificate
  std::string cert_pem;                   // client certificate for mutual TLS (optional)
  std::string key_pem;
  std::vector<std::string> alpn;  // protocols to offer, e.g. {"h2", "http/1.1"}
};

struct TestResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  std::string body;                                           // de-chunked
  std::string Header(const std::string& name) const;
};

class TestHttpClient {
 public:
  explicit TestHttpClient(uint16_t port);  // connects; receive timeout 10 s
  // Connects and completes a TLS handshake; on failure the client is closed and tls_error()
  // says why.
  TestHttpClient(uint16_t port, const TlsClientOptions& tls);
  ~TestHttpClient();
  TestHttpClient(const TestHttpClient&) = delete;
  TestHttpClient& operator=(const TestHttpClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // OpenSSL's reasons for the last TLS failure (handshake, read or write), "" if none.
  const std::string& tls_error() const { return tls_error_; }
  std::string alpn_selected() const;
  // True when the server's TLS close_notify arrived (a graceful close, not just a FIN).
  bool close_notify_seen() const { return close_notify_seen_; }

  bool Send(const std::string& bytes);
  // Reads one whole response (Content-Length, chunked, or until close).
  std::optional<TestResponse> ReadResponse();
  // Reads only the status line and headers.
  std::optional<TestResponse> ReadHead();
  // Reads the next chunk of a chunked body; nullopt on the last chunk or an error.
  std::optional<std::string> ReadChunk();
  // True when the server closed the connection (read returns 0) within the timeout.
  bool WaitForClose();
  void Close();

 private:
  bool Fill();  // reads more bytes into buffer_
  long Receive(char* data, std::size_t size);  // recv or SSL_read: >0 bytes, 0 closed, <0 error
  void NoteTlsError(int ssl_result);
  std::optional<std::string> ReadLine();
  std::optional<std::string> ReadExactly(std::size_t n);

  int fd_ = -1;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  std::string tls_error_;
  bool close_notify_seen_ = false;
  std::string buffer_;
};

// A request with Content-Length set from `body`.
std::string MakeRequest(const std::string& method, const std::string& target,
                        const std::string& body = "",
                        const std::vector<std::pair<std::string, std::string>>& headers = {});

// An SSE body split into frames (each ended by a blank line). A frame is a comment frame (all
// lines start with ':') or an event frame (none do); a mix, a stray comment or an unterminated
// tail makes the body malformed.
struct SseFrames {
  std::vector<std::string> events;  // whole event frames, in order, each ending "\n\n"
  int keep_alives = 0;              // `: keep-alive` comment frames
  bool well_formed = true;
};
SseFrames ParseSse(const std::string& body);

}  // namespace agentgateway::gateway::testing

#endif  // AGENTGATEWAY_TESTS_GATEWAY_TEST_HTTP_CLIENT_H_
