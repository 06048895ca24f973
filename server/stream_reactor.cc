#include "server/stream_reactor.h"

#include <deque>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "server/agent_service.h"
#include "server/metrics.h"
#include "server/response_assembler.h"

namespace agentgateway {

// Everything the reactor and the engine share. The reactor pointer is used only by the thread
// that holds the single "action" right (a write to start, or the Finish), decided under mu_,
// and never after Finish was decided: gRPC keeps the reactor alive until Finish completes and
// OnDone runs, and OnDone cannot run before we call Finish.
class StreamReactor::State final : public EventSink {
 public:
  explicit State(StreamReactor* reactor) : reactor_(reactor) {}

  bool OnEvent(EngineEvent event) override {
    // Before the lock: assembler_ is touched only here, and the engine never calls OnEvent
    // concurrently for one run.
    assembler_.Process(event.type, event.json);
    bool keep_reading;
    {
      absl::MutexLock lock(&mu_);
      if (broken_ || finish_decided_) return true;  // nobody to deliver to; drain quietly
      arrivals_.push_back(std::chrono::steady_clock::now());
      v1::StreamEvent& out = queue_.emplace_back();
      out.set_sequence_number(next_sequence_++);
      out.set_type(std::move(event.type));
      out.set_json(std::move(event.json));
      queued_bytes_ += out.json().size();
      keep_reading = queue_.size() < kPauseAt && queued_bytes_ < kPauseAtBytes;
      if (!keep_reading) paused_ = true;
    }
    Pump();
    return keep_reading;
  }

  void OnFinish(absl::Status status) override {
    {
      absl::MutexLock lock(&mu_);
      upstream_done_ = true;
      // An abort cancelled the run: the caller hears why, not "cancelled".
      final_status_ = abort_status_.ok() ? std::move(status) : abort_status_;
    }
    Pump();
  }

  void Abort(const absl::Status& status) {
    std::shared_ptr<RunHandle> run;
    {
      absl::MutexLock lock(&mu_);
      if (upstream_done_ || finish_decided_ || !abort_status_.ok()) return;
      abort_status_ = status;
      cancelled_ = true;  // a run set later is cancelled at once
      run = run_;
    }
    if (run) run->Cancel();
  }

  void SetRun(std::shared_ptr<RunHandle> run) {
    bool cancel;
    bool resume;
    {
      absl::MutexLock lock(&mu_);
      run_ = run;
      cancel = cancelled_;
      resume = std::exchange(resume_owed_, false);
    }
    if (cancel) return run->Cancel();
    // The engine paused and the queue drained before Stream() returned its handle.
    if (resume) run->Resume();
  }

  void Cancel() {
    std::shared_ptr<RunHandle> run;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      run = run_;
    }
    if (run) run->Cancel();
  }

  void WriteDone(bool ok) {
    std::shared_ptr<RunHandle> cancel_run;
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      if (!ok && !broken_) {
        // The caller is gone: stop upstream, drop what is queued, finish when upstream ends.
        broken_ = true;
        queue_.clear();
        arrivals_.clear();
        queued_bytes_ = 0;
        cancel_run = run_;
      }
    }
    if (cancel_run) cancel_run->Cancel();
    Pump();
  }

  // Just before the engine is asked to start: the gateway's own part of the time to first
  // event runs from admission to here.
  void EngineStarting() { engine_started_ = std::chrono::steady_clock::now(); }

  void FailNow(const absl::Status& status) {
    OnFinish(status);
  }

  // Called from OnDone: no more reactions. Returns the status Finish was given and the
  // number of events relayed, for the call's log line.
  std::pair<grpc::Status, std::int64_t> ReactorGone() {
    absl::MutexLock lock(&mu_);
    reactor_ = nullptr;
    run_.reset();
    return {finished_with_, next_sequence_ - 1};
  }

 private:
  // Starts the next write or the Finish, whichever is due, from any thread.
  void Pump() {
    StreamReactor* reactor;
    bool resume = false;
    bool finish = false;
    grpc::Status status;
    absl::Status engine_status;  // for its Retry-After, if any
    std::shared_ptr<RunHandle> run;
    std::shared_ptr<RunHandle> finished_run;  // released outside the lock
    std::chrono::steady_clock::time_point arrived;
    bool more_queued = false;
    {
      absl::MutexLock lock(&mu_);
      if (finish_decided_ || write_in_flight_ || reactor_ == nullptr) return;
      reactor = reactor_;
      if (!queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
        arrived = arrivals_.front();
        arrivals_.pop_front();
        queued_bytes_ -= current_.json().size();
        more_queued = !queue_.empty();
        write_in_flight_ = true;
        if (paused_ && queue_.size() <= kResumeAt && queued_bytes_ <= kResumeAtBytes) {
          paused_ = false;
          resume = true;
          run = run_;
          if (run == nullptr) resume_owed_ = true;  // SetRun delivers it
        }
      } else if (upstream_done_) {
        finish_decided_ = true;
        finish = true;
        // The run is over: let go of it (an engine's handle may point back at this state).
        finished_run = std::move(run_);
        status = broken_ ? grpc::Status(grpc::StatusCode::CANCELLED, "caller went away")
                         : ToGrpcStatus(final_status_);
        if (!broken_) engine_status = final_status_;
        finished_with_ = status;
      } else {
        return;
      }
    }
    if (finish) {
      reactor->info_.slot.reset();  // free before the caller can see the end (load shedding)
      AddRetryAfterTrailer(reactor->info_, engine_status);
      return reactor->Finish(status);
    }
    const auto now = std::chrono::steady_clock::now();
    Metrics::Get().RelayLag(now - arrived);
    if (reactor->info_.first_event_ms < 0) {
      // Touched only by the thread holding the write right, and before OnDone.
      const auto total = now - reactor->info_.start;
      reactor->info_.first_event_ms = std::chrono::duration<double, std::milli>(total).count();
      Metrics::Get().FirstEvent(total, (engine_started_ - reactor->info_.start) + (now - arrived));
    }
    // With the next event already queued, the transport may hold this one and send both in
    // one write (one HTTP/2 frame batch, one syscall); the last queued event goes out unhinted,
    // so nothing waits for a later event.
    reactor->StartWrite(&current_, more_queued ? grpc::WriteOptions().set_buffer_hint()
                                               : grpc::WriteOptions());
    if (resume && run) run->Resume();
  }

  // Repairs a response.completed that came with an empty output (see OnEvent for its thread).
  ResponseAssembler assembler_;
  absl::Mutex mu_;
  StreamReactor* reactor_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<RunHandle> run_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::StreamEvent> queue_ ABSL_GUARDED_BY(mu_);
  // When each queued event arrived from the engine (relay lag), in queue order.
  std::deque<std::chrono::steady_clock::time_point> arrivals_ ABSL_GUARDED_BY(mu_);
  // Set before the engine starts, read after the first event: no lock needed.
  std::chrono::steady_clock::time_point engine_started_ = std::chrono::steady_clock::now();
  // Owned by the in-flight write (write_in_flight_) between StartWrite and OnWriteDone.
  v1::StreamEvent current_;
  std::int64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  std::size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // JSON bytes of the queued events
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool upstream_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_decided_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool resume_owed_ ABSL_GUARDED_BY(mu_) = false;  // a resume came due before SetRun
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  absl::Status abort_status_ ABSL_GUARDED_BY(mu_);
  grpc::Status finished_with_ ABSL_GUARDED_BY(mu_);
};

StreamReactor::StreamReactor(grpc::CallbackServerContext* context)
    : door_(context), state_(std::make_shared<State>(this)) {
  info_.rpc = "Stream";
}
StreamReactor::~StreamReactor() = default;

void StreamReactor::Start(Engine& engine, const Profile& profile,
                          const v1::InvokeRequest& request, RunContext context) {
  state_->EngineStarting();
  auto run = engine.Stream(profile, request, std::move(context), state_);
  if (!run.ok()) {
    Metrics::Get().Denial(DenialReason(run.status()));
    return Fail(run.status());
  }
  state_->SetRun(*std::move(run));
}

void StreamReactor::Fail(const absl::Status& status) { state_->FailNow(status); }

CallRegistry::AbortFn StreamReactor::AbortFn() {
  return [weak = std::weak_ptr<State>(state_)](const absl::Status& status) {
    if (std::shared_ptr<State> state = weak.lock()) state->Abort(status);
  };
}

void StreamReactor::OnWriteDone(bool ok) { state_->WriteDone(ok); }

void StreamReactor::OnCancel() {
  // An expired deadline ends the call as DEADLINE_EXCEEDED (what the caller sees, and what the
  // call's log line should say), any other cancellation as CANCELLED.
  if (DeadlinePassed(info_)) {
    Metrics::Get().Cancellation("deadline");
    return state_->Abort(CallersDeadlinePassed());
  }
  Metrics::Get().Cancellation("caller");
  state_->Cancel();
}

void StreamReactor::OnDone() {
  auto [status, events] = state_->ReactorGone();
  LogCall(info_, status, events);
  delete this;  // gRPC is done with the call; State lives on while the engine holds it
}

}  // namespace agentgateway
