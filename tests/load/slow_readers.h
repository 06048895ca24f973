// Slow readers for the back-pressure load test. Each reads the first event of its stream, then
// stops reading (a client that went to lunch) until Resume(); then it reads to the end and
// checks every event against the stream's StreamScript: all of them, in order, each once.
//
//   GrpcSlowReader: a ClientReadReactor on AgentService.Stream. Owned by the test, which must
//     keep it until the board counts it finished (OnDone ran).
//   RestReaders: plain HTTP/1.1 clients of POST /invocations (SSE), all on one io_context
//     thread owned by RestReaders; each socket gets a small SO_RCVBUF so that little of the
//     stream hides in the kernel on the client's side.
//
// ReaderBoard collects every reader's progress under one mutex so the test can wait on it.
#ifndef AGENTGATEWAY_TESTS_LOAD_SLOW_READERS_H_
#define AGENTGATEWAY_TESTS_LOAD_SLOW_READERS_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "tests/load/stream_script.h"

namespace agentgateway::load {

struct BoardCounts {
  int first_events = 0;  // readers that received their first event
  int completed = 0;     // readers that received every event and a clean end
  int failed = 0;        // readers that saw a wrong, missing or extra event, or an error
  int cancelled = 0;     // readers the test cancelled that ended so
  int grpc_done = 0;     // gRPC readers whose OnDone ran (the test may free them)
  int heartbeats = 0;    // `: keep-alive` frames REST readers received
  std::vector<std::string> failures;  // the first few reasons
};

class ReaderBoard {
 public:
  void FirstEvent();
  void Completed();
  void Failed(std::string reason);
  void Cancelled();
  void GrpcDone();
  void Heartbeat();
  BoardCounts Counts();
  // Waits until `done(counts)` holds; false on timeout.
  bool WaitFor(const std::function<bool(const BoardCounts&)>& done, absl::Duration timeout);

 private:
  absl::Mutex mu_;
  BoardCounts counts_ ABSL_GUARDED_BY(mu_);
};

struct ScriptShape {
  int deltas = 0;
  std::size_t delta_bytes = 0;
};

class GrpcSlowReader final : public grpc::ClientReadReactor<v1::StreamEvent> {
 public:
  GrpcSlowReader(int stream_id, ScriptShape shape, ReaderBoard* board);

  void Start(v1::AgentService::Stub* stub);
  void Resume();  // read on to the end
  void Cancel();  // the client leaves: ends as cancelled (or failed, if it had failed before)

 private:
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  const int stream_id_;
  const StreamScript script_;
  ReaderBoard* board_;
  grpc::ClientContext context_;
  v1::InvokeRequest request_;
  v1::StreamEvent event_;  // owned by the pending read
  int received_ = 0;       // touched by one reaction at a time
  std::string mismatch_;
  absl::Mutex mu_;
  bool holding_ ABSL_GUARDED_BY(mu_) = false;  // stopped after the first event, no read pending
  bool resumed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

class RestReaders {
 public:
  RestReaders(int port, ScriptShape shape, int receive_buffer_bytes, ReaderBoard* board);
  ~RestReaders();  // closes every connection, joins the thread

  void Open(int stream_id);
  void ResumeAll();
  // Resumes the readers of stream ids [first_id, first_id + count).
  void Resume(int first_id, int count);
  // Every reader still open closes its socket (the client leaves) and counts as cancelled.
  void CloseAll();

  class Reader;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgateway::load

#endif  // AGENTGATEWAY_TESTS_LOAD_SLOW_READERS_H_
