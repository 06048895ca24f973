// What AgentServiceImpl needs of a call, whatever door it came through.
//
// CallDoor: the caller's metadata, a place for trailing metadata and the caller's deadline.
// GrpcCallDoor wraps a gRPC server context; the REST door's in-process calls bring their own
// (server/direct_backend.cc).
//
// ServiceCall: one call on its way through admission to the engine: the gRPC reactors
// (stream_reactor.h, invoke_reactor.h) and the REST door's in-process calls implement it.
#ifndef AGENTGATEWAY_SERVER_SERVICE_CALL_H_
#define AGENTGATEWAY_SERVER_SERVICE_CALL_H_

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "agentgateway/v1/agent_service.pb.h"
#include "server/call_log.h"
#include "server/call_registry.h"
#include "server/config.h"
#include "server/engine.h"

namespace grpc {
class CallbackServerContext;
}  // namespace grpc

namespace agentgateway {

class CallDoor {
 public:
  virtual ~CallDoor() = default;
  // The caller's metadata value for `key` (lowercase); empty when absent.
  virtual std::string Metadata(std::string_view key) const = 0;
  // Trailing metadata for the caller (gRPC trailers; the REST door reads retry-after).
  virtual void AddTrailer(std::string key, std::string value) = 0;
  // The caller's deadline; time_point::max() when it set none.
  virtual std::chrono::system_clock::time_point deadline() const = 0;
  // Whether the door itself ends the call at its deadline (gRPC does). When not, the deadline
  // given to the engine is the call's own.
  virtual bool enforces_deadline() const = 0;
};

class GrpcCallDoor final : public CallDoor {
 public:
  explicit GrpcCallDoor(grpc::CallbackServerContext* context) : context_(context) {}
  std::string Metadata(std::string_view key) const override;
  void AddTrailer(std::string key, std::string value) override;
  std::chrono::system_clock::time_point deadline() const override;
  bool enforces_deadline() const override { return true; }

 private:
  grpc::CallbackServerContext* context_;
};

class ServiceCall {
 public:
  virtual ~ServiceCall() = default;
  virtual CallInfo& info() = 0;
  // Ends the call with a status of the gateway's choosing (drain). Any thread, any time.
  virtual CallRegistry::AbortFn AbortFn() = 0;
  // Ends the call with `status` before its engine run started.
  virtual void Fail(const absl::Status& status) = 0;
  // Hands the admitted call to the engine.
  virtual void Start(Engine& engine, const Profile& profile, const v1::InvokeRequest& request,
                     RunContext context) = 0;
  // A background run's poll; calls that cannot poll keep this default (UNIMPLEMENTED).
  virtual void Start(Engine& engine, const Profile& profile,
                     const v1::GetResponseRequest& request, RunContext context);
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_SERVICE_CALL_H_
