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

#include <string>

#include "absl/status/statusor.h"
#include "agentgateway/v1/agent_service.pb.h"
#include "server/config.h"

namespace agentgateway {

// Top-level fields a profile passes through when its config names no `pass_through` list.
extern const std::vector<std::string> kDefaultPassThrough;

// Returns the item's JSON object text: `item.json` when set (validated), else a message built
// from role + text. INVALID_ARGUMENT naming `input[index]` and the problem otherwise.
absl::StatusOr<std::string> ItemJson(const v1::InputItem& item, int index);

// The upstream model for this request: the profile's, or the caller's when the profile has an
// allow-list containing it. INVALID_ARGUMENT naming the allowed models otherwise.
absl::StatusOr<std::string> ChooseModel(const v1::InvokeRequest& request, const Profile& profile);

absl::StatusOr<std::string> BuildUpstreamBody(const v1::InvokeRequest& request,
                                              const Profile& profile, bool stream);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_REQUEST_BUILDER_H_
