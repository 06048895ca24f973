// An engine the test drives (FakeEngine), with runs it controls (FakeRun for streams,
// FakeInvokeRun for unary calls), for tests of the service and its doors.
#ifndef AGENTGATEWAY_TESTS_SERVER_FAKE_ENGINE_H_
#define AGENTGATEWAY_TESTS_SERVER_FAKE_ENGINE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/engine.h"

namespace agentgateway {

// A run the test controls. Cancel behaves like a real engine: it ends the run with CANCELLED.
class FakeRun final : public RunHandle {
 public:
  explicit FakeRun(std::shared_ptr<EventSink> sink) : sink_(std::move(sink)) {}
  void Cancel() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++cancels_;
      cv_.notify_all();
    }
    Finish(absl::CancelledError("cancelled by caller"));
  }
  void Resume() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++resumes_;
    cv_.notify_all();
  }
  bool Emit(const std::string& type, const std::string& json) {
    return sink_->OnEvent(EngineEvent{type, json});
  }
  void Finish(absl::Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
    }
    sink_->OnFinish(std::move(status));
  }
  bool WaitCancelled(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return cancels_ > 0; });
  }
  // Until Resume was called at least `n` times.
  bool WaitResumes(int n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return resumes_ >= n; });
  }
  bool WaitResumed(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return resumes_ > 0; });
  }

 private:
  std::shared_ptr<EventSink> sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  int cancels_ = 0;
  int resumes_ = 0;
  bool finished_ = false;
};

// The unary run: the result callback runs exactly once, from the test or, like a real engine,
// with CANCELLED when the run is cancelled.
class FakeInvokeRun final : public RunHandle {
 public:
  explicit FakeInvokeRun(Engine::InvokeDone done) : done_(std::move(done)) {}
  void Cancel() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++cancels_;
    }
    Complete(absl::CancelledError("cancelled by caller"));
  }
  void Resume() override {}
  void Complete(absl::StatusOr<InvokeResult> result) {
    Engine::InvokeDone done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done = std::move(done_);
      done_ = nullptr;
    }
    if (done) done(std::move(result));
  }
  int cancels() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancels_;
  }

 private:
  std::mutex mu_;
  Engine::InvokeDone done_;
  int cancels_ = 0;
};

class FakeEngine final : public Engine {
 public:
  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    std::shared_ptr<EventSink> sink) override {
    if (request.input_size() == 0) return absl::InvalidArgumentError("no input");
    auto run = std::make_shared<FakeRun>(std::move(sink));
    // An engine whose first events arrive before Stream() returns its handle.
    if (!emit_before_return_.empty()) early_keep_reading_ = run->Emit("delta", emit_before_return_);
    std::lock_guard<std::mutex> lock(mu_);
    last_token_ = context.bearer_token.Reveal();
    last_deadline_ = context.deadline;
    last_deadline_reason_ = context.deadline_reason;
    last_profile_ = profile.name;
    last_model_ = profile.model;
    last_instructions_ = profile.instructions;
    last_tools_.clear();
    for (const ToolSpec& tool : profile.tools) last_tools_.push_back(tool.json);
    runs_.push_back(run);
    cv_.notify_all();
    return run;
  }
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context, InvokeDone done) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_token_ = context.bearer_token.Reveal();
    invoke_run_ = std::make_shared<FakeInvokeRun>(std::move(done));
    cv_.notify_all();
    return std::shared_ptr<RunHandle>(invoke_run_);
  }
  void EmitBeforeReturning(std::string json) { emit_before_return_ = std::move(json); }
  bool early_keep_reading() const { return early_keep_reading_; }
  std::shared_ptr<FakeRun> WaitRun(std::size_t index,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return runs_.size() > index; })) {
      return nullptr;
    }
    return runs_[index];
  }
  // The latest Invoke's result callback (null on timeout).
  InvokeDone WaitInvoke() {
    std::shared_ptr<FakeInvokeRun> run = WaitInvokeRun();
    if (run == nullptr) return nullptr;
    return [run](absl::StatusOr<InvokeResult> result) { run->Complete(std::move(result)); };
  }
  std::shared_ptr<FakeInvokeRun> WaitInvokeRun() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return invoke_run_ != nullptr; });
    return std::exchange(invoke_run_, nullptr);
  }
  std::string last_token() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_token_;
  }
  std::optional<std::chrono::steady_clock::time_point> last_deadline() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_deadline_;
  }
  std::string last_model() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_model_;
  }
  std::string last_instructions() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_instructions_;
  }
  std::vector<std::string> last_tools() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_tools_;
  }
  std::string last_deadline_reason() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_deadline_reason_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<FakeRun>> runs_;
  std::shared_ptr<FakeInvokeRun> invoke_run_;
  std::string last_token_;
  std::string last_profile_;
  std::string last_model_;
  std::string last_instructions_;
  std::vector<std::string> last_tools_;
  std::optional<std::chrono::steady_clock::time_point> last_deadline_;
  std::string last_deadline_reason_;
  std::string emit_before_return_;  // set before any call
  std::atomic<bool> early_keep_reading_{true};
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_TESTS_SERVER_FAKE_ENGINE_H_
