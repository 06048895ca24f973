// CallRunner: the soak's four kinds of call, each made, optionally cancelled by the client at
// a random point, and checked against the reference answer of its question (soak_check.h).
//
// Thread-safe for Run() from many workers (each with its own rng and tally): the references
// are built once before, and the stub and the REST pool are thread-safe. set_rest_pool only
// while no call runs.
#ifndef AGENTGATEWAY_TESTS_BENCH_SOAK_CALLS_H_
#define AGENTGATEWAY_TESTS_BENCH_SOAK_CALLS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "server/upstream/http_pool.h"
#include "tests/bench/soak_check.h"

namespace agentgateway::soak {

struct CallPlan {
  Kind kind = Kind::kGrpcStream;
  std::size_t question = 0;  // index into the question list
  std::string fault;         // empty: none
  bool cancel = false;
  // Streams: cancel once this many events arrived (0: right after the start, after
  // cancel_delay_us). Non-streaming calls: cancel after cancel_delay_us.
  std::size_t cancel_after_events = 0;
  int cancel_delay_us = 0;
};

// Faults that must end the call with an error (every one but "drip").
bool FaultMustFail(const std::string& fault);
// Every fault of the emulator (tests/emulator/README.md, "Faults").
const std::vector<std::string>& AllFaults();

// A client pool for the gateway's REST door (plain HTTP, keep-alive, 20 s timeouts).
std::unique_ptr<upstream::HttpPool> MakeRestPool();

class CallRunner {
 public:
  // `faults`: the ones to inject, a non-empty subset of AllFaults().
  CallRunner(v1::AgentService::Stub* stub, upstream::HttpPool* rest_pool, uint16_t rest_port,
             std::vector<std::string> faults)
      : stub_(stub), rest_pool_(rest_pool), rest_port_(rest_port), faults_(std::move(faults)) {}

  // Asks every question once per kind, fault-free, twice, and keeps the (normalized) answer;
  // FAILED_PRECONDITION when the two differ or a call fails.
  absl::Status BuildReferences();
  std::string DescribeReferences() const;

  CallPlan RandomPlan(std::mt19937_64& rng, double fault_rate, double cancel_rate) const;
  void Run(const CallPlan& plan, std::mt19937_64& rng, Tally& tally);
  void set_rest_pool(upstream::HttpPool* pool) { rest_pool_ = pool; }

 private:
  struct Reference {
    std::vector<std::string> events;  // streams
    std::string answer;               // non-streaming
  };
  // What a call returned, before judging: the events (streams) or the answer.
  struct Result {
    std::vector<SeenEvent> events;
    std::vector<int64_t> gateway_seq;
    std::string answer;
    bool ok = false;          // the call ended normally
    bool cancelled = false;   // ... or ended because this client cancelled it
    bool silent_end = false;  // a stream cut with neither its end nor an error
    std::string outcome;      // "completed", "cancelled", "error:<code>", ...
    std::string detail;       // the error message, for the problem lines
  };

  Result GrpcStream(const CallPlan& plan, std::mt19937_64& rng);
  Result GrpcInvoke(const CallPlan& plan);
  Result Rest(const CallPlan& plan, bool stream);
  Result Call(const CallPlan& plan, std::mt19937_64& rng);
  void Judge(const CallPlan& plan, const Result& result, Tally& tally) const;
  std::string QuestionText(const CallPlan& plan) const;

  v1::AgentService::Stub* stub_;
  upstream::HttpPool* rest_pool_;
  uint16_t rest_port_;
  std::vector<std::string> faults_;
  std::map<std::pair<Kind, std::size_t>, Reference> references_;
};

}  // namespace agentgateway::soak

#endif  // AGENTGATEWAY_TESTS_BENCH_SOAK_CALLS_H_
