#include "server/upstream/sse_decoder.h"

#include <cstring>
#include <utility>

namespace agentgateway::upstream {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Where the first CR or LF of `s` is, or npos. Two memchr passes instead of find_first_of,
// which libstdc++ runs as one memchr over the set per byte (the decoder's top cost under load).
std::size_t FindLineEnd(std::string_view s) {
  const char* begin = s.data();
  const void* lf = std::memchr(begin, '\n', s.size());
  const std::size_t limit = lf ? static_cast<const char*>(lf) - begin : s.size();
  if (const void* cr = std::memchr(begin, '\r', limit)) return static_cast<const char*>(cr) - begin;
  return lf ? limit : std::string_view::npos;
}

}  // namespace

SseDecoder::SseDecoder(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

void SseDecoder::Feed(std::string_view chunk, const Sink& sink) {
  if (overflowed_) return;  // the stream is already judged broken; keep no more state
  if (!seen_bom_check_) {
    // The BOM may itself be split across chunks: hold back bytes until we know whether the
    // stream starts with it.
    line_.append(chunk);
    if (line_.size() < kBom.size() && kBom.substr(0, line_.size()) == line_) return;
    seen_bom_check_ = true;
    std::string start = std::move(line_);
    line_.clear();
    std::string_view rest = start;
    if (rest.substr(0, kBom.size()) == kBom) rest.remove_prefix(kBom.size());
    Feed(rest, sink);
    return;
  }

  while (!chunk.empty()) {
    if (last_was_cr_) {
      last_was_cr_ = false;
      // CR then LF is one line end, even when a chunk boundary falls between them.
      if (chunk.front() == '\n') {
        chunk.remove_prefix(1);
        continue;
      }
    }
    const std::size_t end = FindLineEnd(chunk);
    if (end == std::string_view::npos) {
      line_.append(chunk);
      if (pending_bytes_ + line_.size() > max_event_bytes_) SetOverflowed();
      return;
    }
    last_was_cr_ = chunk[end] == '\r';
    std::string_view line = chunk.substr(0, end);
    if (!line_.empty()) {
      line_.append(line);
      std::string whole = std::move(line_);
      line_.clear();
      ProcessLine(whole, sink);
    } else {
      ProcessLine(line, sink);
    }
    if (overflowed_) return;
    chunk.remove_prefix(end + 1);
  }
}

void SseDecoder::ProcessLine(std::string_view line, const Sink& sink) {
  if (line.empty()) {
    Dispatch(sink);
    return;
  }
  if (line.front() == ':') return;  // comment (often a keep-alive heartbeat)
  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    pending_.data.append(value);
    pending_.data.push_back('\n');
    pending_has_data_ = true;
    pending_bytes_ += value.size() + 1;
  } else if (field == "event") {
    pending_bytes_ += value.size();
    pending_.event.assign(value);
  } else if (field == "id") {
    // Per the spec an id containing NUL is ignored; the id then persists across events.
    if (value.find('\0') == std::string_view::npos) pending_.id.assign(value);
  }
  // `retry:` and unknown fields are ignored (we do not reconnect on our own).
  if (pending_bytes_ + pending_.id.size() > max_event_bytes_) SetOverflowed();
}

void SseDecoder::Dispatch(const Sink& sink) {
  std::string id = pending_.id;  // the last event id outlives the event (spec)
  if (!pending_has_data_) {
    // An event with no data lines is not dispatched; its type is forgotten.
    pending_.event.clear();
    pending_bytes_ = 0;
    return;
  }
  pending_.data.pop_back();  // the '\n' appended after the last data line
  SseEvent event = std::move(pending_);
  pending_ = SseEvent{};
  pending_.id = std::move(id);
  pending_has_data_ = false;
  pending_bytes_ = 0;
  sink(std::move(event));
}

void SseDecoder::SetOverflowed() {
  // The stream is judged broken: drop what was buffered so memory stays bounded; the caller
  // sees overflowed() and ends the stream with an error.
  overflowed_ = true;
  line_.clear();
  line_.shrink_to_fit();
  pending_ = SseEvent{};
  pending_has_data_ = false;
  pending_bytes_ = 0;
}

void SseDecoder::Finish() {
  if (!overflowed_ && (!line_.empty() || pending_has_data_ || !pending_.event.empty())) {
    had_partial_ = true;
  }
  line_.clear();
  last_was_cr_ = false;
  std::string id = std::move(pending_.id);
  pending_ = SseEvent{};
  pending_.id = std::move(id);
  pending_has_data_ = false;
  pending_bytes_ = 0;
}

}  // namespace agentgateway::upstream
