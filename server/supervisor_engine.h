// SupervisorEngine: runs a request as one call to the Databricks Supervisor API
// (POST {base}/responses), relaying its SSE events in order.
//
// Shared by all requests; immutable after construction, so thread-safe. Each run's state lives
// in its own handler object owned by the HTTP pool for the call's duration.
#ifndef AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_
#define AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_

#include <memory>
#include <string>

#include "server/engine.h"
#include "server/upstream/http_pool.h"

namespace agentgateway {

// The status a failed upstream stream ends with, given an `error` event's data (any of the
// three error shapes of protocol.md §1).
absl::Status StatusFromErrorEvent(std::string_view data);

class SupervisorEngine final : public Engine {
 public:
  // `pool` must outlive the engine. `base_url` is the URL just before `/responses`.
  static absl::StatusOr<std::unique_ptr<SupervisorEngine>> Create(upstream::HttpPool* pool,
                                                                  std::string base_url);

  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    std::shared_ptr<EventSink> sink) override;
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context, InvokeDone done) override;

 private:
  SupervisorEngine(upstream::HttpPool* pool, upstream::Url responses_url)
      : pool_(pool), responses_url_(std::move(responses_url)) {}
  upstream::HttpRequest MakeRequest(std::string body, const RunContext& context,
                                    bool stream) const;

  upstream::HttpPool* pool_;
  upstream::Url responses_url_;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_SUPERVISOR_ENGINE_H_
