// Bench mode's answers, written by concatenation: every piece is either fixed ASCII, a number,
// or the model name escaped once per request, so no JSON library runs per event.
#include "tests/emulator/bench_answer.h"

#include <chrono>

#include "absl/status/status.h"
#include "boost/json/parse.hpp"
#include "boost/json/serialize.hpp"
#include "tests/emulator/str_util.h"

namespace agentgateway::emulator {
namespace {

constexpr std::string_view kPadding = "abcdefghijklmnopqrstuvwxyz";
constexpr int kOpeningEvents = 4;

absl::Status Invalid(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

// Text of the last user message of `input` (a string input counts as one).
std::string_view LastUserText(const boost::json::value& input, std::string& joined) {
  if (input.is_string()) return input.get_string();
  const boost::json::array* items = input.if_array();
  if (items == nullptr) return {};
  for (auto it = items->rbegin(); it != items->rend(); ++it) {
    const boost::json::object* item = it->if_object();
    if (item == nullptr) continue;
    const boost::json::value* role = item->if_contains("role");
    if (role == nullptr || !role->is_string() || role->get_string() != "user") continue;
    const boost::json::value* content = item->if_contains("content");
    if (content == nullptr) return {};
    if (content->is_string()) return content->get_string();
    if (const boost::json::array* parts = content->if_array()) {
      for (const boost::json::value& part : *parts) {
        const boost::json::object* p = part.if_object();
        const boost::json::value* text = p ? p->if_contains("text") : nullptr;
        if (text != nullptr && text->is_string()) Append(joined, std::string_view(text->get_string()));
      }
    }
    return joined;
  }
  return {};
}

int64_t DripMs(std::string_view question) {
  constexpr std::string_view kOpen = "[[drip-ms:";
  constexpr int64_t kMaxDripMs = 3'600'000;
  std::size_t start = question.find(kOpen);
  if (start == std::string_view::npos) return 0;
  start += kOpen.size();
  std::size_t end = question.find("]]", start);
  int64_t value = 0;
  if (end == std::string_view::npos || !ParseInt(question.substr(start, end - start), value) ||
      value < 0) {
    return 0;
  }
  return std::min(value, kMaxDripMs);
}

void AppendChunk(std::string& out, std::string_view event) {
  Append(out, Hex(event.size()), "\r\n", event, "\r\n");
}

}  // namespace

absl::StatusOr<BenchSpec> ParseBenchSpec(std::string_view text) {
  BenchSpec spec;
  std::size_t colon = text.find(':');
  int64_t deltas = 0;
  int64_t bytes = spec.delta_bytes;
  if (!ParseInt(text.substr(0, colon), deltas) ||
      (colon != std::string_view::npos && !ParseInt(text.substr(colon + 1), bytes))) {
    return Invalid(Cat("--bench-answer must be N or N:B, got '", text, "'"));
  }
  if (deltas < 1 || deltas > kMaxBenchDeltas || bytes < kMinBenchDeltaBytes ||
      bytes > kMaxBenchDeltaBytes) {
    return Invalid(Cat("--bench-answer: N in [1, ", kMaxBenchDeltas, "], B in [",
                       kMinBenchDeltaBytes, ", ", kMaxBenchDeltaBytes, "], got '", text, "'"));
  }
  spec.deltas = static_cast<int>(deltas);
  spec.delta_bytes = static_cast<int>(bytes);
  return spec;
}

absl::StatusOr<BenchRequest> ParseBenchRequest(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object()) return Invalid("Malformed request: body is not a JSON object");
  const boost::json::object& object = parsed.get_object();
  const boost::json::value* model = object.if_contains("model");
  if (model == nullptr || !model->is_string()) return Invalid("Missing required field 'model'");
  const boost::json::value* input = object.if_contains("input");
  if (input == nullptr) return Invalid("Missing required field 'input'");
  BenchRequest out;
  out.model_json = boost::json::serialize(model->get_string());
  const boost::json::value* stream = object.if_contains("stream");
  out.stream = stream != nullptr && stream->is_bool() && stream->get_bool();
  std::string joined;
  out.drip_ms = DripMs(LastUserText(*input, joined));
  return out;
}

void AppendStampedText(std::string& out, int64_t ns, int bytes) {
  std::size_t start = out.size();
  Append(out, "@", ns, ";");
  std::size_t used = out.size() - start;
  for (std::size_t i = 0; used + i < static_cast<std::size_t>(bytes); ++i) {
    out.push_back(kPadding[i % kPadding.size()]);
  }
}

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string BenchResponseBody(const BenchSpec& spec, uint64_t seq, const BenchRequest& request,
                              int64_t created_at, int64_t now_ns) {
  std::string out = Cat("{\"id\":\"resp_", seq, "\",\"object\":\"response\",\"created_at\":",
                        created_at, ",\"status\":\"completed\",\"model\":", request.model_json,
                        ",\"metadata\":{},\"output\":[{\"type\":\"message\",\"id\":\"msg_", seq,
                        "\",\"role\":\"assistant\",\"status\":\"completed\",\"content\":[{"
                        "\"type\":\"output_text\",\"text\":\"");
  AppendStampedText(out, now_ns, spec.delta_bytes);
  Append(out, "\",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":1,\"output_tokens\":1,"
              "\"total_tokens\":2}}");
  return out;
}

BenchStream::BenchStream(const BenchSpec& spec, uint64_t seq, const BenchRequest& request,
                         int64_t created_at)
    : spec_(spec),
      id_(Cat("resp_", seq)),
      item_id_(Cat("msg_", seq)),
      model_json_(request.model_json),
      created_at_(created_at) {}

void BenchStream::AppendNextChunk(std::string& out, int64_t now_ns) {
  if (done()) return;
  event_.clear();
  AppendEvent(event_, next_++, now_ns);
  AppendChunk(out, event_);
}

void BenchStream::AppendText(std::string& out) const {
  for (int64_t stamp : stamps_) AppendStampedText(out, stamp, spec_.delta_bytes);
}

void BenchStream::AppendResponse(std::string& out, std::string_view status,
                                 bool with_output) const {
  Append(out, "{\"id\":\"", id_, "\",\"object\":\"response\",\"created_at\":", created_at_,
         ",\"status\":\"", status, "\",\"model\":", model_json_, ",\"metadata\":{},\"output\":[");
  if (with_output) {
    AppendMessageItem(out, "completed", true);
    Append(out, "],\"usage\":{\"input_tokens\":1,\"output_tokens\":", spec_.deltas,
           ",\"total_tokens\":", spec_.deltas + 1, "}}");
  } else {
    out += "]}";
  }
}

void BenchStream::AppendMessageItem(std::string& out, std::string_view status,
                                    bool with_content) const {
  Append(out, "{\"type\":\"message\",\"id\":\"", item_id_, "\",\"role\":\"assistant\","
         "\"status\":\"", status, "\",\"content\":[");
  if (with_content) {
    out += "{\"type\":\"output_text\",\"text\":\"";
    AppendText(out);
    out += "\",\"annotations\":[]}";
  }
  out += "]}";
}

void BenchStream::AppendEvent(std::string& out, int index, int64_t now_ns) {
  if (index < kOpeningEvents) {
    AppendOpeningEvent(out, index);
  } else if (index < kOpeningEvents + spec_.deltas) {
    AppendDeltaEvent(out, index, now_ns);
  } else {
    AppendClosingEvent(out, index);
  }
  out += "}\n\n";
}

void BenchStream::AppendHead(std::string& out, std::string_view type, int index) const {
  Append(out, "event: ", type, "\ndata: {\"type\":\"", type, "\",\"sequence_number\":", index);
}

void BenchStream::AppendOpeningEvent(std::string& out, int index) const {
  if (index == 0 || index == 1) {
    AppendHead(out, index == 0 ? "response.created" : "response.in_progress", index);
    out += ",\"response\":";
    AppendResponse(out, "in_progress", false);
  } else if (index == 2) {
    AppendHead(out, "response.output_item.added", index);
    out += ",\"output_index\":0,\"item\":";
    AppendMessageItem(out, "in_progress", false);
  } else {
    AppendHead(out, "response.content_part.added", index);
    Append(out, ",\"item_id\":\"", item_id_, "\",\"output_index\":0,\"content_index\":0,"
           "\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}");
  }
}

void BenchStream::AppendDeltaEvent(std::string& out, int index, int64_t now_ns) {
  Append(out, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\""
         ",\"item_id\":\"", item_id_, "\",\"output_index\":0,\"content_index\":0,"
         "\"sequence_number\":", index, ",\"delta\":\"");
  AppendStampedText(out, now_ns, spec_.delta_bytes);
  out += "\"";
  if (stamps_.empty()) stamps_.reserve(static_cast<std::size_t>(std::min(spec_.deltas, 256)));
  stamps_.push_back(now_ns);
}

void BenchStream::AppendClosingEvent(std::string& out, int index) const {
  const int closing = index - kOpeningEvents - spec_.deltas;
  if (closing == 0 || closing == 1) {
    AppendHead(out, closing == 0 ? "response.output_text.done" : "response.content_part.done",
               index);
    Append(out, ",\"item_id\":\"", item_id_, "\",\"output_index\":0,\"content_index\":0,");
    out += closing == 0 ? "\"text\":\"" : "\"part\":{\"type\":\"output_text\",\"text\":\"";
    AppendText(out);
    out += closing == 0 ? "\"" : "\",\"annotations\":[]}";
  } else if (closing == 2) {
    AppendHead(out, "response.output_item.done", index);
    out += ",\"output_index\":0,\"item\":";
    AppendMessageItem(out, "completed", true);
  } else {
    AppendHead(out, "response.completed", index);
    out += ",\"response\":";
    AppendResponse(out, "completed", true);
  }
}

}  // namespace agentgateway::emulator
