// Which OAuth scopes a profile needs when it runs with the user's identity (`auth: user`),
// protocol.md sections 1 and 2.
//
// Two checks: once at start-up, every user profile against the scopes configured for the app
// (`user_api_scopes`), so a gap shows as one clear FAILED_PRECONDITION instead of failures per
// request; and per request, a cheap look at the user's token (when it is a JWT carrying scopes)
// to answer PERMISSION_DENIED before calling upstream. The second check reads unverified claims
// only to explain a refusal early; the upstream stays the authority. Plain functions, no state.
#ifndef AGENTGATEWAY_SERVER_IDENTITY_SCOPE_POLICY_H_
#define AGENTGATEWAY_SERVER_IDENTITY_SCOPE_POLICY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/config.h"
#include "server/identity/secret.h"

namespace agentgateway::identity {

// A granted scope equal to one of these satisfies every requirement.
inline constexpr char kAllApisScope[] = "all-apis";

struct ScopeTable {  // tool type -> scopes, any one of which satisfies it
  std::map<std::string, std::vector<std::string>> tool_scopes;
  std::vector<std::string> request_scopes;  // needed by every request: {"ai-gateway"}
  // genie_space: genie | dashboards.genie; uc_function: mcp.functions | unity-catalog;
  // knowledge_assistant: model-serving | serving.serving-endpoints;
  // uc_connection: catalog.connections; function: (none). `app` tools are refused outright.
  static ScopeTable Defaults();
};

// Start-up check of every `auth: user` profile against the app's configured user-authorization
// scopes: OK, or FAILED_PRECONDITION with ONE message, a header line then one line per profile
// listing every missing scope (with its alternatives) and every `app` tool, e.g.
//   profile 'analyst' (auth: user): missing user scope(s): genie (or dashboards.genie),
//   catalog.connections; tool app 'ticket-mcp' cannot run with user authorization
// A tool type missing from the table needs no scope.
absl::Status CheckUserProfiles(const Config& config, const std::vector<std::string>& app_user_scopes,
                               const ScopeTable& table);

// Per request, for a user token: if it is a JWT carrying scopes, PERMISSION_DENIED listing the
// scopes this profile's tools need but the token lacks; OK otherwise (opaque token, no claim).
absl::Status CheckTokenScopes(const Profile& profile, const Secret& user_token,
                              const ScopeTable& table);

}  // namespace agentgateway::identity

#endif  // AGENTGATEWAY_SERVER_IDENTITY_SCOPE_POLICY_H_
