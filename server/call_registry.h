// CallRegistry: the calls this process is running, for load shedding and graceful drain.
//
// Each admitted call holds a Slot; dropping the slot (when the call's reactor is gone or has
// decided its end) removes the call. The registry can end every call at once with a given
// status (Abort callbacks) and wait, bounded, until none is left. Thread-safe; shared by
// shared_ptr because a slot may outlive the service that handed it out by a moment.
#ifndef AGENTGATEWAY_SERVER_CALL_REGISTRY_H_
#define AGENTGATEWAY_SERVER_CALL_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace agentgateway {

class CallRegistry : public std::enable_shared_from_this<CallRegistry> {
 public:
  // Ends the call with `status` as soon as it can (events already queued still go out).
  // Called at most once per call, never under the registry's lock.
  using AbortFn = std::function<void(const absl::Status& status)>;
  using Slot = std::shared_ptr<void>;

  static std::shared_ptr<CallRegistry> Create() {
    return std::shared_ptr<CallRegistry>(new CallRegistry());
  }

  // Registers a call; `active` receives the number of calls including this one.
  Slot Add(AbortFn abort, std::size_t* active = nullptr);

  std::size_t size() const;

  // Calls whose RPC is not done yet (a call's slot goes at the moment its end is decided, so
  // load shedding frees it early; its tracker goes when gRPC is done with the call).
  Slot Track();
  bool WaitAllDone(absl::Duration timeout) const;
  // Calls every registered abort callback with `status`. Calls added later are not touched.
  // Returns how many were asked to end.
  std::size_t AbortAll(const absl::Status& status);
  // Blocks until no call is registered or `timeout` passed; true when none is left.
  bool WaitEmpty(absl::Duration timeout) const;

 private:
  CallRegistry() = default;
  void Remove(std::uint64_t id);

  mutable absl::Mutex mu_;
  std::uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::uint64_t, AbortFn> calls_ ABSL_GUARDED_BY(mu_);
  std::size_t tracked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_CALL_REGISTRY_H_
