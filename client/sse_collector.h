// SseCollector: one streamed POST to the REST door, as the HTTP pool's ResponseHandler. It
// decodes the MLflow SSE framing (`data: <event JSON>`, `data: {"error": "..."}`,
// `data: [DONE]`) and hands each event frame to the callback on the pool's thread, while the
// calling thread waits. A callback that says stop pauses the read; the waiting thread then
// cancels the call. Internal to client/ (RestDoor).
//
// Thread-safety: the pool calls the handler methods one at a time on its strand; mu_ guards
// what the waiting thread reads before completion; the rest is read only after OnComplete.
#ifndef AGENTGATEWAY_CLIENT_SSE_COLLECTOR_H_
#define AGENTGATEWAY_CLIENT_SSE_COLLECTOR_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "server/upstream/http_pool.h"
#include "server/upstream/sse_decoder.h"

namespace agentgateway::client {

// One SSE data frame: the event's type (from its JSON; empty for the trace id frame) and JSON.
// Return false to stop the stream.
using DataCallback = std::function<bool(std::string_view type, std::string_view json)>;

class SseCollector final : public upstream::ResponseHandler {
 public:
  // `on_data` must outlive the call (the waiting thread's frame holds it).
  explicit SseCollector(const DataCallback& on_data) : on_data_(on_data) {}

  void OnHead(const upstream::HttpResponseHead& head) override;
  bool OnBody(std::string_view bytes) override;
  void OnComplete(absl::Status status) override;

  // Blocks until the call completed, or the callback asked to stop (true then).
  bool WaitStopped();
  void WaitComplete();

  // After completion: whether an event reached the callback (a retry is no longer safe), and
  // the call's outcome (`base_url` names the gateway in errors).
  bool events_seen() const { return events_seen_; }
  absl::Status Outcome(const std::string& base_url);

 private:
  int HttpStatus();
  bool OnData(const std::string& data);  // one `data:` frame; false to stop

  const DataCallback& on_data_;
  upstream::SseDecoder decoder_;
  bool done_ = false;  // [DONE] seen
  bool events_seen_ = false;
  std::string error_message_;  // of an error frame
  std::string error_body_;     // of a non-200 answer (bounded)

  std::mutex mu_;
  std::condition_variable cv_;
  int http_status_ = 0;  // guarded by mu_; 0 until the head arrived
  bool stopped_ = false;
  bool complete_ = false;
  absl::Status transport_;
};

}  // namespace agentgateway::client

#endif  // AGENTGATEWAY_CLIENT_SSE_COLLECTOR_H_
