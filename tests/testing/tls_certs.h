// Throwaway PKI for hermetic TLS tests: a self-signed CA and one leaf certificate signed by
// it, generated in memory with the OpenSSL 3 API (no `openssl` CLI, nothing on disk unless
// WriteFiles is called). Keys are EC P-256. Certificates are valid from one hour ago for
// one day, so small clock skews between test processes do not matter.
#ifndef AGENTGATEWAY_TESTS_TESTING_TLS_CERTS_H_
#define AGENTGATEWAY_TESTS_TESTING_TLS_CERTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace agentgateway::testing {

struct TestPki {
  std::string ca_cert_pem;  // the CA certificate (give it to clients as their trust root)
  std::string ca_key_pem;   // the CA's private key (rarely needed)
  std::string cert_pem;     // the leaf (server) certificate, signed by the CA
  std::string key_pem;      // the leaf's private key (PKCS#8 PEM)

  // Writes ca.pem, cert.pem and key.pem (or the given names) into `dir`, which must exist.
  absl::Status WriteFiles(const std::string& dir, const std::string& ca_name = "ca.pem",
                          const std::string& cert_name = "cert.pem",
                          const std::string& key_name = "key.pem") const;

  // Paths as WriteFiles would name them in `dir`.
  static std::string Join(const std::string& dir, const std::string& name);
};

// Makes a CA and a leaf certificate whose subjectAltName lists `dns_names` (DNS entries) and
// `ip_sans` (IP entries, IPv4 or IPv6 text). The leaf's CN is the first DNS name (or
// "test-leaf"). Aborts the test process on an OpenSSL failure: that is a broken test
// environment, not a condition a test should handle.
TestPki MakeTestPki(std::vector<std::string> dns_names = {"localhost"},
                    std::vector<std::string> ip_sans = {"127.0.0.1"});

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(const std::string& name) const;

 private:
  std::string path_;
};

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_TESTING_TLS_CERTS_H_
