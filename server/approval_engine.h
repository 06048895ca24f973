// ApprovalEngine: a profile's MCP approval policy (Profile::mcp_approvals), applied around any
// engine.
//
// When a run ends with `mcp_approval_request` items and the policy decides every one of them
// (approve or deny), the gateway answers them itself and continues the conversation upstream
// within the same call: the next request is the caller's input, then every item the run
// produced, then one `mcp_approval_response` per request. The caller sees one call:
//
// * Stream: the approval round's events pass as they came, then one
//   `response.output_item.done` per answer (item `mcp_approval_response`, with a `reason`
//   naming the policy), then that round's `response.completed` with the answers added to its
//   output, then the next round's events. So each completed round carries both the question
//   and its answer, as a caller's own next turn would, and /responses framing folds the rounds
//   into one response.
// * Invoke: one Responses object whose output holds every round's items and the answers, in
//   order; its id, status and text are the last round's.
//
// A round with any request the policy leaves to the caller, and any round beyond the profile's
// max_rounds, goes to the caller unchanged. Background runs and polls pass through untouched
// (the gateway does not hold a background run to continue it). Profiles without a policy pay
// nothing: their calls go straight to the inner engine.
//
// Thread-safe like the engine it wraps; holds no gRPC or Asio types.
#ifndef AGENTGATEWAY_SERVER_APPROVAL_ENGINE_H_
#define AGENTGATEWAY_SERVER_APPROVAL_ENGINE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/engine.h"

namespace agentgateway {

// One unanswered `mcp_approval_request` of a round, with the policy's decision.
struct PendingApproval {
  std::string id;
  std::string server_label;
  std::string name;
  ApprovalDecision decision = ApprovalDecision::kAsk;
};

// The unanswered approval requests among `items` (exact item texts), each with `policy`'s
// decision. Requests answered by an mcp_approval_response among the same items are skipped.
std::vector<PendingApproval> PendingApprovals(const std::vector<std::string_view>& items,
                                              const ApprovalPolicy& policy);

// The `mcp_approval_response` item text answering `request` as decided, on behalf of
// `profile_name`'s policy.
std::string ApprovalResponseItem(const PendingApproval& request, std::string_view profile_name);

class ApprovalEngine final : public Engine {
 public:
  // `inner` must outlive this engine.
  explicit ApprovalEngine(Engine* inner) : inner_(inner) {}

  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    std::shared_ptr<EventSink> sink) override;
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    InvokeDone done) override;
  absl::StatusOr<std::shared_ptr<RunHandle>> Poll(const Profile& profile, std::string id,
                                                  RunContext context, InvokeDone done) override {
    return inner_->Poll(profile, std::move(id), std::move(context), std::move(done));
  }

 private:
  Engine* inner_;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_APPROVAL_ENGINE_H_
