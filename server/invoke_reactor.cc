#include "server/invoke_reactor.h"

#include "server/agent_service.h"
#include "server/metrics.h"

namespace agentgateway {

void InvokeReactor::Start(Engine& engine, const Profile& profile,
                          const v1::InvokeRequest& request, RunContext context) {
  Track(engine.Invoke(profile, request, std::move(context), OnResult()));
}

void InvokeReactor::Start(Engine& engine, const Profile& profile,
                          const v1::GetResponseRequest& request, RunContext context) {
  Track(engine.Poll(profile, request.id(), std::move(context), OnResult()));
}

Engine::InvokeDone InvokeReactor::OnResult() {
  return [this](absl::StatusOr<InvokeResult> result) {
    if (!result.ok()) return Done(control_->EndStatus(result.status()));
    MoveInto(*std::move(result), response_);
    Done(absl::OkStatus());
  };
}

void InvokeReactor::Track(absl::StatusOr<std::shared_ptr<RunHandle>> run) {
  if (!run.ok()) {
    Metrics::Get().Denial(DenialReason(run.status()));
    return Fail(run.status());
  }
  control_->Set(*std::move(run));
}

CallRegistry::AbortFn InvokeReactor::AbortFn() {
  return [weak = std::weak_ptr<RunControl>(control_)](const absl::Status& status) {
    if (std::shared_ptr<RunControl> control = weak.lock()) control->Abort(status);
  };
}

void InvokeReactor::Fail(const absl::Status& status) { Done(status); }

void InvokeReactor::Done(const absl::Status& status) {
  AddRetryAfterTrailer(info_, status);
  final_ = ToGrpcStatus(status);
  info_.slot.reset();  // the caller may start another call as soon as it sees this one end
  Finish(final_);
}

void InvokeReactor::OnDone() {
  LogCall(info_, final_);
  delete this;  // gRPC is done with the call: nothing refers to us
}

void InvokeReactor::OnCancel() {
  // An expired deadline ends the call as DEADLINE_EXCEEDED (what the caller sees, and what the
  // call's log line should say), any other cancellation as CANCELLED.
  if (DeadlinePassed(info_)) {
    Metrics::Get().Cancellation("deadline");
    return AbortFn()(CallersDeadlinePassed());
  }
  Metrics::Get().Cancellation("caller");
  control_->Cancel();
}

}  // namespace agentgateway
