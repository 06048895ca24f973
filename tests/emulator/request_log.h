// RequestLog: who each request to the responses route ran as, for tests
// (GET /emulator/requests?limit=N). A ring of the last kCapacity records.
//
// Shared by every session of one Emulator (owned by the Router); thread-safe. A record holds a
// token's fingerprint, never the token.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_REQUEST_LOG_H_
#define AGENTGATEWAY_TESTS_EMULATOR_REQUEST_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "boost/json/array.hpp"
#include "tests/emulator/record_ring.h"

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
  static constexpr std::size_t kCapacity = RecordRing<RequestRecord>::kCapacity;
  static constexpr std::size_t kMaxQuestionBytes = 4096;

  void Add(RequestRecord record) {
    CutToUtf8(record.question, kMaxQuestionBytes);
    ring_.Add(std::move(record));
  }
  // The most recent `limit` records, oldest first.
  boost::json::array Recent(std::size_t limit) const;
  // Records added since the last Clear (may exceed kCapacity).
  uint64_t total() const { return ring_.total(); }
  void Clear() { ring_.Clear(); }

 private:
  RecordRing<RequestRecord> ring_;
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_REQUEST_LOG_H_
