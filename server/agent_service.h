// AgentServiceImpl: the gRPC AgentService on the callback API. Thin: it resolves the profile
// and the identity the call runs as, then hands the call to a reactor (stream_reactor.h /
// invoke_reactor.h). Shares the immutable config; the engine and the app token source must
// outlive the service.
#ifndef AGENTGATEWAY_SERVER_AGENT_SERVICE_H_
#define AGENTGATEWAY_SERVER_AGENT_SERVICE_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "server/call_log.h"
#include "server/call_registry.h"
#include "server/config.h"
#include "server/engine.h"
#include "server/metrics.h"
#include "server/service_call.h"
#include "server/identity/scope_policy.h"
#include "server/identity/token_source.h"

namespace agentgateway {

struct ServiceOptions {
  // Honour x-forwarded-* metadata (user token, user, email). Only behind a trusted proxy.
  bool trusted_proxy = false;
  identity::ScopeTable scopes = identity::ScopeTable::Defaults();
  // Calls running at once (both doors); beyond it a call is refused at once with
  // RESOURCE_EXHAUSTED (REST 429) and Retry-After. 0: no limit.
  std::size_t max_concurrent_calls = 1024;
};

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  // `app_tokens` supplies the bearer token tools run with in `auth: app` profiles.
  AgentServiceImpl(std::shared_ptr<const Config> config, Engine* engine,
                   identity::TokenSource* app_tokens, ServiceOptions options = {});

  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* context,
                                   const v1::InvokeRequest* request,
                                   v1::InvokeResponse* response) override;
  grpc::ServerWriteReactor<v1::StreamEvent>* Stream(grpc::CallbackServerContext* context,
                                                    const v1::InvokeRequest* request) override;
  grpc::ServerUnaryReactor* GetResponse(grpc::CallbackServerContext* context,
                                        const v1::GetResponseRequest* request,
                                        v1::InvokeResponse* response) override;
  grpc::ServerUnaryReactor* GetAgentInfo(grpc::CallbackServerContext* context,
                                         const v1::GetAgentInfoRequest* request,
                                         v1::AgentInfo* response) override;

  // Calls from an in-process door (the REST door, server/direct_backend.h), under the same
  // rules as gRPC calls: drain, load shedding, admission (profile, identity, scopes, limits),
  // then `call->Start` (after the app token arrived, for app identity) or `call->Fail`.
  // `door` and `request` must stay valid until the call ends. Request: InvokeRequest or
  // GetResponseRequest.
  template <typename Request>
  void Begin(ServiceCall* call, CallDoor* door, const Request& request);
  // GetAgentInfo's answer.
  void FillAgentInfo(v1::AgentInfo* info) const;

  // Graceful drain (SIGTERM), in this order. StartDrain: new calls are refused with
  // UNAVAILABLE; calls in flight go on. WaitIdle: blocks until none is left or `timeout`
  // passed (true: none left). AbortAll: ends every call in flight with `status` (events already
  // queued still go out first); returns how many were asked to end.
  void StartDrain();
  bool WaitIdle(absl::Duration timeout) const { return calls_->WaitEmpty(timeout); }
  // Blocks until gRPC is done with every call (their final statuses were sent), so that
  // stopping the server then cuts nothing short.
  bool WaitAllDone(absl::Duration timeout) const { return calls_->WaitAllDone(timeout); }
  std::size_t AbortAll(const absl::Status& status) {
    std::size_t n = calls_->AbortAll(status);
    Metrics::Get().Cancellation("drain", n);
    return n;
  }
  std::size_t active_calls() const { return calls_->size(); }

 private:
  // Everything decided before the engine starts: the profile, the identity and the call's
  // log facts. `run.bearer_token` is empty for app-identity calls (fetched asynchronously).
  struct Admission {
    const Profile* profile = nullptr;
    RunContext run;
    CallInfo info;
  };
  // `user_id` is the caller's own claim (request context), preferred in logs to the
  // forwarded user.
  // `invoke`: the request, when it may define its own agent (null for a poll).
  absl::StatusOr<Admission> Admit(CallDoor& door, const std::string& profile_name,
                                  const std::string& user_id, CallInfo info,
                                  const v1::InvokeRequest* invoke);

  std::shared_ptr<const Config> config_;
  Engine* engine_;
  identity::TokenSource* app_tokens_;
  ServiceOptions options_;
  std::atomic<bool> warned_untrusted_headers_{false};
  std::atomic<bool> draining_{false};
  // Every admitted call holds a slot of this registry (load shedding, drain).
  std::shared_ptr<CallRegistry> calls_ = CallRegistry::Create();
  // Calls running per profile, for profiles with limits.max_concurrent_calls (fixed at
  // construction; the counters themselves are atomic).
  std::map<std::string, std::unique_ptr<std::atomic<std::size_t>>> profile_calls_;
};

// absl -> gRPC, code for code (the one translation point for this protocol).
grpc::Status ToGrpcStatus(const absl::Status& status);

// The metrics' denial reason for a call refused before anything went upstream.
std::string_view DenialReason(const absl::Status& status);

// Whether the call's deadline has passed (a cancellation then is the deadline's), and the
// status such a call ends with.
bool DeadlinePassed(const CallInfo& info);
absl::Status CallersDeadlinePassed();

// Passes an engine failure's Retry-After (kRetryAfterPayload) to the caller as the
// `retry-after` trailer. Call before Finish.
void AddRetryAfterTrailer(const CallInfo& info, const absl::Status& status);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_AGENT_SERVICE_H_
