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

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "gateway/http_types.h"
#include "gateway/router.h"

namespace agentgateway::gateway {

// Every ClientContext of a call in flight. Shutdown cancels them all and waits until each
// call's last callback has finished, so no callback outlives the io_context it posts to.
class RpcTracker {
 public:
  // False once Shutdown started: the caller must not start the call. The tracker shares the
  // context so that a cancel racing with the call's end never touches a freed context.
  bool Add(std::shared_ptr<grpc::ClientContext> context);
  // Callers drop their own reference first: the context is destroyed here, under the lock,
  // so CancelAllAndWait returns only after every call's context (and its channel reference)
  // is gone.
  void Remove(grpc::ClientContext* context);
  // TryCancel on every call in flight, then waits (bounded by `timeout`) until none is left.
  // Returns false on timeout.
  bool CancelAllAndWait(absl::Duration timeout);
  std::size_t InFlight();

 private:
  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<grpc::ClientContext*, std::shared_ptr<grpc::ClientContext>> calls_
      ABSL_GUARDED_BY(mu_);
};

// Applies the plan's metadata and deadline to `context`.
void PrepareContext(const RpcPlan& plan, grpc::ClientContext* context);

// The `retry-after` trailing metadata value, if the server sent one.
std::string RetryAfter(const grpc::ClientContext& context);

using ResponseCallback = std::function<void(HttpResponse)>;

// Starts Invoke, GetResponse or GetAgentInfo for `plan`; `done` runs exactly once on a gRPC
// thread (or inline with a 503 when the tracker is shutting down). Returns the call's context,
// for TryCancel when the HTTP client goes away (null when the call was not started).
std::shared_ptr<grpc::ClientContext> StartUnaryCall(agentgateway::v1::AgentService::Stub* stub, RpcTracker* tracker, RpcPlan plan,
                    ResponseCallback done);

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_RPC_CALLS_H_
