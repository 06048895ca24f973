#include "tests/bench/grpc_hold.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tests/bench/load_stats.h"

namespace agentgateway::bench {
namespace {

using Clock = std::chrono::steady_clock;

// What the calls report, under mu_; the main thread waits on cv_.
class Tally {
 public:
  void Opened() {
    std::lock_guard<std::mutex> lock(mu_);
    ++opened_;
    cv_.notify_all();
  }
  void Ended(bool was_open, bool cancelled_by_us, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    if (!was_open) {
      ++failed_opening_;
      NoteError(open_timed_out_ ? "no first event within --hold-timeout"
                : status.ok()   ? "stream ended before its first event"
                                : StatusText(status));
    } else if (status.ok()) {
      ++ended_;  // the server completed it while it should have been held
    } else if (!(cancelled_by_us && status.error_code() == grpc::StatusCode::CANCELLED)) {
      NoteError(StatusText(status));
    }
    cv_.notify_all();
  }
  void Events(std::int64_t n) { events_.fetch_add(n, std::memory_order_relaxed); }

  // Waits until fewer than `limit` started calls are still opening (or the deadline).
  void WaitOpeningBelow(int started, int limit, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return started - opened_ - failed_opening_ < limit; });
  }
  // Waits until `n` calls opened or failed to; false at the deadline.
  bool WaitSettled(int n, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return opened_ + failed_opening_ >= n; });
  }
  void WaitDone(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ >= n; });
  }
  void SetOpenTimedOut() {
    std::lock_guard<std::mutex> lock(mu_);
    open_timed_out_ = true;
  }
  void NoteNotStarted(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < n; ++i) {
      ++failed_opening_;
      NoteError("not started within --hold-timeout");
    }
  }
  std::string Line(const char* head, int streams, double open_ms, bool final) {
    std::lock_guard<std::mutex> lock(mu_);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s,\"streams\":%d,\"opened\":%d,\"errors\":%lld,\"open_ms\":%.1f",
                  head, streams, opened_, static_cast<long long>(errors_), open_ms);
    std::string line = buf;
    if (final) {
      line += ",\"ended\":" + std::to_string(ended_) +
              ",\"events\":" + std::to_string(events_.load()) + ",\"first_error\":\"";
      AppendJsonEscaped(first_error_, line);
      line += "\"";
    }
    return line + "}";
  }
  bool Clean(int streams) {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_ == 0 && opened_ == streams;
  }

 private:
  static std::string StatusText(const grpc::Status& status) {
    return "code " + std::to_string(status.error_code()) + ": " + status.error_message();
  }
  void NoteError(std::string what) {
    ++errors_;
    if (first_error_.empty()) first_error_ = std::move(what);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int opened_ = 0, failed_opening_ = 0, done_ = 0, ended_ = 0;
  std::int64_t errors_ = 0;
  bool open_timed_out_ = false;
  std::string first_error_;
  std::atomic<std::int64_t> events_{0};
};

// One held Stream call. Owned by RunHold (not self-deleting), which cancels it by its context
// and destroys it only after OnDone ran for every call.
class HoldCall : public grpc::ClientReadReactor<v1::StreamEvent> {
 public:
  explicit HoldCall(Tally& tally) : tally_(tally) {}
  void Start(v1::AgentService::Stub* stub, const v1::InvokeRequest& request,
             Clock::duration deadline) {
    context_.set_deadline(std::chrono::system_clock::now() + deadline);
    stub->async()->Stream(&context_, &request, this);
    StartRead(&event_);
    StartCall();
  }
  void Cancel() {
    cancelled_.store(true);
    context_.TryCancel();
  }
  bool opened() const { return opened_.load(); }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone has the status
    if (!opened_.exchange(true)) tally_.Opened();
    tally_.Events(1);
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    tally_.Ended(opened_.load(), cancelled_.load(), status);
  }

 private:
  Tally& tally_;
  grpc::ClientContext context_;
  v1::StreamEvent event_;  // owned by the read in flight
  std::atomic<bool> opened_{false};
  std::atomic<bool> cancelled_{false};
};

}  // namespace

int RunHold(const HoldOptions& options, const std::vector<v1::AgentService::Stub*>& stubs,
            const v1::InvokeRequest& request) {
  Tally tally;
  const int n = options.streams;
  auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  // A bound in case the server never ends a cancelled call: the calls' own deadline.
  const Clock::duration call_deadline =
      seconds(options.open_timeout + options.seconds + 60);
  std::vector<std::unique_ptr<HoldCall>> calls;
  calls.reserve(static_cast<std::size_t>(n));
  const Clock::time_point start = Clock::now();
  const Clock::time_point open_deadline = start + seconds(options.open_timeout);
  int started = 0;
  for (; started < n && Clock::now() < open_deadline; ++started) {
    tally.WaitOpeningBelow(started, options.max_opening, open_deadline);
    if (Clock::now() >= open_deadline) break;
    calls.push_back(std::make_unique<HoldCall>(tally));
    calls.back()->Start(stubs[static_cast<std::size_t>(started) % stubs.size()], request,
                        call_deadline);
  }
  tally.NoteNotStarted(n - started);
  if (!tally.WaitSettled(n, open_deadline)) {
    tally.SetOpenTimedOut();
    for (auto& call : calls) {
      if (!call->opened()) call->Cancel();
    }
    tally.WaitSettled(n, Clock::time_point::max());
  }
  const double open_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  std::printf("%s\n", tally.Line("{\"phase\":\"held\"", n, open_ms, false).c_str());
  std::fflush(stdout);
  std::this_thread::sleep_for(seconds(options.seconds));  // the hold itself
  for (auto& call : calls) call->Cancel();
  tally.WaitDone(started);
  std::printf("%s\n", tally.Line("{\"mode\":\"hold\"", n, open_ms, true).c_str());
  std::fflush(stdout);
  return tally.Clean(n) ? 0 : 3;
}

}  // namespace agentgateway::bench
