#include "tests/emulator/identity.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <utility>

#include "boost/json/serialize.hpp"
#include "tests/emulator/codec.h"
#include "tests/emulator/str_util.h"

namespace agentgateway::emulator {
namespace {

// A crowded table is pruned of expired tokens, then cleared: a test emulator that minted this
// many tokens has moved on from the early ones.
constexpr std::size_t kMaxTokens = 100'000;
constexpr std::size_t kTokenRandomBytes = 16;
constexpr std::size_t kJwtSignatureBytes = 256;  // an RS256 signature with a 2048-bit key
constexpr std::string_view kRequestScope = "ai-gateway";
constexpr std::string_view kAllScopes = "all-apis";

struct ScopeRule {
  std::string_view tool_type;
  std::array<std::string_view, 2> any_of;  // "" when there is only one
};
constexpr std::array<ScopeRule, 4> kScopeRules = {{
    {"genie_space", {"genie", "dashboards.genie"}},
    {"uc_function", {"mcp.functions", "unity-catalog"}},
    {"knowledge_assistant", {"model-serving", "serving.serving-endpoints"}},
    {"uc_connection", {"catalog.connections", ""}},
}};

bool HasScope(const Caller& caller, std::string_view scope) {
  return std::any_of(caller.scopes.begin(), caller.scopes.end(), [&](const std::string& s) {
    return s == scope || s == kAllScopes;
  });
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const std::string& scope : scopes) Append(out, out.empty() ? "" : " ", scope);
  return out;
}

std::string MakeJwt(std::string_view user, const std::vector<std::string>& scopes,
                    int64_t ttl_seconds) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  boost::json::object header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "emulator"}};
  boost::json::object payload{{"sub", user},
                              {"scp", JoinScopes(scopes)},
                              {"iss", "supervisor-emulator"},
                              {"aud", "databricks"},
                              {"exp", now + ttl_seconds},
                              {"iat", now}};
  return Cat(Base64UrlEncode(boost::json::serialize(header)), ".",
             Base64UrlEncode(boost::json::serialize(payload)), ".",
             Base64UrlEncode(RandomBytes(kJwtSignatureBytes)));
}

absl::Status MissingScopes(const std::vector<std::string>& missing) {
  if (missing.empty()) return absl::OkStatus();
  std::string list;
  for (const std::string& m : missing) Append(list, list.empty() ? "" : ", ", m);
  return absl::PermissionDeniedError(
      Cat("The access token lacks the scope(s) this request needs: ", list));
}

}  // namespace

IdentityStore::IdentityStore(IdentityOptions options)
    : options_([&] {
        if (options.oauth_clients.empty()) {
          options.oauth_clients.emplace(kDemoClientId, kDemoClientSecret);
        }
        return std::move(options);
      }()),
      static_caller_(std::make_shared<const Caller>(Caller{"static", false, {}})),
      token_ttl_(options_.token_ttl_seconds) {}

bool IdentityStore::CheckClient(std::string_view id, std::string_view secret) const {
  auto it = options_.oauth_clients.find(std::string(id));
  return it != options_.oauth_clients.end() && it->second == secret;
}

IssuedToken IdentityStore::IssueAppToken(std::string_view client_id) {
  int64_t ttl = token_ttl();
  IssuedToken issued{Cat("emu-app-", next_token_.fetch_add(1, std::memory_order_relaxed), "-",
                         RandomHex(kTokenRandomBytes)),
                     ttl};
  Remember(issued.access_token,
           std::make_shared<const Caller>(Caller{Cat("app:", client_id), false, {}}), ttl);
  return issued;
}

IssuedToken IdentityStore::MintUserToken(std::string_view user, std::vector<std::string> scopes,
                                         int64_t ttl_seconds, bool jwt) {
  IssuedToken issued;
  issued.expires_in = ttl_seconds;
  issued.access_token =
      jwt ? MakeJwt(user, scopes, ttl_seconds)
          : Cat("emu-user-", next_token_.fetch_add(1, std::memory_order_relaxed), "-",
                RandomHex(kTokenRandomBytes));
  Remember(issued.access_token,
           std::make_shared<const Caller>(Caller{Cat("user:", user), true, std::move(scopes)}),
           ttl_seconds);
  return issued;
}

void IdentityStore::Remember(std::string token, std::shared_ptr<const Caller> caller,
                             int64_t ttl_seconds) {
  auto now = std::chrono::steady_clock::now();
  TokenEntry entry{std::move(caller), now + std::chrono::seconds(ttl_seconds)};
  absl::MutexLock lock(&mu_);
  if (tokens_.size() >= kMaxTokens) {
    std::erase_if(tokens_, [&](const auto& kv) { return kv.second.expiry <= now; });
    if (tokens_.size() >= kMaxTokens) tokens_.clear();
  }
  tokens_.insert_or_assign(std::move(token), std::move(entry));
}

absl::StatusOr<std::shared_ptr<const Caller>> IdentityStore::Authenticate(
    std::string_view token) const {
  auto now = std::chrono::steady_clock::now();
  absl::ReaderMutexLock lock(&mu_);  // every request reads; only token issuance writes
  auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) {
    if (options_.require_known_tokens) return absl::UnauthenticatedError("Invalid access token.");
    return static_caller_;
  }
  if (now >= it->second.expiry) return absl::UnauthenticatedError("Token expired.");
  return it->second.caller;
}

void IdentityStore::ResetControls() {
  set_fail_status(0);
  set_token_ttl(options_.token_ttl_seconds);
}

absl::Status CheckUserScopes(const Caller& caller, const std::vector<ToolSpec>& tools) {
  if (!caller.user) return absl::OkStatus();
  for (const ToolSpec& tool : tools) {
    if (tool.type == "app") {
      return absl::PermissionDeniedError(
          Cat("Apps cannot be called with user authorization: tool 'app' ('", tool.ident,
              "') needs the app's own identity"));
    }
  }
  std::vector<std::string> missing;
  if (!HasScope(caller, kRequestScope)) missing.emplace_back(kRequestScope);
  for (const ScopeRule& rule : kScopeRules) {
    bool used = std::any_of(tools.begin(), tools.end(),
                            [&](const ToolSpec& t) { return t.type == rule.tool_type; });
    if (!used || HasScope(caller, rule.any_of[0]) ||
        (!rule.any_of[1].empty() && HasScope(caller, rule.any_of[1]))) {
      continue;
    }
    missing.push_back(rule.any_of[1].empty()
                          ? std::string(rule.any_of[0])
                          : Cat(rule.any_of[0], " (or ", rule.any_of[1], ")"));
  }
  return MissingScopes(missing);
}

absl::Status CheckUserScope(const Caller& caller, std::string_view scope,
                            std::string_view alternative) {
  if (!caller.user || HasScope(caller, scope) ||
      (!alternative.empty() && HasScope(caller, alternative))) {
    return absl::OkStatus();
  }
  return MissingScopes({alternative.empty() ? std::string(scope)
                                            : Cat(scope, " (or ", alternative, ")")});
}

}  // namespace agentgateway::emulator
