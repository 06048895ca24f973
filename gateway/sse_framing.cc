#include "gateway/sse_framing.h"

#include <utility>

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

}  // namespace

SseFramer::SseFramer(SseFraming framing, std::optional<std::string> trace_id)
    : framing_(framing), trace_id_(std::move(trace_id)) {}

std::string SseFramer::Event(const v1::StreamEvent& event) {
  if (framing_ == SseFraming::kMlflow) return DataLines(event.json()) + "\n";

  int64_t seq = event.sequence_number() > last_sequence_number_ ? event.sequence_number()
                                                                : last_sequence_number_ + 1;
  last_sequence_number_ = seq;
  std::string data = event.json();
  // Only a well-formed object can take inserted members; anything else goes out as sent.
  if (json_span::ObjectMembers(data).ok()) {
    if (!json_span::HasTopLevelKey(data, "sequence_number")) {
      data = InsertFirst(data, "sequence_number", Cat(seq));
    }
    if (!event.type().empty() && !json_span::HasTopLevelKey(data, "type")) {
      data = InsertFirst(data, "type", json_span::Quote(event.type()));
    }
  }
  std::string out;
  if (!event.type().empty()) Append(&out, "event: ", event.type(), "\n");
  Append(&out, DataLines(data), "\n");
  return out;
}

std::string SseFramer::Error(std::string_view code, std::string_view message) {
  if (framing_ == SseFraming::kMlflow) {
    return Cat("data: {\"error\": ", json_span::Quote(message), "}\n\n");
  }
  ++last_sequence_number_;
  return Cat("event: error\ndata: {\"type\":\"error\",\"code\":", json_span::Quote(code),
                      ",\"message\":", json_span::Quote(message),
                      ",\"sequence_number\":", last_sequence_number_, "}\n\n");
}

std::string SseFramer::Done() const {
  std::string out;
  if (framing_ == SseFraming::kMlflow && trace_id_.has_value()) {
    Append(&out, "data: {\"trace_id\": ", json_span::Quote(*trace_id_), "}\n\n");
  }
  out += "data: [DONE]\n\n";
  return out;
}

}  // namespace agentgateway::gateway
