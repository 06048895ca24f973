// The OAuth client-credentials exchange of protocol.md section 2, as two pure functions: build
// the token request, and turn the finished call into a token or a Status. No state, no I/O;
// OAuthM2MTokenSource (oauth_m2m_token_source.cc) drives them through the HttpPool.
#ifndef AGENTGATEWAY_SERVER_IDENTITY_OAUTH_TOKEN_REQUEST_H_
#define AGENTGATEWAY_SERVER_IDENTITY_OAUTH_TOKEN_REQUEST_H_

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/identity/secret.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::identity {

struct TokenAnswer {
  Secret access_token;
  std::chrono::seconds expires_in{0};
};

// application/x-www-form-urlencoded: unreserved characters kept, space as '+', others %XX.
std::string FormUrlEncode(std::string_view text);

// POST <token_url> with Basic credentials and the form body
// grant_type=client_credentials&scope=<scope> (no scope parameter when `scope` is empty).
upstream::HttpRequest BuildTokenRequest(const upstream::Url& token_url, std::string_view client_id,
                                        const Secret& client_secret, std::string_view scope);

// `transport` is the call's completion status, `http_status` 0 when no head arrived. Errors
// start with `context` (e.g. "cannot obtain an OAuth token for client x from https://h/oidc/v1/token")
// and carry the upstream's text run through ScrubSecrets:
//   transport failure, 5xx, 429, any other unexpected status, malformed 2xx -> UNAVAILABLE;
//   400/401/403/404 (bad credentials, scope or host) -> FAILED_PRECONDITION.
absl::StatusOr<TokenAnswer> ParseTokenResponse(const absl::Status& transport, int http_status,
                                               std::string_view body, std::string_view context);

}  // namespace agentgateway::identity

#endif  // AGENTGATEWAY_SERVER_IDENTITY_OAUTH_TOKEN_REQUEST_H_
