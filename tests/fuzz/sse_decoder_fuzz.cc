// Fuzzes upstream::SseDecoder with adversarial chunking.
//
// Input layout: byte 0 picks the event bound (small, so overflow is reachable), bytes 1-2 pick
// the split point and the seed of the multi-chunk run; the rest is the stream. The stream is
// decoded three ways (whole, split once, many small chunks) and the runs are compared.
//
// Invariants checked (a violation aborts, so libFuzzer records the input):
//  * no emitted event holds more than the bound (data + event + id bytes);
//  * when no run overflowed, every run emits the same events and agrees on
//    had_partial_event();
//  * when a run overflowed, what it emitted is a prefix of the whole run's events. Equality is
//    not required there: the decoder counts an unterminated line against the bound while it is
//    buffered (prefix "data: ", comments and unknown fields included), but a line that arrives
//    complete in one chunk is counted by its field value only, so where the overflow trips can
//    depend on the chunking (see README.md, "Findings").
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "server/upstream/sse_decoder.h"

namespace {

using agentgateway::upstream::SseDecoder;
using agentgateway::upstream::SseEvent;

struct Run {
  std::vector<SseEvent> events;
  bool overflowed = false;
  bool had_partial = false;
};

bool Same(const SseEvent& a, const SseEvent& b) {
  return a.event == b.event && a.data == b.data && a.id == b.id;
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "sse_decoder_fuzz: invariant violated: %s\n", what);
  std::abort();
}

// Feeds `stream` cut into the given chunk sizes (the last chunk takes the remainder).
Run Decode(std::string_view stream, std::size_t bound, const std::vector<std::size_t>& cuts) {
  Run run;
  SseDecoder decoder(bound);
  const SseDecoder::Sink sink = [&](SseEvent&& e) { run.events.push_back(std::move(e)); };
  for (std::size_t cut : cuts) {
    const std::size_t n = cut < stream.size() ? cut : stream.size();
    decoder.Feed(stream.substr(0, n), sink);
    stream.remove_prefix(n);
  }
  decoder.Feed(stream, sink);
  decoder.Finish();
  decoder.Feed({}, sink);  // feeding after Finish must be harmless
  run.overflowed = decoder.overflowed();
  run.had_partial = decoder.had_partial_event();
  return run;
}

void CheckBound(const Run& run, std::size_t bound) {
  for (const SseEvent& e : run.events) {
    if (e.data.size() + e.event.size() + e.id.size() > bound) Fail("event larger than the bound");
  }
}

void Compare(const Run& whole, const Run& other) {
  if (!whole.overflowed && !other.overflowed) {
    if (whole.events.size() != other.events.size()) Fail("event count depends on chunking");
    for (std::size_t i = 0; i < whole.events.size(); ++i) {
      if (!Same(whole.events[i], other.events[i])) Fail("event content depends on chunking");
    }
    if (whole.had_partial != other.had_partial) Fail("had_partial_event depends on chunking");
    return;
  }
  const Run& shorter = other.events.size() <= whole.events.size() ? other : whole;
  const Run& longer = &shorter == &other ? whole : other;
  if (!shorter.overflowed) Fail("a run without overflow emitted fewer events");
  for (std::size_t i = 0; i < shorter.events.size(); ++i) {
    if (!Same(shorter.events[i], longer.events[i])) Fail("events before overflow differ");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // 16..4096 bytes: overflow is reachable within libFuzzer's default max_len.
  const std::size_t bound = 16 + std::size_t{data[0]} * 16;
  const std::size_t split = std::size_t{data[1]} | (std::size_t{data[2]} << 8);
  std::uint32_t seed = data[1] * 31u + data[2] + 1u;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 3, size - 3);

  const Run whole = Decode(stream, bound, {});
  CheckBound(whole, bound);

  const Run halves = Decode(stream, bound, {stream.empty() ? 0 : split % (stream.size() + 1)});
  CheckBound(halves, bound);
  Compare(whole, halves);

  // Many chunks of 0..7 bytes: boundaries inside CRLF pairs, the BOM and field names.
  std::vector<std::size_t> cuts;
  for (std::size_t used = 0; used < stream.size();) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t n = (seed >> 16) % 8;
    cuts.push_back(n);
    used += n;
  }
  const Run pieces = Decode(stream, bound, cuts);
  CheckBound(pieces, bound);
  Compare(whole, pieces);
  return 0;
}
