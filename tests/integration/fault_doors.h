// The fault matrix's instruments: one request through each of the stack's four doors with
// one uniform outcome, and the probes that tell a leaked connection or file descriptor.
// Test-only; every function blocks the calling (test) thread.
#ifndef AGENTGATEWAY_TESTS_INTEGRATION_FAULT_DOORS_H_
#define AGENTGATEWAY_TESTS_INTEGRATION_FAULT_DOORS_H_

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "tests/integration/stack.h"

namespace agentgateway::testing {

enum class Door {
  kGrpcInvoke,  // AgentService.Invoke: the upstream is asked for a whole answer
  kGrpcStream,  // AgentService.Stream: the upstream is asked for a stream
  kRestJson,    // POST /invocations
  kRestSse,     // POST /invocations with "stream": true
};

std::string_view DoorName(Door door);
void PrintTo(Door door, std::ostream* os);  // for gtest's messages
// Whether the door asks the upstream for a stream (so the emulator's stream flavour applies).
bool StreamsUpstream(Door door);

struct DoorOutcome {
  bool finished = false;  // the call ended within the test's bound
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;  // gRPC doors
  int http_status = 0;                                 // REST doors
  std::string message;  // gRPC message, REST `detail`, or the text of the SSE error frame
  int events = 0;       // events (gRPC) or data frames (SSE) relayed before the end
  std::string last_event;     // type (gRPC) or data (SSE) of the last event relayed
  bool error_frame = false;   // SSE: an {"error": ...} frame came last before [DONE]
  bool done_marker = false;   // SSE: the body ended with `data: [DONE]`
  std::string answer;         // on success: output text (Invoke) or body (REST JSON)
  std::string problem;        // a malformed ending, described; empty when well formed
  std::string retry_after;    // the `retry-after` trailer (gRPC) or header (REST), if any
};

// Sends `question` as one user message through `door`. `timeout` is the gRPC deadline or the
// REST `X-Request-Timeout`; without it, a bound far above any cell's run time applies.
DoorOutcome CallThroughDoor(Stack& stack, Door door, const std::string& question,
                            std::optional<std::chrono::milliseconds> timeout);

// Open file descriptors of this process (entries of /proc/self/fd).
int OpenFds();

// Reads the emulator's `name` until it equals `expected` or `bound` passes; returns the last
// value read. A gauge (open_connections) can only be polled: /emulator/wait waits for a value
// to rise, and a gauge settles by falling.
long long AwaitEmulatorGauge(Stack& stack, const std::string& name, long long expected,
                             std::chrono::milliseconds bound = std::chrono::seconds(5));

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_INTEGRATION_FAULT_DOORS_H_
