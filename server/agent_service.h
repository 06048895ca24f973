// AgentServiceImpl: the gRPC AgentService on the callback API. Thin: it resolves the profile
// and the identity, then hands the call to a reactor (stream_reactor.h / invoke_reactor.h).
// Shares the immutable config; the engine must outlive the service.
#ifndef AGENTGATEWAY_SERVER_AGENT_SERVICE_H_
#define AGENTGATEWAY_SERVER_AGENT_SERVICE_H_

#include <memory>
#include <string>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "server/config.h"
#include "server/engine.h"

namespace agentgateway {

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  // `app_token` is the bearer token tools run with in `auth: app` profiles.
  AgentServiceImpl(std::shared_ptr<const Config> config, Engine* engine, std::string app_token);

  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* context,
                                   const v1::InvokeRequest* request,
                                   v1::InvokeResponse* response) override;
  grpc::ServerWriteReactor<v1::StreamEvent>* Stream(grpc::CallbackServerContext* context,
                                                    const v1::InvokeRequest* request) override;
  grpc::ServerUnaryReactor* GetAgentInfo(grpc::CallbackServerContext* context,
                                         const v1::GetAgentInfoRequest* request,
                                         v1::AgentInfo* response) override;

 private:
  // Finds the profile and builds the run context, or says why the call is refused.
  absl::StatusOr<RunContext> Prepare(grpc::CallbackServerContext* context,
                                     const v1::InvokeRequest& request,
                                     const Profile** profile) const;
  // Prepares the call and starts the reactor, or makes it fail with the reason.
  template <typename Reactor>
  Reactor* Begin(Reactor* reactor, grpc::CallbackServerContext* context,
                 const v1::InvokeRequest& request);

  std::shared_ptr<const Config> config_;
  Engine* engine_;
  std::string app_token_;
};

// absl -> gRPC, code for code (the one translation point for this protocol).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_AGENT_SERVICE_H_
