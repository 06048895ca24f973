// InvokeReactor: one unary call that ends with one InvokeResponse: Invoke, or GetResponse (a
// background run's poll; the service sets info().rpc). Owned by gRPC: created by the service,
// deletes itself in OnDone. Finish is called exactly once: by Fail(), or by the engine's
// completion callback (which also runs after a cancellation, with CANCELLED).
#ifndef AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_
#define AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <memory>

#include "agentgateway/v1/agent_service.pb.h"
#include "server/call_log.h"
#include "server/call_registry.h"
#include "server/engine.h"
#include "server/run_control.h"
#include "server/service_call.h"

namespace agentgateway {

class InvokeReactor final : public grpc::ServerUnaryReactor, public ServiceCall {
 public:
  InvokeReactor(grpc::CallbackServerContext* context, v1::InvokeResponse* response)
      : door_(context), response_(response) {
    info_.rpc = "Invoke";
  }

  CallDoor* door() { return &door_; }

  // ServiceCall.
  CallInfo& info() override { return info_; }
  void Start(Engine& engine, const Profile& profile, const v1::InvokeRequest& request,
             RunContext context) override;
  void Start(Engine& engine, const Profile& profile, const v1::GetResponseRequest& request,
             RunContext context) override;
  void Fail(const absl::Status& status) override;
  CallRegistry::AbortFn AbortFn() override;

  void OnCancel() override;
  void OnDone() override;

 private:
  // The engine's completion callback: runs once, on an engine thread; the reactor lives until
  // Finish completes.
  Engine::InvokeDone OnResult();
  // Keeps the started run for cancellation (or fails the call when it did not start).
  void Track(absl::StatusOr<std::shared_ptr<RunHandle>> run);
  void Done(const absl::Status& status);

  GrpcCallDoor door_;
  v1::InvokeResponse* response_;
  CallInfo info_;
  grpc::Status final_;  // written before Finish, read in OnDone

  // Shared so an abort racing with the call's end finds it.
  std::shared_ptr<RunControl> control_ = std::make_shared<RunControl>();
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_
