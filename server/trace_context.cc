#include "server/trace_context.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"

namespace agentgateway {
namespace {

bool IsLowerHex(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool AllZeros(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

bool IsValidTraceparent(std::string_view v) {
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  if (v.size() > 55 && (v.substr(0, 2) == "00" || v[55] != '-')) return false;
  std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16);
  return IsLowerHex(version) && version != "ff" && IsLowerHex(trace) && !AllZeros(trace) &&
         IsLowerHex(parent) && !AllZeros(parent) && IsLowerHex(v.substr(53, 2));
}

std::string NewTraceparent() {
  thread_local absl::BitGen gen;
  // `| 1` keeps the ids from being all zeros (invalid) at the cost of one bit of randomness.
  return absl::StrFormat("00-%016x%016x-%016x-01", absl::Uniform<uint64_t>(gen),
                         absl::Uniform<uint64_t>(gen) | 1, absl::Uniform<uint64_t>(gen) | 1);
}

}  // namespace agentgateway
