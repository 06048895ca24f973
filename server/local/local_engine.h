// LocalEngine: the `local` engine (issue 9). The gateway runs the agent loop itself: model
// turns against an OpenAI-compatible Chat Completions endpoint (ModelClient) and the profile's
// hosted tools called on their MCP servers (McpClient) or, for knowledge assistants, on their
// serving endpoints (serving_tool.h), producing the same events the
// Supervisor API streams (tests/emulator/README.md "Responses route"), so callers need no
// change: each model turn is one response (`response.created`, `response.in_progress`, its
// items, `response.completed` with that turn's items); a tool turn holds a `function_call`
// item per call and then a `function_call_output` item per hosted call; the answer turn
// streams its message (`output_item.added`, `content_part.added`, `output_text.delta`...,
// `output_text.done`, `content_part.done`, `output_item.done`).
//
// A turn calling a client-side `function` tool ends the run with that `function_call` item;
// the caller's next request carries its `function_call_output` and the loop resumes from the
// history. MCP tools that ask for approval (`uc_connection`, `app`, an `mcp` tool with
// `require_approval: "always"`) likewise end the run with an `mcp_approval_request` item per
// call, calling nothing; the next request's `mcp_approval_response` runs the call (approve)
// or tells the model it was not run (deny), as the Supervisor API does, so the ApprovalEngine
// decorator applies a profile's mcp_approvals policy to this engine too. The loop stops after
// `max_steps` model turns with an `error` event and RESOURCE_EXHAUSTED.
//
// Shared by all requests and thread-safe: immutable after Create. Each run's state lives in
// its own object, kept alive by its callbacks in flight and by the handle given to the
// caller. The HttpPool is not owned and must outlive the engine; the engine must outlive its
// runs (a run in flight calls back into its clients: cancel runs, or let them finish, before
// destroying the engine).
//
// Cancel() and the caller's deadline stop a run in any phase: the model turn and every tool
// call in flight are closed (their connections never go back to the pool, so each server sees
// its client leave), and the run finishes CANCELLED (at once, dropping queued events) or
// DEADLINE_EXCEEDED (after the events already queued).
#ifndef AGENTGATEWAY_SERVER_LOCAL_LOCAL_ENGINE_H_
#define AGENTGATEWAY_SERVER_LOCAL_LOCAL_ENGINE_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/engine.h"
#include "server/local/mcp_client.h"
#include "server/local/model_client.h"
#include "server/local/tool_endpoints.h"
#include "server/supervisor_engine.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::local {

struct LocalEngineOptions {
  upstream::HttpPool* pool = nullptr;  // required; not owned
  // The Chat Completions base, e.g. https://host/serving-endpoints (`/chat/completions` is
  // appended).
  std::string model_base_url;
  // Where the hosted tools' MCP servers are: the workspace host (and App URLs, scopes).
  ToolEndpointConfig tools;
  int max_steps = 10;                            // model turns per run
  std::chrono::milliseconds tool_timeout{120'000};  // each tool call, session set-up included
  // Model turns that fail before the model answered (HTTP 429/502/503/504, no connection) are
  // tried again as the Supervisor adapter's calls are: the same policy, full-jitter backoff,
  // the server's Retry-After, a total wait per run, and a process-wide retry budget. Tool calls
  // are never retried (they may have had effects).
  RetryPolicy retry;
  // Set by Create: the engine's retry budget (shared by its runs).
  SupervisorEngine::RetryBudget* retry_budget = nullptr;
};

class LocalEngine final : public Engine {
 public:
  // INVALID_ARGUMENT for a missing pool, a bad model URL or max_steps < 1.
  static absl::StatusOr<std::unique_ptr<LocalEngine>> Create(LocalEngineOptions options);

  // Validation failures (the request checks of the Supervisor engine's body builder, tools
  // that do not resolve, input items the loop cannot express as Chat messages) return an
  // error at once; everything later reaches the sink.
  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    std::shared_ptr<EventSink> sink) override;
  // The same run, folded into one Responses object: every turn's items in order, the first
  // turn's id, status "completed".
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context, InvokeDone done) override;

  struct Plan;  // a validated request, ready to run; defined in local_engine.cc

 private:
  LocalEngine(LocalEngineOptions options, std::unique_ptr<ModelClient> model,
              std::unique_ptr<McpClient> mcp)
      : options_(std::move(options)),
        model_(std::move(model)),
        mcp_(std::move(mcp)),
        budget_(options_.retry.budget_ratio, options_.retry.budget_reserve) {
    options_.retry_budget = &budget_;
  }

  absl::StatusOr<std::shared_ptr<const Plan>> MakePlan(const Profile& profile,
                                                       const v1::InvokeRequest& request) const;

  LocalEngineOptions options_;
  std::unique_ptr<ModelClient> model_;
  std::unique_ptr<McpClient> mcp_;
  SupervisorEngine::RetryBudget budget_;
};

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_LOCAL_ENGINE_H_
