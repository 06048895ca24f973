#include "server/approval_engine.h"

#include <optional>
#include <set>
#include <utility>

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/json_text.h"
#include "server/logging.h"
#include "server/metrics.h"

namespace agentgateway {
namespace {

namespace json = boost::json;

std::string StringMember(const std::vector<JsonMember>& members, std::string_view key) {
  std::optional<std::string_view> v = FindMember(members, key);
  if (!v.has_value()) return "";
  boost::system::error_code ec;
  json::value parsed = json::parse(*v, ec);
  return !ec && parsed.is_string() ? std::string(parsed.as_string()) : std::string();
}

// The exact texts of the items of the `output` array of the Responses object `response`.
std::vector<std::string_view> OutputItems(std::string_view response) {
  absl::StatusOr<std::vector<JsonMember>> members = SplitJsonObject(response);
  if (!members.ok()) return {};
  std::optional<std::string_view> output = FindMember(*members, "output");
  if (!output.has_value()) return {};
  absl::StatusOr<std::vector<std::string_view>> items = SplitJsonArray(*output);
  return items.ok() ? *std::move(items) : std::vector<std::string_view>();
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += items[i];
  }
  out += ']';
  return out;
}

// True when the policy decides every request, so the gateway can answer the round itself.
bool AllDecided(const std::vector<PendingApproval>& pending) {
  if (pending.empty()) return false;
  for (const PendingApproval& p : pending) {
    if (p.decision == ApprovalDecision::kAsk) return false;
  }
  return true;
}

void LogDecisions(const Profile& profile, const std::vector<PendingApproval>& pending) {
  for (const PendingApproval& p : pending) {
    Metrics::Get().ApprovalAnswered(p.decision == ApprovalDecision::kApprove);
    Log(LogLevel::kInfo, "mcp approval answered by policy",
        {{"profile", profile.name},
         {"server_label", p.server_label},
         {"tool", p.name},
         {"decision", p.decision == ApprovalDecision::kApprove ? "approve" : "deny"}});
  }
}

// The request that continues `request` after a round: its input, the round's items and the
// answers, in order (the request builder applies history hygiene to them like to any input).
v1::InvokeRequest Continuation(const v1::InvokeRequest& request,
                               const std::vector<std::string>& items) {
  v1::InvokeRequest next = request;
  for (const std::string& item : items) next.add_input()->set_json(item);
  return next;
}

// One run across rounds, as the caller's RunHandle: cancel and resume reach whichever
// upstream run is current, and a run started after a cancel is cancelled at once.
class ChainHandle final : public RunHandle {
 public:
  void Cancel() override {
    std::shared_ptr<RunHandle> run;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      run = current_;
    }
    if (run) run->Cancel();
  }
  void Resume() override {
    std::shared_ptr<RunHandle> run;
    {
      absl::MutexLock lock(&mu_);
      run = current_;
      if (run == nullptr) resume_owed_ = true;  // for the round about to start
    }
    if (run) run->Resume();
  }
  // Between rounds: the finished run takes no more calls.
  void Clear() {
    absl::MutexLock lock(&mu_);
    ++round_;
    current_.reset();
  }
  int round() {
    absl::MutexLock lock(&mu_);
    return round_;
  }
  // `round`: round() when the run was asked for. A run can end (and the next round start)
  // before its Stream()/Invoke() returns: such a run is not current any more.
  void Set(std::shared_ptr<RunHandle> run, int round) {
    bool cancel;
    bool resume;
    {
      absl::MutexLock lock(&mu_);
      if (round != round_) return;
      current_ = run;
      cancel = cancelled_;
      resume = std::exchange(resume_owed_, false);
    }
    if (cancel) return run->Cancel();
    if (resume) run->Resume();
  }
  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<RunHandle> current_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool resume_owed_ ABSL_GUARDED_BY(mu_) = false;
  int round_ ABSL_GUARDED_BY(mu_) = 0;
};

// What every round of one call shares.
struct Chain {
  Engine* inner;
  std::shared_ptr<const Profile> profile;
  v1::InvokeRequest request;  // grows by each answered round
  RunContext context;
  std::shared_ptr<ChainHandle> handle = std::make_shared<ChainHandle>();
  int rounds = 0;  // answered by policy so far

  bool MayAnswer(const std::vector<PendingApproval>& pending) const {
    return rounds < profile->mcp_approvals.max_rounds && AllDecided(pending);
  }
};

// The streaming call: watches each round's events, holds back the completed event of a round
// the policy answers, and starts the next round when the upstream stream ends.
class ApprovalStream final : public EventSink,
                             public std::enable_shared_from_this<ApprovalStream> {
 public:
  ApprovalStream(std::shared_ptr<Chain> chain, std::shared_ptr<EventSink> sink)
      : chain_(std::move(chain)), sink_(std::move(sink)) {}

  absl::Status Start() {
    const int round = chain_->handle->round();
    absl::StatusOr<std::shared_ptr<RunHandle>> run =
        chain_->inner->Stream(*chain_->profile, chain_->request, chain_->context, shared_from_this());
    if (!run.ok()) return run.status();
    chain_->handle->Set(*std::move(run), round);
    return absl::OkStatus();
  }

  bool OnEvent(EngineEvent event) override {
    bool keep_reading = true;
    if (held_.has_value()) {
      // The stream went on after the round: it was not the run's end, so the caller gets the
      // round as it came and decides.
      keep_reading = sink_->OnEvent(*std::exchange(held_, std::nullopt));
      run_items_.insert(run_items_.end(), completed_items_.begin(), completed_items_.end());
      completed_items_.clear();
      pending_.clear();
    }
    if (event.type == "response.created") {
      round_items_.clear();
    } else if (event.type == "response.output_item.done") {
      if (auto members = SplitJsonObject(event.json); members.ok()) {
        if (auto item = FindMember(*members, "item")) round_items_.emplace_back(*item);
      }
    } else if (event.type == "response.completed") {
      if (OnRoundCompleted(event)) return keep_reading;
      // A round of a run that goes on (one created/completed pair per tool round): its items
      // belong to the conversation a later answered round continues.
      for (std::string_view item : RoundItems(event)) run_items_.emplace_back(item);
    }
    return sink_->OnEvent(std::move(event)) && keep_reading;
  }

  void OnFinish(absl::Status status) override {
    if (!status.ok() || !held_.has_value()) {
      if (held_.has_value()) sink_->OnEvent(*std::exchange(held_, std::nullopt));
      return sink_->OnFinish(std::move(status));
    }
    if (chain_->handle->cancelled()) {
      // Nothing more goes upstream: the caller sees the round as it came, then the end.
      sink_->OnEvent(*std::exchange(held_, std::nullopt));
      return sink_->OnFinish(absl::CancelledError("cancelled by caller"));
    }
    // The run ended on a round the policy answers: answer it and go on.
    LogDecisions(*chain_->profile, pending_);
    std::vector<std::string> answers;
    for (const PendingApproval& p : pending_) {
      answers.push_back(ApprovalResponseItem(p, chain_->profile->name));
    }
    std::int64_t index = static_cast<std::int64_t>(completed_items_.size());
    for (const std::string& answer : answers) {
      sink_->OnEvent(EngineEvent{
          "response.output_item.done",
          absl::StrCat(R"({"type":"response.output_item.done","output_index":)", index++,
                       R"(,"item":)", answer, "}")});
    }
    std::vector<std::string> round = completed_items_;
    round.insert(round.end(), answers.begin(), answers.end());
    EngineEvent completed = *std::exchange(held_, std::nullopt);
    if (auto members = SplitJsonObject(completed.json); members.ok()) {
      if (auto response = FindMember(*members, "response")) {
        completed.json = ReplaceJsonMember(completed.json, "response",
                                       ReplaceJsonMember(*response, "output", JsonArray(round)));
      }
    }
    sink_->OnEvent(std::move(completed));

    // The next request carries every round of this run, not only the answered one: a tool
    // round before it would otherwise be missing, and run again.
    run_items_.insert(run_items_.end(), round.begin(), round.end());
    chain_->request = Continuation(chain_->request, run_items_);
    ++chain_->rounds;
    pending_.clear();
    completed_items_.clear();
    round_items_.clear();
    run_items_.clear();
    chain_->handle->Clear();
    if (chain_->handle->cancelled()) {
      return sink_->OnFinish(absl::CancelledError("cancelled by caller"));
    }
    if (absl::Status started = Start(); !started.ok()) sink_->OnFinish(std::move(started));
  }

 private:
  // The items of a round's completed event. Upstream quirk: an empty output although the
  // round streamed its items; then the streamed ones. Views into `event` or round_items_.
  std::vector<std::string_view> RoundItems(const EngineEvent& event) {
    std::vector<std::string_view> items;
    if (auto members = SplitJsonObject(event.json); members.ok()) {
      if (auto response = FindMember(*members, "response")) items = OutputItems(*response);
    }
    if (items.empty()) items.assign(round_items_.begin(), round_items_.end());
    return items;
  }

  // True when the round's completed event is held back because the policy answers it.
  bool OnRoundCompleted(const EngineEvent& event) {
    std::vector<std::string_view> items = RoundItems(event);
    std::vector<PendingApproval> pending = PendingApprovals(items, chain_->profile->mcp_approvals);
    if (!chain_->MayAnswer(pending)) return false;
    completed_items_.assign(items.begin(), items.end());
    pending_ = std::move(pending);
    held_ = event;
    return true;
  }

  std::shared_ptr<Chain> chain_;
  std::shared_ptr<EventSink> sink_;
  std::vector<std::string> round_items_;      // this round's output_item.done items
  std::vector<std::string> completed_items_;  // the held round's items
  std::vector<std::string> run_items_;        // the items of this run's earlier rounds
  std::vector<PendingApproval> pending_;      // the held round's requests
  std::optional<EngineEvent> held_;           // the held round's response.completed
};

// The unary call: each round's Responses object is checked; a round the policy answers is
// followed by the next, and the caller gets one object holding every round's items.
class ApprovalInvoke final : public std::enable_shared_from_this<ApprovalInvoke> {
 public:
  ApprovalInvoke(std::shared_ptr<Chain> chain, Engine::InvokeDone done)
      : chain_(std::move(chain)), done_(std::move(done)) {}

  absl::Status Start() {
    const int round = chain_->handle->round();
    absl::StatusOr<std::shared_ptr<RunHandle>> run = chain_->inner->Invoke(
        *chain_->profile, chain_->request, chain_->context,
        [self = shared_from_this()](absl::StatusOr<InvokeResult> result) {
          self->OnResult(std::move(result));
        });
    if (!run.ok()) return run.status();
    chain_->handle->Set(*std::move(run), round);
    return absl::OkStatus();
  }

 private:
  void OnResult(absl::StatusOr<InvokeResult> result) {
    if (!result.ok()) return done_(std::move(result));
    std::vector<std::string_view> items = OutputItems(result->response_json);
    std::vector<PendingApproval> pending = PendingApprovals(items, chain_->profile->mcp_approvals);
    if (!chain_->MayAnswer(pending)) {
      if (!earlier_.empty()) {
        std::vector<std::string> all = earlier_;
        all.insert(all.end(), items.begin(), items.end());
        result->response_json = ReplaceJsonMember(result->response_json, "output", JsonArray(all));
      }
      return done_(std::move(result));
    }
    LogDecisions(*chain_->profile, pending);
    std::vector<std::string> round(items.begin(), items.end());
    for (const PendingApproval& p : pending) {
      round.push_back(ApprovalResponseItem(p, chain_->profile->name));
    }
    earlier_.insert(earlier_.end(), round.begin(), round.end());
    chain_->request = Continuation(chain_->request, round);
    ++chain_->rounds;
    chain_->handle->Clear();
    if (chain_->handle->cancelled()) return done_(absl::CancelledError("cancelled by caller"));
    if (absl::Status started = Start(); !started.ok()) done_(std::move(started));
  }

  std::shared_ptr<Chain> chain_;
  Engine::InvokeDone done_;
  std::vector<std::string> earlier_;  // items of the rounds answered so far, answers included
};

// A background run is the upstream's to hold: its approvals go to whoever polls it.
bool IsBackground(const v1::InvokeRequest& request) {
  if (request.extra_json().empty()) return false;
  absl::StatusOr<std::vector<JsonMember>> members = SplitJsonObject(request.extra_json());
  return members.ok() && FindMember(*members, "background") == "true";
}

std::shared_ptr<Chain> MakeChain(Engine* inner, const Profile& profile,
                                 const v1::InvokeRequest& request, RunContext context) {
  auto chain = std::make_shared<Chain>();
  chain->inner = inner;
  chain->profile = std::make_shared<const Profile>(profile);
  chain->request = request;
  chain->context = std::move(context);
  return chain;
}

}  // namespace

std::vector<PendingApproval> PendingApprovals(const std::vector<std::string_view>& items,
                                              const ApprovalPolicy& policy) {
  std::vector<PendingApproval> pending;
  std::set<std::string> answered;
  for (std::string_view item : items) {
    absl::StatusOr<std::vector<JsonMember>> members = SplitJsonObject(item);
    if (!members.ok()) continue;
    std::string type = StringMember(*members, "type");
    if (type == "mcp_approval_response") {
      answered.insert(StringMember(*members, "approval_request_id"));
    } else if (type == "mcp_approval_request") {
      PendingApproval p{StringMember(*members, "id"), StringMember(*members, "server_label"),
                        StringMember(*members, "name")};
      // Without an id the request cannot be answered: left to the caller.
      if (!p.id.empty()) p.decision = policy.Decide(p.server_label, p.name);
      pending.push_back(std::move(p));
    }
  }
  std::erase_if(pending, [&](const PendingApproval& p) { return answered.count(p.id) > 0; });
  return pending;
}

std::string ApprovalResponseItem(const PendingApproval& request, std::string_view profile_name) {
  const bool approve = request.decision == ApprovalDecision::kApprove;
  json::object item;
  item["type"] = "mcp_approval_response";
  item["approval_request_id"] = request.id;
  item["approve"] = approve;
  item["reason"] = std::string(approve ? "approved" : "denied") +
                   " by agent-gateway's mcp_approvals policy of profile '" +
                   std::string(profile_name) + "'";
  return json::serialize(item);
}

absl::StatusOr<std::shared_ptr<RunHandle>> ApprovalEngine::Stream(
    const Profile& profile, const v1::InvokeRequest& request, RunContext context,
    std::shared_ptr<EventSink> sink) {
  if (profile.mcp_approvals.empty()) {
    return inner_->Stream(profile, request, std::move(context), std::move(sink));
  }
  auto chain = MakeChain(inner_, profile, request, std::move(context));
  auto stream = std::make_shared<ApprovalStream>(chain, std::move(sink));
  if (absl::Status started = stream->Start(); !started.ok()) return started;
  return chain->handle;
}

absl::StatusOr<std::shared_ptr<RunHandle>> ApprovalEngine::Invoke(const Profile& profile,
                                                                  const v1::InvokeRequest& request,
                                                                  RunContext context,
                                                                  InvokeDone done) {
  if (profile.mcp_approvals.empty() || IsBackground(request)) {
    return inner_->Invoke(profile, request, std::move(context), std::move(done));
  }
  auto chain = MakeChain(inner_, profile, request, std::move(context));
  auto invoke = std::make_shared<ApprovalInvoke>(chain, std::move(done));
  if (absl::Status started = invoke->Start(); !started.ok()) return started;
  return chain->handle;
}

}  // namespace agentgateway
