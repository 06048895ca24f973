// StreamReactor: one server-streaming Stream call. Owned by gRPC: created by the service,
// deletes itself in OnDone.
//
// Events arrive from the engine's thread into a bounded queue (State, shared with the engine as
// its EventSink, so a late event after the call ended finds State alive and the reactor
// untouched). One write is in flight at a time; the message handed to StartWrite is not
// touched until OnWriteDone. When the queue holds kPauseAt events or kPauseAtBytes of event
// JSON, the engine is asked to stop reading upstream; it resumes once the queue drains to
// kResumeAt events and kResumeAtBytes. So per stream the gateway buffers at most that much
// plus the events decoded from one upstream read (4 KiB) and the one being written.
#ifndef AGENTGATEWAY_SERVER_STREAM_REACTOR_H_
#define AGENTGATEWAY_SERVER_STREAM_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <memory>

#include "agentgateway/v1/agent_service.pb.h"
#include "server/call_log.h"
#include "server/call_registry.h"
#include "server/engine.h"
#include "server/service_call.h"

namespace agentgateway {

class StreamReactor final : public grpc::ServerWriteReactor<v1::StreamEvent>,
                            public ServiceCall {
 public:
  static constexpr std::size_t kPauseAt = 64;
  static constexpr std::size_t kResumeAt = 16;
  static constexpr std::size_t kPauseAtBytes = 128 * 1024;
  static constexpr std::size_t kResumeAtBytes = 32 * 1024;

  explicit StreamReactor(grpc::CallbackServerContext* context);
  ~StreamReactor() override;

  CallDoor* door() { return &door_; }

  // ServiceCall. AbortFn: stops upstream, sends what is queued, then finishes with the status;
  // safe from any thread, even after the reactor is gone.
  CallInfo& info() override { return info_; }
  using ServiceCall::Start;
  void Start(Engine& engine, const Profile& profile, const v1::InvokeRequest& request,
             RunContext context) override;
  void Fail(const absl::Status& status) override;
  CallRegistry::AbortFn AbortFn() override;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  class State;
  GrpcCallDoor door_;
  std::shared_ptr<State> state_;
  CallInfo info_;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_STREAM_REACTOR_H_
