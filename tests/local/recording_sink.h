// EventSinks for the local engine's tests: RecordingSink keeps every event of a run and its
// finish (waited on with the fixture's bound); PausingSink asks for a pause after every event,
// as a slow reader would.
#ifndef AGENTGATEWAY_TESTS_LOCAL_RECORDING_SINK_H_
#define AGENTGATEWAY_TESTS_LOCAL_RECORDING_SINK_H_

#include <future>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "boost/json.hpp"
#include "server/engine.h"
#include "tests/local/local_fixture.h"

namespace agentgateway::local::testing {

class RecordingSink final : public EventSink {
 public:
  bool OnEvent(EngineEvent event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
    return true;
  }
  void OnFinish(absl::Status status) override { finished_.set_value(std::move(status)); }

  // The run's finish, or DEADLINE_EXCEEDED "test wait" (and a test failure) after kWait.
  absl::Status Wait() {
    auto status = Await(future_);
    return status ? *status : absl::DeadlineExceededError("test wait");
  }
  std::vector<EngineEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  std::vector<std::string> types() {
    std::vector<std::string> out;
    for (const EngineEvent& e : events()) out.push_back(e.type);
    return out;
  }
  // The items of every output_item.done, in order.
  std::vector<boost::json::object> items() {
    std::vector<boost::json::object> out;
    for (const EngineEvent& e : events()) {
      if (e.type == "response.output_item.done") {
        out.push_back(boost::json::parse(e.json).at("item").as_object());
      }
    }
    return out;
  }
  // The answer's text: every output_text.delta, joined.
  std::string text() {
    std::string out;
    for (const EngineEvent& e : events()) {
      if (e.type == "response.output_text.delta") {
        out += boost::json::parse(e.json).at("delta").as_string();
      }
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<EngineEvent> events_ ABSL_GUARDED_BY(mu_);
  std::promise<absl::Status> finished_;
  std::future<absl::Status> future_ = finished_.get_future();
};

class PausingSink final : public EventSink {
 public:
  bool OnEvent(EngineEvent event) override {
    absl::MutexLock lock(&mu_);
    types_.push_back(std::move(event.type));
    return false;
  }
  void OnFinish(absl::Status status) override {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
  }
  std::optional<absl::Status> status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  std::vector<std::string> types() {
    absl::MutexLock lock(&mu_);
    return types_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> types_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgateway::local::testing

#endif  // AGENTGATEWAY_TESTS_LOCAL_RECORDING_SINK_H_
