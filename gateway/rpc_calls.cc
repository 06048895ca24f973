#include "gateway/rpc_calls.h"

#include <utility>
#include <vector>

namespace agentgateway::gateway {

void PrepareContext(const RpcPlan& plan, grpc::ClientContext* context) {
  for (const auto& [key, value] : plan.metadata) context->AddMetadata(key, value);
  if (plan.timeout.has_value()) {
    context->set_deadline(std::chrono::system_clock::now() + *plan.timeout);
  }
}

std::string RetryAfter(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("retry-after");
  if (it == trailers.end()) return {};
  return std::string(it->second.data(), it->second.size());
}

namespace {

// One unary call's state; deleted by its completion callback.
struct UnaryCall {
  RpcPlan plan;
  std::shared_ptr<grpc::ClientContext> context = std::make_shared<grpc::ClientContext>();
  agentgateway::v1::InvokeResponse invoke_response;
  agentgateway::v1::GetAgentInfoRequest info_request;
  agentgateway::v1::AgentInfo info_response;
  ResponseCallback done;
  RpcTracker* tracker;
};

}  // namespace

std::shared_ptr<grpc::ClientContext> StartUnaryCall(agentgateway::v1::AgentService::Stub* stub, RpcTracker* tracker, RpcPlan plan,
                    ResponseCallback done) {
  auto call = std::make_unique<UnaryCall>();
  call->plan = std::move(plan);
  call->done = std::move(done);
  call->tracker = tracker;
  PrepareContext(call->plan, call->context.get());
  if (!tracker->Add(call->context)) {
    call->done(ErrorResponseFromStatus(call->plan.flavor,
                                       grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                    "the gateway is shutting down")));
    return nullptr;
  }
  std::shared_ptr<grpc::ClientContext> context = call->context;
  UnaryCall* raw = call.release();  // owned by the completion callback below
  auto on_done = [raw](grpc::Status status) {
    std::unique_ptr<UnaryCall> owned(raw);
    std::string retry_after = RetryAfter(*owned->context);
    HttpResponse response =
        owned->plan.kind == RpcPlan::Kind::kAgentInfo
            ? AgentInfoResultToHttp(status, owned->info_response, retry_after)
            : InvokeResultToHttp(owned->plan, status, owned->invoke_response, retry_after);
    ResponseCallback done = std::move(owned->done);
    done(std::move(response));
    // The callback holds the session's executor: destroy it before Remove lets the server
    // destroy the io_context; Remove comes last.
    done = nullptr;
    // Our own reference goes first, so the tracker's is the last: the context (and with it a
    // reference to the channel) is destroyed inside Remove, before a waiting Stop can drop the
    // channel. The channel then never dies on a gRPC callback thread, which gRPC 1.51 cannot
    // shut down cleanly at exit (its callback queue's own thread would release it).
    grpc::ClientContext* key = owned->context.get();
    owned->context.reset();
    owned->tracker->Remove(key);
  };
  if (raw->plan.kind == RpcPlan::Kind::kAgentInfo) {
    stub->async()->GetAgentInfo(raw->context.get(), &raw->info_request, &raw->info_response,
                                std::move(on_done));
  } else if (raw->plan.kind == RpcPlan::Kind::kGetResponse) {
    stub->async()->GetResponse(raw->context.get(), &raw->plan.get_response,
                               &raw->invoke_response, std::move(on_done));
  } else {
    stub->async()->Invoke(raw->context.get(), &raw->plan.request, &raw->invoke_response,
                          std::move(on_done));
  }
  return context;
}

}  // namespace agentgateway::gateway
