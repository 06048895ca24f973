// One SSE stream object per open stream: relays the AgentService Stream RPC to an HTTP
// response through a StreamSink, one event at a time.
//
// Back-pressure: the next StartRead happens only after the sink reports the previous write
// done, so at most one event is buffered between gRPC and the socket. A failed sink write or
// Cancel() calls ClientContext::TryCancel, which reaches the upstream.
//
// Ownership: shared. The stream holds itself (`self_`) from Start until OnDone has handed the
// last bytes to the sink (the reactor must outlive OnDone); the HTTP session holds it to call
// Cancel(). A hold keeps OnDone after the final OnReadDone(false), so OnDone never races a
// sink write: reactions and sink completions strictly alternate, so no lock is needed.
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
  // Writes `data` (after the 200 SSE header on the first call); `done(ok)` once written.
  virtual void Write(std::string data, std::function<void(bool ok)> done) = 0;
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
