// CloseRecorder: the times the emulator saw upstream clients leave (its on_client_closed hook),
// for tests and benchmarks that measure cancel-to-upstream-close.
//
// Thread-safe: the hook runs on emulator io threads, the waits on any other thread. Must
// outlive the Emulator's Stop() (the hook may run until then).
#ifndef AGENTGATEWAY_TESTS_TIMING_CLOSE_RECORDER_H_
#define AGENTGATEWAY_TESTS_TIMING_CLOSE_RECORDER_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace agentgateway::timing {

using Clock = std::chrono::steady_clock;

class CloseRecorder {
 public:
  // For EmulatorOptions::on_client_closed.
  std::function<void(Clock::time_point)> Hook();

  std::size_t count();
  // The time of close number `index` (0-based, in the order reported), once it was reported;
  // nullopt if it was not within `timeout`.
  std::optional<Clock::time_point> WaitFor(std::size_t index, std::chrono::milliseconds timeout);

 private:
  void Record(Clock::time_point at);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Clock::time_point> closes_;
};

}  // namespace agentgateway::timing

#endif  // AGENTGATEWAY_TESTS_TIMING_CLOSE_RECORDER_H_
