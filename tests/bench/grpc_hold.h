// grpc_load's hold mode: N concurrent AgentService.Stream calls held open.
//
// Starts the calls round-robin over the given stubs (at most `max_opening` waiting for their
// first event at a time), waits until each has its first event or failed (bounded by
// `open_timeout`), prints {"phase":"held",...} (flushed), keeps them `seconds` while still
// reading, cancels them all, waits for every call to end and prints the final
// {"mode":"hold",...} line. A call that fails, or ends (even OK) before its first event, is an
// error; one that ends OK while held is counted as "ended".
#ifndef AGENTGATEWAY_TESTS_BENCH_GRPC_HOLD_H_
#define AGENTGATEWAY_TESTS_BENCH_GRPC_HOLD_H_

#include <vector>

#include "agentgateway/v1/agent_service.grpc.pb.h"

namespace agentgateway::bench {

struct HoldOptions {
  int streams = 0;  // 0: no hold (closed loop)
  double seconds = 10;
  double open_timeout = 60;
  int max_opening = 500;
};

// Returns the exit code: 0 when every call opened and none failed, 3 otherwise.
int RunHold(const HoldOptions& options, const std::vector<v1::AgentService::Stub*>& stubs,
            const v1::InvokeRequest& request);

}  // namespace agentgateway::bench

#endif  // AGENTGATEWAY_TESTS_BENCH_GRPC_HOLD_H_
