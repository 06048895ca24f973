// Builds unsigned JWT-shaped strings for tests.
#ifndef AGENTGATEWAY_TESTS_SERVER_IDENTITY_TEST_JWT_H_
#define AGENTGATEWAY_TESTS_SERVER_IDENTITY_TEST_JWT_H_

#include <string>
#include <string_view>

namespace agentgateway::identity::testing {

// base64url; `pad` adds the '=' padding that JWTs normally omit.
inline std::string B64Url(std::string_view bytes, bool pad = false) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

inline std::string MakeJwt(std::string_view payload_json, bool pad = false) {
  return B64Url(R"({"alg":"RS256","typ":"JWT","kid":"k1"})", pad) + "." +
         B64Url(payload_json, pad) + "." + B64Url("not-a-real-signature-0123456789", pad);
}

}  // namespace agentgateway::identity::testing

#endif  // AGENTGATEWAY_TESTS_SERVER_IDENTITY_TEST_JWT_H_
