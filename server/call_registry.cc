#include "server/call_registry.h"

#include <vector>

namespace agentgateway {

CallRegistry::Slot CallRegistry::Add(AbortFn abort, std::size_t* active) {
  std::uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    calls_.emplace(id, std::move(abort));
    if (active != nullptr) *active = calls_.size();
  }
  return Slot(nullptr, [registry = shared_from_this(), id](void*) { registry->Remove(id); });
}

void CallRegistry::Remove(std::uint64_t id) {
  AbortFn dropped;  // destroyed outside the lock: it may own the last reference to a call
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  dropped = std::move(it->second);
  calls_.erase(it);
}

CallRegistry::Slot CallRegistry::Track() {
  {
    absl::MutexLock lock(&mu_);
    ++tracked_;
  }
  return Slot(nullptr, [registry = shared_from_this()](void*) {
    absl::MutexLock lock(&registry->mu_);
    --registry->tracked_;
  });
}

bool CallRegistry::WaitAllDone(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return tracked_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

std::size_t CallRegistry::size() const {
  absl::MutexLock lock(&mu_);
  return calls_.size();
}

std::size_t CallRegistry::AbortAll(const absl::Status& status) {
  std::vector<AbortFn> aborts;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, abort] : calls_) {
      if (abort) aborts.push_back(std::exchange(abort, nullptr));
    }
  }
  for (AbortFn& abort : aborts) abort(status);
  return aborts.size();
}

bool CallRegistry::WaitEmpty(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto empty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.empty(); };
  return mu_.AwaitWithTimeout(absl::Condition(&empty), timeout);
}

}  // namespace agentgateway
