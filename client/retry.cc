#include "client/retry.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace agentgateway::client {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : current_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, current_)) {}

std::chrono::milliseconds Backoff::Next() {
  thread_local absl::BitGen bits;
  const int64_t half = current_.count() / 2;
  const std::chrono::milliseconds wait(
      half + absl::Uniform<int64_t>(absl::IntervalClosed, bits, 0, current_.count() - half));
  current_ = std::min(current_ * 2, max_);
  return wait;
}

absl::Status WithAttempts(const absl::Status& status, int attempts) {
  if (status.ok() || attempts <= 1) return status;
  absl::Status out(status.code(),
                   absl::StrCat(status.message(), " (after ", attempts, " attempts)"));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace agentgateway::client
