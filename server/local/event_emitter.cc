#include "server/local/event_emitter.h"

#include <utility>

#include "boost/json.hpp"

namespace agentgateway::local {
namespace json = boost::json;

void EventEmitter::Emit(std::string type, json::object data) {
  {
    absl::MutexLock lock(&mu_);
    if (finish_.has_value()) return;
    json::object event{{"type", type}, {"sequence_number", next_seq_++}};
    for (auto& field : data) event.emplace(field.key(), std::move(field.value()));
    queue_.push_back(EngineEvent{std::move(type), json::serialize(event)});
  }
  Drain();
}

void EventEmitter::Finish(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    if (finish_.has_value()) return;
    finish_ = std::move(status);
  }
  Drain();
}

void EventEmitter::Abort(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    if (delivered_) return;
    queue_.clear();
    finish_ = std::move(status);
    paused_ = false;
  }
  Drain();
}

void EventEmitter::Resume() {
  {
    absl::MutexLock lock(&mu_);
    paused_ = false;
  }
  Drain();
}

bool EventEmitter::finished() {
  absl::MutexLock lock(&mu_);
  return finish_.has_value();
}

void EventEmitter::Drain() {
  for (;;) {
    std::optional<EngineEvent> event;
    std::optional<absl::Status> status;
    std::shared_ptr<EventSink> sink;
    {
      absl::MutexLock lock(&mu_);
      // One drainer at a time keeps the sink's calls ordered and never concurrent; a call
      // made from inside the sink (an event, a cancel) only queues and the drainer goes on.
      if (draining_ || paused_ || delivered_) return;
      if (!queue_.empty()) {
        event = std::move(queue_.front());
        queue_.pop_front();
      } else if (finish_.has_value()) {
        delivered_ = true;
        status = *finish_;
        sink = std::move(sink_);  // released after OnFinish: the sink may hold our handle
      } else {
        return;
      }
      draining_ = true;
      if (event) sink = sink_;
    }
    bool more = true;
    if (event) {
      more = sink->OnEvent(std::move(*event));
    } else {
      sink->OnFinish(std::move(*status));
    }
    absl::MutexLock lock(&mu_);
    draining_ = false;
    if (!more) paused_ = true;
  }
}

}  // namespace agentgateway::local
