// The ways a caller leaves a call while the upstream request is open (issue 4, "Cancellation
// reaches upstream"), each run once by RunCancelCase against a gateway whose upstream is the
// supervisor emulator. Used by tests/timing (a generous bound, in-process gateway) and by
// tests/bench/cancel_latency (percentiles, the real agent-gateway process).
#ifndef AGENTGATEWAY_TESTS_TIMING_CANCEL_CASES_H_
#define AGENTGATEWAY_TESTS_TIMING_CANCEL_CASES_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "server/upstream/http_pool.h"
#include "tests/timing/close_recorder.h"

namespace agentgateway::timing {

enum class CancelCase {
  kGrpcStreamBeforeAnswer,  // Stream, upstream hangs before any event; client TryCancel
  kGrpcStreamMidStream,     // Stream, upstream hangs after 2 events; TryCancel after the first
  kGrpcStreamDeadline,      // Stream, upstream hangs; the call's deadline expires
  kGrpcInvokeCancel,        // Invoke (non-streaming), upstream hangs; TryCancel
  kRestSseClose,            // POST /invocations SSE, upstream hangs mid-stream; socket closed
  kRestJsonClose,           // POST /invocations JSON, upstream hangs; socket closed
};
inline constexpr CancelCase kAllCancelCases[] = {
    CancelCase::kGrpcStreamBeforeAnswer, CancelCase::kGrpcStreamMidStream,
    CancelCase::kGrpcStreamDeadline,     CancelCase::kGrpcInvokeCancel,
    CancelCase::kRestSseClose,           CancelCase::kRestJsonClose,
};
// A short identifier, e.g. "grpc_stream_mid_stream".
std::string_view CaseName(CancelCase c);

// The emulator's inspection routes, over an HttpPool (plain or TLS).
class EmulatorProbe {
 public:
  // `base_url`: the emulator's "https://localhost:PORT"; `pool` outlives the probe.
  EmulatorProbe(upstream::HttpPool* pool, std::string base_url)
      : pool_(pool), base_url_(std::move(base_url)) {}
  absl::StatusOr<int64_t> Counter(std::string_view name);
  // OK once counter >= value; DEADLINE_EXCEEDED after `timeout` (the emulator's long poll).
  absl::Status WaitCounter(std::string_view name, int64_t value,
                           std::chrono::milliseconds timeout);

 private:
  upstream::HttpPool* pool_;
  std::string base_url_;
};

struct CancelTarget {
  v1::AgentService::Stub* grpc = nullptr;  // the gateway's gRPC door
  uint16_t rest_port = 0;                  // the gateway's REST door (plain HTTP, 127.0.0.1)
  EmulatorProbe* emulator = nullptr;
  CloseRecorder* closes = nullptr;         // fed by the emulator's on_client_closed hook
  std::chrono::milliseconds deadline{1000};  // kGrpcStreamDeadline's call deadline
  std::chrono::milliseconds timeout{10000};  // bound on every wait
};

// Runs `c` once: starts the call, waits until the upstream request is open (the emulator got
// it, or the first event arrived), makes the caller leave, checks the caller's outcome
// (CANCELLED / DEADLINE_EXCEEDED), and waits for the emulator to see the upstream request
// close. Returns that moment minus the moment the caller left (just before TryCancel or
// close(2); for the deadline, the deadline itself). Errors name the step that failed.
absl::StatusOr<Clock::duration> RunCancelCase(CancelCase c, const CancelTarget& target);

}  // namespace agentgateway::timing

#endif  // AGENTGATEWAY_TESTS_TIMING_CANCEL_CASES_H_
