// TokenSource: where the gateway's own (app) identity comes from, protocol.md section 2.
//
// Two kinds: a static token (DATABRICKS_TOKEN, for development) and OAuth machine-to-machine
// (client credentials against {host}/oidc/v1/token), cached and refreshed early with exactly one
// refresh in flight. Callers own the source (std::unique_ptr); it is thread-safe, guarded by one
// absl::Mutex, and never blocks: waiters are queued and answered when the refresh completes.
// User tokens (X-Forwarded-Access-Token) never pass through here: they are never cached.
#ifndef AGENTGATEWAY_SERVER_IDENTITY_TOKEN_SOURCE_H_
#define AGENTGATEWAY_SERVER_IDENTITY_TOKEN_SOURCE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/identity/secret.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::identity {

class TokenSource {  // thread-safe
 public:
  virtual ~TokenSource() = default;
  using Callback = std::function<void(absl::StatusOr<Secret>)>;
  // Delivers a valid token: at once on the calling thread when cached and fresh, otherwise
  // after the (single, shared) refresh completes, on a pool thread. Failures: UNAVAILABLE
  // (transport, 5xx, 429, malformed answer: retrying later makes sense) or FAILED_PRECONDITION
  // (400/401/403/404: the credentials or host are wrong). During the back-off after a failure a
  // caller without a valid token fails at once with the last failure's code and the time of the
  // next attempt. Messages name the client id and the endpoint, never the secret or a token.
  virtual void GetToken(Callback done) = 0;
  // "static token sha256:1a2b3c4d" / "OAuth M2M client <id> at <host>".
  virtual std::string Describe() const = 0;
  struct Stats {
    uint64_t refreshes = 0;  // successful token requests
    uint64_t failures = 0;   // failed token requests
    bool has_valid_token = false;
  };
  virtual Stats GetStats() const = 0;
};

// Why calls cannot run now for lack of an app token, or "" when a valid one is held. When
// none is held it also starts a fetch (without waiting), so a readiness probe both reports and
// keeps the token warm: the next probe sees the outcome.
std::string NotReadyReason(TokenSource& tokens);

// An empty token makes every GetToken fail with FAILED_PRECONDITION.
std::unique_ptr<TokenSource> MakeStaticTokenSource(Secret token);

struct OAuthM2MOptions {
  std::string host_url;  // "https://adb-1.azuredatabricks.net" (scheme optional: normalised to https)
  std::string client_id;
  Secret client_secret;
  std::string scope = "all-apis";
  double refresh_fraction = 0.8;  // refresh once 80% of the lifetime passed...
  double jitter_fraction = 0.05;  // ...minus up to 5% of the lifetime, random
  std::chrono::milliseconds initial_backoff{250}, max_backoff{30'000};
  std::function<std::chrono::steady_clock::time_point()> now;  // default steady_clock::now
};

// INVALID_ARGUMENT for a null pool, a bad host URL, an empty client id or secret, or fractions
// and back-offs out of range. The pool must outlive the source; a refresh in flight when the
// source is destroyed is cancelled (its waiters get UNAVAILABLE).
absl::StatusOr<std::unique_ptr<TokenSource>> MakeOAuthM2MTokenSource(upstream::HttpPool* pool,
                                                                     OAuthM2MOptions options);

}  // namespace agentgateway::identity

#endif  // AGENTGATEWAY_SERVER_IDENTITY_TOKEN_SOURCE_H_
