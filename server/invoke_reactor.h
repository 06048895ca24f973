// InvokeReactor: one unary Invoke call. Owned by gRPC: created by the service, deletes itself
// in OnDone. Finish is called exactly once: by Fail(), or by the engine's completion callback
// (which also runs after a cancellation, with CANCELLED).
#ifndef AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_
#define AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <memory>

#include "absl/synchronization/mutex.h"
#include "agentgateway/v1/agent_service.pb.h"
#include "server/call_log.h"
#include "server/engine.h"

namespace agentgateway {

class InvokeReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit InvokeReactor(v1::InvokeResponse* response) : response_(response) {
    info_.rpc = "Invoke";
  }

  CallInfo& info() { return info_; }

  void Start(Engine& engine, const Profile& profile, const v1::InvokeRequest& request,
             RunContext context);
  void Fail(const absl::Status& status);

  void OnCancel() override;
  void OnDone() override;

 private:
  void Done(grpc::Status status);

  v1::InvokeResponse* response_;
  CallInfo info_;
  grpc::Status final_;  // written before Finish, read in OnDone
  absl::Mutex mu_;
  std::shared_ptr<RunHandle> run_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_
