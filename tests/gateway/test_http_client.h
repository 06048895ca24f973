// A tiny blocking HTTP/1.1 client over a raw loopback socket, for the server tests: it sends
// exactly the bytes it is given and decodes Content-Length and chunked responses itself, so
// framing is checked independently of Beast.
#ifndef AGENTGATEWAY_TESTS_GATEWAY_TEST_HTTP_CLIENT_H_
#define AGENTGATEWAY_TESTS_GATEWAY_TEST_HTTP_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace agentgateway::gateway::testing {

struct TestResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  std::string body;                                           // de-chunked
  std::string Header(const std::string& name) const;
};

class TestHttpClient {
 public:
  explicit TestHttpClient(uint16_t port);  // connects; receive timeout 10 s
  ~TestHttpClient();

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
  std::optional<std::string> ReadLine();
  std::optional<std::string> ReadExactly(std::size_t n);

  int fd_ = -1;
  std::string buffer_;
};

// A request with Content-Length set from `body`.
std::string MakeRequest(const std::string& method, const std::string& target,
                        const std::string& body = "",
                        const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace agentgateway::gateway::testing

#endif  // AGENTGATEWAY_TESTS_GATEWAY_TEST_HTTP_CLIENT_H_
