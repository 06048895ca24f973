#include "server/identity/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <ostream>

namespace agentgateway::identity {
namespace {

// Overwrites the whole buffer, including bytes past size() left by earlier, longer values.
void Wipe(std::string& s) {
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

Secret::Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { Wipe(other.value_); }

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    Wipe(value_);
    value_ = other.value_;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe(value_);
    value_ = std::move(other.value_);
    Wipe(other.value_);
  }
  return *this;
}

Secret::~Secret() { Wipe(value_); }

std::string Secret::Fingerprint() const {
  if (value_.empty()) return "<empty>";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(value_.data(), value_.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return "sha256:?";  // (OpenSSL without SHA-256: still never the value)
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (int i = 0; i < 4; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Secret& secret) {
  return os << secret.Fingerprint();
}

// ---------------------------------------------------------------------------------------------
// ScrubSecrets: one pass. At each position at most a bounded number of rules look ahead, and
// each look-ahead is either consumed (redacted) or bounded by the words it covers (a JWT probe
// spans at most three words; the opaque-run probe runs once per run), so the whole scan is
// linear in the input.
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }
bool IsHex(char c) { return IsLowerHex(c) || (c >= 'A' && c <= 'F'); }
bool IsB64Url(char c) { return IsAlnum(c) || c == '-' || c == '_'; }
// The body of an opaque run; '=' only counts as trailing padding.
bool IsOpaqueBody(char c) { return IsB64Url(c) || c == '+' || c == '/' || c == '.'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool EndsCredential(char c) {
  return IsSpace(c) || c == '"' || c == '\'' || c == '`' || c == '\\' || c == '<' || c == '>';
}
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t B64UrlRun(std::string_view text, std::size_t i) {
  std::size_t e = i;
  while (e < text.size() && IsB64Url(text[e])) ++e;
  return e - i;
}

// eyJ<b64url>+ . <b64url>+ . <b64url>*  ->  its length, or 0.
std::size_t MatchJwt(std::string_view text, std::size_t i) {
  if (text.substr(i, 3) != "eyJ") return 0;
  std::size_t p = i + B64UrlRun(text, i);
  for (int dot = 0; dot < 2; ++dot) {
    if (p >= text.size() || text[p] != '.') return 0;
    const std::size_t n = B64UrlRun(text, p + 1);
    if (dot == 0 && n == 0) return 0;
    p += 1 + n;
  }
  return p - i;
}

// dapi<32 lowercase hex>(-<digits>)?  ->  its length, or 0.
std::size_t MatchPat(std::string_view text, std::size_t i) {
  if (text.substr(i, 4) != "dapi" || text.size() - i < 36) return 0;
  std::size_t p = i + 4;
  for (; p < i + 36; ++p) {
    if (!IsLowerHex(text[p])) return 0;
  }
  if (p + 1 < text.size() && text[p] == '-' && IsDigit(text[p + 1])) {
    p += 2;
    while (p < text.size() && IsDigit(text[p])) ++p;
  }
  if (p < text.size() && IsAlnum(text[p])) return 0;
  return p - i;
}

bool StartsWithNoCase(std::string_view text, std::size_t i, std::string_view word) {
  if (text.size() - i < word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (Lower(text[i + k]) != word[k]) return false;
  }
  return true;
}

// "Bearer <credential>" / "Basic <credential>". On a match appends the scheme word, the spaces
// and "[redacted]" to `out` and returns the length consumed; otherwise 0.
std::size_t MatchAuthScheme(std::string_view text, std::size_t i, std::string& out) {
  std::size_t word = 0;
  if (StartsWithNoCase(text, i, "bearer")) word = 6;
  else if (StartsWithNoCase(text, i, "basic")) word = 5;
  if (word == 0) return 0;
  std::size_t p = i + word;
  if (p >= text.size() || (text[p] != ' ' && text[p] != '\t')) return 0;
  while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
  const std::size_t start = p;
  while (p < text.size() && !EndsCredential(text[p])) ++p;
  std::size_t end = p;
  // Sentence punctuation after the credential stays.
  while (end > start && std::string_view(".,;:)]}").find(text[end - 1]) != std::string_view::npos) {
    --end;
  }
  const std::string_view credential = text.substr(start, end - start);
  const bool symbolic = std::any_of(credential.begin(), credential.end(),
                                    [](char c) { return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')); });
  if (!(credential.size() >= 16 || (credential.size() >= 8 && symbolic))) return 0;
  out.append(text.substr(i, start - i));
  out.append(kRedacted);
  return end - i;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t k = 0; k < s.size(); ++k) {
    const bool dash = k == 8 || k == 13 || k == 18 || k == 23;
    if (dash ? s[k] != '-' : !IsHex(s[k])) return false;
  }
  return true;
}

bool LooksOpaque(std::string_view text, std::size_t i, std::string_view run) {
  if (run.size() < 32 || IsUuid(run)) return false;
  if (run.substr(0, 2) == "//" && i > 0 && text[i - 1] == ':') return false;  // a URL
  bool digit = false, letter = false;
  std::size_t stretch = 0, longest = 0;
  for (char c : run) {
    digit = digit || IsDigit(c);
    letter = letter || (IsAlnum(c) && !IsDigit(c));
    stretch = (c == '/' || c == '.') ? 0 : stretch + 1;
    longest = std::max(longest, stretch);
  }
  return digit && letter && longest >= 24;
}

}  // namespace

std::string ScrubSecrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t opaque_probed_until = 0;  // the current opaque run was already judged
  std::size_t i = 0;
  while (i < text.size()) {
    const char prev = i > 0 ? text[i - 1] : ' ';
    if (IsB64Url(text[i]) && !IsB64Url(prev)) {  // start of a word
      std::size_t n = MatchJwt(text, i);
      if (n == 0 && !IsAlnum(prev)) n = MatchPat(text, i);
      if (n > 0) {
        out.append(kRedacted);
        i += n;
        continue;
      }
      if (!IsAlnum(prev) && (n = MatchAuthScheme(text, i, out)) > 0) {
        i += n;
        continue;
      }
    }
    if (IsOpaqueBody(text[i]) && !IsOpaqueBody(prev) && i >= opaque_probed_until) {
      std::size_t e = i;
      while (e < text.size() && IsOpaqueBody(text[e])) ++e;
      while (e < text.size() && text[e] == '=') ++e;
      opaque_probed_until = e;
      if (LooksOpaque(text, i, text.substr(i, e - i))) {
        out.append(kRedacted);
        i = e;
        continue;
      }
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

}  // namespace agentgateway::identity
