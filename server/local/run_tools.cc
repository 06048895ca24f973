// LocalRun's tool phase. A model turn that asked for tools becomes a batch: hosted calls run
// in parallel (MCP servers through McpClient, serving endpoints directly) and their
// function_call / function_call_output items go out; calls that need MCP approval become
// `mcp_approval_request` items and client-side function calls `function_call` items, either of
// which ends the run for the caller to answer. Calls the caller approved make a batch of their
// own before the next model turn, in the same round (response) as that turn.
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "server/local/local_run.h"
#include "server/local/serving_tool.h"

namespace agentgateway::local {
namespace json = boost::json;

struct LocalRun::Batch {
  ChatResult turn;               // the model turn (empty for approved calls)
  std::vector<ToolCall> hosted;  // called now, in parallel
  std::vector<ToolCall> client;  // client-side function calls, for the caller
  std::vector<ToolCall> asking;  // MCP calls that wait for approval
  bool approved = false;         // the caller's approved calls: in the history already
  absl::Mutex mu;
  std::vector<ToolOutcome> outcomes ABSL_GUARDED_BY(mu);
  std::size_t pending ABSL_GUARDED_BY(mu) = 0;
};

void LocalRun::RunTools(ChatResult turn) {
  CloseMessage();  // text the model wrote next to its calls
  auto batch = std::make_shared<Batch>();
  for (ToolCall& call : turn.tool_calls) {
    if (call.id.empty()) call.id = NextId("call_local");
    auto it = routes_.find(call.name);
    if (it != routes_.end() && !it->second.hosted) {
      batch->client.push_back(call);
    } else if (it != routes_.end() && it->second.needs_approval) {
      batch->asking.push_back(call);
    } else {
      batch->hosted.push_back(call);
    }
  }
  batch->turn = std::move(turn);
  StartBatch(std::move(batch));
}

void LocalRun::RunApproved() {
  auto batch = std::make_shared<Batch>();
  batch->approved = true;
  for (const ApprovedCall& a : plan_->approved) {
    std::string name = a.tool;  // the model's name for the tool, when the profile still has it
    for (const auto& [model_name, route] : routes_) {
      if (route.hosted && !route.serving && route.server_label == a.server_label &&
          route.mcp_tool == a.tool) {
        name = model_name;
        break;
      }
    }
    batch->hosted.push_back(ToolCall{a.request_id, std::move(name), a.arguments});
  }
  StartBatch(std::move(batch));
}

void LocalRun::StartBatch(std::shared_ptr<Batch> batch) {
  for (const ToolCall& call : batch->hosted) EmitFunctionCall(call);
  const std::size_t n = batch->hosted.size();
  if (n == 0) return OnBatchDone(std::move(batch));
  if (context_.deadline && std::chrono::steady_clock::now() >= *context_.deadline) {
    return Fail(DeadlineStatus());
  }
  {
    absl::MutexLock lock(&batch->mu);
    batch->outcomes.resize(n);
    batch->pending = n;
  }
  // Each call is bounded by the tool timeout only: the run's deadline closes every call in
  // flight at once (OnDeadline), so a call never fails on its own just before the deadline
  // and lets the loop start one more turn.
  const auto engine_timeout = options_->tool_timeout;
  McpIdentity identity{context_.bearer_token.Reveal(), ""};
  for (std::size_t i = 0; i < n; ++i) {
    const ToolCall& call = batch->hosted[i];
    auto done = [self = shared_from_this(), batch, i](ToolOutcome outcome) {
      {
        absl::MutexLock lock(&batch->mu);
        batch->outcomes[i] = std::move(outcome);
        if (--batch->pending != 0) return;
      }
      self->OnBatchDone(batch);
    };
    const ToolRoute* route = RouteOf(call, batch->approved);
    if (route == nullptr) {
      done(ToolOutcome{absl::StrCat("Error: the model called an unknown tool '", call.name, "'"),
                       true});
      continue;
    }
    const auto timeout = route->timeout.value_or(engine_timeout);  // the tool's own, if set
    if (route->serving) {
      std::shared_ptr<upstream::Call> http = CallServingEndpoint(
          *options_->pool,
          ServingCall{route->url, identity.bearer_token, call.name, call.arguments,
                      std::chrono::steady_clock::now() + timeout},
          std::move(done));
      if (http) TrackToolCall([http] { http->Cancel(); });
    } else {
      std::shared_ptr<McpCallHandle> handle =
          mcp_->CallTool(route->url, route->send_token ? identity : McpIdentity::Anonymous(),
                         route->mcp_tool, call.arguments, std::move(done), timeout);
      TrackToolCall([handle] { handle->Cancel(); });
    }
  }
}

const ToolRoute* LocalRun::RouteOf(const ToolCall& call, bool approved) const {
  auto it = routes_.find(call.name);
  if (it == routes_.end()) return nullptr;
  // An approved call must still name an MCP tool that asks for approval: never anything else.
  if (approved && (!it->second.needs_approval || it->second.serving)) return nullptr;
  return &it->second;
}

void LocalRun::OnBatchDone(std::shared_ptr<Batch> batch) {
  std::vector<ToolOutcome> outcomes;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    tool_cancels_.clear();  // every call of the batch has answered
  }
  {
    absl::MutexLock lock(&batch->mu);
    outcomes = std::move(batch->outcomes);
  }
  const std::vector<ToolCall>& hosted = batch->hosted;
  for (std::size_t i = 0; i < hosted.size(); ++i) {
    EmitItem(json::object{{"type", "function_call_output"},
                          {"id", NextId("fco_local")},
                          {"call_id", hosted[i].id},
                          {"output", outcomes[i].text}},
             false);
  }
  if (batch->approved) {
    for (std::size_t i = 0; i < hosted.size(); ++i) {
      for (ChatMessage& m : messages_) {
        if (m.role == "tool" && m.tool_call_id == hosted[i].id) m.content = outcomes[i].text;
      }
    }
    return StartTurn();  // same round: these items and the next turn's go back together
  }
  if (!batch->client.empty() || !batch->asking.empty()) {
    // The caller runs or approves these and resumes the loop in its next request.
    for (const ToolCall& call : batch->client) EmitFunctionCall(call);
    for (const ToolCall& call : batch->asking) EmitApprovalRequest(call);
    CompleteRound();
    return emitter_.Finish(absl::OkStatus());
  }
  CompleteRound();
  const std::string& text = batch->turn.text;
  messages_.push_back(ChatMessage::Assistant(
      text.empty() ? std::nullopt : std::optional<std::string>(text), hosted));
  for (std::size_t i = 0; i < hosted.size(); ++i) {
    messages_.push_back(ChatMessage::ToolResult(hosted[i].id, outcomes[i].text));
  }
  StartTurn();
}

void LocalRun::EmitApprovalRequest(const ToolCall& call) {
  const ToolRoute& route = routes_.at(call.name);
  // At most 64 characters, as upstream accepts ids back: "mcpr_" + 16 hex + "_" + a counter.
  std::string id = absl::StrCat("mcpr_", base_id_.substr(base_id_.size() - 16), "_",
                                ++item_seq_);
  EmitItem(json::object{{"type", "mcp_approval_request"},
                        {"id", id},
                        {"name", route.mcp_tool},
                        {"server_label", route.server_label},
                        {"arguments", call.arguments.empty() ? "{}" : call.arguments}},
           false);
}

}  // namespace agentgateway::local
