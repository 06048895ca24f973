// CallSet<Call>: the calls in flight through one backend, so a server stop can cancel them all
// and wait until each call's last callback has finished (none may outlive the io_context it
// posts to). Calls are shared with the set so a cancel racing with a call's end never touches a
// freed call.
#ifndef AGENTGATEWAY_GATEWAY_CALL_SET_H_
#define AGENTGATEWAY_GATEWAY_CALL_SET_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace agentgateway::gateway {

template <typename Call>
class CallSet {
 public:
  // False once CancelAllAndWait started: the caller must not start the call.
  bool Add(std::shared_ptr<Call> call) {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return false;
    Call* key = call.get();
    calls_.emplace(key, std::move(call));
    return true;
  }
  // When the caller dropped its own reference first, the call is destroyed here, under the
  // lock: CancelAllAndWait then returns only after every call is gone.
  void Remove(Call* call) {
    absl::MutexLock lock(&mu_);
    calls_.erase(call);
  }
  // Refuses new calls, runs `cancel(call)` on each call in flight (outside the lock: a cancel
  // may end the call inline, which calls Remove), then waits, bounded by `timeout`, until none
  // is left. False on timeout.
  template <typename CancelFn>
  bool CancelAllAndWait(absl::Duration timeout, CancelFn cancel) {
    std::vector<std::shared_ptr<Call>> calls;
    {
      absl::MutexLock lock(&mu_);
      shutting_down_ = true;
      for (const auto& entry : calls_) calls.push_back(entry.second);
    }
    for (const auto& call : calls) cancel(*call);
    calls.clear();
    absl::MutexLock lock(&mu_);
    auto empty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.empty(); };
    return mu_.AwaitWithTimeout(absl::Condition(&empty), timeout);
  }
  std::size_t InFlight() {
    absl::MutexLock lock(&mu_);
    return calls_.size();
  }

 private:
  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<Call*, std::shared_ptr<Call>> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_CALL_SET_H_
