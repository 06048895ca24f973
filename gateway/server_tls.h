// The REST listener's TLS settings, built from PEM text with the OpenSSL 3 API. No Asio or
// Beast here: the server wraps the result in an asio::ssl::context, which takes ownership.
#ifndef AGENTGATEWAY_GATEWAY_SERVER_TLS_H_
#define AGENTGATEWAY_GATEWAY_SERVER_TLS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "gateway/http_server.h"

struct ssl_ctx_st;  // SSL_CTX

namespace agentgateway::gateway {

struct SslCtxFree {
  void operator()(ssl_ctx_st* ctx) const;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxFree>;

// True when the options ask for HTTPS (either half of the key pair set; Create validates).
bool TlsRequested(const HttpServerOptions& options);

// A server context for options.tls_cert_pem (leaf first, then any intermediates) and
// options.tls_key_pem: TLS 1.2+ only, forward-secret AEAD suites for 1.2, server cipher
// preference, no compression, no renegotiation, ALPN http/1.1. With tls_client_ca_pem, clients
// must present a certificate that chains to one of its CAs (mutual TLS).
// Errors: INVALID_ARGUMENT naming the option at fault (one half of the pair missing, a PEM that
// does not parse, a key that does not match the certificate), with OpenSSL's reason.
absl::StatusOr<SslCtxPtr> MakeServerTlsContext(const HttpServerOptions& options);

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_SERVER_TLS_H_
