#include "client/sse_collector.h"

#include "client/json_fields.h"
#include "client/rest_errors.h"

namespace agentgateway::client {
namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

}  // namespace

void SseCollector::OnHead(const upstream::HttpResponseHead& head) {
  std::lock_guard lock(mu_);
  http_status_ = head.status;
}

bool SseCollector::OnBody(std::string_view bytes) {
  if (HttpStatus() != 200) {
    if (error_body_.size() < kMaxErrorBody) {
      error_body_.append(bytes.substr(0, kMaxErrorBody - error_body_.size()));
    }
    return true;
  }
  bool keep_reading = true;
  decoder_.Feed(bytes, [&](upstream::SseEvent&& event) {
    if (keep_reading && !done_) keep_reading = OnData(event.data);
  });
  if (!keep_reading) {
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  return keep_reading;
}

void SseCollector::OnComplete(absl::Status status) {
  std::lock_guard lock(mu_);
  transport_ = std::move(status);
  complete_ = true;
  cv_.notify_all();
}

bool SseCollector::WaitStopped() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return complete_ || stopped_; });
  return stopped_;
}

void SseCollector::WaitComplete() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return complete_; });
}

absl::Status SseCollector::Outcome(const std::string& base_url) {
  std::lock_guard lock(mu_);
  if (stopped_) return absl::CancelledError("stream stopped by the caller");
  if (http_status_ != 0 && http_status_ != 200) {
    // An error answer whose body never arrived whole (our own deadline, a reset): the
    // transport's reason says more than a status with a cut body.
    if (!transport_.ok()) return TransportError(transport_, /*head_received=*/true, base_url);
    return HttpError(http_status_, error_body_);
  }
  // The MLflow framing's error frame carries the message only, not the code.
  if (!error_message_.empty()) return absl::UnknownError(error_message_);
  if (!transport_.ok()) return TransportError(transport_, http_status_ != 0, base_url);
  if (!done_) {
    return absl::UnavailableError("the event stream ended without data: [DONE] (cut short)");
  }
  return absl::OkStatus();
}

int SseCollector::HttpStatus() {
  std::lock_guard lock(mu_);
  return http_status_;
}

bool SseCollector::OnData(const std::string& data) {
  if (data == "[DONE]") {
    done_ = true;
    return true;
  }
  boost::json::object frame = ParseObject(data);
  const std::string type = StringField(frame, "type");
  if (type.empty() && frame.contains("error")) {
    error_message_ = ErrorMessage(data);
    return true;
  }
  events_seen_ = events_seen_ || !type.empty();
  return on_data_(type, data);
}

}  // namespace agentgateway::client
