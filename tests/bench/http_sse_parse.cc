#include "tests/bench/http_sse_parse.h"

#include <algorithm>
#include <cstring>

namespace agentgateway::bench {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);  // ASCII header names and tokens only
         });
}

bool IContains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (IEquals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

HttpResponseParser::Result HttpResponseParser::Fail(std::string message) {
  state_ = State::kError;
  error_ = std::move(message);
  return Result::kError;
}

HttpResponseParser::Result HttpResponseParser::Feed(std::string_view in, std::size_t* consumed,
                                                    BodyFn on_body) {
  std::size_t i = 0;
  if (!in.empty()) started_ = true;
  while (i < in.size()) {
    switch (state_) {
      case State::kHead: {
        // Only the new bytes can complete the blank line (plus 3 bytes before them).
        std::size_t old = head_.size();
        head_.append(in.substr(i));
        std::size_t from = old >= 3 ? old - 3 : 0;
        std::size_t end = head_.find("\r\n\r\n", from);
        std::size_t term = 4;
        if (std::size_t lf = head_.find("\n\n", from);
            lf != std::string::npos && (end == std::string::npos || lf < end)) {
          end = lf;
          term = 2;
        }
        if (end == std::string::npos) {
          if (head_.size() > kMaxHead) return Fail("response head too large");
          i = in.size();
          break;
        }
        i += end + term - old;
        head_.resize(end);
        if (Result r = ParseHead(); r != Result::kNeedMore) {
          *consumed = i;
          return r;
        }
        break;
      }
      case State::kLength:
      case State::kChunkData: {
        std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, in.size() - i));
        on_body(in.substr(i, n));
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) {
          if (state_ == State::kLength) {
            state_ = State::kDone;
            *consumed = i;
            return Result::kDone;
          }
          state_ = State::kChunkDataEnd;
          line_len_ = 0;
        }
        break;
      }
      case State::kUntilClose:
        on_body(in.substr(i));
        i = in.size();
        break;
      case State::kChunkDataEnd: {
        // The CRLF after a chunk's data.
        char c = in[i++];
        if (c == '\r' && line_len_ == 0) {
          line_len_ = 1;
        } else if (c == '\n') {
          state_ = State::kChunkSize;
          size_digits_ = 0;
          in_extension_ = false;
          line_len_ = 0;
          remaining_ = 0;
        } else {
          return Fail("chunk data not followed by CRLF");
        }
        break;
      }
      case State::kChunkSize:
        if (!ChunkSizeByte(in[i++])) return Fail("malformed chunk size line");
        break;
      case State::kTrailer: {
        // Trailer lines until an empty one; line_len_ counts bytes before '\r'/'\n'.
        char c = in[i++];
        if (c == '\n') {
          if (line_len_ == 0) {
            state_ = State::kDone;
            *consumed = i;
            return Result::kDone;
          }
          line_len_ = 0;
        } else if (c != '\r') {
          if (++line_len_ > kMaxLine) return Fail("trailer line too long");
        }
        break;
      }
      case State::kDone:
        *consumed = i;
        return Result::kDone;
      case State::kError:
        *consumed = i;
        return Result::kError;
    }
  }
  *consumed = i;
  if (state_ == State::kDone) return Result::kDone;
  return state_ == State::kError ? Result::kError : Result::kNeedMore;
}

bool HttpResponseParser::ChunkSizeByte(char c) {
  if (++line_len_ > kMaxLine) return false;
  if (c == '\n') {
    if (size_digits_ == 0) return false;
    if (remaining_ == 0) {
      state_ = State::kTrailer;
      line_len_ = 0;
    } else {
      state_ = State::kChunkData;
    }
    return true;
  }
  if (in_extension_ || c == '\r') return true;  // extensions are ignored
  if (c == ';') {
    in_extension_ = true;
    return true;
  }
  if (c == ' ' || c == '\t') return size_digits_ > 0 ? (in_extension_ = true) : true;
  int v = HexValue(c);
  if (v < 0 || ++size_digits_ > 15) return false;
  remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(v);
  return true;
}

HttpResponseParser::Result HttpResponseParser::ParseHead() {
  std::string_view head = head_;
  std::size_t eol = head.find('\n');
  std::string_view status_line = Trim(head.substr(0, eol));
  head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" ||
      status_line[8] != ' ') {
    return Fail("malformed status line: " + std::string(status_line.substr(0, 80)));
  }
  if (status_line.substr(5, 3) == "1.0") keep_alive_ = false;
  status_ = 0;
  for (int k = 9; k < 12; ++k) {
    char c = status_line[static_cast<std::size_t>(k)];
    if (c < '0' || c > '9') return Fail("malformed status code");
    status_ = status_ * 10 + (c - '0');
  }
  while (!head.empty()) {
    eol = head.find('\n');
    std::string_view line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
    if (!ParseHeader(line)) return Result::kError;
  }
  if (status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200)) {
    if (status_ < 200) return Fail("interim (1xx) responses are not supported");
    state_ = State::kDone;
    return Result::kDone;
  }
  if (chunked_) {
    state_ = State::kChunkSize;
  } else if (content_length_ >= 0) {
    remaining_ = static_cast<std::uint64_t>(content_length_);
    state_ = State::kLength;
    if (remaining_ == 0) {
      state_ = State::kDone;
      return Result::kDone;
    }
  } else {
    state_ = State::kUntilClose;
    keep_alive_ = false;
  }
  return Result::kNeedMore;
}

bool HttpResponseParser::ParseHeader(std::string_view line) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    Fail("malformed header line: " + std::string(line.substr(0, 80)));
    return false;
  }
  std::string_view name = line.substr(0, colon);
  std::string_view value = Trim(line.substr(colon + 1));
  if (IEquals(name, "content-length")) {
    if (value.empty() || value.size() > 15 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      Fail("malformed Content-Length");
      return false;
    }
    content_length_ = std::stoll(std::string(value));
  } else if (IEquals(name, "transfer-encoding")) {
    chunked_ = IContains(value, "chunked");
  } else if (IEquals(name, "connection")) {
    if (IContains(value, "close")) keep_alive_ = false;
    if (IContains(value, "keep-alive")) keep_alive_ = true;
  } else if (IEquals(name, "content-type")) {
    content_type_ = std::string(value);
  }
  return true;
}

HttpResponseParser::Result HttpResponseParser::OnEof() {
  if (state_ == State::kUntilClose || state_ == State::kDone) {
    state_ = State::kDone;
    return Result::kDone;
  }
  if (state_ == State::kError) return Result::kError;
  return Fail(state_ == State::kHead ? "connection closed before the response head"
                                     : "connection closed inside the response body");
}

bool SseSplitter::EndLine() {
  // line_len_ includes a trailing '\r' if the line ended in "\r\n".
  std::size_t len = line_len_;
  if (len > 0 && len <= sizeof head_ && head_[len - 1] == '\r') --len;
  line_len_ = 0;
  if (len == 0) {
    bool had_data = event_has_data_;
    event_has_data_ = false;
    event_has_field_ = false;
    return had_data;
  }
  if (head_[0] == ':') return false;  // a comment
  event_has_field_ = true;
  // The field name is "data" when the line is "data", "data\r" or starts with "data:".
  if (len >= 4 && std::memcmp(head_, "data", 4) == 0 && (len == 4 || head_[4] == ':')) {
    event_has_data_ = true;
  }
  return false;
}

int SseSplitter::Feed(std::string_view body) {
  int events = 0;
  const char* p = body.data();
  const char* end = p + body.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    // Only the first bytes of a line decide anything.
    std::size_t rest = static_cast<std::size_t>(line_end - p);
    std::size_t room = line_len_ < sizeof head_ ? sizeof head_ - line_len_ : 0;
    if (room > 0) std::memcpy(head_ + line_len_, p, std::min(rest, room));
    line_len_ += rest;
    if (nl == nullptr) break;
    if (EndLine()) ++events;
    p = nl + 1;
  }
  return events;
}

}  // namespace agentgateway::bench
