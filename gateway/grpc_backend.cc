#include "gateway/grpc_backend.h"

#include <utility>

#include <grpcpp/channel.h>

#include "gateway/rpc_calls.h"
#include "gateway/sse_stream.h"

namespace agentgateway::gateway {
namespace {

// A call's handle: TryCancel on its context (kept alive by the handle).
class ContextHandle final : public CallHandle {
 public:
  explicit ContextHandle(std::shared_ptr<grpc::ClientContext> context)
      : context_(std::move(context)) {}
  void Cancel() override { context_->TryCancel(); }

 private:
  std::shared_ptr<grpc::ClientContext> context_;
};

class GrpcBackend final : public AgentBackend {
 public:
  explicit GrpcBackend(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)), stub_(v1::AgentService::NewStub(channel_)) {}

  std::shared_ptr<CallHandle> StartUnary(RpcPlan plan, ResponseCallback done) override {
    auto context = StartUnaryCall(stub_.get(), &tracker_, std::move(plan), std::move(done));
    if (context == nullptr) return nullptr;
    return std::make_shared<ContextHandle>(std::move(context));
  }

  std::shared_ptr<CallHandle> StartStream(RpcPlan plan,
                                          std::shared_ptr<StreamSink> sink) override {
    std::shared_ptr<grpc::ClientContext> context =
        SseStream::Start(stub_.get(), &tracker_, std::move(plan), std::move(sink));
    if (context == nullptr) return nullptr;  // refused: the sink has its answer
    return std::make_shared<ContextHandle>(std::move(context));
  }

  bool CancelAllAndWait(absl::Duration timeout) override {
    return tracker_.CancelAllAndWait(timeout);
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
  RpcTracker tracker_;
};

}  // namespace

std::shared_ptr<AgentBackend> MakeGrpcBackend(std::shared_ptr<grpc::Channel> channel) {
  return std::make_shared<GrpcBackend>(std::move(channel));
}

}  // namespace agentgateway::gateway
