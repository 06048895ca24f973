#include "tests/emulator/call_log.h"

#include <algorithm>
#include <utility>

#include "boost/json/object.hpp"

namespace agentgateway::emulator {
namespace {

// Cut back to a UTF-8 boundary: the record is served as JSON text.
void Cut(std::string& text, std::size_t max) {
  if (text.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
}

}  // namespace

void CallLog::Add(CallRecord record) {
  Cut(record.question, kMaxTextBytes);
  Cut(record.arguments, kMaxTextBytes);
  absl::MutexLock lock(&mu_);
  if (ring_.size() < kCapacity) {
    ring_.push_back(std::move(record));
  } else {
    ring_[total_ % kCapacity] = std::move(record);
  }
  ++total_;
}

std::vector<CallRecord> CallLog::Recent(std::size_t limit) const {
  std::vector<CallRecord> out;
  absl::MutexLock lock(&mu_);
  std::size_t n = std::min(limit, ring_.size());
  out.reserve(n);
  for (uint64_t i = total_ - n; i < total_; ++i) out.push_back(ring_[i % kCapacity]);
  return out;
}

boost::json::array CallLog::RecentJson(std::size_t limit) const {
  boost::json::array out;
  for (const CallRecord& r : Recent(limit)) {
    out.push_back(boost::json::object{{"kind", r.kind},
                                      {"method", r.method},
                                      {"path", r.path},
                                      {"rpc_method", r.rpc_method},
                                      {"tool", r.tool},
                                      {"arguments", r.arguments},
                                      {"identity", r.identity},
                                      {"session_id", r.session_id},
                                      {"question", r.question},
                                      {"stream", r.stream},
                                      {"status", r.status}});
  }
  return out;
}

uint64_t CallLog::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

void CallLog::Clear() {
  absl::MutexLock lock(&mu_);
  ring_.clear();
  total_ = 0;
}

}  // namespace agentgateway::emulator
