// AgentService calls made on behalf of HTTP requests: the in-flight call registry used at
// shutdown, the ClientContext set-up shared by all calls, and the unary calls (Invoke,
// GetResponse, GetAgentInfo) whose results become one HttpResponse. No Asio here: completion
// callbacks run on gRPC threads and the caller posts to its own strand.
#ifndef AGENTGATEWAY_GATEWAY_RPC_CALLS_H_
#define AGENTGATEWAY_GATEWAY_RPC_CALLS_H_

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/client_context.h>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "gateway/agent_backend.h"
#include "gateway/call_set.h"
#include "gateway/http_types.h"
#include "gateway/router.h"

namespace agentgateway::gateway {

// Every ClientContext of a call in flight (see CallSet). Callers of Remove drop their own
// reference first, so the context (and its reference to the channel) dies inside Remove and a
// stop waiting in CancelAllAndWait drops the channel only after every context is gone: gRPC 1.51
// cannot shut a channel down cleanly from its own callback thread at exit.
class RpcTracker : public CallSet<grpc::ClientContext> {
 public:
  // TryCancel on every call in flight, then waits (bounded by `timeout`) until none is left.
  bool CancelAllAndWait(absl::Duration timeout) {
    return CallSet::CancelAllAndWait(timeout,
                                     [](grpc::ClientContext& context) { context.TryCancel(); });
  }
};

// Applies the plan's metadata and deadline to `context`.
void PrepareContext(const RpcPlan& plan, grpc::ClientContext* context);

// The `retry-after` trailing metadata value, if the server sent one.
std::string RetryAfter(const grpc::ClientContext& context);

// Starts Invoke, GetResponse or GetAgentInfo for `plan`; `done` runs exactly once on a gRPC
// thread (or inline with a 503 when the tracker is shutting down). Returns the call's context,
// for TryCancel when the HTTP client goes away (null when the call was not started).
std::shared_ptr<grpc::ClientContext> StartUnaryCall(agentgateway::v1::AgentService::Stub* stub, RpcTracker* tracker, RpcPlan plan,
                    ResponseCallback done);

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_RPC_CALLS_H_
