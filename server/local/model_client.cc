#include "server/local/model_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/local/chat_stream.h"
#include "server/supervisor_engine.h"
#include "server/upstream/error_mapping.h"

namespace agentgateway::local {
namespace {

constexpr std::size_t kMaxBufferedBody = 16u << 20;

absl::Status Retryable(absl::Status status, std::chrono::milliseconds retry_after) {
  status.SetPayload(kRetryableTurnPayload, absl::Cord(std::to_string(retry_after.count())));
  return status;
}

// One turn's response. Held by the pool (shared_ptr) until OnComplete; touched only on the
// call's strand.
class TurnHandler : public upstream::ResponseHandler {
 public:
  TurnHandler(bool stream, ModelClient::DeltaCallback on_delta, ModelClient::DoneCallback on_done)
      : stream_requested_(stream),
        on_delta_(std::move(on_delta)),
        on_done_(std::move(on_done)),
        parser_(on_delta_) {}

  void OnHead(const upstream::HttpResponseHead& head) override {
    status_ = head.status;
    retry_after_ = std::string(head.Header("Retry-After"));
    std::string type = absl::AsciiStrToLower(std::string(head.Header("Content-Type")));
    // A server may answer a stream request with one JSON body: accept it.
    sse_ = stream_requested_ && absl::StrContains(type, "text/event-stream");
  }

  bool OnBody(std::string_view bytes) override {
    if (!failure_.ok()) return true;  // drain; the outcome is already decided
    if (Ok() && sse_) {
      failure_ = parser_.Feed(bytes);
      return true;
    }
    if (body_.size() + bytes.size() > kMaxBufferedBody) {
      failure_ = absl::InternalError("model answer exceeds the size limit");
      return true;
    }
    body_.append(bytes);
    return true;
  }

  void OnComplete(absl::Status status) override {
    DoneCallback done = std::move(on_done_);
    if (!failure_.ok()) return done(failure_);
    if (!status.ok()) {
      // A reset or timeout after a head that was an HTTP error still reports the HTTP error.
      if (!Ok() && status_ != 0 && !body_.empty()) return done(HttpError());
      if (status_ == 0 && upstream::IsConnectFailure(status)) {
        return done(Retryable(std::move(status), std::chrono::milliseconds(0)));
      }
      return done(status);
    }
    if (!Ok()) return done(HttpError());
    if (sse_) return done(parser_.Finish());
    absl::StatusOr<ChatResult> result = ParseChatCompletion(body_);
    if (result.ok() && !result->text.empty() && on_delta_) on_delta_(result->text);
    done(std::move(result));
  }

  bool ConnectionReusable() override { return failure_.ok() && (!sse_ || parser_.saw_done()); }

 private:
  using DoneCallback = ModelClient::DoneCallback;
  bool Ok() const { return status_ >= 200 && status_ < 300; }

  absl::Status HttpError() const {
    absl::Status s = upstream::StatusFromHttpError(status_, body_);
    if (!retry_after_.empty()) {
      s = absl::Status(s.code(), absl::StrCat(s.message(), " (Retry-After: ", retry_after_, ")"));
    }
    return RetryableHttpStatus(status_) ? Retryable(std::move(s), RetryAfterValue(retry_after_))
                                        : s;
  }

  const bool stream_requested_;
  ModelClient::DeltaCallback on_delta_;
  DoneCallback on_done_;
  ChatStreamParser parser_;
  int status_ = 0;
  bool sse_ = false;
  std::string retry_after_;
  std::string body_;  // non-stream answers and error bodies
  absl::Status failure_;
};

}  // namespace

std::optional<std::chrono::milliseconds> RetryableTurnFailure(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryableTurnPayload);
  if (!payload.has_value()) return std::nullopt;
  long long ms = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &ms) || ms < 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(ms);
}

absl::StatusOr<std::unique_ptr<ModelClient>> ModelClient::Create(upstream::HttpPool* pool,
                                                                 std::string_view base_url) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  absl::StatusOr<upstream::Url> endpoint = upstream::Url::Parse(url + "/chat/completions");
  if (!endpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model endpoint base URL '", std::string(base_url), "': ", endpoint.status().message()));
  }
  return std::unique_ptr<ModelClient>(new ModelClient(pool, *std::move(endpoint)));
}

absl::StatusOr<std::shared_ptr<upstream::Call>> ModelClient::Complete(
    const ChatRequest& request, const ModelCallOptions& options, DeltaCallback on_delta,
    DoneCallback on_done) const {
  if (options.bearer_token.empty()) {
    return absl::InvalidArgumentError("model call without a bearer token");
  }
  absl::StatusOr<std::string> body = BuildChatRequestBody(request);
  if (!body.ok()) return body.status();
  upstream::HttpRequest http;
  http.method = "POST";
  http.url = endpoint_;
  http.headers = {{"Authorization", absl::StrCat("Bearer ", options.bearer_token)},
                  {"Content-Type", "application/json"},
                  {"Accept", request.stream ? "text/event-stream" : "application/json"}};
  for (const auto& header : options.extra_headers) http.headers.push_back(header);
  http.body = *std::move(body);
  http.deadline = options.deadline;
  http.deadline_reason = "the model call's deadline";
  auto handler =
      std::make_shared<TurnHandler>(request.stream, std::move(on_delta), std::move(on_done));
  return pool_->Start(std::move(http), std::move(handler));
}

}  // namespace agentgateway::local
