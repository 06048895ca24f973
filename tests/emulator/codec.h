// Small encoders the identity routes need: base64 (standard, for HTTP Basic) and base64url
// (unpadded, for JWTs), application/x-www-form-urlencoded bodies, random hex, and the token
// fingerprint the request log shows in place of a token. Plain functions, thread-safe.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_CODEC_H_
#define AGENTGATEWAY_TESTS_EMULATOR_CODEC_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace agentgateway::emulator {

// Standard alphabet with '=' padding (RFC 4648 section 4); nullopt when malformed.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view bytes);
// URL-safe alphabet, no padding (RFC 7515 section 2), as in JWTs.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// `a=1&b=x+y%21` -> {a: "1", b: "x y!"}; nullopt on a bad %-escape. A repeated key keeps its
// first value.
std::optional<std::map<std::string, std::string, std::less<>>> ParseForm(std::string_view body);

// `bytes` random bytes (OpenSSL's CSPRNG) as 2*bytes lowercase hex digits.
std::string RandomHex(std::size_t bytes);
std::string RandomBytes(std::size_t bytes);

// First 8 hex digits of SHA-256(token): enough to tell tokens apart, useless to replay one.
std::string TokenFingerprint(std::string_view token);

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_CODEC_H_
