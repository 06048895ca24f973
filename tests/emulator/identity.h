// Identity in the emulator: the OAuth M2M clients and the tokens issued to them, user tokens
// minted for tests (as the Databricks Apps proxy would forward them), and the scope rules the
// Supervisor API applies to user authorization.
//
// One IdentityStore per Router, shared by every session: thread-safe. The token table is
// guarded by `mu_`; the token-endpoint controls are atomics. Expiry uses the steady clock; a
// token whose TTL was 0 or negative is expired from the start (tests need no sleep).
#ifndef AGENTGATEWAY_TESTS_EMULATOR_IDENTITY_H_
#define AGENTGATEWAY_TESTS_EMULATOR_IDENTITY_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tests/emulator/responses_model.h"

namespace agentgateway::emulator {

inline constexpr std::string_view kDemoClientId = "emulator-client";
inline constexpr std::string_view kDemoClientSecret = "emulator-secret";

struct IdentityOptions {
  std::map<std::string, std::string> oauth_clients;  // id -> secret; empty: the demo client
  int64_t token_ttl_seconds = 3600;
  bool require_known_tokens = false;
};

// Who a request runs as. Shared read-only between the token table and requests.
struct Caller {
  std::string identity;             // "app:<client_id>", "user:<user>" or "static"
  bool user = false;                // user authorization: `scopes` apply
  std::vector<std::string> scopes;  // user tokens only
};

struct IssuedToken {
  std::string access_token;
  int64_t expires_in = 0;
};

class IdentityStore {
 public:
  explicit IdentityStore(IdentityOptions options);

  // True when `id`/`secret` name a configured OAuth client.
  bool CheckClient(std::string_view id, std::string_view secret) const;

  // An opaque app token for `client_id`, living token_ttl() seconds from now.
  IssuedToken IssueAppToken(std::string_view client_id);

  // A user token: a JWT (RS256-shaped, random signature) or an opaque string.
  IssuedToken MintUserToken(std::string_view user, std::vector<std::string> scopes,
                            int64_t ttl_seconds, bool jwt);

  // UNAUTHENTICATED with the upstream's message for an expired token, or for an unknown one
  // when known tokens are required; an unknown token otherwise runs as "static".
  absl::StatusOr<std::shared_ptr<const Caller>> Authenticate(std::string_view token) const;

  // Token endpoint controls (POST /emulator/token-endpoint). fail_status 0: healthy.
  int fail_status() const { return fail_status_.load(std::memory_order_relaxed); }
  void set_fail_status(int status) { fail_status_.store(status, std::memory_order_relaxed); }
  int64_t token_ttl() const { return token_ttl_.load(std::memory_order_relaxed); }
  void set_token_ttl(int64_t seconds) { token_ttl_.store(seconds, std::memory_order_relaxed); }
  // Back to the configured TTL and a healthy endpoint; issued tokens stay valid.
  void ResetControls();

 private:
  struct TokenEntry {
    std::shared_ptr<const Caller> caller;
    std::chrono::steady_clock::time_point expiry;
  };

  void Remember(std::string token, std::shared_ptr<const Caller> caller, int64_t ttl_seconds)
      ABSL_LOCKS_EXCLUDED(mu_);

  const IdentityOptions options_;
  const std::shared_ptr<const Caller> static_caller_;
  std::atomic<int> fail_status_{0};
  std::atomic<int64_t> token_ttl_;
  std::atomic<uint64_t> next_token_{1};
  mutable absl::Mutex mu_;
  std::unordered_map<std::string, TokenEntry> tokens_ ABSL_GUARDED_BY(mu_);
};

// The Supervisor API's rules for user authorization: every request needs `ai-gateway`; each
// hosted tool type needs one of its scopes (see README.md); `app` tools cannot run as a user.
// OK for app and static callers. PERMISSION_DENIED naming the tool or the missing scopes.
absl::Status CheckUserScopes(const Caller& caller, const std::vector<ToolSpec>& tools);

// One service's rule (model endpoints, managed MCP servers): a user token needs `scope` or
// `alternative` (when not empty). OK for app and static callers; PERMISSION_DENIED with the
// same message as above otherwise.
absl::Status CheckUserScope(const Caller& caller, std::string_view scope,
                            std::string_view alternative = {});

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_IDENTITY_H_
