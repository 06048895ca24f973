#include "server/identity/oauth_token_request.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/upstream/error_mapping.h"

namespace agentgateway::identity {
namespace {

// This abseil's string_view is its own type, not std::string_view.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr std::size_t kMaxExcerpt = 300;
constexpr std::chrono::seconds kMaxLifetime{7 * 24 * 3600};  // keeps time arithmetic sane

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

// A short, single-line, scrubbed excerpt of an error body.
std::string Excerpt(std::string_view body) {
  std::string line;
  for (char c : body.substr(0, kMaxExcerpt)) {
    line.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  }
  if (body.size() > kMaxExcerpt) line += "...";
  return std::string(absl::StripAsciiWhitespace(line));
}

const boost::json::string* StringField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* v = object.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

// OAuth's {"error": "invalid_client", "error_description": "..."}, else the shapes
// error_mapping.h knows, else an excerpt of the body.
std::string ErrorText(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(body, ec);
  if (!ec && json.is_object()) {
    const boost::json::object& object = json.get_object();
    if (const boost::json::string* error = StringField(object, "error")) {
      std::string text(error->c_str(), error->size());
      if (const boost::json::string* d = StringField(object, "error_description")) {
        absl::StrAppend(&text, ": ", absl::string_view(d->data(), d->size()));
      }
      return ScrubSecrets(text);
    }
  }
  if (std::string message = upstream::ErrorMessageFromJson(body); !message.empty()) {
    return ScrubSecrets(message);
  }
  return ScrubSecrets(Excerpt(body));
}

std::optional<double> NumberField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  if (const boost::json::string* s = v->if_string()) {  // some servers quote it
    double d = 0;
    if (absl::SimpleAtod(absl::string_view(s->data(), s->size()), &d)) return d;
  }
  return std::nullopt;
}

absl::StatusOr<TokenAnswer> ParseSuccess(std::string_view body, std::string_view context) {
  auto malformed = [&](std::string_view why) {
    return absl::UnavailableError(absl::StrCat(Av(context), ": malformed token response (",
                                               Av(why), "): ", ScrubSecrets(Excerpt(body))));
  };
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(body, ec);
  if (ec) return malformed("not JSON");
  if (!json.is_object()) return malformed("not a JSON object");
  const boost::json::object& object = json.get_object();
  const boost::json::string* token = StringField(object, "access_token");
  if (token == nullptr || token->empty()) return malformed("no access_token");
  const boost::json::string* type = StringField(object, "token_type");
  if (type == nullptr) return malformed("no token_type");
  if (!absl::EqualsIgnoreCase(absl::string_view(type->data(), type->size()), "bearer")) {
    return malformed(absl::StrCat("token_type is \"",
                                  ScrubSecrets(std::string(type->data(), type->size())),
                                  "\", not Bearer"));
  }
  const std::optional<double> expires_in = NumberField(object, "expires_in");
  if (!expires_in.has_value()) return malformed("no expires_in");
  if (!(*expires_in >= 1)) return malformed("expires_in is not a positive number of seconds");
  TokenAnswer answer;
  answer.access_token = Secret(std::string(token->data(), token->size()));
  answer.expires_in = std::min(kMaxLifetime,
                               std::chrono::seconds(static_cast<long long>(
                                   std::min(*expires_in, double(kMaxLifetime.count())))));
  return answer;
}

}  // namespace

std::string FormUrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

upstream::HttpRequest BuildTokenRequest(const upstream::Url& token_url, std::string_view client_id,
                                        const Secret& client_secret, std::string_view scope) {
  upstream::HttpRequest request;
  request.method = "POST";
  request.url = token_url;
  std::string credentials = absl::StrCat(Av(client_id), ":", client_secret.Reveal());
  request.headers.emplace_back("Authorization", absl::StrCat("Basic ", Base64(credentials)));
  OPENSSL_cleanse(credentials.data(), credentials.size());
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.headers.emplace_back("Accept", "application/json");
  request.body = "grant_type=client_credentials";
  if (!scope.empty()) absl::StrAppend(&request.body, "&scope=", FormUrlEncode(scope));
  return request;
}

absl::StatusOr<TokenAnswer> ParseTokenResponse(const absl::Status& transport, int http_status,
                                               std::string_view body, std::string_view context) {
  if (!transport.ok()) {
    const std::string what = http_status == 0 ? "" : absl::StrCat(" after HTTP ", http_status);
    return absl::UnavailableError(absl::StrCat(Av(context), ": request failed", what, ": ",
                                               ScrubSecrets(std::string(transport.message()))));
  }
  if (http_status >= 200 && http_status < 300) return ParseSuccess(body, context);
  const std::string detail = ErrorText(body);
  const std::string message =
      absl::StrCat(Av(context), ": HTTP ", http_status, detail.empty() ? "" : ": ", detail);
  switch (http_status) {
    case 400:
    case 401:
    case 403:
      return absl::FailedPreconditionError(absl::StrCat(
          message, " (check the client id and secret, DATABRICKS_CLIENT_ID / "
                   "DATABRICKS_CLIENT_SECRET, and the requested scope)"));
    case 404:
      return absl::FailedPreconditionError(
          absl::StrCat(message, " (check the workspace host, DATABRICKS_HOST)"));
    default:
      return absl::UnavailableError(message);
  }
}

}  // namespace agentgateway::identity
