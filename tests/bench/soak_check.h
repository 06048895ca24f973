// Checks for the soak (soak_driver.cc): what a call delivered against the reference answer of
// the same question from a fault-free run, and the tally of every call's outcome.
//
// The emulator is deterministic except ids and timestamps, and a question carrying
// `[[fault:NAME]]` gets the answer of the same question carrying `[[fault:none]]` (the marker
// is one word of the question either way), so Normalize() makes answers comparable.
// Plain functions and a plain struct; no threads here.
#ifndef AGENTGATEWAY_TESTS_BENCH_SOAK_CHECK_H_
#define AGENTGATEWAY_TESTS_BENCH_SOAK_CHECK_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentgateway::soak {

// One upstream event as the caller saw it.
struct SeenEvent {
  std::string normalized;             // Normalize() of its JSON
  std::optional<int64_t> upstream_seq;  // its "sequence_number", when it has one
  bool upstream_error = false;        // an upstream `error` event (type "error", or no type)
};

// `json` with `[[fault:FAULT]]` read as `[[fault:none]]`, and the values of "id", "call_id",
// "item_id", "created_at" and "completed_at" (at any depth) replaced by a placeholder.
// Text that is not JSON comes back unchanged.
std::string Normalize(std::string_view json, std::string_view fault);
SeenEvent ToSeenEvent(std::string_view json, std::string_view fault);

// What one call's events say when compared with the reference stream.
struct StreamCheck {
  int64_t lost = 0;         // reference events missing or replaced before the end (see .cc)
  int64_t duplicated = 0;   // repeated upstream (or gateway) sequence numbers
  bool upstream_error = false;  // an upstream error event arrived (the stream must fail)
  bool complete = false;    // every reference event arrived, in order
};
// `clean_end`: the call ended normally (gRPC OK, REST `[DONE]` without an error frame); then
// every reference event must have arrived. `gateway_seq`: gRPC sequence numbers, in order of
// arrival (empty for REST), which must run 1, 2, 3, ...
StreamCheck CheckStream(const std::vector<SeenEvent>& seen, const std::vector<std::string>& reference,
                        const std::vector<int64_t>& gateway_seq, bool clean_end);

enum class Kind { kGrpcStream, kGrpcInvoke, kRestJson, kRestSse };
inline constexpr Kind kKinds[] = {Kind::kGrpcStream, Kind::kGrpcInvoke, Kind::kRestJson,
                                  Kind::kRestSse};
std::string_view KindName(Kind kind);

// Counts over many calls; merged from the workers' own tallies.
struct Tally {
  std::map<std::string, int64_t> requests;  // by kind
  std::map<std::string, int64_t> faults;    // by fault name
  std::map<std::string, int64_t> outcomes;  // "completed", "cancelled", "error:<code>", ...
  int64_t cancels = 0;
  int64_t events = 0;
  int64_t lost = 0;
  int64_t duplicated = 0;
  int64_t mismatched = 0;      // a non-streaming answer that is not the reference
  int64_t silent_ends = 0;     // a stream that ended with neither its end nor an error
  int64_t unexpected_ok = 0;   // a call with a failing fault that ended OK
  int64_t unexpected_error = 0;  // a fault-free, uncancelled call that failed
  void Merge(const Tally& other);
  int64_t problems() const {
    return lost + duplicated + mismatched + silent_ends + unexpected_ok + unexpected_error;
  }
};

}  // namespace agentgateway::soak

#endif  // AGENTGATEWAY_TESTS_BENCH_SOAK_CHECK_H_
