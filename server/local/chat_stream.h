// ChatStreamParser: incremental parser of a streamed Chat Completions answer
// (`text/event-stream` of `data: {chat.completion.chunk}` frames ending with `data: [DONE]`).
//
// Text deltas go to the sink as they are parsed, in order; tool calls are assembled by their
// `index` (id and name from the first fragment, argument fragments concatenated) and checked
// to be JSON objects at the end. Owned by one call; not thread-safe.
#ifndef AGENTGATEWAY_SERVER_LOCAL_CHAT_STREAM_H_
#define AGENTGATEWAY_SERVER_LOCAL_CHAT_STREAM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/local/chat_wire.h"
#include "server/upstream/sse_decoder.h"

namespace boost::json {
class value;
}  // namespace boost::json

namespace agentgateway::local {

class ChatStreamParser {
 public:
  using DeltaSink = std::function<void(std::string_view text)>;

  explicit ChatStreamParser(DeltaSink on_delta);

  // Consumes body bytes (any chunking). A non-OK status is final: INTERNAL for a malformed
  // chunk (not JSON, wrong shapes) or an oversized event, UNAVAILABLE for an error the model
  // server sent in the stream (`{"error": {...}}`), with its message.
  absl::Status Feed(std::string_view bytes);

  // The body ended: the assembled turn, or UNAVAILABLE ("truncated") when no
  // `finish_reason` or no `[DONE]` was seen, or INTERNAL for tool call arguments that are not
  // a JSON object.
  absl::StatusOr<ChatResult> Finish();

  bool saw_done() const { return saw_done_; }

 private:
  absl::Status OnEvent(const upstream::SseEvent& event);
  absl::Status OnToolCallDelta(const boost::json::value& delta);

  DeltaSink on_delta_;
  upstream::SseDecoder decoder_;
  absl::Status failure_;
  bool saw_done_ = false;
  ChatResult result_;
  std::map<int64_t, ToolCall> calls_;  // by `index`
  int64_t last_index_ = -1;
};

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_CHAT_STREAM_H_
