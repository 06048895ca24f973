// RunControl: a call's hold on its engine run, for cancel, abort (drain) and resume. Each may
// come before the engine handed the run over (the app token was still on its way) or race with
// the call's end; what came early is applied when the run is set. Thread-safe.
#ifndef AGENTGATEWAY_SERVER_RUN_CONTROL_H_
#define AGENTGATEWAY_SERVER_RUN_CONTROL_H_

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/engine.h"

namespace agentgateway {

class RunControl {
 public:
  // The run started: a cancel or resume that came first is applied now.
  void Set(std::shared_ptr<RunHandle> run) {
    bool cancel, resume;
    {
      absl::MutexLock lock(&mu_);
      if (released_) return;
      run_ = run;
      cancel = cancelled_;
      resume = std::exchange(resume_owed_, false);
    }
    if (cancel) return run->Cancel();
    if (resume) run->Resume();
  }
  // Cancels the run now, or as soon as it is set. False when it was cancelled before or the
  // call has ended.
  bool Cancel() {
    std::shared_ptr<RunHandle> run;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_ || released_) return false;
      cancelled_ = true;
      run = run_;
    }
    if (run) run->Cancel();
    return true;
  }
  // Ends the call with `status` rather than the run's own (the first abort wins), and cancels.
  void Abort(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (released_ || !abort_status_.ok()) return;
      abort_status_ = status;
    }
    Cancel();
  }
  // Resumes a paused run now, or as soon as it is set.
  void Resume() {
    std::shared_ptr<RunHandle> run;
    {
      absl::MutexLock lock(&mu_);
      run = run_;
      if (run == nullptr) resume_owed_ = true;
    }
    if (run) run->Resume();
  }
  // The status the call ends with: the abort's, if any, else `status`.
  absl::Status EndStatus(absl::Status status) {
    absl::MutexLock lock(&mu_);
    return abort_status_.ok() ? std::move(status) : abort_status_;
  }
  // The call ended: later calls do nothing. Returns the run for the caller to let go of outside
  // any lock (an engine's handle may point back at the call).
  std::shared_ptr<RunHandle> Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
    return std::move(run_);
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<RunHandle> run_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool resume_owed_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status abort_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_RUN_CONTROL_H_
