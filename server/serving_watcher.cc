#include "server/serving_watcher.h"

#include <optional>
#include <utility>

#include "absl/time/time.h"

namespace agentgateway {

ServingWatcher::ServingWatcher(std::function<std::string()> problem,
                               std::function<void(bool, const std::string&)> set,
                               std::chrono::milliseconds interval)
    : problem_(std::move(problem)), set_(std::move(set)), interval_(interval) {
  thread_ = std::thread([this] { Run(); });
}

ServingWatcher::~ServingWatcher() { Stop(); }

void ServingWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ServingWatcher::Run() {
  std::optional<bool> reported;
  const absl::Duration interval = absl::FromChrono(interval_);
  for (;;) {
    // The check runs outside the lock: it may start a token fetch (never blocks on it).
    std::string why = problem_();
    const bool serving = why.empty();
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      // Applied under the lock, so Stop() returning means no `set` is running or will run.
      if (reported != serving) {
        set_(serving, why);
        reported = serving;
      }
      const bool* stop = &stop_;
      mu_.AwaitWithTimeout(absl::Condition(stop), interval);
      if (stop_) return;
    }
  }
}

}  // namespace agentgateway
