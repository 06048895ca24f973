#include "tests/gateway/test_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>

namespace agentgateway::gateway::testing {
namespace {

std::string DrainOpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    out += out.empty() ? text : std::string("; ") + text;
  }
  return out;
}

// Adds every certificate in `pem` to the context's trust store.
bool TrustPem(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    added += X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cert);
    X509_free(cert);
  }
  BIO_free(bio);
  ERR_clear_error();  // the read that ends the loop leaves "no start line"
  return added > 0;
}

bool UseKeyPair(SSL_CTX* ctx, const std::string& cert_pem, const std::string& key_pem) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bool ok = cert != nullptr && key != nullptr && SSL_CTX_use_certificate(ctx, cert) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace

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

TestHttpClient::TestHttpClient(uint16_t port, const TlsClientOptions& tls) : TestHttpClient(port) {
  // OpenSSL writes with write(2): a server that hung up must fail the write, not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  if (fd_ < 0) return;
  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (!TrustPem(ctx_, tls.ca_cert_pem) ||
      (!tls.cert_pem.empty() && !UseKeyPair(ctx_, tls.cert_pem, tls.key_pem))) {
    tls_error_ = "bad test PEM: " + DrainOpenSslErrors();
    Close();
    return;
  }
  if (!tls.alpn.empty()) {
    std::string wire;
    for (const std::string& protocol : tls.alpn) {
      wire += static_cast<char>(protocol.size());
      wire += protocol;
    }
    SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size()));
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, tls.server_name.c_str());
  SSL_set1_host(ssl_, tls.server_name.c_str());
  if (int r = SSL_connect(ssl_); r != 1) {
    NoteTlsError(r);
    Close();
  }
}

TestHttpClient::~TestHttpClient() { Close(); }

// Abrupt on purpose (no close_notify): tests use it as "the client went away".
void TestHttpClient::Close() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TestHttpClient::NoteTlsError(int ssl_result) {
  int error = SSL_get_error(ssl_, ssl_result);
  std::string reasons = DrainOpenSslErrors();
  if (long verify = SSL_get_verify_result(ssl_); verify != X509_V_OK) {
    reasons += std::string(reasons.empty() ? "" : "; ") + "verify: " +
               X509_verify_cert_error_string(verify);
  }
  tls_error_ = reasons.empty() ? "SSL_get_error " + std::to_string(error) + " errno " +
                                     std::to_string(errno)
                               : reasons;
}

std::string TestHttpClient::alpn_selected() const {
  if (ssl_ == nullptr) return "";
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl_, &data, &size);
  return std::string(reinterpret_cast<const char*>(data), size);
}

long TestHttpClient::Receive(char* data, std::size_t size) {
  if (ssl_ == nullptr) return ::recv(fd_, data, size, 0);
  int n = SSL_read(ssl_, data, static_cast<int>(size));
  if (n > 0) return n;
  if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN) {
    close_notify_seen_ = true;
    return 0;
  }
  NoteTlsError(n);
  return -1;
}

bool TestHttpClient::Send(const std::string& bytes) {
  std::size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    long n;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) NoteTlsError(static_cast<int>(n));
    } else {
      n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    }
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return fd_ >= 0;
}

bool TestHttpClient::Fill() {
  if (fd_ < 0) return false;
  char chunk[4096];
  long n = Receive(chunk, sizeof(chunk));
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
    long n = Receive(&c, 1);
    if (n == 0) return true;
    // OpenSSL 3 reports a FIN without close_notify as an error: still a close.
    if (n < 0) return errno == ECONNRESET || tls_error_.find("unexpected eof") != std::string::npos;
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

SseFrames ParseSse(const std::string& body) {
  SseFrames out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) {
      out.well_formed = false;
      break;
    }
    std::string frame = body.substr(pos, end + 2 - pos);
    pos = end + 2;
    bool comment = frame[0] == ':';
    // Line starts; the frame's last '\n' closes it rather than starting a line.
    for (std::size_t line = 0; line + 1 < frame.size(); line = frame.find('\n', line) + 1) {
      if ((frame[line] == ':') != comment) out.well_formed = false;
    }
    if (!comment) {
      out.events.push_back(std::move(frame));
    } else if (frame == ": keep-alive\n\n") {
      ++out.keep_alives;
    } else {
      out.well_formed = false;
    }
  }
  return out;
}

}  // namespace agentgateway::gateway::testing
