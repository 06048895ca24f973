// One SSE stream object per open stream: relays the AgentService Stream RPC to an HTTP
// response through a StreamSink.
//
// Back-pressure: the next StartRead happens at once while the sink holds less than its bound
// of unwritten bytes (so events keep flowing while the socket write of earlier ones is in
// flight, and the sink coalesces them into one write); past the bound, reading resumes when
// the sink calls `ready`. A failed sink write or Cancel() calls ClientContext::TryCancel,
// which reaches the upstream.
//
// Ownership: shared. The stream holds itself (`self_`) from Start until OnDone has handed the
// last bytes to the sink (the reactor must outlive OnDone); the HTTP session holds it to call
// Cancel(). A hold keeps OnDone after the final OnReadDone(false), and no read is pending while
// the stream waits for `ready`, so reactions and sink callbacks never overlap: no lock needed.
#ifndef AGENTGATEWAY_GATEWAY_SSE_STREAM_H_
#define AGENTGATEWAY_GATEWAY_SSE_STREAM_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "gateway/http_types.h"
#include "gateway/router.h"
#include "gateway/rpc_calls.h"
#include "gateway/sse_framing.h"

namespace agentgateway::gateway {

// Where a stream's bytes go (the HTTP session). Methods may be called from any thread and
// must not call back inline. Exactly one of End/Fail/Abort ends the stream.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues `data` (sent after the 200 SSE header) and returns true when the caller may write
  // more at once. False: the sink holds its bound of unwritten bytes or the stream broke;
  // `ready(ok)` then runs once, never inline, when the caller may write again (ok) or the
  // stream broke (!ok). After a true return `ready` is dropped unused.
  virtual bool Write(std::string data, std::function<void(bool ok)> ready) = 0;
  // Writes `data` as the last bytes of a started (or not yet started) 200 stream.
  virtual void End(std::string data) = 0;
  // The call failed before its first event: answer `response` instead of a stream or, when the
  // sink already opened the stream on its own (a heartbeat), end it with `frames`.
  virtual void Fail(HttpResponse response, std::string frames) = 0;
  // The stream broke (client gone): drop the connection.
  virtual void Abort() = 0;
};

class SseStream : public grpc::ClientReadReactor<agentgateway::v1::StreamEvent>,
                  public std::enable_shared_from_this<SseStream> {
 public:
  static std::shared_ptr<SseStream> Start(agentgateway::v1::AgentService::Stub* stub,
                                          RpcTracker* tracker, RpcPlan plan,
                                          std::shared_ptr<StreamSink> sink);

  // For TryCancel from any thread (the client went away); valid for the stream's life.
  std::shared_ptr<grpc::ClientContext> context() const { return context_; }

  SseStream(RpcTracker* tracker, RpcPlan plan, std::shared_ptr<StreamSink> sink);

 private:
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;
  void OnSinkWriteDone(bool ok);
  // The error frame and the closing frames, for a failure after the stream opened.
  std::string ErrorFrames(grpc::StatusCode code, std::string_view message);

  RpcTracker* tracker_;
  RpcPlan plan_;
  std::shared_ptr<StreamSink> sink_;
  std::shared_ptr<grpc::ClientContext> context_ = std::make_shared<grpc::ClientContext>();
  SseFramer framer_;
  agentgateway::v1::StreamEvent event_;
  std::shared_ptr<SseStream> self_;
  bool started_writing_ = false;  // a frame went to the sink: errors become SSE frames
  bool sink_failed_ = false;
};

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_SSE_STREAM_H_
