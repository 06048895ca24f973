// LocalRun: one run of the local engine's loop (see local_engine.h for what it does and the
// events it produces). Internal to LocalEngine; its code is in three files: local_run.cc (the
// phases: tool listing, model turns, stopping), run_tools.cc (a turn's tool calls) and
// run_events.cc (the Supervisor-shaped events of each round).
//
// The phases follow one another (tool listing, model turn, tool calls, next turn), and each
// phase's completion starts the next, so the turn state is only touched by the phase in
// progress; what Cancel() and the deadline reach from other threads is under `mu_`. Kept alive
// by the callbacks in flight (shared_from_this) and by the caller's handle.
#ifndef AGENTGATEWAY_SERVER_LOCAL_LOCAL_RUN_H_
#define AGENTGATEWAY_SERVER_LOCAL_LOCAL_RUN_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/json.hpp"
#include "server/engine.h"
#include "server/local/chat_wire.h"
#include "server/local/event_emitter.h"
#include "server/local/local_engine.h"
#include "server/local/local_plan.h"
#include "server/local/mcp_client.h"
#include "server/local/model_client.h"

namespace agentgateway::local {

// How the model sees one tool and where a call to it goes.
struct ToolRoute {
  bool hosted = false;   // false: a client-side function tool, answered by the caller
  std::string url;       // hosted: the MCP server, or the serving endpoint
  std::string mcp_tool;  // hosted on an MCP server: the tool's name there
  bool serving = false;  // hosted: a serving endpoint (knowledge assistant), not MCP
  bool needs_approval = false;  // hosted on MCP: each call waits for an approval first
  std::string server_label;     // hosted on MCP: the server's name in approval requests
  bool send_token = true;       // hosted: calls carry the run's token (ToolEndpoint::send_token)
  std::optional<std::chrono::milliseconds> timeout;  // hosted: the tool's own bound per call
};

class LocalRun final : public RunHandle, public std::enable_shared_from_this<LocalRun> {
 public:
  LocalRun(const LocalEngineOptions* options, const ModelClient* model, McpClient* mcp,
           std::shared_ptr<const LocalEngine::Plan> plan, RunContext context,
           std::shared_ptr<EventSink> sink);

  ~LocalRun() override {
    if (cancel_deadline_) cancel_deadline_();
  }

  void Start();
  void Cancel() override;
  // Closes what is in flight (the model turn, the tool calls) and marks the run stopped;
  // false when it was stopped already.
  bool Stop();
  void OnDeadline();
  // Keeps a tool call's cancel for Stop(); runs it at once when the run stopped meanwhile.
  void TrackToolCall(std::function<void()> cancel);
  void Resume() override { emitter_.Resume(); }

 private:
  struct Listed {
    absl::Mutex mu;
    std::vector<absl::StatusOr<std::vector<McpTool>>> results ABSL_GUARDED_BY(mu);
    std::size_t pending ABSL_GUARDED_BY(mu) = 0;
  };
  struct Batch;  // the tool calls of one turn, or the approved calls (run_tools.cc)

  void OnListed(const std::vector<absl::StatusOr<std::vector<McpTool>>>& results);
  void StartTurn();
  void OnDelta(std::string_view text);
  void OnTurnDone(absl::StatusOr<ChatResult> result);
  // Schedules the failed turn again when the policy, the budget and the deadline allow; false
  // when the failure is final.
  bool RetryTurn(const absl::Status& failure);
  void RunTools(ChatResult turn);
  void RunApproved();
  void StartBatch(std::shared_ptr<Batch> batch);
  void OnBatchDone(std::shared_ptr<Batch> batch);
  // The route a call goes to; nullptr for an unknown tool (or an approved call naming a tool
  // that does not ask for approval).
  const ToolRoute* RouteOf(const ToolCall& call, bool approved) const;

  // Events of the current round (one model turn = one response).
  boost::json::object Response(std::string_view status, boost::json::array output) const;
  void OpenRound();
  void CompleteRound();
  void OpenMessage();
  void CloseMessage();
  void EmitFunctionCall(const ToolCall& call);
  void EmitItem(boost::json::object item, bool function_call);
  void EmitApprovalRequest(const ToolCall& call);
  std::string NextId(std::string_view prefix) {
    return absl::StrCat(std::string(prefix), "_", ++item_seq_);
  }

  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }
  absl::Status DeadlineStatus() const {
    return absl::DeadlineExceededError(context_.deadline_reason.empty()
                                           ? "the caller's deadline passed during the agent loop"
                                           : context_.deadline_reason);
  }
  void Fail(absl::Status status) { emitter_.Finish(std::move(status)); }

  const LocalEngineOptions* options_;
  const ModelClient* model_;
  McpClient* mcp_;
  std::shared_ptr<const LocalEngine::Plan> plan_;
  const RunContext context_;
  EventEmitter emitter_;

  // Stop(): the run was cancelled or its deadline passed; what is in flight is closed and
  // later completions do nothing.
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<upstream::Call> model_call_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> tool_cancels_ ABSL_GUARDED_BY(mu_);  // calls in flight

  // Turn state (see the class comment).
  std::vector<ChatMessage> messages_;
  std::vector<FunctionTool> tools_;
  std::map<std::string, ToolRoute> routes_;  // by the name the model sees
  const std::string base_id_;
  std::function<void()> cancel_deadline_;  // the deadline timer's (see Start)
  int steps_ = 0;
  int turn_attempt_ = 1;                     // of the current model turn
  std::chrono::milliseconds retry_waited_{0};  // backoff so far, every turn of the run
  int round_ = -1;
  int item_seq_ = 0;
  bool round_open_ = false;
  boost::json::array round_items_;
  std::optional<Usage> round_usage_;
  std::string message_id_;  // non-empty while a message is open
  std::string message_text_;
};

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_LOCAL_RUN_H_
