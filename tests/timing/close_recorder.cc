#include "tests/timing/close_recorder.h"

namespace agentgateway::timing {

std::function<void(Clock::time_point)> CloseRecorder::Hook() {
  return [this](Clock::time_point at) { Record(at); };
}

void CloseRecorder::Record(Clock::time_point at) {
  std::lock_guard<std::mutex> lock(mu_);
  closes_.push_back(at);
  cv_.notify_all();
}

std::size_t CloseRecorder::count() {
  std::lock_guard<std::mutex> lock(mu_);
  return closes_.size();
}

std::optional<Clock::time_point> CloseRecorder::WaitFor(std::size_t index,
                                                        std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return closes_.size() > index; })) return std::nullopt;
  return closes_[index];
}

}  // namespace agentgateway::timing
