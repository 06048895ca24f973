// What both doors' retry loops share: the backoff schedule and how a status says it was
// retried. Internal to client/.
#ifndef AGENTGATEWAY_CLIENT_RETRY_H_
#define AGENTGATEWAY_CLIENT_RETRY_H_

#include <chrono>

#include "absl/status/status.h"

namespace agentgateway::client {

// Exponential backoff with jitter: each Next() is drawn from [b/2, b], then b doubles up to
// `max`. One per call; not thread-safe.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  std::chrono::milliseconds Next();

 private:
  std::chrono::milliseconds current_;
  std::chrono::milliseconds max_;
};

// The same code and payloads, with " (after N attempts)" when there were several.
absl::Status WithAttempts(const absl::Status& status, int attempts);

}  // namespace agentgateway::client

#endif  // AGENTGATEWAY_CLIENT_RETRY_H_
