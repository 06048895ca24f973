#include "server/direct_backend.h"

#include <atomic>
#include <chrono>
#include <string>
#include <utility>

#include "gateway/call_set.h"
#include "gateway/router.h"
#include "gateway/sse_framing.h"
#include "gateway/status_mapping.h"
#include "server/agent_service.h"
#include "server/metrics.h"
#include "server/response_assembler.h"
#include "server/run_control.h"
#include "server/service_call.h"

namespace agentgateway {
namespace {

using gateway::CallHandle;
using gateway::RpcPlan;

using Tracker = gateway::CallSet<CallHandle>;

const grpc::Status& ShuttingDown() {
  static const grpc::Status* const kStatus =
      new grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway is shutting down");
  return *kStatus;
}

// The door of a REST call: the metadata the router put in the plan, the X-Request-Timeout
// deadline, and the trailers the service adds (only retry-after is read back).
class PlanDoor final : public CallDoor {
 public:
  explicit PlanDoor(const RpcPlan& plan)
      : metadata_(plan.metadata),
        deadline_(plan.timeout.has_value() ? std::chrono::system_clock::now() + *plan.timeout
                                           : std::chrono::system_clock::time_point::max()) {}

  std::string Metadata(std::string_view key) const override {
    for (const auto& [k, v] : metadata_) {
      if (k == key) return v;
    }
    return {};
  }
  // Called by the thread that holds the call at the time (admission, then its end).
  void AddTrailer(std::string key, std::string value) override {
    if (key == "retry-after") retry_after_ = std::move(value);
  }
  std::chrono::system_clock::time_point deadline() const override { return deadline_; }
  bool enforces_deadline() const override { return false; }

  const std::string& retry_after() const { return retry_after_; }

 private:
  const gateway::HeaderList& metadata_;  // the call's plan, which outlives the door
  std::chrono::system_clock::time_point deadline_;
  std::string retry_after_;
};

// What both call kinds share: the plan, the door, the call's log facts, the engine run and the
// tracker entry.
class DirectCall : public ServiceCall, public CallHandle {
 public:
  DirectCall(Tracker* tracker, RpcPlan plan)
      : tracker_(tracker), plan_(std::move(plan)), door_(plan_) {
    info_.rpc = plan_.kind == RpcPlan::Kind::kStream        ? "Stream"
                : plan_.kind == RpcPlan::Kind::kGetResponse ? "GetResponse"
                                                            : "Invoke";
  }

  CallInfo& info() override { return info_; }
  CallRegistry::AbortFn AbortFn() override {
    return [weak = std::weak_ptr<RunControl>(control_)](const absl::Status& status) {
      if (std::shared_ptr<RunControl> control = weak.lock()) control->Abort(status);
    };
  }
  // The client went away, or the server stops.
  void Cancel() override {
    if (control_->Cancel()) Metrics::Get().Cancellation("caller");
  }

  PlanDoor* door() { return &door_; }
  const RpcPlan& plan() const { return plan_; }

 protected:
  // The engine ended the run with `status`, or admission refused the call. Returns the status
  // the call ends with (an abort's, if any), the trailers added.
  absl::Status Ending(absl::Status status) {
    status = control_->EndStatus(std::move(status));
    if (status.code() == absl::StatusCode::kDeadlineExceeded && DeadlinePassed(info_)) {
      Metrics::Get().Cancellation("deadline");
    }
    info_.slot.reset();  // the caller may start another call as soon as it sees this one end
    AddRetryAfterTrailer(info_, status);
    return status;
  }
  // Last: logs the call and leaves the tracker (which may free this object).
  void Ended(const grpc::Status& status, std::int64_t events) {
    LogCall(info_, status, events);
    info_.lifetime.reset();
    tracker_->Remove(this);
  }

  Tracker* tracker_;
  RpcPlan plan_;
  PlanDoor door_;
  CallInfo info_;
  std::shared_ptr<RunControl> control_ = std::make_shared<RunControl>();
};

// Invoke and GetResponse: one InvokeResponse, mapped to one HTTP response.
class DirectUnary final : public DirectCall, public std::enable_shared_from_this<DirectUnary> {
 public:
  DirectUnary(Tracker* tracker, RpcPlan plan, gateway::ResponseCallback done)
      : DirectCall(tracker, std::move(plan)), done_(std::move(done)) {}

  void Start(Engine& engine, const Profile& profile, const v1::InvokeRequest& request,
             RunContext context) override {
    Track(engine.Invoke(profile, request, std::move(context), OnResult()));
  }
  void Start(Engine& engine, const Profile& profile, const v1::GetResponseRequest& request,
             RunContext context) override {
    Track(engine.Poll(profile, request.id(), std::move(context), OnResult()));
  }
  void Fail(const absl::Status& status) override { Finish(status, {}); }
  // The server stops: answered at once, never admitted.
  void Refuse(const grpc::Status& status) {
    done_(gateway::ErrorResponseFromStatus(plan_.flavor, status));
    done_ = nullptr;
  }

 private:
  // The tracker holds the call until Finish, so the engine's callback may use `this`.
  Engine::InvokeDone OnResult() {
    return [this](absl::StatusOr<InvokeResult> result) {
      if (!result.ok()) return Finish(result.status(), {});
      v1::InvokeResponse response;
      MoveInto(*std::move(result), &response);
      Finish(absl::OkStatus(), std::move(response));
    };
  }
  void Track(absl::StatusOr<std::shared_ptr<RunHandle>> run) {
    if (!run.ok()) {
      Metrics::Get().Denial(DenialReason(run.status()));
      return Fail(run.status());
    }
    control_->Set(*std::move(run));
  }
  void Finish(absl::Status status, v1::InvokeResponse response) {
    if (finished_.exchange(true)) return;
    auto self = shared_from_this();  // Ended() may drop the tracker's reference
    const grpc::Status result = ToGrpcStatus(Ending(std::move(status)));
    gateway::ResponseCallback done = std::move(done_);
    done(gateway::InvokeResultToHttp(plan_, result, response, door_.retry_after()));
    done = nullptr;  // it holds the session's executor: gone before the tracker lets go
    Ended(result, -1);
  }

  gateway::ResponseCallback done_;
  std::atomic<bool> finished_{false};
};

// Stream: the engine's events framed as SSE into the HTTP session's sink.
class DirectStream final : public DirectCall,
                           public EventSink,
                           public std::enable_shared_from_this<DirectStream> {
 public:
  DirectStream(Tracker* tracker, RpcPlan plan, std::shared_ptr<gateway::StreamSink> sink)
      : DirectCall(tracker, std::move(plan)),
        sink_(std::move(sink)),
        framer_(plan_.Framer()) {}

  using ServiceCall::Start;
  void Start(Engine& engine, const Profile& profile, const v1::InvokeRequest& request,
             RunContext context) override {
    engine_started_ = std::chrono::steady_clock::now();
    auto run = engine.Stream(profile, request, std::move(context), shared_from_this());
    if (!run.ok()) {
      Metrics::Get().Denial(DenialReason(run.status()));
      return Finish(run.status());
    }
    control_->Set(*std::move(run));
  }
  void Fail(const absl::Status& status) override { Finish(status); }
  // The server stops: answered at once, never admitted.
  void Refuse(const grpc::Status& status) {
    sink_->Fail(gateway::ErrorResponseFromStatus(plan_.flavor, status), Failed(status));
    sink_.reset();
  }

  // On the engine's thread, one at a time; never after OnFinish.
  bool OnEvent(EngineEvent event) override {
    assembler_.Process(event.type, event.json);
    if (broken_.load()) return true;  // the run is being cancelled: drop quietly
    event_.set_sequence_number(next_sequence_++);
    event_.set_type(std::move(event.type));
    event_.set_json(std::move(event.json));
    std::string frames = framer_.Event(event_);
    if (frames.empty()) return true;  // held back or folded away by the framer
    if (!started_writing_) {
      started_writing_ = true;
      const auto now = std::chrono::steady_clock::now();
      const auto total = now - info_.start;
      info_.first_event_ms = std::chrono::duration<double, std::milli>(total).count();
      Metrics::Get().FirstEvent(total, engine_started_ - info_.start);
    }
    // `ready` runs on the session's strand once the sink has room (or broke); the weak_ptr is a
    // guard, not a lifetime.
    return sink_->Write(std::move(frames),
                        [weak = weak_from_this()](bool ok) {
                          if (auto self = weak.lock()) self->SinkReady(ok);
                        });
  }
  void OnFinish(absl::Status status) override { Finish(std::move(status)); }

 private:
  void SinkReady(bool ok) {
    if (ok) return control_->Resume();
    broken_.store(true);  // the client is gone: stop the upstream promptly
    control_->Cancel();
  }

  void Finish(absl::Status status) {
    if (finished_.exchange(true)) return;
    auto self = shared_from_this();  // Ended() may drop the tracker's reference
    const auto run = control_->Release();  // after the status: an abort's status stays readable
    std::shared_ptr<gateway::StreamSink> sink = std::move(sink_);
    grpc::Status result;
    if (broken_.load()) {
      info_.slot.reset();
      result = grpc::Status(grpc::StatusCode::CANCELLED, "caller went away");
      sink->Abort();
    } else {
      result = ToGrpcStatus(Ending(std::move(status)));
      if (result.ok()) {
        sink->End(framer_.Done());
      } else if (!started_writing_) {
        sink->Fail(gateway::ErrorResponseFromStatus(plan_.flavor, result, door_.retry_after()),
                   Failed(result));
      } else {
        sink->End(Failed(result));
      }
    }
    sink.reset();  // it holds the session's executor: gone before the tracker lets go
    Ended(result, next_sequence_ - 1);
  }
  std::string Failed(const grpc::Status& status) {
    return framer_.Failed(gateway::GrpcCodeName(status.error_code()), status.error_message());
  }

  std::shared_ptr<gateway::StreamSink> sink_;
  // Touched by the engine's thread (OnEvent, OnFinish), or by admission before the run.
  gateway::SseFramer framer_;
  ResponseAssembler assembler_;  // repairs a response.completed with an empty output
  v1::StreamEvent event_;
  std::int64_t next_sequence_ = 1;
  bool started_writing_ = false;
  std::chrono::steady_clock::time_point engine_started_ = std::chrono::steady_clock::now();
  std::atomic<bool> broken_{false};
  std::atomic<bool> finished_{false};
};

class DirectBackend final : public gateway::AgentBackend {
 public:
  explicit DirectBackend(AgentServiceImpl* service) : service_(service) {}

  std::shared_ptr<CallHandle> StartUnary(RpcPlan plan, gateway::ResponseCallback done) override {
    if (plan.kind == RpcPlan::Kind::kAgentInfo) {
      v1::AgentInfo info;
      service_->FillAgentInfo(&info);
      done(gateway::AgentInfoResultToHttp(grpc::Status::OK, info, {}));
      return nullptr;
    }
    auto call = std::make_shared<DirectUnary>(&tracker_, std::move(plan), std::move(done));
    if (!tracker_.Add(call)) {
      call->Refuse(ShuttingDown());
      return nullptr;
    }
    if (call->plan().kind == RpcPlan::Kind::kGetResponse) {
      service_->Begin(call.get(), call->door(), call->plan().get_response);
    } else {
      service_->Begin(call.get(), call->door(), call->plan().request);
    }
    return call;
  }

  std::shared_ptr<CallHandle> StartStream(RpcPlan plan,
                                          std::shared_ptr<gateway::StreamSink> sink) override {
    auto call = std::make_shared<DirectStream>(&tracker_, std::move(plan), std::move(sink));
    if (!tracker_.Add(call)) {
      call->Refuse(ShuttingDown());
      return nullptr;
    }
    service_->Begin(call.get(), call->door(), call->plan().request);
    return call;
  }

  bool CancelAllAndWait(absl::Duration timeout) override {
    return tracker_.CancelAllAndWait(timeout, [](CallHandle& call) { call.Cancel(); });
  }

 private:
  AgentServiceImpl* service_;
  Tracker tracker_;
};

}  // namespace

std::shared_ptr<gateway::AgentBackend> MakeDirectBackend(AgentServiceImpl* service) {
  return std::make_shared<DirectBackend>(service);
}

}  // namespace agentgateway
