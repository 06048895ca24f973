#include "server/identity/jwt.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>

namespace agentgateway::identity {
namespace {

constexpr std::size_t kMaxTokenBytes = 64 * 1024;

int B64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;  // base64url, and tolerated standard base64
  if (c == '_' || c == '/') return 63;
  return -1;
}

// base64url with or without '=' padding; nullopt on any other character or a bad length.
std::optional<std::string> DecodeB64Url(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = B64UrlValue(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<boost::json::object> DecodeJsonPart(std::string_view part) {
  if (part.empty()) return std::nullopt;
  std::optional<std::string> bytes = DecodeB64Url(part);
  if (!bytes.has_value()) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(*bytes, ec);
  if (ec || !json.is_object()) return std::nullopt;
  return std::move(json.get_object());
}

// The payload of a JWT, when `token` is one.
std::optional<boost::json::object> JwtPayload(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return std::nullopt;
  const std::size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  if (!DecodeJsonPart(token.substr(0, first)).has_value()) return std::nullopt;  // header
  for (char c : token.substr(second + 1)) {  // signature: may be empty ("alg":"none")
    if (B64UrlValue(c) < 0 && c != '=') return std::nullopt;
  }
  return DecodeJsonPart(token.substr(first + 1, second - first - 1));
}

std::optional<std::vector<std::string>> ScopesFrom(const boost::json::value& claim) {
  std::vector<std::string> scopes;
  if (const boost::json::string* s = claim.if_string()) {
    std::string_view rest(s->data(), s->size());
    while (!rest.empty()) {
      const std::size_t start = rest.find_first_not_of(' ');
      if (start == std::string_view::npos) break;
      rest.remove_prefix(start);
      const std::size_t end = std::min(rest.find(' '), rest.size());
      scopes.emplace_back(rest.substr(0, end));
      rest.remove_prefix(end);
    }
    return scopes;
  }
  if (const boost::json::array* a = claim.if_array()) {
    for (const boost::json::value& item : *a) {
      if (const boost::json::string* s = item.if_string(); s != nullptr && !s->empty()) {
        scopes.emplace_back(s->data(), s->size());
      }
    }
    return scopes;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<std::string>> JwtScopes(std::string_view token) {
  std::optional<boost::json::object> payload = JwtPayload(token);
  if (!payload.has_value()) return std::nullopt;
  for (std::string_view claim : {"scp", "scope"}) {
    if (const boost::json::value* v = payload->if_contains(claim)) {
      if (std::optional<std::vector<std::string>> scopes = ScopesFrom(*v)) return scopes;
    }
  }
  return std::nullopt;
}

std::optional<std::string> JwtSubject(std::string_view token) {
  std::optional<boost::json::object> payload = JwtPayload(token);
  if (!payload.has_value()) return std::nullopt;
  const boost::json::value* sub = payload->if_contains("sub");
  if (sub == nullptr || !sub->is_string()) return std::nullopt;
  return std::string(sub->get_string().data(), sub->get_string().size());
}

}  // namespace agentgateway::identity
