// RequestLog: who each request to the responses route ran as, for tests
// (GET /emulator/requests?limit=N). A ring of the last kCapacity records.
//
// Shared by every session of one Emulator (owned by the Router); guarded by `mu_`. A record
// holds a token's fingerprint, never the token.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_REQUEST_LOG_H_
#define AGENTGATEWAY_TESTS_EMULATOR_REQUEST_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "boost/json/array.hpp"

namespace agentgateway::emulator {

struct RequestRecord {
  std::string method;             // "POST" (a run) or "GET" (a background poll)
  std::string identity;           // "app:<id>", "user:<user>", "static"; "" when refused (401)
  std::string question;           // last user message (POST), cut to kMaxQuestionBytes
  std::string token_fingerprint;  // first 8 hex digits of SHA-256(token); "" without a token
  int status = 0;                 // HTTP status answered; 0 for a reset or a hang
};

class RequestLog {
 public:
  static constexpr std::size_t kCapacity = 8192;
  static constexpr std::size_t kMaxQuestionBytes = 4096;

  void Add(RequestRecord record) ABSL_LOCKS_EXCLUDED(mu_);
  // The most recent `limit` records, oldest first.
  boost::json::array Recent(std::size_t limit) const ABSL_LOCKS_EXCLUDED(mu_);
  // Records added since the last Clear (may exceed kCapacity).
  uint64_t total() const ABSL_LOCKS_EXCLUDED(mu_);
  void Clear() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::vector<RequestRecord> ring_ ABSL_GUARDED_BY(mu_);  // grows to kCapacity, then wraps
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;               // ring_[total_ % kCapacity] is next
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_REQUEST_LOG_H_
