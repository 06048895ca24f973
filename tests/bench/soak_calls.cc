#include "tests/bench/soak_calls.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "server/upstream/sse_decoder.h"

namespace agentgateway::soak {
namespace {

namespace json = boost::json;

// Hosted tools of the gateway's default profile are named in some: 0, 1 or 2 tool rounds.
const std::vector<std::string> kQuestions = {
    "Hello there",
    "How did sales do last quarter?",
    "Please run python_exec on the numbers",
    "What does the handbook say about leave?",
    "Compare sales with the handbook",
};
constexpr auto kCallLimit = std::chrono::seconds(60);  // no call may take longer
constexpr int kProblemsShown = 20;
std::atomic<int> problems_shown{0};

// Collects one REST response; the SSE data frames are decoded as they arrive.
class RestCollector final : public upstream::ResponseHandler {
 public:
  explicit RestCollector(bool sse) : sse_(sse) {}

  void OnHead(const upstream::HttpResponseHead& head) override {
    std::lock_guard<std::mutex> lock(mu_);
    http_status_ = head.status;
  }
  bool OnBody(std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (sse_ && http_status_ == 200) {
      decoder_.Feed(bytes, [this](upstream::SseEvent&& e) { frames_.push_back(std::move(e.data)); });
    } else {
      body_.append(bytes);
    }
    cv_.notify_all();
    return true;
  }
  void OnComplete(absl::Status status) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    status_ = std::move(status);
    cv_.notify_all();
  }
  void WaitFrames(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, kCallLimit, [&] { return done_ || frames_.size() >= n; });
  }
  bool WaitDone() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kCallLimit, [&] { return done_; });
  }
  // After WaitDone().
  int http_status() const { return http_status_; }
  const absl::Status& status() const { return status_; }
  const std::string& body() const { return body_; }
  const std::vector<std::string>& frames() const { return frames_; }

 private:
  const bool sse_;
  std::mutex mu_;
  std::condition_variable cv_;
  int http_status_ = 0;
  upstream::SseDecoder decoder_;
  std::vector<std::string> frames_;
  std::string body_;
  bool done_ = false;
  absl::Status status_;
};

// The gateway's own mid-stream error frame on /invocations: {"error": "..."}.
bool IsGatewayErrorFrame(const std::string& data) {
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  return !ec && v.is_object() && v.get_object().size() == 1 &&
         v.get_object().contains("error");
}

bool IsTraceFrame(const std::string& data) {
  return data.rfind("{\"trace_id\"", 0) == 0;
}

std::string CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                 "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int c = static_cast<int>(code);
  return c >= 0 && c <= 16 ? kNames[c] : absl::StrCat(c);
}

void SleepUs(int us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); }

}  // namespace

bool FaultMustFail(const std::string& fault) { return !fault.empty() && fault != "drip"; }

const std::vector<std::string>& AllFaults() {
  static const std::vector<std::string> kFaults = {
      "429",         "500",   "503",  "html-502", "reset", "truncate", "error-then-completed",
      "error-event", "oauth", "drip", "hang",     "hang-mid",
  };
  return kFaults;
}

std::unique_ptr<upstream::HttpPool> MakeRestPool() {
  upstream::PoolOptions options;
  options.threads = 1;
  options.response_timeout = std::chrono::seconds(20);
  options.read_idle_timeout = std::chrono::seconds(20);
  auto pool = upstream::HttpPool::Create(options);
  if (!pool.ok()) {
    std::fprintf(stderr, "soak: REST client pool: %s\n", pool.status().ToString().c_str());
    return nullptr;
  }
  return *std::move(pool);
}

std::string CallRunner::QuestionText(const CallPlan& plan) const {
  return absl::StrCat(kQuestions[plan.question], " [[fault:",
                      plan.fault.empty() ? std::string("none") : plan.fault, "]]");
}

CallRunner::Result CallRunner::GrpcStream(const CallPlan& plan, std::mt19937_64& rng) {
  Result r;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallLimit);
  v1::InvokeRequest request;
  v1::InputItem* item = request.add_input();
  item->set_type(v1::ITEM_TYPE_MESSAGE);
  item->set_role("user");
  item->set_text(QuestionText(plan));
  auto reader = stub_->Stream(&ctx, request);
  bool cancelled = false;
  if (plan.cancel && plan.cancel_after_events == 0) {
    SleepUs(plan.cancel_delay_us);
    ctx.TryCancel();
    cancelled = true;
  }
  v1::StreamEvent event;
  while (reader->Read(&event)) {
    r.gateway_seq.push_back(event.sequence_number());
    r.events.push_back(ToSeenEvent(event.json(), plan.fault));
    if (plan.cancel && !cancelled && r.events.size() >= plan.cancel_after_events) {
      ctx.TryCancel();
      cancelled = true;
    }
  }
  grpc::Status status = reader->Finish();
  r.detail = status.error_message();
  r.ok = status.ok();
  r.cancelled = cancelled && status.error_code() == grpc::StatusCode::CANCELLED;
  r.outcome = r.ok ? "completed" : r.cancelled ? "cancelled" : "error:" + CodeName(status.error_code());
  return r;
}

CallRunner::Result CallRunner::GrpcInvoke(const CallPlan& plan) {
  Result r;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallLimit);
  v1::InvokeRequest request;
  v1::InputItem* item = request.add_input();
  item->set_type(v1::ITEM_TYPE_MESSAGE);
  item->set_role("user");
  item->set_text(QuestionText(plan));
  v1::InvokeResponse response;
  std::promise<grpc::Status> done;
  stub_->async()->Invoke(&ctx, &request, &response,
                         [&done](grpc::Status status) { done.set_value(std::move(status)); });
  if (plan.cancel) {
    SleepUs(plan.cancel_delay_us);
    ctx.TryCancel();
  }
  grpc::Status status = done.get_future().get();  // bounded by the deadline
  r.detail = status.error_message();
  r.ok = status.ok();
  r.cancelled = plan.cancel && status.error_code() == grpc::StatusCode::CANCELLED;
  r.outcome = r.ok ? "completed" : r.cancelled ? "cancelled" : "error:" + CodeName(status.error_code());
  if (r.ok) r.answer = Normalize(response.response_json(), plan.fault);
  return r;
}

CallRunner::Result CallRunner::Rest(const CallPlan& plan, bool stream) {
  Result r;
  upstream::HttpRequest request;
  request.method = "POST";
  request.url.scheme = "http";
  request.url.host = "127.0.0.1";
  request.url.port = rest_port_;
  request.url.target = "/invocations";
  request.headers.emplace_back("Content-Type", "application/json");
  json::object body{{"input", json::array{json::object{{"role", "user"},
                                                       {"content", QuestionText(plan)}}}}};
  if (stream) body["stream"] = true;
  request.body = json::serialize(body);
  auto collector = std::make_shared<RestCollector>(stream);
  std::shared_ptr<upstream::Call> call = rest_pool_->Start(std::move(request), collector);
  if (plan.cancel) {
    if (stream && plan.cancel_after_events > 0) {
      collector->WaitFrames(plan.cancel_after_events);
    } else {
      SleepUs(plan.cancel_delay_us);
    }
    call->Cancel();
  }
  if (!collector->WaitDone()) {
    call->Cancel();
    collector->WaitDone();
    r.silent_end = true;
    r.outcome = "stuck";
    return r;
  }
  const absl::Status& status = collector->status();
  r.detail = status.ok() ? collector->body().substr(0, 300) : std::string(status.message());
  bool done_marker = false, error_frame = false;
  for (const std::string& data : collector->frames()) {
    if (data == "[DONE]") {
      done_marker = true;
    } else if (IsGatewayErrorFrame(data)) {
      error_frame = true;
      r.detail = data;
    } else if (!IsTraceFrame(data)) {
      r.events.push_back(ToSeenEvent(data, plan.fault));
    }
  }
  if (!status.ok()) {
    r.cancelled = plan.cancel && absl::IsCancelled(status);
    r.silent_end = !r.cancelled;
    r.outcome = r.cancelled ? "cancelled" : absl::StrCat("error:transport_",
                                                         absl::StatusCodeToString(status.code()));
  } else if (collector->http_status() != 200) {
    r.outcome = absl::StrCat("error:http_", collector->http_status());
    r.silent_end = collector->body().find("\"detail\"") == std::string::npos;
  } else if (!stream) {
    r.ok = true;
    r.outcome = "completed";
    r.answer = Normalize(collector->body(), plan.fault);
  } else if (done_marker) {
    r.ok = !error_frame;
    r.outcome = error_frame ? "error:frame" : "completed";
  } else {
    r.silent_end = true;
    r.outcome = "error:no_done";
  }
  return r;
}

CallRunner::Result CallRunner::Call(const CallPlan& plan, std::mt19937_64& rng) {
  switch (plan.kind) {
    case Kind::kGrpcStream:
      return GrpcStream(plan, rng);
    case Kind::kGrpcInvoke:
      return GrpcInvoke(plan);
    case Kind::kRestJson:
      return Rest(plan, false);
    case Kind::kRestSse:
      return Rest(plan, true);
  }
  return {};
}

absl::Status CallRunner::BuildReferences() {
  std::mt19937_64 rng(0);
  for (Kind kind : kKinds) {
    for (std::size_t q = 0; q < kQuestions.size(); ++q) {
      CallPlan plan;
      plan.kind = kind;
      plan.question = q;
      Reference refs[2];
      for (Reference& ref : refs) {
        Result r = Call(plan, rng);
        if (!r.ok) {
          return absl::FailedPreconditionError(absl::StrCat(
              std::string(KindName(kind)), " '", kQuestions[q], "' failed fault-free: ", r.outcome));
        }
        for (const SeenEvent& e : r.events) ref.events.push_back(e.normalized);
        ref.answer = r.answer;
      }
      if (refs[0].events != refs[1].events || refs[0].answer != refs[1].answer) {
        return absl::FailedPreconditionError(absl::StrCat(
            std::string(KindName(kind)), " '", kQuestions[q], "': two fault-free answers differ after "
            "normalization:\n", refs[0].answer, "\n", refs[1].answer,
            refs[0].events.empty() ? "" : "\n" + refs[0].events.back(),
            refs[1].events.empty() ? "" : "\n" + refs[1].events.back()));
      }
      references_[{kind, q}] = refs[0];
    }
  }
  return absl::OkStatus();
}

std::string CallRunner::DescribeReferences() const {
  std::string out;
  for (const auto& [key, ref] : references_) {
    if (!ref.events.empty()) absl::StrAppend(&out, std::string(KindName(key.first)), "#", key.second, " ",
                                             ref.events.size(), " events; ");
  }
  absl::StrAppend(&out, references_.size(), " references");
  return out;
}

CallPlan CallRunner::RandomPlan(std::mt19937_64& rng, double fault_rate,
                                double cancel_rate) const {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  CallPlan plan;
  plan.kind = kKinds[std::uniform_int_distribution<int>(0, 3)(rng)];
  plan.question = std::uniform_int_distribution<std::size_t>(0, kQuestions.size() - 1)(rng);
  if (unit(rng) < fault_rate) {
    plan.fault = faults_[std::uniform_int_distribution<std::size_t>(0, faults_.size() - 1)(rng)];
  }
  plan.cancel = unit(rng) < cancel_rate;
  std::size_t events = references_.at({plan.kind, plan.question}).events.size();
  plan.cancel_after_events = std::uniform_int_distribution<std::size_t>(0, events)(rng);
  plan.cancel_delay_us = std::uniform_int_distribution<int>(0, 3000)(rng);
  return plan;
}

void CallRunner::Judge(const CallPlan& plan, const Result& r, Tally& tally) const {
  int64_t before = tally.problems();
  const Reference& ref = references_.at({plan.kind, plan.question});
  tally.requests[std::string(KindName(plan.kind))]++;
  if (!plan.fault.empty()) tally.faults[plan.fault]++;
  if (plan.cancel) tally.cancels++;
  tally.outcomes[r.outcome]++;
  StreamCheck check;
  if (plan.kind == Kind::kGrpcStream || plan.kind == Kind::kRestSse) {
    check = CheckStream(r.events, ref.events, r.gateway_seq, r.ok);
    tally.events += static_cast<int64_t>(r.events.size());
    tally.lost += check.lost;
    tally.duplicated += check.duplicated;
    if (r.ok && check.upstream_error) tally.unexpected_ok++;
  } else if (r.ok && !FaultMustFail(plan.fault) && r.answer != ref.answer) {
    tally.mismatched++;
  }
  if (r.silent_end) tally.silent_ends++;
  if (r.ok && FaultMustFail(plan.fault)) tally.unexpected_ok++;
  if (!r.ok && !plan.cancel && plan.fault.empty()) tally.unexpected_error++;
  if (tally.problems() > before && problems_shown.fetch_add(1) < kProblemsShown) {
    std::fprintf(stderr,
                 "problem: %s '%s' fault '%s' cancel %d (after %zu events / %d us): outcome %s, "
                 "%zu events, lost %lld, duplicated %lld; %s%s\n",
                 std::string(KindName(plan.kind)).c_str(), kQuestions[plan.question].c_str(),
                 plan.fault.c_str(), plan.cancel, plan.cancel_after_events, plan.cancel_delay_us,
                 r.outcome.c_str(), r.events.size(), static_cast<long long>(check.lost),
                 static_cast<long long>(check.duplicated), r.detail.c_str(),
                 r.ok && plan.kind != Kind::kGrpcStream && plan.kind != Kind::kRestSse &&
                         r.answer != ref.answer
                     ? (" answer: " + r.answer.substr(0, 300)).c_str()
                     : "");
  }
}

void CallRunner::Run(const CallPlan& plan, std::mt19937_64& rng, Tally& tally) {
  Judge(plan, Call(plan, rng), tally);
}

}  // namespace agentgateway::soak
