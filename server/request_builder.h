// Builds the upstream Supervisor API body from a caller's InvokeRequest and its agent profile.
//
// The body is built, not forwarded (protocol.md §1, "What the gateway sends upstream"): the
// profile supplies model, instructions, tools and trace_destination; the caller supplies the
// input items (each item's JSON text kept whole) and the top-level fields the profile's
// pass-through allow-list names. Everything else the caller sent is either gateway-owned
// (custom_inputs, context, databricks_options) or refused with INVALID_ARGUMENT: nothing is
// silently dropped.
#ifndef AGENTGATEWAY_SERVER_REQUEST_BUILDER_H_
#define AGENTGATEWAY_SERVER_REQUEST_BUILDER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agentgateway/v1/agent_service.pb.h"
#include "server/config.h"

namespace agentgateway {

// Top-level fields a profile passes through when its config names no `pass_through` list.
extern const std::vector<std::string> kDefaultPassThrough;

// Upstream refuses input ids longer than this, though it emits longer ones itself.
inline constexpr std::size_t kMaxUpstreamIdLength = 64;

// An id fit to send back upstream: unchanged when short enough, else its first 47 characters,
// `_` and 16 hex digits of a stable hash (FNV-1a 64) of the whole id: always the same short
// id for the same long one (across turns, requests and gateway instances), and two long ids
// that share a prefix stay distinct.
std::string UpstreamId(std::string_view id);

// Returns the item's JSON object text: `item.json` when set (validated), else a message built
// from role + text. INVALID_ARGUMENT naming `input[index]` and the problem otherwise.
// History hygiene (protocol.md §1): `id`, `call_id` and `approval_request_id` longer than
// kMaxUpstreamIdLength go through UpstreamId, and the output-only fields `status` and
// `namespace` are dropped; an item needing neither is returned byte for byte.
absl::StatusOr<std::string> ItemJson(const v1::InputItem& item, int index);

// The upstream model for this request: the profile's, or the caller's when the profile has an
// allow-list containing it. INVALID_ARGUMENT naming the allowed models otherwise.
absl::StatusOr<std::string> ChooseModel(const v1::InvokeRequest& request, const Profile& profile);

// The conversation's consistency, checked before anything goes upstream, with the upstream's
// own wording: every function_call_output answers an earlier function_call, every
// function_call has its output by the end, and every mcp_approval_response answers an earlier
// mcp_approval_request. Fed the items (after hygiene) in order.
class HistoryCheck {
 public:
  absl::Status Add(std::string_view item_json);
  absl::Status Finish() const;

 private:
  std::map<std::string, bool, std::less<>> calls_;  // call_id -> has its output
  std::vector<std::string> order_;
  std::set<std::string, std::less<>> approval_requests_;
};

absl::StatusOr<std::string> BuildUpstreamBody(const v1::InvokeRequest& request,
                                              const Profile& profile, bool stream);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_REQUEST_BUILDER_H_
