// SseGenerator: a stand-in Supervisor API for load tests, plain HTTP on loopback. Every POST
// whose body names a stream (kStreamMarker + id) is answered 200 with a chunked
// text/event-stream: that stream's StreamScript, generated lazily. The next batch (~batch_bytes)
// is built only after the socket accepted the previous one, so the generator holds at most one
// batch per stream however slowly the gateway reads.
//
// Writes are non-blocking: a write that would block marks the stream "blocked" until its socket
// is writable again. That is how a test sees, without sleeping, that the gateway stopped reading.
// Each stream's socket gets a small SO_SNDBUF so that little hides in the kernel.
//
// Threads: one io_context thread owns every connection; counters are read under a mutex.
#ifndef AGENTGATEWAY_TESTS_LOAD_SSE_GENERATOR_H_
#define AGENTGATEWAY_TESTS_LOAD_SSE_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agentgateway::load {

struct GeneratorOptions {
  int deltas = 1024;                 // response.output_text.delta events per stream
  std::size_t delta_bytes = 1000;    // text bytes per delta
  int send_buffer_bytes = 16 * 1024; // SO_SNDBUF per stream (Linux doubles it)
  std::size_t batch_bytes = 16 * 1024;
  // Streams with an id at or above this one (when >= 0) are idle: the head, then silence until
  // the peer closes. They count in no GeneratorStats. A test reads one to hear the gateway's
  // SSE heartbeats (its clock).
  int idle_first_id = -1;
};

struct GeneratorStats {
  int started = 0;   // streams answered 200
  int finished = 0;  // streams written to their last byte
  int broken = 0;    // connections that failed or closed before their end
  int blocked = 0;   // streams whose socket is full right now
  std::uint64_t produced_bytes = 0;  // bytes the sockets accepted (head, chunk framing, SSE)
  std::uint64_t writes = 0;          // accepted writes; any progress bumps it
};

class SseGenerator {
 public:
  static absl::StatusOr<std::unique_ptr<SseGenerator>> Start(const GeneratorOptions& options);
  ~SseGenerator();  // closes every connection, joins the thread

  std::uint16_t port() const;
  GeneratorStats Stats();
  // Bytes each stream's socket accepted, indexed by stream id (0 for ids never seen).
  std::vector<std::uint64_t> ProducedPerStream();

  // Waits until `done(stats)` holds; false on timeout.
  bool WaitFor(const std::function<bool(const GeneratorStats&)>& done, absl::Duration timeout);
  // Waits until at least `streams` streams are blocked on a full socket at once and no socket
  // then accepts a byte for `quiet` (two observations of the same stalled state). False on
  // timeout.
  bool WaitForStall(int streams, absl::Duration quiet, absl::Duration timeout);

  class Impl;

 private:
  explicit SseGenerator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgateway::load

#endif  // AGENTGATEWAY_TESTS_LOAD_SSE_GENERATOR_H_
