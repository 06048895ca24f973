#include "server/local/local_engine.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "boost/json.hpp"
#include "server/request_builder.h"

namespace agentgateway::local {

namespace json = boost::json;

// How the model sees one tool and where a call to it goes.
struct ToolRoute {
  bool hosted = false;   // false: a client-side function tool, answered by the caller
  std::string url;       // hosted: the MCP server
  std::string mcp_tool;  // hosted: the tool's name on that server
};

struct LocalEngine::Plan {
  std::string model;
  std::vector<ChatMessage> messages;     // instructions + the history
  std::vector<FunctionTool> functions;   // client-side function tools, offered as-is
  std::vector<ToolEndpoint> endpoints;   // hosted tools' MCP servers, in profile order
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  std::optional<bool> parallel_tool_calls;
};

namespace {

std::string Str(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A message's text: a string, or its text parts joined. Other parts cannot go to a Chat model
// as text: refused rather than dropped.
absl::StatusOr<std::string> ContentText(const json::value* content, std::size_t index) {
  if (content == nullptr || content->is_null()) return std::string();
  if (content->is_string()) return std::string(content->as_string());
  if (!content->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("input[", index, "].content must be a string or an array of parts"));
  }
  std::string text;
  for (const json::value& part : content->as_array()) {
    const json::object* p = part.if_object();
    std::string type = p ? Str(*p, "type") : "";
    if (type != "input_text" && type != "output_text" && type != "text") {
      return absl::InvalidArgumentError(absl::StrCat(
          "input[", index, "]: content part type '", type,
          "' is not supported by the local engine (text parts only)"));
    }
    text += Str(*p, "text");
  }
  return text;
}

absl::Status AddItem(const json::object& item, std::size_t index,
                     std::vector<ChatMessage>& messages) {
  std::string type = Str(item, "type");
  if (type.empty() && item.contains("role")) type = "message";
  if (type == "message") {
    std::string role = Str(item, "role");
    absl::StatusOr<std::string> text = ContentText(item.if_contains("content"), index);
    if (!text.ok()) return text.status();
    ChatMessage m;
    m.role = role;
    m.content = *std::move(text);
    messages.push_back(std::move(m));
  } else if (type == "function_call") {
    ToolCall call{Str(item, "call_id"), Str(item, "name"), Str(item, "arguments")};
    // Consecutive calls are one assistant turn: their results must follow it together.
    if (!messages.empty() && messages.back().role == "assistant" &&
        !messages.back().tool_calls.empty()) {
      messages.back().tool_calls.push_back(std::move(call));
    } else {
      messages.push_back(ChatMessage::Assistant(std::nullopt, {std::move(call)}));
    }
  } else if (type == "function_call_output") {
    const json::value* output = item.if_contains("output");
    std::string text = output == nullptr        ? std::string()
                       : output->is_string()    ? std::string(output->as_string())
                                                : json::serialize(*output);
    messages.push_back(ChatMessage::ToolResult(Str(item, "call_id"), std::move(text)));
  } else if (type == "reasoning") {
    // The model's private reasoning from an earlier turn: Chat Completions has no place for
    // it, and the model does not need it to continue.
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "input[", index, "]: item type '", type, "' is not supported by the local engine"));
  }
  return absl::OkStatus();
}

// The top-level fields a profile may pass through, as Chat parameters.
absl::Status ApplyPassThrough(std::string_view key, const json::value& v,
                              LocalEngine::Plan& plan) {
  if (key == "temperature" && v.is_number()) {
    plan.temperature = v.to_number<double>();
  } else if (key == "max_output_tokens" && v.is_number()) {
    plan.max_tokens = v.to_number<int64_t>();
  } else if (key == "parallel_tool_calls" && v.is_bool()) {
    plan.parallel_tool_calls = v.as_bool();
  } else if (key == "metadata" || key == "store" || key == "user" || v.is_null()) {
    // Describe the Responses object, not the model call.
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("field `", std::string(key), "` is not supported by the local engine"));
  }
  return absl::OkStatus();
}

std::string RandomHex() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("%016x", rng());
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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

// Delivers a run's events in order, one at a time, never losing one: while the sink asks for
// a pause (OnEvent false) later events wait in the queue until Resume(). The finish is
// delivered after the queue drains, except an abort (cancel), which drops what is queued.
// Thread-safe; the sink is called without the lock held, from whichever thread drains.
class Emitter {
 public:
  explicit Emitter(std::shared_ptr<EventSink> sink) : sink_(std::move(sink)) {}

  void Emit(std::string type, json::object data) {
    {
      absl::MutexLock lock(&mu_);
      if (finish_.has_value()) return;
      json::object event{{"type", type}, {"sequence_number", next_seq_++}};
      for (auto& field : data) event.emplace(field.key(), std::move(field.value()));
      queue_.push_back(EngineEvent{std::move(type), json::serialize(event)});
    }
    Drain();
  }
  void Finish(absl::Status status) {
    {
      absl::MutexLock lock(&mu_);
      if (finish_.has_value()) return;
      finish_ = std::move(status);
    }
    Drain();
  }
  void Abort(absl::Status status) {
    {
      absl::MutexLock lock(&mu_);
      if (delivered_) return;
      queue_.clear();
      finish_ = std::move(status);
      paused_ = false;
    }
    Drain();
  }
  void Resume() {
    {
      absl::MutexLock lock(&mu_);
      paused_ = false;
    }
    Drain();
  }
  bool finished() {
    absl::MutexLock lock(&mu_);
    return finish_.has_value();
  }

 private:
  void Drain() {
    for (;;) {
      std::optional<EngineEvent> event;
      std::optional<absl::Status> status;
      std::shared_ptr<EventSink> sink;
      {
        absl::MutexLock lock(&mu_);
        // One drainer at a time keeps the sink's calls ordered and never concurrent; a call
        // made from inside the sink (an event, a cancel) only queues and the drainer goes on.
        if (draining_ || paused_ || delivered_) return;
        if (!queue_.empty()) {
          event = std::move(queue_.front());
          queue_.pop_front();
        } else if (finish_.has_value()) {
          delivered_ = true;
          status = *finish_;
          sink = std::move(sink_);  // released after OnFinish: the sink may hold our handle
        } else {
          return;
        }
        draining_ = true;
        if (event) sink = sink_;
      }
      bool more = true;
      if (event) {
        more = sink->OnEvent(std::move(*event));
      } else {
        sink->OnFinish(std::move(*status));
      }
      absl::MutexLock lock(&mu_);
      draining_ = false;
      if (!more) paused_ = true;
    }
  }

  absl::Mutex mu_;
  std::shared_ptr<EventSink> sink_ ABSL_GUARDED_BY(mu_);
  std::deque<EngineEvent> queue_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> finish_ ABSL_GUARDED_BY(mu_);
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool delivered_ ABSL_GUARDED_BY(mu_) = false;
};

// One run of the loop. Its phases follow one another (tool listing, model turn, tool calls,
// next turn), and each phase's completion starts the next, so the turn state below is only
// touched by the phase in progress; what Cancel() reaches from other threads is under mu_.
// Kept alive by the callbacks in flight (shared_from_this) and by the caller's handle.
class LocalRun final : public RunHandle, public std::enable_shared_from_this<LocalRun> {
 public:
  LocalRun(const LocalEngineOptions* options, const ModelClient* model, McpClient* mcp,
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

  void Start();
  void Cancel() override;
  void Resume() override { emitter_.Resume(); }

 private:
  struct Listed {
    absl::Mutex mu;
    std::vector<absl::StatusOr<std::vector<McpTool>>> results ABSL_GUARDED_BY(mu);
    std::size_t pending ABSL_GUARDED_BY(mu) = 0;
  };
  struct Outcomes {
    absl::Mutex mu;
    std::vector<ToolOutcome> results ABSL_GUARDED_BY(mu);
    std::size_t pending ABSL_GUARDED_BY(mu) = 0;
  };

  void OnListed(const std::vector<absl::StatusOr<std::vector<McpTool>>>& results);
  void StartTurn();
  void OnDelta(std::string_view text);
  void OnTurnDone(absl::StatusOr<ChatResult> result);
  void RunTools(ChatResult turn);
  void OnToolsDone(ChatResult turn, std::vector<ToolCall> hosted, std::vector<ToolCall> client,
                   std::vector<ToolOutcome> outcomes);

  // Events of the current round (one model turn = one response).
  json::object Response(std::string_view status, json::array output) const;
  void OpenRound();
  void CompleteRound();
  void OpenMessage();
  void CloseMessage();
  void EmitFunctionCall(const ToolCall& call);
  void EmitItem(json::object item, bool function_call);
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
  Emitter emitter_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<upstream::Call> model_call_ ABSL_GUARDED_BY(mu_);

  // Turn state (see the class comment).
  std::vector<ChatMessage> messages_;
  std::vector<FunctionTool> tools_;
  std::map<std::string, ToolRoute> routes_;  // by the name the model sees
  const std::string base_id_;
  int steps_ = 0;
  int round_ = -1;
  int item_seq_ = 0;
  bool round_open_ = false;
  json::array round_items_;
  std::optional<Usage> round_usage_;
  std::string message_id_;  // non-empty while a message is open
  std::string message_text_;
};

void LocalRun::Start() {
  for (const FunctionTool& f : plan_->functions) {
    routes_.emplace(f.name, ToolRoute{});
    tools_.push_back(f);
  }
  const std::size_t n = plan_->endpoints.size();
  if (n == 0) return StartTurn();
  auto listed = std::make_shared<Listed>();
  {
    absl::MutexLock lock(&listed->mu);
    listed->results.assign(n, absl::UnknownError("not listed"));
    listed->pending = n;
  }
  McpIdentity identity{context_.bearer_token.Reveal(), ""};
  for (std::size_t i = 0; i < n; ++i) {
    mcp_->ListTools(plan_->endpoints[i].url, identity,
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
      routes_.emplace(name, ToolRoute{true, endpoint.url, tool.name});
      tools_.push_back(FunctionTool{
          name, tool.description.empty() ? endpoint.description : tool.description,
          tool.input_schema_json});
    }
    if (!endpoint.mcp_tool.empty() && !found) {
      return Fail(absl::FailedPreconditionError(absl::StrCat(
          "the MCP server ", endpoint.url, " has no tool '", endpoint.mcp_tool, "'")));
    }
  }
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
    return Fail(result.status());
  }
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

void LocalRun::RunTools(ChatResult turn) {
  CloseMessage();  // text the model wrote next to its calls
  std::vector<ToolCall> hosted, client;
  for (ToolCall& call : turn.tool_calls) {
    if (call.id.empty()) call.id = NextId("call_local");
    auto it = routes_.find(call.name);
    (it != routes_.end() && !it->second.hosted ? client : hosted).push_back(call);
  }
  for (const ToolCall& call : hosted) EmitFunctionCall(call);
  auto outcomes = std::make_shared<Outcomes>();
  const std::size_t n = hosted.size();
  if (n == 0) return OnToolsDone(std::move(turn), {}, std::move(client), {});
  {
    absl::MutexLock lock(&outcomes->mu);
    outcomes->results.resize(n);
    outcomes->pending = n;
  }
  auto timeout = options_->tool_timeout;
  if (context_.deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *context_.deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Fail(DeadlineStatus());
    timeout = std::min(timeout, left);
  }
  McpIdentity identity{context_.bearer_token.Reveal(), ""};
  auto shared_turn = std::make_shared<ChatResult>(std::move(turn));
  for (std::size_t i = 0; i < n; ++i) {
    auto done = [self = shared_from_this(), outcomes, i, shared_turn, hosted,
                 client](ToolOutcome outcome) {
      std::vector<ToolOutcome> results;
      {
        absl::MutexLock lock(&outcomes->mu);
        outcomes->results[i] = std::move(outcome);
        if (--outcomes->pending != 0) return;
        results = std::move(outcomes->results);
      }
      self->OnToolsDone(std::move(*shared_turn), hosted, client, std::move(results));
    };
    auto route = routes_.find(hosted[i].name);
    if (route == routes_.end()) {
      done(ToolOutcome{absl::StrCat("Error: the model called an unknown tool '", hosted[i].name,
                                    "'"),
                       true});
      continue;
    }
    mcp_->CallTool(route->second.url, identity, route->second.mcp_tool, hosted[i].arguments,
                   std::move(done), timeout);
  }
}

void LocalRun::OnToolsDone(ChatResult turn, std::vector<ToolCall> hosted,
                           std::vector<ToolCall> client, std::vector<ToolOutcome> outcomes) {
  if (cancelled()) return;
  for (std::size_t i = 0; i < hosted.size(); ++i) {
    EmitItem(json::object{{"type", "function_call_output"},
                          {"id", NextId("fco_local")},
                          {"call_id", hosted[i].id},
                          {"output", outcomes[i].text}},
             false);
  }
  if (!client.empty()) {
    // The caller runs these and resumes the loop with their outputs in its next request.
    for (const ToolCall& call : client) EmitFunctionCall(call);
    CompleteRound();
    return emitter_.Finish(absl::OkStatus());
  }
  CompleteRound();
  messages_.push_back(ChatMessage::Assistant(
      turn.text.empty() ? std::nullopt : std::optional<std::string>(turn.text), hosted));
  for (std::size_t i = 0; i < hosted.size(); ++i) {
    messages_.push_back(ChatMessage::ToolResult(hosted[i].id, outcomes[i].text));
  }
  StartTurn();
}

void LocalRun::Cancel() {
  std::shared_ptr<upstream::Call> call;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    call = model_call_;
  }
  if (call) call->Cancel();
  // Tool calls in flight cannot be stopped (McpClient has no cancel); their outcomes are
  // dropped. The finish is posted so a Cancel() made from inside the sink or under the
  // caller's lock never calls the sink back on the same stack.
  options_->pool->RunAfter(std::chrono::milliseconds(0), [self = shared_from_this()] {
    self->emitter_.Abort(absl::CancelledError("the run was cancelled"));
  });
}

json::object LocalRun::Response(std::string_view status, json::array output) const {
  std::string id = round_ == 0 ? base_id_ : absl::StrCat(base_id_, "_r", round_);
  json::object response{{"id", id},          {"object", "response"},
                        {"created_at", UnixNow()}, {"status", status},
                        {"model", plan_->model}, {"output", std::move(output)}};
  if (status == "completed" && round_usage_) {
    response["usage"] = {{"input_tokens", round_usage_->prompt_tokens},
                         {"output_tokens", round_usage_->completion_tokens},
                         {"total_tokens", round_usage_->total_tokens}};
  }
  return response;
}

void LocalRun::OpenRound() {
  if (round_open_) return;
  round_open_ = true;
  ++round_;
  round_items_.clear();
  emitter_.Emit("response.created", {{"response", Response("in_progress", {})}});
  emitter_.Emit("response.in_progress", {{"response", Response("in_progress", {})}});
}

void LocalRun::CompleteRound() {
  OpenRound();
  emitter_.Emit("response.completed", {{"response", Response("completed", round_items_)}});
  round_open_ = false;
}

void LocalRun::OpenMessage() {
  if (!message_id_.empty()) return;
  OpenRound();
  message_id_ = NextId("msg_local");
  message_text_.clear();
  json::object item{{"type", "message"}, {"id", message_id_}, {"role", "assistant"},
                    {"status", "in_progress"}, {"content", json::array()}};
  std::size_t index = round_items_.size();
  emitter_.Emit("response.output_item.added", {{"output_index", index}, {"item", item}});
  emitter_.Emit("response.content_part.added",
                {{"item_id", message_id_}, {"output_index", index}, {"content_index", 0},
                 {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
}

void LocalRun::CloseMessage() {
  if (message_id_.empty()) return;
  std::size_t index = round_items_.size();
  json::object part{{"type", "output_text"}, {"text", message_text_},
                    {"annotations", json::array()}};
  emitter_.Emit("response.output_text.done", {{"item_id", message_id_},
                                              {"output_index", index},
                                              {"content_index", 0},
                                              {"text", message_text_}});
  emitter_.Emit("response.content_part.done", {{"item_id", message_id_},
                                               {"output_index", index},
                                               {"content_index", 0},
                                               {"part", part}});
  json::object item{{"type", "message"}, {"id", message_id_}, {"role", "assistant"},
                    {"status", "completed"}, {"content", json::array{part}}};
  emitter_.Emit("response.output_item.done", {{"output_index", index}, {"item", item}});
  round_items_.push_back(std::move(item));
  message_id_.clear();
}

void LocalRun::EmitFunctionCall(const ToolCall& call) {
  EmitItem(json::object{{"type", "function_call"},
                        {"id", NextId("fc_local")},
                        {"call_id", call.id},
                        {"name", call.name},
                        {"arguments", call.arguments.empty() ? "{}" : call.arguments},
                        {"status", "completed"}},
           true);
}

void LocalRun::EmitItem(json::object item, bool function_call) {
  OpenRound();
  std::size_t index = round_items_.size();
  json::object added = item;
  if (function_call) {
    added["status"] = "in_progress";
    added["arguments"] = "";
  }
  emitter_.Emit("response.output_item.added", {{"output_index", index}, {"item", added}});
  if (function_call) {
    emitter_.Emit("response.function_call_arguments.done", {{"item_id", item.at("id")},
                                                             {"output_index", index},
                                                             {"arguments", item.at("arguments")}});
  }
  emitter_.Emit("response.output_item.done", {{"output_index", index}, {"item", item}});
  round_items_.push_back(std::move(item));
}

// Folds a run's events into one Responses object for Invoke: the first response's id and
// model, every item of every round in order, usage summed.
class FoldSink final : public EventSink {
 public:
  explicit FoldSink(Engine::InvokeDone done) : done_(std::move(done)) {}

  bool OnEvent(EngineEvent event) override {
    if (event.type != "response.created" && event.type != "response.output_item.done" &&
        event.type != "response.completed") {
      return true;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(event.json, ec);
    if (ec || !parsed.is_object()) return true;  // the run's own events: cannot happen
    json::object& data = parsed.as_object();
    if (event.type == "response.output_item.done") {
      output_.push_back(data.at("item"));
    } else if (event.type == "response.created" && first_.empty()) {
      first_ = data.at("response").as_object();
    } else if (const json::value* usage = data.at("response").as_object().if_contains("usage")) {
      for (const char* key : {"input_tokens", "output_tokens", "total_tokens"}) {
        usage_[key] = usage_[key].to_number<int64_t>() + usage->at(key).to_number<int64_t>();
      }
    }
    return true;
  }

  void OnFinish(absl::Status status) override {
    if (!status.ok()) return done_(std::move(status));
    InvokeResult result;
    result.id = Str(first_, "id");
    result.status = "completed";
    for (const json::value& item : output_) {
      const json::object& obj = item.as_object();
      if (Str(obj, "type") != "message") continue;
      for (const json::value& part : obj.at("content").as_array()) {
        result.output_text += Str(part.as_object(), "text");
      }
    }
    json::object response = first_;
    response["status"] = "completed";
    response["output"] = std::move(output_);
    response["usage"] = usage_;
    result.response_json = json::serialize(response);
    done_(std::move(result));
  }

 private:
  Engine::InvokeDone done_;
  json::object first_;
  json::array output_;
  json::object usage_{{"input_tokens", 0}, {"output_tokens", 0}, {"total_tokens", 0}};
};

}  // namespace

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

absl::StatusOr<std::shared_ptr<const LocalEngine::Plan>> LocalEngine::MakePlan(
    const Profile& profile, const v1::InvokeRequest& request) const {
  // The Supervisor engine's body builder holds every request check (history consistency, id
  // hygiene, the pass-through allow-list, the model allow-list): the loop starts from its body.
  absl::StatusOr<std::string> body = BuildUpstreamBody(request, profile, /*stream=*/false);
  if (!body.ok()) return body.status();
  json::object obj = json::parse(*body).as_object();
  auto plan = std::make_shared<Plan>();
  for (const auto& member : obj) {
    std::string_view key = member.key();
    const json::value& v = member.value();
    if (key == "model") {
      plan->model = std::string(v.as_string());
    } else if (key == "instructions") {
      plan->messages.insert(plan->messages.begin(), ChatMessage::System(std::string(v.as_string())));
    } else if (key == "input") {
      const json::array& items = v.as_array();
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (absl::Status s = AddItem(items[i].as_object(), i, plan->messages); !s.ok()) return s;
      }
    } else if (key == "tools") {
      for (const json::value& tool : v.as_array()) {
        const json::object& t = tool.as_object();
        if (Str(t, "type") == "function") {
          const json::value* params = t.if_contains("parameters");
          plan->functions.push_back(FunctionTool{Str(t, "name"), Str(t, "description"),
                                                 params ? json::serialize(*params) : ""});
          continue;
        }
        absl::StatusOr<ToolEndpoint> endpoint = ResolveHostedTool(json::serialize(tool), options_.tools);
        if (!endpoint.ok()) return endpoint.status();
        if (endpoint->kind != ToolEndpointKind::kMcp) {
          return absl::UnimplementedError(absl::StrCat(
              "the local engine cannot call ", endpoint->type,
              " tools yet (a serving endpoint, not an MCP server)"));
        }
        plan->endpoints.push_back(*std::move(endpoint));
      }
    } else if (key == "trace_destination") {
      // Tracing to Unity Catalog is the Supervisor API's; the local loop writes no traces.
    } else if (key == "background" && v.is_bool() && v.as_bool()) {
      return absl::InvalidArgumentError("the local engine has no background runs");
    } else if (key != "background") {
      if (absl::Status s = ApplyPassThrough(key, v, *plan); !s.ok()) return s;
    }
  }
  return plan;
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
  return Stream(profile, request, std::move(context), std::make_shared<FoldSink>(std::move(done)));
}

}  // namespace agentgateway::local
