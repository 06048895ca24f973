// A small scanner that finds the exact text span of JSON values, so the gateway can carry a
// caller's JSON bytes unchanged (big numbers, escapes, key order) while Boost.JSON only
// validates and reads typed fields. No allocation per byte, no recursion (nesting depth is
// tracked with a counter), never reads past the input. Not a validator: run
// boost::json::parse over the whole text first; on invalid text the scanner returns an error
// but does not promise to find every fault.
#ifndef AGENTGATEWAY_GATEWAY_JSON_SPAN_H_
#define AGENTGATEWAY_GATEWAY_JSON_SPAN_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgateway::gateway::json_span {

// One member of an object: the decoded key and the raw text of its value.
struct Member {
  std::string key;         // decoded (escapes resolved)
  std::string_view value;  // exact value text, no surrounding whitespace
};

// Skips JSON whitespace from `pos`; returns the first non-whitespace index (or size).
std::size_t SkipWhitespace(std::string_view text, std::size_t pos);

// Returns the end (one past) of the JSON value that starts at `pos` (no leading whitespace).
absl::StatusOr<std::size_t> ValueEnd(std::string_view text, std::size_t pos);

// The members of the object that is the whole of `text` (whitespace allowed around it).
absl::StatusOr<std::vector<Member>> ObjectMembers(std::string_view text);

// The element texts of the array that is the whole of `text`.
absl::StatusOr<std::vector<std::string_view>> ArrayElements(std::string_view text);

// True when the object `text` has a top-level member named `key` (false on non-objects).
bool HasTopLevelKey(std::string_view text, std::string_view key);

// JSON string literal (with quotes) for `s`; `s` must be UTF-8.
std::string Quote(std::string_view s);

}  // namespace agentgateway::gateway::json_span

#endif  // AGENTGATEWAY_GATEWAY_JSON_SPAN_H_
