#include "server/local/local_run.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "absl/strings/str_format.h"
#include "server/local/serving_tool.h"
#include "server/metrics.h"

namespace agentgateway::local {
namespace json = boost::json;
namespace {

std::string RandomHex() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("%016x", rng());
}

// A name the Chat API accepts (^[a-zA-Z0-9_-]{1,64}$), unique among `taken`: the MCP tool's
// own name when it fits, else made to fit, with `_2`, `_3`, ... on a clash. Deterministic for
// one profile, so names in a replayed history still resolve.
std::string ModelToolName(std::string_view name, const std::map<std::string, ToolRoute>& taken) {
  std::string base;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    base.push_back(ok ? c : '_');
  }
  if (base.empty()) base = "tool";
  base.resize(std::min<std::size_t>(base.size(), 64));
  std::string candidate = base;
  for (int n = 2; taken.contains(candidate); ++n) {
    std::string suffix = absl::StrCat("_", n);
    candidate = base.substr(0, 64 - suffix.size()) + suffix;
  }
  return candidate;
}

}  // namespace

LocalRun::LocalRun(const LocalEngineOptions* options, const ModelClient* model, McpClient* mcp,
                   std::shared_ptr<const LocalEngine::Plan> plan, RunContext context,
                   std::shared_ptr<EventSink> sink)
    : options_(options),
      model_(model),
      mcp_(mcp),
      plan_(std::move(plan)),
      context_(std::move(context)),
      emitter_(std::move(sink)),
      messages_(plan_->messages),
      base_id_(absl::StrCat("resp_local_", RandomHex())) {}

void LocalRun::Start() {
  if (context_.deadline) {
    // The whole run ends at the caller's deadline, whatever phase it is in. Holds the run
    // weakly: a run that finished earlier is gone and the timer does nothing.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*context_.deadline -
                                                              std::chrono::steady_clock::now());
    // Cancelled when the run is destroyed: a finished run leaves no timer behind until its
    // deadline (a long profile timeout would otherwise pile them up under load).
    cancel_deadline_ = options_->pool->RunAfterCancellable(
        std::max(left, std::chrono::milliseconds(0)), [weak = weak_from_this()] {
          if (auto self = weak.lock()) self->OnDeadline();
        });
  }
  for (const FunctionTool& f : plan_->functions) {
    routes_.emplace(f.name, ToolRoute{});
    tools_.push_back(f);
  }
  // Serving endpoints have nothing to list: their results stay empty.
  const std::size_t n = plan_->endpoints.size();
  std::vector<std::size_t> to_list;
  for (std::size_t i = 0; i < n; ++i) {
    if (plan_->endpoints[i].kind == ToolEndpointKind::kMcp) to_list.push_back(i);
  }
  if (to_list.empty()) {
    return OnListed(std::vector<absl::StatusOr<std::vector<McpTool>>>(n, std::vector<McpTool>()));
  }
  auto listed = std::make_shared<Listed>();
  {
    absl::MutexLock lock(&listed->mu);
    listed->results.assign(n, std::vector<McpTool>());
    listed->pending = to_list.size();
  }
  const McpIdentity identity{context_.bearer_token.Reveal(), ""};
  for (std::size_t i : to_list) {
    mcp_->ListTools(plan_->endpoints[i].url,
                    plan_->endpoints[i].send_token ? identity : McpIdentity::Anonymous(),
                    [self = shared_from_this(), listed, i](auto result) {
                      std::vector<absl::StatusOr<std::vector<McpTool>>> results;
                      {
                        absl::MutexLock lock(&listed->mu);
                        listed->results[i] = std::move(result);
                        if (--listed->pending != 0) return;
                        results = std::move(listed->results);
                      }
                      self->OnListed(results);
                    });
  }
}

void LocalRun::OnListed(const std::vector<absl::StatusOr<std::vector<McpTool>>>& results) {
  if (cancelled()) return;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ToolEndpoint& endpoint = plan_->endpoints[i];
    if (endpoint.kind == ToolEndpointKind::kServingEndpoint) {
      std::string name = ModelToolName(endpoint.name, routes_);
      ToolRoute route{true, endpoint.url, "", true};
      route.timeout = endpoint.timeout;
      routes_.emplace(name, std::move(route));
      tools_.push_back(FunctionTool{
          name,
          endpoint.description.empty()
              ? absl::StrCat("Asks the knowledge assistant ", endpoint.name, " a question")
              : endpoint.description,
          kServingToolSchema});
      continue;
    }
    if (!results[i].ok()) {
      return Fail(absl::Status(results[i].status().code(),
                               absl::StrCat("listing the tools of ", endpoint.type, " server ",
                                            endpoint.url, ": ", results[i].status().message())));
    }
    bool found = false;
    for (const McpTool& tool : *results[i]) {
      if (!endpoint.mcp_tool.empty() && tool.name != endpoint.mcp_tool) continue;
      found = true;
      std::string name = ModelToolName(tool.name, routes_);
      routes_.emplace(name, ToolRoute{true, endpoint.url, tool.name, false,
                                      endpoint.needs_approval, endpoint.server_label,
                                      endpoint.send_token, endpoint.timeout});
      tools_.push_back(FunctionTool{
          name, tool.description.empty() ? endpoint.description : tool.description,
          tool.input_schema_json});
    }
    if (!endpoint.mcp_tool.empty() && !found) {
      return Fail(absl::FailedPreconditionError(absl::StrCat(
          "the MCP server ", endpoint.url, " has no tool '", endpoint.mcp_tool, "'")));
    }
  }
  if (!plan_->approved.empty()) return RunApproved();
  StartTurn();
}

void LocalRun::StartTurn() {
  if (context_.deadline && std::chrono::steady_clock::now() >= *context_.deadline) {
    return Fail(DeadlineStatus());
  }
  ++steps_;
  ChatRequest request;
  request.model = plan_->model;
  request.messages = messages_;
  request.tools = tools_;
  if (!tools_.empty()) request.parallel_tool_calls = plan_->parallel_tool_calls;
  request.temperature = plan_->temperature;
  request.max_tokens = plan_->max_tokens;
  if (options_->retry_budget != nullptr && turn_attempt_ == 1) options_->retry_budget->OnRequest();
  ModelCallOptions call_options;
  call_options.bearer_token = context_.bearer_token.Reveal();
  call_options.deadline = context_.deadline;
  call_options.extra_headers = context_.forward_headers;
  std::weak_ptr<LocalRun> weak = weak_from_this();
  auto call = model_->Complete(
      request, call_options,
      // Deltas come on the call's strand before its completion; the run is alive meanwhile.
      [weak](std::string_view text) {
        if (auto self = weak.lock()) self->OnDelta(text);
      },
      [self = shared_from_this()](absl::StatusOr<ChatResult> result) {
        self->OnTurnDone(std::move(result));
      });
  if (!call.ok()) return Fail(call.status());
  bool cancel;
  {
    absl::MutexLock lock(&mu_);
    model_call_ = *call;
    cancel = cancelled_;
  }
  if (cancel) (*call)->Cancel();
}

bool LocalRun::RetryTurn(const absl::Status& failure) {
  const std::optional<std::chrono::milliseconds> retry_after = RetryableTurnFailure(failure);
  const RetryPolicy& policy = options_->retry;
  if (!retry_after.has_value() || turn_attempt_ >= policy.max_attempts) return false;
  const std::chrono::milliseconds delay = BackoffDelay(policy, turn_attempt_, *retry_after);
  if (retry_waited_ + delay > policy.max_total_wait) return false;
  if (context_.deadline && std::chrono::steady_clock::now() + delay >= *context_.deadline) {
    return false;  // the retry could not finish in time: the caller hears the failure now
  }
  if (options_->retry_budget != nullptr && !options_->retry_budget->TryWithdraw()) return false;
  ++turn_attempt_;
  retry_waited_ += delay;
  --steps_;  // the same turn again, not one more
  Metrics::Get().UpstreamRetry();
  if (context_.retries) context_.retries->fetch_add(1);
  options_->pool->RunAfter(delay, [self = shared_from_this()] {
    {
      absl::MutexLock lock(&self->mu_);
      if (self->cancelled_) return;  // Cancel() or the deadline finished the run meanwhile
    }
    self->StartTurn();
  });
  return true;
}

void LocalRun::OnDelta(std::string_view text) {
  if (text.empty()) return;
  OpenMessage();
  message_text_.append(text);
  emitter_.Emit("response.output_text.delta", {{"item_id", message_id_},
                                               {"output_index", round_items_.size()},
                                               {"content_index", 0},
                                               {"delta", text}});
}

void LocalRun::OnTurnDone(absl::StatusOr<ChatResult> result) {
  {
    absl::MutexLock lock(&mu_);
    model_call_.reset();
    if (cancelled_) return;
  }
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kDeadlineExceeded && context_.deadline &&
        std::chrono::steady_clock::now() >= *context_.deadline) {
      return Fail(DeadlineStatus());
    }
    if (RetryTurn(result.status())) return;
    if (turn_attempt_ == 1) return Fail(result.status());
    return Fail(absl::Status(result.status().code(),
                             absl::StrCat(result.status().message(), " (after ", turn_attempt_,
                                          " attempts)")));
  }
  turn_attempt_ = 1;
  round_usage_ = result->usage;
  if (result->tool_calls.empty()) {
    OpenMessage();  // an answer with no text still gets its (empty) message
    CloseMessage();
    CompleteRound();
    return emitter_.Finish(absl::OkStatus());
  }
  if (steps_ >= options_->max_steps) {
    std::string message = absl::StrCat(
        "the agent loop reached its limit of ", options_->max_steps,
        " model turns (max_steps) without a final answer");
    emitter_.Emit("error", {{"code", "RESOURCE_EXHAUSTED"}, {"message", message},
                            {"param", nullptr}});
    return Fail(absl::ResourceExhaustedError(message));
  }
  RunTools(*std::move(result));
}

bool LocalRun::Stop() {
  std::shared_ptr<upstream::Call> model_call;
  std::vector<std::function<void()>> tool_cancels;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return false;
    cancelled_ = true;
    model_call = std::move(model_call_);
    tool_cancels.swap(tool_cancels_);
  }
  // Each closes its connection; the completions that follow find the run stopped.
  if (model_call) model_call->Cancel();
  for (auto& cancel : tool_cancels) cancel();
  return true;
}

void LocalRun::TrackToolCall(std::function<void()> cancel) {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      tool_cancels_.push_back(std::move(cancel));
      return;
    }
  }
  cancel();
}

void LocalRun::Cancel() {
  if (!Stop()) return;
  // The finish is posted so a Cancel() made from inside the sink or under the caller's lock
  // never calls the sink back on the same stack.
  options_->pool->RunAfter(std::chrono::milliseconds(0), [self = shared_from_this()] {
    self->emitter_.Abort(absl::CancelledError("the run was cancelled"));
  });
}

void LocalRun::OnDeadline() {
  // Runs on a pool thread, never inside the sink: the finish can be delivered from here.
  if (emitter_.finished() || !Stop()) return;
  Fail(DeadlineStatus());
}
}  // namespace agentgateway::local
