#include "tests/gateway/test_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace agentgateway::gateway::testing {

std::string TestResponse::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

TestHttpClient::TestHttpClient(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Close();
}

TestHttpClient::~TestHttpClient() { Close(); }

void TestHttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool TestHttpClient::Send(const std::string& bytes) {
  std::size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return fd_ >= 0;
}

bool TestHttpClient::Fill() {
  if (fd_ < 0) return false;
  char chunk[4096];
  ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string> TestHttpClient::ReadLine() {
  while (true) {
    std::size_t eol = buffer_.find("\r\n");
    if (eol != std::string::npos) {
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 2);
      return line;
    }
    if (!Fill()) return std::nullopt;
  }
}

std::optional<std::string> TestHttpClient::ReadExactly(std::size_t n) {
  while (buffer_.size() < n) {
    if (!Fill()) return std::nullopt;
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

std::optional<TestResponse> TestHttpClient::ReadHead() {
  auto status_line = ReadLine();
  if (!status_line || status_line->size() < 12) return std::nullopt;
  TestResponse response;
  response.status = std::atoi(status_line->substr(9, 3).c_str());
  while (true) {
    auto line = ReadLine();
    if (!line) return std::nullopt;
    if (line->empty()) break;
    std::size_t colon = line->find(':');
    std::string name = line->substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line->substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    response.headers.emplace_back(std::move(name), std::move(value));
  }
  return response;
}

std::optional<std::string> TestHttpClient::ReadChunk() {
  auto size_line = ReadLine();
  if (!size_line) return std::nullopt;
  std::size_t size = std::strtoul(size_line->c_str(), nullptr, 16);
  if (size == 0) {
    ReadLine();  // the empty line after the last chunk (no trailers)
    return std::nullopt;
  }
  auto data = ReadExactly(size);
  if (!data || !ReadLine()) return std::nullopt;
  return data;
}

std::optional<TestResponse> TestHttpClient::ReadResponse() {
  auto response = ReadHead();
  if (!response) return std::nullopt;
  if (response->Header("transfer-encoding") == "chunked") {
    while (auto chunk = ReadChunk()) response->body += *chunk;
  } else if (std::string length = response->Header("content-length"); !length.empty()) {
    auto body = ReadExactly(std::strtoul(length.c_str(), nullptr, 10));
    if (!body) return std::nullopt;
    response->body = *body;
  } else {
    while (Fill()) {}
    response->body = std::move(buffer_);
    buffer_.clear();
  }
  return response;
}

bool TestHttpClient::WaitForClose() {
  while (fd_ >= 0) {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
  return false;
}

std::string MakeRequest(const std::string& method, const std::string& target,
                        const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") {
    out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n" + body;
  return out;
}

}  // namespace agentgateway::gateway::testing
