// InvokeReactor: one unary call that ends with one InvokeResponse: Invoke, or GetResponse (a
// background run's poll; the service sets info().rpc). Owned by gRPC: created by the service,
// deletes itself in OnDone. Finish is called exactly once: by Fail(), or by the engine's
// completion callback (which also runs after a cancellation, with CANCELLED).
#ifndef AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_
#define AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <memory>

#include "absl/synchronization/mutex.h"
#include "agentgateway/v1/agent_service.pb.h"
#include "server/call_log.h"
#include "server/call_registry.h"
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
  void Start(Engine& engine, const Profile& profile, const v1::GetResponseRequest& request,
             RunContext context);
  void Fail(const absl::Status& status);
  // Ends the call with a status of the gateway's choosing (drain). Any thread, any time.
  CallRegistry::AbortFn AbortFn();

  void OnCancel() override;
  void OnDone() override;

 private:
  // The engine's completion callback: runs once, on an engine thread; the reactor lives until
  // Finish completes.
  Engine::InvokeDone OnResult();
  // Keeps the started run for cancellation (or fails the call when it did not start).
  void Track(absl::StatusOr<std::shared_ptr<RunHandle>> run);
  void Done(const absl::Status& status);

  v1::InvokeResponse* response_;
  CallInfo info_;
  grpc::Status final_;  // written before Finish, read in OnDone

  // What a cancel or an abort needs; shared so an abort racing with the call's end finds it.
  struct Control {
    absl::Mutex mu;
    std::shared_ptr<RunHandle> run ABSL_GUARDED_BY(mu);
    bool cancelled ABSL_GUARDED_BY(mu) = false;
    absl::Status abort_status ABSL_GUARDED_BY(mu);  // non-OK: the status to end with
    // Cancels the run (now, or as soon as it is set).
    void Cancel();
  };
  std::shared_ptr<Control> control_ = std::make_shared<Control>();
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_INVOKE_REACTOR_H_
