#include "gateway/sse_framing.h"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include "gateway/text.h"
#include "gateway/json_span.h"

namespace agentgateway::gateway {
namespace {

// SSE data must not contain raw newlines (each would start a new field); upstream JSON is
// compact, but a pretty-printed or non-JSON payload is split into one data line per line.
std::string DataLines(std::string_view payload) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    std::size_t nl = payload.find('\n', start);
    std::string_view line = payload.substr(start, nl == std::string_view::npos ? nl : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Append(&out, "data: ", line, "\n");
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

// Inserts `"key":value,` after the opening brace of the object text `json`.
std::string InsertFirst(std::string_view json, std::string_view key, std::string_view value) {
  std::size_t open = json_span::SkipWhitespace(json, 0);
  std::size_t after = json_span::SkipWhitespace(json, open + 1);
  bool empty = after < json.size() && json[after] == '}';
  return Cat(json.substr(0, open + 1), "\"", key, "\":", value, empty ? "" : ",",
                      json.substr(open + 1));
}

// The exact text of the top-level member `key` of the object `json`, if there is one.
std::optional<std::string_view> MemberValue(std::string_view json, std::string_view key) {
  auto members = json_span::ObjectMembers(json);
  if (!members.ok()) return std::nullopt;
  for (const json_span::Member& member : *members) {
    if (member.key == key) return member.value;
  }
  return std::nullopt;
}

// The object `json` with the value of its top-level member `key` replaced by `value` (the
// member inserted first when absent); every other byte stays.
std::string WithMember(std::string_view json, std::string_view key, std::string_view value) {
  std::optional<std::string_view> old = MemberValue(json, key);
  if (!old.has_value()) return InsertFirst(json, key, value);
  std::size_t offset = static_cast<std::size_t>(old->data() - json.data());
  return Cat(json.substr(0, offset), value, json.substr(offset + old->size()));
}

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

SseFramer::SseFramer(SseFraming framing, std::optional<std::string> trace_id)
    : framing_(framing), trace_id_(std::move(trace_id)) {}

std::string SseFramer::Event(const v1::StreamEvent& event) {
  if (framing_ == SseFraming::kMlflow) return DataLines(event.json()) + "\n";
  return OpenAiEvent(event);
}

std::string SseFramer::OpenAiEvent(const v1::StreamEvent& event) {
  const std::string& type = event.type();
  std::string out;
  if (held_completed_.has_value()) {
    if (type == "response.created") {  // another round of the same response
      FoldCompleted();
      drop_in_progress_ = true;
      return out;
    }
    out = FlushCompleted();
  }
  if (type == "response.in_progress" && drop_in_progress_) return out;
  drop_in_progress_ = false;
  if (type == "response.completed") {
    held_completed_ = event.json();
    return out;
  }
  std::string data = event.json();
  if (type == "response.created" && first_response_id_.empty()) {
    if (std::optional<std::string_view> response = MemberValue(data, "response")) {
      first_response_id_ = std::string(MemberValue(*response, "id").value_or(""));
    }
  }
  if (std::optional<std::string_view> index = MemberValue(data, "output_index")) {
    if (std::optional<int64_t> n = ParseInt(*index); n.has_value() && *n >= 0) {
      round_index_end_ = std::max(round_index_end_, *n + 1);
      if (index_offset_ > 0) data = WithMember(data, "output_index", Cat(*n + index_offset_));
    }
  }
  Append(&out, Frame(type, std::move(data), event.sequence_number()));
  return out;
}

std::string SseFramer::Frame(std::string_view type, std::string data, int64_t gateway_sequence) {
  // Only a well-formed object can take inserted members; anything else goes out as sent.
  if (auto members = json_span::ObjectMembers(data); members.ok()) {
    std::optional<std::string_view> upstream;
    bool has_type = false;
    for (const json_span::Member& member : *members) {
      if (member.key == "sequence_number") upstream = member.value;
      if (member.key == "type") has_type = true;
    }
    int64_t seq = last_sequence_number_ + 1;
    if (!numbered_) {
      std::optional<int64_t> n = upstream.has_value() ? ParseInt(*upstream) : std::nullopt;
      seq = n.has_value() && *n >= 0 ? *n : std::max(gateway_sequence, seq);
    }
    numbered_ = true;
    last_sequence_number_ = seq;
    std::string value = Cat(seq);
    if (!upstream.has_value() || *upstream != value) {
      data = WithMember(data, "sequence_number", value);
    }
    if (!type.empty() && !has_type) {
      data = InsertFirst(data, "type", json_span::Quote(type));
    }
  }
  std::string out;
  if (!type.empty()) Append(&out, "event: ", type, "\n");
  Append(&out, DataLines(data), "\n");
  return out;
}

void SseFramer::FoldCompleted() {
  std::string held = std::move(*held_completed_);
  held_completed_.reset();
  int64_t count = 0;
  if (std::optional<std::string_view> response = MemberValue(held, "response")) {
    if (std::optional<std::string_view> output = MemberValue(*response, "output")) {
      if (auto elements = json_span::ArrayElements(*output); elements.ok()) {
        for (std::string_view item : *elements) items_.emplace_back(item);
        count = static_cast<int64_t>(elements->size());
      }
    }
  }
  index_offset_ += std::max(count, round_index_end_);
  round_index_end_ = 0;
}

std::string SseFramer::FlushCompleted() {
  if (!held_completed_.has_value()) return "";
  std::string data = std::move(*held_completed_);
  held_completed_.reset();
  std::optional<std::string_view> response = MemberValue(data, "response");
  if (index_offset_ > 0 && response.has_value() && json_span::ObjectMembers(*response).ok()) {
    std::vector<std::string_view> items(items_.begin(), items_.end());
    if (std::optional<std::string_view> output = MemberValue(*response, "output")) {
      if (auto own = json_span::ArrayElements(*output); own.ok()) {
        items.insert(items.end(), own->begin(), own->end());
      }
    }
    std::string merged = WithMember(*response, "output", Cat("[", Join(items, ","), "]"));
    if (!first_response_id_.empty()) merged = WithMember(merged, "id", first_response_id_);
    data = WithMember(data, "response", merged);
  }
  // The response is over: whatever follows is presented as a response of its own.
  items_.clear();
  first_response_id_.clear();
  index_offset_ = 0;
  round_index_end_ = 0;
  return Frame("response.completed", std::move(data), 0);
}

std::string SseFramer::Error(std::string_view code, std::string_view message) {
  if (framing_ == SseFraming::kMlflow) {
    return Cat("data: {\"error\": ", json_span::Quote(message), "}\n\n");
  }
  held_completed_.reset();  // a failed stream does not claim completion
  ++last_sequence_number_;
  return Cat("event: error\ndata: {\"type\":\"error\",\"code\":", json_span::Quote(code),
                      ",\"message\":", json_span::Quote(message),
                      ",\"sequence_number\":", last_sequence_number_, "}\n\n");
}

std::string SseFramer::Done() {
  std::string out;
  if (framing_ == SseFraming::kOpenAi) out = FlushCompleted();
  if (framing_ == SseFraming::kMlflow && trace_id_.has_value()) {
    Append(&out, "data: {\"trace_id\": ", json_span::Quote(*trace_id_), "}\n\n");
  }
  out += "data: [DONE]\n\n";
  return out;
}

}  // namespace agentgateway::gateway
