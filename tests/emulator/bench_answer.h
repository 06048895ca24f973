// Bench mode (`--bench-answer N[:B]`): every well-formed POST .../responses gets one fixed
// assistant message, without the script, the request log or per-request records, so the
// emulator is a cheap floor for tests/bench/. See README.md, "Bench mode".
//
// Plain code, no I/O: the Router builds a BenchStream per streamed request and the session asks
// it for one event at a time, stamping each delta with the time it is handed to the socket.
// A BenchStream belongs to one session and is used on its strand only.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_BENCH_ANSWER_H_
#define AGENTGATEWAY_TESTS_EMULATOR_BENCH_ANSWER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgateway::emulator {

struct BenchSpec {
  int deltas = 0;          // N: output_text.delta events per stream; 0: bench mode off
  int delta_bytes = 100;   // B: bytes of each delta's text (and of the non-stream text)
};

// The smallest B: room for "@<20 digits>;" and some padding.
inline constexpr int kMinBenchDeltaBytes = 24;
inline constexpr int kMaxBenchDeltas = 1'000'000;
inline constexpr int kMaxBenchDeltaBytes = 1 << 20;

// "N" or "N:B"; INVALID_ARGUMENT unless 1 <= N <= 1e6 and 24 <= B <= 1 MiB.
absl::StatusOr<BenchSpec> ParseBenchSpec(std::string_view text);

// What bench mode reads from a request body.
struct BenchRequest {
  bool stream = false;
  std::string model_json;  // the `model` string, JSON-escaped with its quotes
  int64_t drip_ms = 0;     // from "[[drip-ms:MS]]" in the last user message; 0: none
};

// INVALID_ARGUMENT unless the body is a JSON object with a string `model` and an `input`.
absl::StatusOr<BenchRequest> ParseBenchRequest(std::string_view body);

// Appends `bytes` bytes: "@<ns>;" then padding letters (never anything JSON must escape).
void AppendStampedText(std::string& out, int64_t ns, int bytes);

// CLOCK_MONOTONIC now, in nanoseconds (std::chrono::steady_clock).
int64_t SteadyNowNs();

// The non-stream answer: a completed Responses object whose one message text is B bytes,
// stamped with `now_ns`.
std::string BenchResponseBody(const BenchSpec& spec, uint64_t seq, const BenchRequest& request,
                              int64_t created_at, int64_t now_ns);

// The events of one streamed bench answer: 4 opening events, N stamped deltas, 4 closing
// events (their text is the concatenation of the deltas actually sent).
class BenchStream {
 public:
  BenchStream(const BenchSpec& spec, uint64_t seq, const BenchRequest& request,
              int64_t created_at);

  bool done() const { return next_ == total(); }
  int total() const { return spec_.deltas + 8; }

  // Appends the next event framed as one HTTP/1.1 chunk; a delta is stamped with `now_ns`.
  void AppendNextChunk(std::string& out, int64_t now_ns);

 private:
  void AppendEvent(std::string& out, int index, int64_t now_ns);
  void AppendHead(std::string& out, std::string_view type, int index) const;
  void AppendOpeningEvent(std::string& out, int index) const;
  void AppendDeltaEvent(std::string& out, int index, int64_t now_ns);
  void AppendClosingEvent(std::string& out, int index) const;
  void AppendText(std::string& out) const;
  void AppendResponse(std::string& out, std::string_view status, bool with_output) const;
  void AppendMessageItem(std::string& out, std::string_view status, bool with_content) const;

  BenchSpec spec_;
  std::string id_;       // resp_<seq>
  std::string item_id_;  // msg_<seq>
  std::string model_json_;
  int64_t created_at_;
  int next_ = 0;
  // One stamp per delta sent: the closing events repeat the whole text, rebuilt from these
  // (8 bytes per delta instead of B).
  std::vector<int64_t> stamps_;
  std::string event_;  // scratch for one event, reused
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_BENCH_ANSWER_H_
