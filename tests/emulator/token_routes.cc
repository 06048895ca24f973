// Identity routes: the OAuth M2M token endpoint (POST /oidc/v1/token) with its error bodies,
// its fault control (POST /emulator/token-endpoint) and user-token minting for tests
// (POST /emulator/users/token).
#include "boost/json/parse.hpp"
#include "boost/json/serialize.hpp"
#include "tests/emulator/codec.h"
#include "tests/emulator/router.h"
#include "tests/emulator/str_util.h"

namespace agentgateway::emulator {
namespace {

// Bounds keep steady_clock arithmetic far from overflow.
constexpr int64_t kMaxTtlSeconds = 10LL * 365 * 24 * 3600;
constexpr int64_t kDefaultUserTokenTtl = 3600;
constexpr std::string_view kDefaultScope = "all-apis";

Reply OAuthError(int status, std::string_view error, std::string_view description) {
  Reply reply;
  reply.status = status;
  reply.headers.emplace_back("Cache-Control", "no-store");
  reply.body = boost::json::serialize(
      boost::json::object{{"error", error}, {"error_description", description}});
  return reply;
}

Reply InvalidClient(bool challenge) {
  Reply reply = OAuthError(401, "invalid_client", "Client authentication failed");
  // RFC 6749 section 5.2: a failed Basic authentication is answered with its challenge.
  if (challenge) reply.headers.emplace_back("WWW-Authenticate", "Basic realm=\"oidc\"");
  return reply;
}

// The Databricks front end's answers while the endpoint is made to fail.
Reply InjectedFailure(int status) {
  switch (status) {
    case 429: {
      Reply reply = ErrorReply(429, "REQUEST_LIMIT_EXCEEDED", "Too many token requests");
      reply.headers.emplace_back("Retry-After", "1");
      return reply;
    }
    case 503:
      return ErrorReply(503, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable");
    default:
      return ErrorReply(status, status < 500 ? "BAD_REQUEST" : "INTERNAL_ERROR",
                        "The token endpoint failed (injected by the emulator)");
  }
}

bool IsFormContentType(std::string_view content_type) {
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  std::string lower = ToLower(content_type);
  return lower.substr(0, kForm.size()) == kForm &&
         (lower.size() == kForm.size() || lower[kForm.size()] == ';' ||
          lower[kForm.size()] == ' ');
}

Reply JsonReply(boost::json::object body) {
  Reply reply;
  reply.body = boost::json::serialize(body);
  return reply;
}

Reply InvalidParameter(std::string_view message) {
  return ErrorReply(400, "INVALID_PARAMETER_VALUE", message);
}

}  // namespace

Action Router::HandleTokenEndpoint(const HttpRequestData& request) {
  stats_.Inc(Stats::kTokenRequests);
  Reply reply = TokenEndpointReply(request);
  if (reply.status != 200) stats_.Inc(Stats::kTokenFailures);
  return ReplyAction(std::move(reply));
}

Reply Router::TokenEndpointReply(const HttpRequestData& request) {
  if (int fail = identity_.fail_status(); fail != 0) return InjectedFailure(fail);
  std::string_view auth = request.Header("authorization");
  if (auth.size() < 6 || ToLower(auth.substr(0, 6)) != "basic ") return InvalidClient(true);
  std::optional<std::string> credentials = Base64Decode(auth.substr(6));
  std::size_t colon = credentials ? credentials->find(':') : std::string::npos;
  if (colon == std::string::npos) return InvalidClient(true);
  std::string_view client_id = std::string_view(*credentials).substr(0, colon);
  if (!identity_.CheckClient(client_id, std::string_view(*credentials).substr(colon + 1))) {
    return InvalidClient(false);
  }
  if (!IsFormContentType(request.Header("content-type"))) {
    return OAuthError(400, "invalid_request",
                      "Content-Type must be application/x-www-form-urlencoded");
  }
  auto form = ParseForm(request.body);
  if (!form) return OAuthError(400, "invalid_request", "Malformed form body");
  auto grant = form->find("grant_type");
  if (grant == form->end()) return OAuthError(400, "invalid_request", "Missing grant_type");
  if (grant->second != "client_credentials") {
    return OAuthError(400, "unsupported_grant_type",
                      Cat("Unsupported grant_type '", grant->second, "'"));
  }
  auto scope = form->find("scope");
  std::string_view scope_text = scope == form->end() ? kDefaultScope : scope->second;
  if (scope_text.empty()) return OAuthError(400, "invalid_scope", "Empty scope");
  IssuedToken issued = identity_.IssueAppToken(client_id);
  Reply reply = JsonReply({{"access_token", issued.access_token},
                           {"token_type", "Bearer"},
                           {"expires_in", issued.expires_in},
                           {"scope", scope_text}});
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

Reply Router::TokenControlReply(std::string_view query) {
  std::string_view fail_text = QueryParam(query, "fail");
  std::string_view ttl_text = QueryParam(query, "ttl");
  int64_t fail = 0;
  int64_t ttl = 0;
  if (!fail_text.empty() &&
      (!ParseInt(fail_text, fail) || (fail != 0 && (fail < 400 || fail > 599)))) {
    return InvalidParameter("'fail' must be 0 or an HTTP status from 400 to 599");
  }
  if (!ttl_text.empty() && (!ParseInt(ttl_text, ttl) || ttl < 0 || ttl > kMaxTtlSeconds)) {
    return InvalidParameter("'ttl' must be a number of seconds, 0 or more");
  }
  if (!fail_text.empty()) identity_.set_fail_status(static_cast<int>(fail));
  if (!ttl_text.empty()) identity_.set_token_ttl(ttl);
  return JsonReply({{"fail", identity_.fail_status()},
                    {"token_ttl_seconds", identity_.token_ttl()}});
}

Reply Router::MintUserTokenReply(const HttpRequestData& request) {
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(request.body, ec);
  const boost::json::object* body = ec ? nullptr : parsed.if_object();
  if (body == nullptr) return InvalidParameter("Body must be a JSON object");
  const boost::json::value* user = body->if_contains("user");
  if (user == nullptr || !user->is_string() || user->get_string().empty()) {
    return InvalidParameter("'user' must be a non-empty string");
  }
  std::vector<std::string> scopes;
  if (const boost::json::value* list = body->if_contains("scopes")) {
    if (!list->is_array()) return InvalidParameter("'scopes' must be an array of strings");
    for (const boost::json::value& scope : list->get_array()) {
      if (!scope.is_string()) return InvalidParameter("'scopes' must be an array of strings");
      scopes.emplace_back(scope.get_string());
    }
  }
  int64_t ttl = kDefaultUserTokenTtl;
  if (const boost::json::value* v = body->if_contains("ttl_seconds")) {
    if (!v->is_int64() || v->get_int64() > kMaxTtlSeconds || v->get_int64() < -kMaxTtlSeconds) {
      return InvalidParameter("'ttl_seconds' must be an integer (0 or less: already expired)");
    }
    ttl = v->get_int64();
  }
  std::string_view format = "jwt";
  if (const boost::json::value* v = body->if_contains("format")) {
    format = v->is_string() ? std::string_view(v->get_string()) : std::string_view("?");
    if (format != "jwt" && format != "opaque") {
      return InvalidParameter("'format' must be \"jwt\" or \"opaque\"");
    }
  }
  std::string scope_text;
  for (const std::string& s : scopes) Append(scope_text, scope_text.empty() ? "" : " ", s);
  IssuedToken issued = identity_.MintUserToken(std::string_view(user->get_string()),
                                               std::move(scopes), ttl, format == "jwt");
  return JsonReply({{"access_token", issued.access_token},
                    {"token_type", "Bearer"},
                    {"expires_in", issued.expires_in},
                    {"scope", scope_text},
                    {"user", user->get_string()}});
}

}  // namespace agentgateway::emulator
