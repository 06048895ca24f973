// RecordRing<Record>: the last kCapacity records of some kind, for the emulator's test logs
// (RequestLog, CallLog). Thread-safe: shared by every session of one Emulator.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_RECORD_RING_H_
#define AGENTGATEWAY_TESTS_EMULATOR_RECORD_RING_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace agentgateway::emulator {

// Cuts `text` to at most `max` bytes, back to a UTF-8 boundary (records are served as JSON).
inline void CutToUtf8(std::string& text, std::size_t max) {
  if (text.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
}

template <class Record>
class RecordRing {
 public:
  static constexpr std::size_t kCapacity = 8192;

  void Add(Record record) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (ring_.size() < kCapacity) {
      ring_.push_back(std::move(record));
    } else {
      ring_[total_ % kCapacity] = std::move(record);
    }
    ++total_;
  }
  // The most recent `limit` records, oldest first.
  std::vector<Record> Recent(std::size_t limit) const ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<Record> out;
    absl::MutexLock lock(&mu_);
    const std::size_t n = std::min(limit, ring_.size());
    out.reserve(n);
    for (uint64_t i = total_ - n; i < total_; ++i) out.push_back(ring_[i % kCapacity]);
    return out;
  }
  // Records added since the last Clear (may exceed kCapacity).
  uint64_t total() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return total_;
  }
  void Clear() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ring_.clear();
    total_ = 0;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Record> ring_ ABSL_GUARDED_BY(mu_);  // grows to kCapacity, then wraps
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;        // ring_[total_ % kCapacity] is next
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_RECORD_RING_H_
