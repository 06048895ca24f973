// ModelClient: the local engine's client of an OpenAI-compatible Chat Completions endpoint
// (`{base}/chat/completions`; base `https://{host}/serving-endpoints` on Databricks or any
// `.../v1`). One Complete() call is one model turn, streamed or not.
//
// Thread-safe and stateless between calls; shares the caller's HttpPool (not owned, must
// outlive every call). The bearer token is given per call (the profile's identity: an app
// token or the user's forwarded token) and never stored. Callbacks run on the call's pool
// strand, never concurrently; they must not block.
#ifndef AGENTGATEWAY_SERVER_LOCAL_MODEL_CLIENT_H_
#define AGENTGATEWAY_SERVER_LOCAL_MODEL_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/local/chat_wire.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::local {

struct ModelCallOptions {
  std::string bearer_token;  // required
  std::optional<std::chrono::steady_clock::time_point> deadline;
  upstream::Headers extra_headers;  // e.g. traceparent
};

// A turn that failed before the model answered anything and may be tried again, as the
// Supervisor adapter retries (HTTP 429, 502, 503, 504, or no connection): the failure carries
// this payload, the server's Retry-After in milliseconds ("0" when none).
inline constexpr char kRetryableTurnPayload[] = "agentgateway.dev/retryable-turn";
// The Retry-After of a retryable turn failure, or nullopt when the failure is final.
std::optional<std::chrono::milliseconds> RetryableTurnFailure(const absl::Status& status);

class ModelClient {
 public:
  using DeltaCallback = std::function<void(std::string_view text)>;
  using DoneCallback = std::function<void(absl::StatusOr<ChatResult>)>;

  // `base_url` without the `/chat/completions` suffix (a trailing '/' is fine).
  // INVALID_ARGUMENT for a URL that is not http(s).
  static absl::StatusOr<std::unique_ptr<ModelClient>> Create(upstream::HttpPool* pool,
                                                             std::string_view base_url);

  // Starts one turn. `on_delta` gets each text delta as it arrives (streamed turns; a
  // non-stream turn, or a server that answers JSON to a stream request, gives its whole text
  // as one delta). `on_done` runs exactly once with the turn or its failure:
  //   HTTP errors -> upstream::StatusFromHttpError (400 INVALID_ARGUMENT, 401, 403, 429
  //   RESOURCE_EXHAUSTED, 5xx UNAVAILABLE, ...) with the server's message; a stream cut short
  //   -> UNAVAILABLE "truncated"; a malformed answer -> INTERNAL; transport failures and the
  //   deadline as the pool reports them.
  // Returns the call's handle (Cancel() ends it with CANCELLED), or INVALID_ARGUMENT without
  // calling anything when the request cannot be built or has no token.
  absl::StatusOr<std::shared_ptr<upstream::Call>> Complete(const ChatRequest& request,
                                                           const ModelCallOptions& options,
                                                           DeltaCallback on_delta,
                                                           DoneCallback on_done) const;

  const upstream::Url& endpoint() const { return endpoint_; }

 private:
  ModelClient(upstream::HttpPool* pool, upstream::Url endpoint)
      : pool_(pool), endpoint_(std::move(endpoint)) {}

  upstream::HttpPool* pool_;
  upstream::Url endpoint_;  // the full .../chat/completions URL
};

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_MODEL_CLIENT_H_
