// SupervisorEngine: runs a request as one call to the Databricks Supervisor API
// (POST {base}/responses), relaying its SSE events in order, and polls background runs
// (GET {base}/responses/{id}).
//
// Shared by all requests and thread-safe: immutable after construction except for the retry
// budget and the table of background runs, each behind its own lock. Each run's state lives in
// its own handler object owned by the HTTP pool for the call's duration.
#ifndef AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_
#define AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/engine.h"
#include "server/upstream/http_pool.h"

namespace agentgateway {

// The status a failed upstream stream ends with, given an `error` event's data (any of the
// three error shapes of protocol.md §1).
absl::Status StatusFromErrorEvent(std::string_view data);

// True when `id` may name a background run: 1-256 characters of [A-Za-z0-9_-], so it can go
// into the upstream URL path as is.
bool IsValidResponseId(std::string_view id);

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

// The pieces of that policy other engines share (the local engine's model turns):
// whether an HTTP answer is worth retrying (429, 502, 503, 504),
bool RetryableHttpStatus(int status);
// a Retry-After value in whole seconds (the HTTP-date form counts as absent), capped at a
// minute,
std::chrono::milliseconds RetryAfterValue(std::string_view value);
// and the delay before attempt `attempt + 1`: full jitter under the exponential cap, at least
// `retry_after`.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt,
                                       std::chrono::milliseconds retry_after);

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

  // Background runs this engine started, by id: the identity kind they run as and the input
  // items they were sent (as canonical JSON hashes), which a finished run's output echoes
  // first (upstream quirk). Bounded: beyond `capacity` the oldest run is forgotten, and its
  // polls then pass through unchanged. Thread-safe.
  class BackgroundRuns {
   public:
    struct Run {
      std::string auth;                     // the profile's auth kind: "app" | "user"
      std::vector<std::uint64_t> input;     // CanonicalJsonHash of each input item, in order
    };
    explicit BackgroundRuns(std::size_t capacity) : capacity_(capacity) {}
    void Add(std::string id, std::shared_ptr<const Run> run);
    std::shared_ptr<const Run> Find(std::string_view id);

   private:
    absl::Mutex mu_;
    const std::size_t capacity_;
    absl::flat_hash_map<std::string, std::shared_ptr<const Run>> runs_ ABSL_GUARDED_BY(mu_);
    std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);  // oldest first
  };

  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    std::shared_ptr<EventSink> sink) override;
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context, InvokeDone done) override;
  // GET {base}/responses/{id}, with Invoke's identity headers, error mapping and safe retries.
  // For a run this engine started: a poll under the other identity kind is refused
  // (PERMISSION_DENIED) before anything is sent, and the echoed input items are cut from the
  // front of `output` when they match what was sent exactly (else the answer is unchanged).
  absl::StatusOr<std::shared_ptr<RunHandle>> Poll(const Profile& profile, std::string id,
                                                  RunContext context, InvokeDone done) override;

 private:
  SupervisorEngine(upstream::HttpPool* pool, upstream::Url responses_url, RetryPolicy retry)
      : pool_(pool),
        responses_url_(std::move(responses_url)),
        retry_(retry),
        budget_(retry.budget_ratio, retry.budget_reserve) {}
  upstream::HttpRequest MakeRequest(std::string body, const RunContext& context,
                                    bool stream) const;
  // Starts a non-streaming call whose outcome goes to `done`.
  std::shared_ptr<RunHandle> StartUnary(upstream::HttpRequest request, InvokeDone done,
                                        std::shared_ptr<std::atomic<int>> retries);

  upstream::HttpPool* pool_;
  upstream::Url responses_url_;
  const RetryPolicy retry_;
  RetryBudget budget_;
  BackgroundRuns background_{10'000};
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_
