// How the REST door reaches AgentService. Two backends: a gRPC channel (grpc_backend.h; tests
// put a fake service behind one), and the service called in-process without gRPC
// (server/direct_backend.h, what agent-gateway runs). Either way every call passes the same
// admission, identity and limit rules in AgentServiceImpl.
#ifndef AGENTGATEWAY_GATEWAY_AGENT_BACKEND_H_
#define AGENTGATEWAY_GATEWAY_AGENT_BACKEND_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gateway/http_types.h"
#include "gateway/router.h"

namespace agentgateway::gateway {

// Where a stream's bytes go (the HTTP session). Methods may be called from any thread and
// must not call back inline. Exactly one of End/Fail/Abort ends the stream.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues `data` (sent after the 200 SSE header) and returns true when the caller may write
  // more at once. False: the sink holds its bound of unwritten bytes or the stream broke;
  // `ready(ok)` then runs once, never inline, when the caller may write again (ok) or the
  // stream broke (!ok). After a true return `ready` is dropped unused. Of two false returns in
  // a row only the later `ready` runs.
  virtual bool Write(std::string data, std::function<void(bool ok)> ready) = 0;
  // Writes `data` as the last bytes of a started (or not yet started) 200 stream.
  virtual void End(std::string data) = 0;
  // The call failed before its first event: answer `response` instead of a stream or, when the
  // sink already opened the stream on its own (a heartbeat), end it with `frames`.
  virtual void Fail(HttpResponse response, std::string frames) = 0;
  // The stream broke (client gone): drop the connection.
  virtual void Abort() = 0;
};

// A call in flight, as the HTTP session sees it.
class CallHandle {
 public:
  virtual ~CallHandle() = default;
  // The client went away (or the server stops): end the call and its upstream promptly.
  // Thread-safe, idempotent, harmless after the call ended.
  virtual void Cancel() = 0;
};

using ResponseCallback = std::function<void(HttpResponse)>;

class AgentBackend {
 public:
  virtual ~AgentBackend() = default;
  // Invoke, GetResponse or GetAgentInfo for `plan`; `done` runs exactly once, on any thread
  // (inline when the call is refused at once). Returns null when the call was not started.
  virtual std::shared_ptr<CallHandle> StartUnary(RpcPlan plan, ResponseCallback done) = 0;
  // Stream for `plan`; the stream ends through exactly one of the sink's End/Fail/Abort.
  virtual std::shared_ptr<CallHandle> StartStream(RpcPlan plan,
                                                  std::shared_ptr<StreamSink> sink) = 0;
  // Server stop: refuses new calls, cancels every call in flight and waits (bounded) until
  // each has let go of its callback or sink, so none outlives the io_context it posts to.
  // False on timeout.
  virtual bool CancelAllAndWait(absl::Duration timeout) = 0;
};

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_AGENT_BACKEND_H_
