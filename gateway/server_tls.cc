#include "gateway/server_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>

#include "gateway/text.h"

namespace agentgateway::gateway {
namespace {

// TLS 1.2 suites (1.3 suites are all AEAD and keep OpenSSL's defaults): ECDHE only, AEAD only.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// Resumed sessions must carry the client-verification result of the session they resume;
// OpenSSL refuses resumption with client verification unless an id context is set.
constexpr unsigned char kSessionIdContext[] = "agent-gateway-rest";
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Drains this thread's OpenSSL error queue into "reason; reason".
std::string OpenSslReason() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    std::string text = reason != nullptr ? reason : Cat("error ", code);
    if (out.find(text) == std::string::npos) out += out.empty() ? text : "; " + text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

absl::Status Invalid(std::string_view option, std::string_view what) {
  return absl::InvalidArgumentError(Cat(option, ": ", what, ": ", OpenSslReason()));
}

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in `pem`, in order; fails if there is none or one does not parse.
absl::StatusOr<std::vector<X509Ptr>> ReadCerts(std::string_view option, const std::string& pem) {
  BioPtr bio = MemBio(pem);
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  // Reading stops with PEM_R_NO_START_LINE at the end of the text; anything else is an error.
  unsigned long last = ERR_peek_last_error();
  if (!certs.empty() && ERR_GET_LIB(last) == ERR_LIB_PEM &&
      ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
  }
  if (certs.empty() || ERR_peek_error() != 0) return Invalid(option, "bad certificate PEM");
  return certs;
}

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kAlpnHttp11, sizeof(kAlpnHttp11), in, in_len) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // a client offering only h2 still gets HTTP/1.1 without ALPN
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

absl::Status LoadKeyPair(SSL_CTX* ctx, const HttpServerOptions& options) {
  absl::StatusOr<std::vector<X509Ptr>> chain = ReadCerts("tls_cert_pem", options.tls_cert_pem);
  if (!chain.ok()) return chain.status();
  if (SSL_CTX_use_certificate(ctx, chain->front().get()) != 1) {
    return Invalid("tls_cert_pem", "certificate rejected");
  }
  for (std::size_t i = 1; i < chain->size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, (*chain)[i].get()) != 1) {
      return Invalid("tls_cert_pem", "intermediate certificate rejected");
    }
  }
  BioPtr bio = MemBio(options.tls_key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) return Invalid("tls_key_pem", "bad private key PEM");
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return Invalid("tls_key_pem", "key does not match tls_cert_pem");
  }
  return absl::OkStatus();
}

absl::Status RequireClientCerts(SSL_CTX* ctx, const std::string& ca_pem) {
  absl::StatusOr<std::vector<X509Ptr>> cas = ReadCerts("tls_client_ca_pem", ca_pem);
  if (!cas.ok()) return cas.status();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const X509Ptr& ca : *cas) {
    // add_client_CA names the CA in the CertificateRequest so clients pick a matching cert.
    if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(ctx, ca.get()) != 1) {
      return Invalid("tls_client_ca_pem", "CA certificate rejected");
    }
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return absl::OkStatus();
}

}  // namespace

void SslCtxFree::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }

bool TlsRequested(const HttpServerOptions& options) {
  return !options.tls_cert_pem.empty() || !options.tls_key_pem.empty();
}

absl::StatusOr<SslCtxPtr> MakeServerTlsContext(const HttpServerOptions& options) {
  if (options.tls_cert_pem.empty() && !options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError("tls_key_pem is set but tls_cert_pem is missing");
  }
  if (!options.tls_cert_pem.empty() && options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError("tls_cert_pem is set but tls_key_pem is missing");
  }
  if (options.tls_cert_pem.empty()) {
    return absl::InvalidArgumentError(
        "tls_client_ca_pem needs tls_cert_pem and tls_key_pem (mutual TLS is HTTPS only)");
  }
  ERR_clear_error();  // the queue is per thread: start from a clean one so reasons are ours
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) return absl::InternalError(Cat("SSL_CTX_new: ", OpenSslReason()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                                     SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1) {
    return absl::InternalError(Cat("cipher list: ", OpenSslReason()));
  }
  SSL_CTX_set_session_id_context(ctx.get(), kSessionIdContext, sizeof(kSessionIdContext) - 1);
  SSL_CTX_set_alpn_select_cb(ctx.get(), SelectAlpn, nullptr);
  if (absl::Status s = LoadKeyPair(ctx.get(), options); !s.ok()) return s;
  if (!options.tls_client_ca_pem.empty()) {
    if (absl::Status s = RequireClientCerts(ctx.get(), options.tls_client_ca_pem); !s.ok()) {
      return s;
    }
  }
  return ctx;
}

}  // namespace agentgateway::gateway
