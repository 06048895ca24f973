// GrpcBackend: the REST door calling AgentService through a gRPC channel (SseStream for streams,
// StartUnaryCall for the rest). Tests put a fake AgentService behind it; agent-gateway itself
// calls its service in-process (server/direct_backend.h).
#ifndef AGENTGATEWAY_GATEWAY_GRPC_BACKEND_H_
#define AGENTGATEWAY_GATEWAY_GRPC_BACKEND_H_

#include <memory>

#include "gateway/agent_backend.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace agentgateway::gateway {

std::shared_ptr<AgentBackend> MakeGrpcBackend(std::shared_ptr<grpc::Channel> channel);

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_GRPC_BACKEND_H_
