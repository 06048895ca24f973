#include "tests/emulator/stats.h"

namespace agentgateway::emulator {
namespace {

constexpr std::string_view kCounterNames[Stats::kCounterCount] = {
    "requests_total",   "responses_requests",    "streams_started",
    "streams_completed", "streams_client_closed", "token_requests",
    "token_failures",   "model_requests",        "knowledge_assistant_requests",
    "mcp_requests",     "mcp_sessions_created",  "mcp_tool_calls",
    "mcp_tool_errors",
};

}  // namespace

void Stats::AddFault(std::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = faults_.find(name);
  if (it == faults_.end()) it = faults_.emplace(std::string(name), 0).first;
  ++it->second;
}

std::optional<int64_t> Stats::Get(std::string_view name) const {
  for (int i = 0; i < kCounterCount; ++i) {
    if (kCounterNames[i] == name) return counters_[i].load(std::memory_order_relaxed);
  }
  if (name == "open_connections") return open_connections_.load(std::memory_order_relaxed);
  constexpr std::string_view kFaultPrefix = "faults.";
  if (name.substr(0, kFaultPrefix.size()) == kFaultPrefix) {
    absl::MutexLock lock(&mu_);
    auto it = faults_.find(name.substr(kFaultPrefix.size()));
    return it == faults_.end() ? 0 : it->second;
  }
  return std::nullopt;
}

boost::json::object Stats::ToJson() const {
  boost::json::object out;
  for (int i = 0; i < kCounterCount; ++i) {
    out[kCounterNames[i]] = counters_[i].load(std::memory_order_relaxed);
  }
  out["open_connections"] = open_connections_.load(std::memory_order_relaxed);
  boost::json::object faults;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, count] : faults_) faults[name] = count;
  }
  out["faults"] = std::move(faults);
  return out;
}

void Stats::Reset() {
  for (auto& c : counters_) c.store(0, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  faults_.clear();
}

}  // namespace agentgateway::emulator
