// Reading claims from a JWT without verifying it.
//
// The gateway only peeks at a user's token to give a clear PERMISSION_DENIED before calling
// upstream; the signature is NOT checked here and nothing is granted on the strength of these
// claims: the upstream stays the authority and rejects a forged token. Opaque tokens and
// anything malformed give nullopt. Safe on arbitrary input (fuzz-friendly): bounded size, no
// exceptions, no recursion beyond Boost.JSON's depth limit.
#ifndef AGENTGATEWAY_SERVER_IDENTITY_JWT_H_
#define AGENTGATEWAY_SERVER_IDENTITY_JWT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentgateway::identity {

// The `scp` (preferred) or `scope` claim: a space-separated string or an array of strings.
// nullopt when `token` is not a JWT (three dot-separated base64url parts whose header and
// payload are JSON objects) or carries neither claim. An empty claim gives an empty vector.
std::optional<std::vector<std::string>> JwtScopes(std::string_view token);

// The `sub` claim (a string), or nullopt.
std::optional<std::string> JwtSubject(std::string_view token);

}  // namespace agentgateway::identity

#endif  // AGENTGATEWAY_SERVER_IDENTITY_JWT_H_
