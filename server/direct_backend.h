// The REST door's calls handed to AgentServiceImpl in-process, without gRPC. Each call passes
// the same admission as a gRPC call (AgentServiceImpl::Begin: drain, load shedding, profile,
// identity, scopes, limits) and then runs on the engine; only the transport differs. Going
// through an in-process gRPC channel instead cost, per call, a gRPC client and server call
// set-up, two more thread hops each way and two call arenas (~20 KiB) per open stream.
//
// Streams: each engine event is framed (gateway/sse_framing.h) on the engine's thread and handed
// to the HTTP session's sink; when the sink holds its bound, the engine is paused until the sink
// has room. A client that goes away, a server stop (CancelAllAndWait) or a drain's abort cancel
// the engine run, which closes the upstream. The REST deadline (X-Request-Timeout) is the
// engine run's deadline.
#ifndef AGENTGATEWAY_SERVER_DIRECT_BACKEND_H_
#define AGENTGATEWAY_SERVER_DIRECT_BACKEND_H_

#include <memory>

#include "gateway/agent_backend.h"

namespace agentgateway {

class AgentServiceImpl;

// `service` must outlive the backend and every call it started (HttpServer::Stop waits for them).
std::shared_ptr<gateway::AgentBackend> MakeDirectBackend(AgentServiceImpl* service);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_DIRECT_BACKEND_H_
