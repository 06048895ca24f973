// EventEmitter: delivers one LocalEngine run's events to its EventSink in order, one at a
// time, never losing one: while the sink asks for a pause (OnEvent false) later events wait in
// the queue until Resume(). The finish is delivered after the queue drains, except an abort
// (cancel), which drops what is queued. Each event gets the run's next `sequence_number`.
//
// Thread-safe: the queue and flags are guarded by `mu_`; the sink is called without the lock
// held, from whichever thread drains, never concurrently.
#ifndef AGENTGATEWAY_SERVER_LOCAL_EVENT_EMITTER_H_
#define AGENTGATEWAY_SERVER_LOCAL_EVENT_EMITTER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "boost/json/object.hpp"
#include "server/engine.h"

namespace agentgateway::local {

class EventEmitter {
 public:
  explicit EventEmitter(std::shared_ptr<EventSink> sink) : sink_(std::move(sink)) {}

  // Queues the event {"type", "sequence_number", ...data}; ignored once a finish is set.
  void Emit(std::string type, boost::json::object data);
  // The run's end, delivered after the queued events; the first finish (or abort) wins.
  void Finish(absl::Status status);
  // The run's end at once: queued events are dropped (unless the finish went out already).
  void Abort(absl::Status status);
  // Ends a pause the sink asked for.
  void Resume();
  bool finished();

 private:
  void Drain();

  absl::Mutex mu_;
  std::shared_ptr<EventSink> sink_ ABSL_GUARDED_BY(mu_);
  std::deque<EngineEvent> queue_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> finish_ ABSL_GUARDED_BY(mu_);
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool delivered_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_EVENT_EMITTER_H_
