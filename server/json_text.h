// Helpers for handling JSON as text, so values the gateway does not reason about pass through
// byte for byte (big numbers, unicode escapes and key order survive; see proto/ design note).
#ifndef AGENTGATEWAY_SERVER_JSON_TEXT_H_
#define AGENTGATEWAY_SERVER_JSON_TEXT_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgateway {

struct JsonMember {
  std::string key;        // unescaped member name
  std::string_view value; // the value's exact text inside the input
};

// Splits a JSON object text into its members. INVALID_ARGUMENT when `text` is not one
// well-formed JSON object (trailing garbage included).
absl::StatusOr<std::vector<JsonMember>> SplitJsonObject(std::string_view text);

// The exact value text of the member `key`, if `members` has one (the first, if several).
std::optional<std::string_view> FindMember(const std::vector<JsonMember>& members,
                                           std::string_view key);

// Splits a JSON array text into the exact texts of its elements. INVALID_ARGUMENT when `text`
// is not one well-formed JSON array.
absl::StatusOr<std::vector<std::string_view>> SplitJsonArray(std::string_view text);

// `object` (a JSON object text) with the value of its member `key` replaced by `value`, every
// other byte kept; `object` unchanged when it is not an object or has no such member.
std::string ReplaceJsonMember(std::string_view object, std::string_view key,
                              std::string_view value);

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_JSON_TEXT_H_
