#include "server/local/local_engine.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/local/fold_sink.h"
#include "server/local/local_plan.h"
#include "server/local/local_run.h"

namespace agentgateway::local {

absl::StatusOr<std::unique_ptr<LocalEngine>> LocalEngine::Create(LocalEngineOptions options) {
  if (options.pool == nullptr) return absl::InvalidArgumentError("LocalEngine needs an HttpPool");
  if (options.max_steps < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_steps must be at least 1, not ", options.max_steps));
  }
  auto model = ModelClient::Create(options.pool, options.model_base_url);
  if (!model.ok()) return model.status();
  McpClientOptions mcp_options;
  mcp_options.call_timeout = options.tool_timeout;
  auto mcp = McpClient::Create(options.pool, mcp_options);
  if (!mcp.ok()) return mcp.status();
  return std::unique_ptr<LocalEngine>(
      new LocalEngine(std::move(options), *std::move(model), *std::move(mcp)));
}

absl::StatusOr<std::shared_ptr<RunHandle>> LocalEngine::Stream(const Profile& profile,
                                                               const v1::InvokeRequest& request,
                                                               RunContext context,
                                                               std::shared_ptr<EventSink> sink) {
  if (context.bearer_token.Reveal().empty()) {
    return absl::UnauthenticatedError("the local engine needs a bearer token to run as");
  }
  absl::StatusOr<std::shared_ptr<const Plan>> plan = MakePlan(profile, request);
  if (!plan.ok()) return plan.status();
  auto run = std::make_shared<LocalRun>(&options_, model_.get(), mcp_.get(), *std::move(plan),
                                        std::move(context), std::move(sink));
  run->Start();
  return run;
}

absl::StatusOr<std::shared_ptr<RunHandle>> LocalEngine::Invoke(const Profile& profile,
                                                               const v1::InvokeRequest& request,
                                                               RunContext context,
                                                               InvokeDone done) {
  return Stream(profile, request, std::move(context), MakeFoldSink(std::move(done)));
}
}  // namespace agentgateway::local
