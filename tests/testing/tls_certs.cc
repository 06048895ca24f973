#include "tls_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"

namespace agentgateway::testing {
namespace {

// A failing OpenSSL call here means the environment is broken; tests cannot proceed, so
// fail loudly with the OpenSSL reason instead of returning half a PKI.
void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "MakeTestPki: %s failed\n", what);
  std::abort();
}

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter>;
using CertPtr = std::unique_ptr<X509, Deleter>;
using BioPtr = std::unique_ptr<BIO, Deleter>;

KeyPtr NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  return BioToString(bio.get());
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return BioToString(bio.get());
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Deleter> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  Check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

// A certificate for `key` named `common_name`, not yet signed or extended.
CertPtr NewCert(EVP_PKEY* key, const std::string& common_name) {
  CertPtr cert(X509_new());
  Check(cert != nullptr, "X509_new");
  Check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  // Random serials: two PKIs made in one test process must not collide in a client's cache.
  unsigned char serial_bytes[8];
  Check(RAND_bytes(serial_bytes, sizeof(serial_bytes)) == 1, "RAND_bytes");
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  Check(serial != nullptr && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())),
        "serial");
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  Check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  Check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("agent-gateway tests"),
                                   -1, -1, 0) == 1,
        "X509_NAME O");
  Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                   -1, -1, 0) == 1,
        "X509_NAME CN");
  return cert;
}

}  // namespace

std::string TestPki::Join(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

absl::Status TestPki::WriteFiles(const std::string& dir, const std::string& ca_name,
                                 const std::string& cert_name,
                                 const std::string& key_name) const {
  const std::pair<const std::string*, const std::string*> files[] = {
      {&ca_name, &ca_cert_pem}, {&cert_name, &cert_pem}, {&key_name, &key_pem}};
  for (const auto& [name, content] : files) {
    const std::string path = Join(dir, *name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << *content;
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

TestPki MakeTestPki(std::vector<std::string> dns_names, std::vector<std::string> ip_sans) {
  KeyPtr ca_key = NewKey();
  CertPtr ca = NewCert(ca_key.get(), "agent-gateway test CA");
  Check(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())) == 1, "issuer");
  AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  Check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "X509_sign(ca)");

  KeyPtr leaf_key = NewKey();
  CertPtr leaf = NewCert(leaf_key.get(), dns_names.empty() ? "test-leaf" : dns_names.front());
  Check(X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get())) == 1, "issuer");
  AddExtension(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  AddExtension(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  AddExtension(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const std::string& dns : dns_names) {
    absl::StrAppend(&san, san.empty() ? "" : ",", "DNS:", dns);
  }
  for (const std::string& ip : ip_sans) {
    absl::StrAppend(&san, san.empty() ? "" : ",", "IP:", ip);
  }
  if (!san.empty()) AddExtension(leaf.get(), ca.get(), NID_subject_alt_name, san);
  Check(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) > 0, "X509_sign(leaf)");

  TestPki pki;
  pki.ca_cert_pem = CertPem(ca.get());
  pki.ca_key_pem = KeyPem(ca_key.get());
  pki.cert_pem = CertPem(leaf.get());
  pki.key_pem = KeyPem(leaf_key.get());
  return pki;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(base != nullptr && *base ? base : "/tmp", "/agtest-XXXXXX");
  char* made = mkdtemp(pattern.data());
  Check(made != nullptr, "mkdtemp");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;  // best effort: a leftover temp dir must not fail a test
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::File(const std::string& name) const { return TestPki::Join(path_, name); }

}  // namespace agentgateway::testing
