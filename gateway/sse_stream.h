// One SSE stream object per open stream: relays the AgentService Stream RPC to an HTTP
// response through a StreamSink.
//
// Back-pressure: the next StartRead happens at once while the sink holds less than its bound
// of unwritten bytes (so events keep flowing while the socket write of earlier ones is in
// flight, and the sink coalesces them into one write); past the bound, reading resumes when
// the sink calls `ready`. A failed sink write or Cancel() calls ClientContext::TryCancel,
// which reaches the upstream.
//
// Ownership: the stream holds itself (`self_`) from Start until OnDone has handed the last
// bytes to the sink (the reactor must outlive OnDone); the HTTP session holds only the call's
// context, to cancel it. A hold keeps OnDone after the final OnReadDone(false), and no read is pending while
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
#include "gateway/agent_backend.h"
#include "gateway/http_types.h"
#include "gateway/router.h"
#include "gateway/rpc_calls.h"
#include "gateway/sse_framing.h"

namespace agentgateway::gateway {

class SseStream : public grpc::ClientReadReactor<agentgateway::v1::StreamEvent>,
                  public std::enable_shared_from_this<SseStream> {
 public:
  // Returns the call's context, for TryCancel from any thread (the client went away), taken
  // before the call starts (it may end before Start returns); null when the tracker refused it.
  static std::shared_ptr<grpc::ClientContext> Start(agentgateway::v1::AgentService::Stub* stub,
                                                    RpcTracker* tracker, RpcPlan plan,
                                                    std::shared_ptr<StreamSink> sink);

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
