// Stats: the emulator's counters, read by tests through GET /emulator/stats and
// GET /emulator/wait.
//
// Shared by every session of one Emulator (owned by the Router). Counters are atomics so the
// hot path takes no lock; the per-fault map is guarded by `mu_`.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_STATS_H_
#define AGENTGATEWAY_TESTS_EMULATOR_STATS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "boost/json/object.hpp"

namespace agentgateway::emulator {

class Stats {
 public:
  enum Counter {
    kRequestsTotal,
    kResponsesRequests,
    kStreamsStarted,
    kStreamsCompleted,
    kStreamsClientClosed,
    kTokenRequests,  // POST /oidc/v1/token
    kTokenFailures,  // ... answered with anything but 200
    kModelRequests,  // POST .../chat/completions (both paths)
    kKnowledgeAssistantRequests,  // POST /serving-endpoints/{endpoint}/invocations
    kMcpRequests,         // every request to /api/2.0/mcp/...
    kMcpSessionsCreated,  // initialize answered with a new Mcp-Session-Id
    kMcpToolCalls,        // tools/call answered with a result (isError or not)
    kMcpToolErrors,       // ... of which isError: true
    kCounterCount,
  };

  void Inc(Counter c) { counters_[c].fetch_add(1, std::memory_order_relaxed); }
  void ConnectionOpened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionClosed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  void AddFault(std::string_view name);

  // Value of a counter by its JSON name ("streams_client_closed", "open_connections", or
  // "faults.<name>"); nullopt for an unknown name.
  std::optional<int64_t> Get(std::string_view name) const;

  boost::json::object ToJson() const;

  // Zeroes every counter and the fault map; `open_connections` is a gauge and stays.
  void Reset();

 private:
  std::atomic<int64_t> counters_[kCounterCount] = {};
  std::atomic<int64_t> open_connections_{0};
  mutable absl::Mutex mu_;
  std::map<std::string, int64_t, std::less<>> faults_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_STATS_H_
