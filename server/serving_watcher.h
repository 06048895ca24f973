// ServingWatcher: keeps a serving flag (the gRPC health status) in step with a readiness
// check that can change on its own, such as "the app holds no upstream token".
//
// The REST door asks its readiness question on every probe; gRPC health answers from a stored
// status, so something has to ask on its behalf. This asks every `interval` on its own thread
// and reports only changes: `set(false, why)` when a problem appears, `set(true, "")` when it
// clears. The first check runs at once, so the status is right from the start.
//
// Stop() (also run by the destructor) ends the thread; no `set` runs after it returns. The
// drain calls it before it turns health NOT_SERVING for good, so the watcher cannot turn it
// back.
#ifndef AGENTGATEWAY_SERVER_SERVING_WATCHER_H_
#define AGENTGATEWAY_SERVER_SERVING_WATCHER_H_

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace agentgateway {

class ServingWatcher {
 public:
  // `problem`: "" when ready, otherwise why not. `set(serving, why)`: a change to apply.
  ServingWatcher(std::function<std::string()> problem,
                 std::function<void(bool serving, const std::string& why)> set,
                 std::chrono::milliseconds interval);
  ~ServingWatcher();
  ServingWatcher(const ServingWatcher&) = delete;
  ServingWatcher& operator=(const ServingWatcher&) = delete;

  void Stop();

 private:
  void Run();

  const std::function<std::string()> problem_;
  const std::function<void(bool, const std::string&)> set_;
  const std::chrono::milliseconds interval_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_SERVING_WATCHER_H_
