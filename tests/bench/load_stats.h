// Shared arithmetic of the load tools (sse_load, grpc_load): nearest-rank percentiles, the
// `@<T>;` send-time stamps of the bench answer (see tests/bench/README.md, "bench mode"), and
// a tiny JSON string escaper for the one-line reports.
//
// Plain value types with no I/O; each instance belongs to one stream (or one report) and is
// used from one thread at a time.
#ifndef AGENTGATEWAY_TESTS_BENCH_LOAD_STATS_H_
#define AGENTGATEWAY_TESTS_BENCH_LOAD_STATS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentgateway::bench {

// Nearest-rank percentile (p in (0, 1]) of ascending samples: the smallest sample with at
// least p of all samples at or below it. 0 for no samples.
std::int64_t NearestRank(const std::vector<std::int64_t>& sorted, double p);

// NearestRank of nanosecond samples, in milliseconds.
double PercentileMs(const std::vector<std::int64_t>& sorted_ns, double p);

// steady_clock (CLOCK_MONOTONIC) now, in nanoseconds: the clock the stamps are written in.
inline std::int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Finds `@<digits>;` stamps in a byte stream fed in arbitrary pieces (a stamp may straddle two
// reads). Reports each stamp once: a stamp not above the last one reported is skipped,
// because the closing events of a stream (output_text.done, content_part.done,
// output_item.done, response.completed) repeat the whole text, stamps included, and those
// copies say nothing about relay lag. Reset() between streams.
class StampScanner {
 public:
  // Calls on_stamp(T) for every new stamp completed in `bytes`.
  template <typename OnStamp>
  void Feed(std::string_view bytes, OnStamp&& on_stamp);
  void Reset() { *this = StampScanner(); }

 private:
  static constexpr int kMaxDigits = 18;  // always fits int64
  bool in_stamp_ = false;  // after '@', reading digits
  int digits_ = 0;
  std::int64_t value_ = 0;
  std::int64_t last_reported_ = -1;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (best effort: a short limit shows up as
// connect errors in the report).
void RaiseFileLimit();

// Appends `text` to `out` as the inside of a JSON string (quotes and backslashes escaped,
// control characters as \u00XX).
void AppendJsonEscaped(std::string_view text, std::string& out);

// The lag of every stamp: now - T in nanoseconds (0 when a stamp is from the future, which
// only a clock problem can cause).
inline std::int64_t LagNs(std::int64_t now_ns, std::int64_t stamp_ns) {
  return now_ns > stamp_ns ? now_ns - stamp_ns : 0;
}

template <typename OnStamp>
void StampScanner::Feed(std::string_view bytes, OnStamp&& on_stamp) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    if (!in_stamp_) {
      // Most bytes are not stamps: jump to the next '@'.
      const void* at = std::char_traits<char>::find(p, static_cast<std::size_t>(end - p), '@');
      if (at == nullptr) return;
      p = static_cast<const char*>(at) + 1;
      in_stamp_ = true;
      digits_ = 0;
      value_ = 0;
      continue;
    }
    const char c = *p;
    if (c >= '0' && c <= '9' && digits_ < kMaxDigits) {
      value_ = value_ * 10 + (c - '0');
      ++digits_;
      ++p;
      continue;
    }
    in_stamp_ = false;
    if (c == ';' && digits_ > 0) {
      if (value_ > last_reported_) {
        last_reported_ = value_;
        on_stamp(value_);
      }
      ++p;
    }
    // Anything else (including a new '@') is looked at again in the idle state.
  }
}

}  // namespace agentgateway::bench

#endif  // AGENTGATEWAY_TESTS_BENCH_LOAD_STATS_H_
