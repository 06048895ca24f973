// Incremental decoder for text/event-stream (WHATWG "server-sent events" parsing rules).
//
// Owned by one stream; not thread-safe. Feed() accepts any chunking of the byte stream
// (a boundary may fall inside a line, inside a CRLF pair or inside a UTF-8 sequence) and
// emits each complete event exactly once. It never fails: malformed lines are ignored as the
// SSE rules say, and non-JSON data is delivered as-is for the caller to judge.
#ifndef AGENTGATEWAY_SERVER_UPSTREAM_SSE_DECODER_H_
#define AGENTGATEWAY_SERVER_UPSTREAM_SSE_DECODER_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace agentgateway::upstream {

struct SseEvent {
  std::string event;  // the `event:` field; empty when the event named none
  std::string data;   // `data:` lines joined with '\n' (no trailing newline)
  std::string id;     // the `id:` field, if any
};

class SseDecoder {
 public:
  using Sink = std::function<void(SseEvent&&)>;

  // Upper bound on one event's buffered size; a longer event is an error the caller sees via
  // overflowed() (protects against an upstream that never ends a line).
  explicit SseDecoder(std::size_t max_event_bytes = 8u << 20);

  // Consumes `chunk`; calls `sink` for every event completed by it, in order.
  void Feed(std::string_view chunk, const Sink& sink);

  // End of stream: a final event not followed by a blank line is discarded (per the spec),
  // but reported through had_partial_event() so the caller can treat it as truncation.
  // After overflow, Feed() ignores further input and had_partial_event() stays false.
  void Finish();

  bool overflowed() const { return overflowed_; }
  bool had_partial_event() const { return had_partial_; }

 private:
  void ProcessLine(std::string_view line, const Sink& sink);
  void Dispatch(const Sink& sink);
  void SetOverflowed();

  std::size_t max_event_bytes_;
  std::string line_;         // bytes of the current, unterminated line
  bool last_was_cr_ = false; // a '\r' ended the previous chunk: swallow a following '\n'
  bool seen_bom_check_ = false;
  SseEvent pending_;
  bool pending_has_data_ = false;
  std::size_t pending_bytes_ = 0;
  bool overflowed_ = false;
  bool had_partial_ = false;
};

}  // namespace agentgateway::upstream

#endif  // AGENTGATEWAY_SERVER_UPSTREAM_SSE_DECODER_H_
