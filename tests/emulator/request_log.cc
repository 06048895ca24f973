#include "tests/emulator/request_log.h"

#include <algorithm>
#include <utility>

#include "boost/json/object.hpp"

namespace agentgateway::emulator {

void RequestLog::Add(RequestRecord record) {
  if (record.question.size() > kMaxQuestionBytes) {
    std::size_t cut = kMaxQuestionBytes;  // back to a UTF-8 boundary: the record is JSON text
    while (cut > 0 && (static_cast<unsigned char>(record.question[cut]) & 0xC0) == 0x80) --cut;
    record.question.resize(cut);
  }
  absl::MutexLock lock(&mu_);
  if (ring_.size() < kCapacity) {
    ring_.push_back(std::move(record));
  } else {
    ring_[total_ % kCapacity] = std::move(record);
  }
  ++total_;
}

boost::json::array RequestLog::Recent(std::size_t limit) const {
  boost::json::array out;
  absl::MutexLock lock(&mu_);
  std::size_t n = std::min(limit, ring_.size());
  out.reserve(n);
  for (uint64_t i = total_ - n; i < total_; ++i) {
    const RequestRecord& r = ring_[i % kCapacity];
    out.push_back(boost::json::object{{"method", r.method},
                                      {"identity", r.identity},
                                      {"question", r.question},
                                      {"token_fingerprint", r.token_fingerprint},
                                      {"status", r.status}});
  }
  return out;
}

uint64_t RequestLog::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

void RequestLog::Clear() {
  absl::MutexLock lock(&mu_);
  ring_.clear();
  total_ = 0;
}

}  // namespace agentgateway::emulator
