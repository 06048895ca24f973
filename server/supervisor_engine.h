// SupervisorEngine: runs a request as one call to the Databricks Supervisor API
// (POST {base}/responses), relaying its SSE events in order.
//
// Shared by all requests; immutable after construction, so thread-safe. Each run's state lives
// in its own handler object owned by the HTTP pool for the call's duration.
#ifndef AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_
#define AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "server/engine.h"
#include "server/upstream/http_pool.h"

namespace agentgateway {

// The status a failed upstream stream ends with, given an `error` event's data (any of the
// three error shapes of protocol.md §1).
absl::Status StatusFromErrorEvent(std::string_view data);

// Safe retries (design.md "Safe retries only"): a call is retried only when nothing has been
// relayed to the caller and the upstream cannot have started work: a failure to connect, or an
// answer of 429, 502, 503 or 504. Backoff is exponential with full jitter, at least the
// upstream's Retry-After, within the per-request attempt and time budget, and within a
// process-wide budget (retries may add at most `budget_ratio` of the request rate, plus a
// small reserve) so an outage is never amplified.
struct RetryPolicy {
  int max_attempts = 3;                           // first try included
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{4'000};
  std::chrono::milliseconds max_total_wait{10'000};  // per request, Retry-After included
  double budget_ratio = 0.2;
  double budget_reserve = 10;
};

class SupervisorEngine final : public Engine {
 public:
  // `pool` must outlive the engine. `base_url` is the URL just before `/responses`.
  static absl::StatusOr<std::unique_ptr<SupervisorEngine>> Create(upstream::HttpPool* pool,
                                                                  std::string base_url,
                                                                  RetryPolicy retry = {});

  // Process-wide retry budget, shared by every run of this engine. Thread-safe.
  class RetryBudget {
   public:
    RetryBudget(double ratio, double reserve) : ratio_(ratio), tokens_(reserve), cap_(reserve) {}
    void OnRequest();
    bool TryWithdraw();  // true: a retry may go ahead

   private:
    absl::Mutex mu_;
    const double ratio_;
    double tokens_ ABSL_GUARDED_BY(mu_);
    const double cap_;
  };

  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    std::shared_ptr<EventSink> sink) override;
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context, InvokeDone done) override;

 private:
  SupervisorEngine(upstream::HttpPool* pool, upstream::Url responses_url, RetryPolicy retry)
      : pool_(pool),
        responses_url_(std::move(responses_url)),
        retry_(retry),
        budget_(retry.budget_ratio, retry.budget_reserve) {}
  upstream::HttpRequest MakeRequest(std::string body, const RunContext& context,
                                    bool stream) const;

  upstream::HttpPool* pool_;
  upstream::Url responses_url_;
  const RetryPolicy retry_;
  RetryBudget budget_;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_
