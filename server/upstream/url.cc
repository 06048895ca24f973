// Url parsing lives apart from http_pool.cc so that it compiles without Asio or Beast.
#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::upstream {
namespace {

// This abseil's string_view is its own type, not std::string_view.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

absl::StatusOr<Url> Url::Parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid URL \"", Av(text), "\": ", Av(why)));
  };
  Url url;
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return bad("missing scheme (http:// or https://)");
  url.scheme = absl::AsciiStrToLower(std::string(text.substr(0, scheme_end)));
  if (url.scheme != "http" && url.scheme != "https") return bad("scheme must be http or https");
  std::string_view rest = text.substr(scheme_end + 3);

  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (const std::size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);  // fragments are never sent
  }
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");
  if (authority.find_first_of(" \t\r\n") != std::string_view::npos) return bad("whitespace");

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // IPv6 literal
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 literal");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after IPv6 literal");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
    url.host = absl::AsciiStrToLower(url.host);
  }
  if (url.host.empty()) return bad("missing host");

  if (port_text.empty()) {
    url.port = url.scheme == "https" ? 443 : 80;
  } else {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return bad("bad port");
    }
    url.port = static_cast<uint16_t>(value);
  }
  if (target.empty()) {
    url.target.push_back('/');  // (not `= "/"`: GCC 12 warns falsely on that, bug 105329)
  } else if (target.front() == '?') {
    url.target = absl::StrCat("/", Av(target));
  } else {
    url.target = std::string(target);
  }
  return url;
}

std::string Url::Origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat(scheme, "://", v6 ? "[" : "", host, v6 ? "]" : "", ":", port);
}

std::string_view HttpResponseHead::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, Av(name))) return value;
  }
  return {};
}

}  // namespace agentgateway::upstream
