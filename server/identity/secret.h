// Secret: a bearer token or client secret that cannot be printed by accident.
//
// The value is reachable only through Reveal(); streaming, gtest printing and (with an abseil
// that knows AbslStringify) absl::StrCat/StrFormat("%v") show the fingerprint
// "sha256:1a2b3c4d" instead. The buffer is wiped (OPENSSL_cleanse) when the value is replaced
// or destroyed. Copies made through Reveal() are the caller's to keep short-lived.
//
// ScrubSecrets() is the second line of defence for text that came from elsewhere (an upstream
// error body, an exception message): it replaces token-shaped substrings with "[redacted]".
#ifndef AGENTGATEWAY_SERVER_IDENTITY_SECRET_H_
#define AGENTGATEWAY_SERVER_IDENTITY_SECRET_H_

#include <iosfwd>
#include <string>
#include <string_view>

namespace agentgateway::identity {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret& other) : value_(other.value_) {}
  Secret(Secret&& other) noexcept;
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  // The only way to read the value. Keep what you do with it out of logs and messages.
  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  // "sha256:" + the first 8 hex digits of SHA-256(value), or "<empty>". Safe to log: it lets
  // two log lines be matched to the same token without disclosing it.
  std::string Fingerprint() const;

  template <typename Sink>
  friend void AbslStringify(Sink& sink, const Secret& secret) {
    sink.Append(secret.Fingerprint());
  }
  friend std::ostream& operator<<(std::ostream& os, const Secret& secret);

 private:
  std::string value_;
};

// Replaces token-shaped substrings with "[redacted]":
//  * JWTs (eyJ<b64url>.<b64url>.<b64url?>),
//  * Databricks personal access tokens (dapi + 32 hex, optional -<digit>),
//  * the credential after "Bearer " / "Basic " (up to whitespace or a quote) when it looks like
//    one (8+ characters with a digit or symbol, or 16+ characters),
//  * long opaque runs: 32+ characters of [A-Za-z0-9_-+/=.] holding a letter and a digit and a
//    24+ character stretch free of '/' and '.'; URLs ("://..."), host names, paths and UUIDs
//    are kept.
// One left-to-right pass, linear in the input (no regex, no backtracking).
std::string ScrubSecrets(std::string_view text);

inline constexpr std::string_view kRedacted = "[redacted]";

}  // namespace agentgateway::identity

#endif  // AGENTGATEWAY_SERVER_IDENTITY_SECRET_H_
