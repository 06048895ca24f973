// Incremental parsing for sse_load: an HTTP/1.1 response (head, then a chunked,
// Content-Length or close-delimited body) fed in arbitrary pieces, and an SSE event splitter
// over the body bytes. Both are plain value types with no I/O, owned by one connection.
#ifndef AGENTGATEWAY_TESTS_BENCH_HTTP_SSE_PARSE_H_
#define AGENTGATEWAY_TESTS_BENCH_HTTP_SSE_PARSE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace agentgateway::bench {

// One HTTP/1.1 response, bytes in, decoded body bytes out. Reset() before the next response
// on a kept-alive connection.
class HttpResponseParser {
 public:
  enum class Result { kNeedMore, kDone, kError };
  using BodyFn = absl::FunctionRef<void(std::string_view)>;

  // Consumes bytes of `in` (all of them unless the response ends inside it: `*consumed` says
  // how many) and hands decoded body bytes to `on_body`. kError leaves the reason in error().
  Result Feed(std::string_view in, std::size_t* consumed, BodyFn on_body);
  // The peer closed: kDone when the body is close-delimited, kError otherwise.
  Result OnEof();
  void Reset() { *this = HttpResponseParser(); }

  bool head_done() const { return state_ != State::kHead; }
  bool started() const { return started_; }
  int status() const { return status_; }
  // False for HTTP/1.0 without keep-alive, `Connection: close`, or a close-delimited body.
  bool keep_alive() const { return keep_alive_; }
  const std::string& content_type() const { return content_type_; }
  const std::string& error() const { return error_; }

 private:
  enum class State { kHead, kLength, kUntilClose, kChunkSize, kChunkData, kChunkDataEnd,
                     kTrailer, kDone, kError };
  static constexpr std::size_t kMaxHead = 64 * 1024;
  static constexpr std::size_t kMaxLine = 1024;  // a chunk-size or trailer line

  Result ParseHead();
  bool ParseHeader(std::string_view line);
  Result Fail(std::string message);
  // Advances over one byte of a chunk-size line; false on a malformed line.
  bool ChunkSizeByte(char c);

  State state_ = State::kHead;
  bool started_ = false;  // at least one byte arrived
  std::string head_;      // the head until its blank line
  int status_ = 0;
  bool keep_alive_ = true;
  bool chunked_ = false;
  std::int64_t content_length_ = -1;
  std::string content_type_;
  std::uint64_t remaining_ = 0;  // body bytes left (Content-Length or current chunk)
  // Chunk-size line: digits seen, whether an extension (';') started, and the line length.
  int size_digits_ = 0;
  bool in_extension_ = false;
  std::size_t line_len_ = 0;
  std::string error_;
};

// Splits SSE body bytes into events (a blank line ends one; lines end in "\n" or "\r\n") and
// counts the events that carried at least one `data` field. Comments (":...") and events with
// only `event:`/`id:` fields are not counted.
class SseSplitter {
 public:
  // Returns how many events with data ended inside `body`.
  int Feed(std::string_view body);
  // An event was started (some field line seen) and has not ended yet.
  bool InEvent() const { return line_len_ > 0 || event_has_data_ || event_has_field_; }
  void Reset() { *this = SseSplitter(); }

 private:
  // Ends the current line; returns true when it ended an event with data.
  bool EndLine();

  char head_[5] = {};        // first bytes of the current line, enough to tell "data:"
  std::size_t line_len_ = 0;  // bytes of the current line so far, '\r' included
  bool event_has_data_ = false;
  bool event_has_field_ = false;
};

}  // namespace agentgateway::bench

#endif  // AGENTGATEWAY_TESTS_BENCH_HTTP_SSE_PARSE_H_
