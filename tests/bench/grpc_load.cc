// grpc_load: a closed-loop load client for AgentService on the gRPC callback API.
//
//   grpc_load --target 127.0.0.1:PORT [--rpc stream|invoke] [--concurrency N] [--seconds D]
//             [--warmup W] [--channels C] [--text hi] [--deadline-ms MS]
//   grpc_load --target ... --hold N --hold-seconds S [--channels C]     (N streams held open)
//
// N workers each keep exactly one call in flight: when a call ends the worker starts the next
// one, until D seconds (after W seconds of unrecorded warm-up) have passed. Per call it records
// the total latency and, for Stream, the time to the first event and the relay lag of every
// `@<T>;` stamp in the events' JSON text. Prints one JSON line on stdout; the first error
// message (if any) also goes to stderr. Hold mode (grpc_hold.h): see there.
//
// Threads: gRPC owns the callback threads. A worker has one call at a time and starts the next
// from the previous call's completion, so its samples are only touched by one callback at a
// time; the main thread reads them after every worker reported done (under mu_).
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "tests/bench/grpc_hold.h"
#include "tests/bench/load_stats.h"

namespace {

using agentgateway::bench::LagNs;
using agentgateway::bench::PercentileMs;
using agentgateway::bench::StampScanner;
using agentgateway::bench::SteadyNowNs;

using agentgateway::v1::AgentService;
using agentgateway::v1::InvokeRequest;
using agentgateway::v1::InvokeResponse;
using agentgateway::v1::StreamEvent;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string target;
  std::string rpc = "stream";
  int concurrency = 16;
  double seconds = 10;
  double warmup = 1;
  int channels = 1;
  std::string text = "hi";
  int deadline_ms = 10000;
  agentgateway::bench::HoldOptions hold;
};

// Samples of one worker. Written only by that worker's current call (see file comment).
struct Samples {
  std::vector<int64_t> total_ns;
  std::vector<int64_t> ttfb_ns;
  std::vector<int64_t> lag_ns;
  int64_t calls = 0;
  int64_t events = 0;
  int64_t errors = 0;
};

class Load;

// One worker: a chain of calls, one in flight at a time, each on the worker's stub.
class Worker {
 public:
  Worker(Load* load, AgentService::Stub* stub) : load_(load), stub_(stub) {}
  void StartNext();
  void OnCallDone(Clock::time_point start, Clock::time_point first_event, int64_t events,
                  std::vector<int64_t>& lag_ns, const grpc::Status& status);
  const Samples& samples() const { return samples_; }

 private:
  Load* load_;
  AgentService::Stub* stub_;
  Samples samples_;
};

// The whole run: its options, shared request, clock window and completion latch.
class Load {
 public:
  explicit Load(Options options) : options_(std::move(options)) {
    auto* item = request_.add_input();
    item->set_type(agentgateway::v1::ITEM_TYPE_MESSAGE);
    item->set_role("user");
    item->set_text(options_.text);
  }
  const Options& options() const { return options_; }
  const InvokeRequest& request() const { return request_; }
  Clock::time_point measure_start() const { return measure_start_; }
  bool Running() const { return Clock::now() < end_; }
  void Begin() {
    measure_start_ = Clock::now() + ToDuration(options_.warmup);
    end_ = measure_start_ + ToDuration(options_.seconds);
  }
  void NoteError(const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_error_.empty()) {
      first_error_ = "code " + std::to_string(status.error_code()) + ": " + status.error_message();
    }
  }
  void WorkerDone() {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    cv_.notify_all();
  }
  std::string WaitAll(int workers) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ == workers; });
    return first_error_;
  }

 private:
  static Clock::duration ToDuration(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }
  Options options_;
  InvokeRequest request_;
  Clock::time_point measure_start_, end_;
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
  std::string first_error_;
};

// One Stream call. Owns its ClientContext and deletes itself in OnDone, the reactor's last
// callback (the gRPC client-reactor contract), after handing the result to its worker.
class StreamCall : public grpc::ClientReadReactor<StreamEvent> {
 public:
  StreamCall(Worker* worker, Load* load) : worker_(worker) {
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(load->options().deadline_ms));
  }
  void Start(AgentService::Stub* stub, const InvokeRequest& request) {
    start_ = Clock::now();
    stub->async()->Stream(&context_, &request, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone carries the status
    const Clock::time_point now = Clock::now();
    if (events_++ == 0) first_event_ = now;
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               now.time_since_epoch()).count();
    stamps_.Feed(event_.json(), [&](int64_t t) { lag_ns_.push_back(LagNs(now_ns, t)); });
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    Worker* worker = worker_;
    Clock::time_point start = start_, first_event = first_event_;
    int64_t events = events_;
    std::vector<int64_t> lag_ns = std::move(lag_ns_);
    grpc::Status copy = status;
    // Last callback of this reactor. Deleted before the worker moves on, so nothing of this
    // call outlives the run once the last worker reports done.
    delete this;
    worker->OnCallDone(start, first_event, events, lag_ns, copy);
  }

 private:
  Worker* worker_;
  grpc::ClientContext context_;
  StreamEvent event_;
  Clock::time_point start_, first_event_;
  int64_t events_ = 0;
  StampScanner stamps_;
  std::vector<int64_t> lag_ns_;
};

// One Invoke call; same ownership as StreamCall, the callback being its last use.
struct InvokeCall {
  grpc::ClientContext context;
  InvokeResponse response;
};

void Worker::StartNext() {
  if (!load_->Running()) {
    load_->WorkerDone();
    return;
  }
  if (load_->options().rpc == "stream") {
    (new StreamCall(this, load_))->Start(stub_, load_->request());
    return;
  }
  auto* call = new InvokeCall;
  call->context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(load_->options().deadline_ms));
  Clock::time_point start = Clock::now();
  stub_->async()->Invoke(&call->context, &load_->request(), &call->response,
                         [this, call, start](grpc::Status status) {
                           Clock::time_point now = Clock::now();
                           // The stamp of the answer's text, if any: its lag.
                           std::vector<int64_t> lag_ns;
                           StampScanner stamps;
                           stamps.Feed(call->response.output_text(), [&](int64_t t) {
                             lag_ns.push_back(LagNs(SteadyNowNs(), t));
                           });
                           delete call;  // the callback is the call's last use
                           OnCallDone(start, now, 1, lag_ns, status);
                         });
}

void Worker::OnCallDone(Clock::time_point start, Clock::time_point first_event, int64_t events,
                        std::vector<int64_t>& lag_ns, const grpc::Status& status) {
  Clock::time_point now = Clock::now();
  if (start >= load_->measure_start()) {
    ++samples_.calls;
    samples_.events += events;
    if (!status.ok() || events == 0) {
      ++samples_.errors;  // an OK stream with no event answered nothing: count it as failed
      load_->NoteError(status.ok() ? grpc::Status(grpc::StatusCode::UNKNOWN, "no events")
                                   : status);
    } else {
      auto ns = [](Clock::duration d) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
      };
      samples_.total_ns.push_back(ns(now - start));
      samples_.ttfb_ns.push_back(ns(first_event - start));
      samples_.lag_ns.insert(samples_.lag_ns.end(), lag_ns.begin(), lag_ns.end());
    }
  }
  StartNext();
}

// Prints every event of one Stream call (or the answer of one Invoke), for comparing servers (e.g. the gateway with
// grpc_bare_server). Exit 0 on an OK status.
int DumpOne(AgentService::Stub& stub, const InvokeRequest& request, int deadline_ms, bool invoke) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
  if (invoke) {
    InvokeResponse response;
    grpc::Status status = stub.Invoke(&context, request, &response);
    std::printf("%s\n", response.DebugString().c_str());
    std::fprintf(stderr, "status %d %s\n", status.error_code(), status.error_message().c_str());
    return status.ok() ? 0 : 3;
  }
  auto reader = stub.Stream(&context, request);
  StreamEvent event;
  while (reader->Read(&event)) {
    std::printf("%lld %s %s\n", static_cast<long long>(event.sequence_number()),
                event.type().c_str(), event.json().c_str());
  }
  grpc::Status status = reader->Finish();
  std::fprintf(stderr, "status %d %s\n", status.error_code(), status.error_message().c_str());
  return status.ok() ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"grpc_load: closed-loop (or hold) load for agentgateway.v1.AgentService"};
  app.add_option("--target", o.target, "HOST:PORT of the gRPC server")->required();
  app.add_option("--rpc", o.rpc, "stream | invoke")->check(CLI::IsMember({"stream", "invoke"}));
  app.add_option("--concurrency,-c", o.concurrency, "calls in flight")->check(CLI::Range(1, 4096));
  app.add_option("--seconds,-d", o.seconds, "measured seconds")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", o.warmup, "unrecorded seconds first")->check(CLI::Range(0.0, 600.0));
  app.add_option("--channels", o.channels, "HTTP/2 connections")->check(CLI::Range(1, 4096));
  app.add_option("--text", o.text, "user message text");
  app.add_option("--deadline-ms", o.deadline_ms, "per-call deadline")->check(CLI::Range(1, 600000));
  app.add_option("--hold", o.hold.streams, "hold N Stream calls open")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--hold-seconds", o.hold.seconds, "how long to hold them")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--hold-timeout", o.hold.open_timeout, "seconds for all first events")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--max-connecting", o.hold.max_opening, "hold: calls opening at once")
      ->check(CLI::Range(1, 1000000));
  bool dump = false;
  app.add_flag("--dump", dump, "one call; print each event (sequence type json) or the answer");
  CLI11_PARSE(app, argc, argv);
  agentgateway::bench::RaiseFileLimit();

  // Each channel gets its own subchannel pool so that C channels really are C connections.
  std::vector<std::unique_ptr<AgentService::Stub>> stubs;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      std::fprintf(stderr, "grpc_load: cannot connect to %s\n", o.target.c_str());
      return 1;
    }
    stubs.push_back(AgentService::NewStub(channel));
  }

  Load load(o);
  if (dump) return DumpOne(*stubs.front(), load.request(), o.deadline_ms, o.rpc == "invoke");
  if (o.hold.streams > 0) {
    std::vector<AgentService::Stub*> raw;
    for (auto& s : stubs) raw.push_back(s.get());
    return agentgateway::bench::RunHold(o.hold, raw, load.request());
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < o.concurrency; ++i) {
    workers.push_back(std::make_unique<Worker>(&load, stubs[i % o.channels].get()));
  }
  load.Begin();
  for (auto& w : workers) w->StartNext();
  std::string first_error = load.WaitAll(o.concurrency);
  double elapsed = std::chrono::duration<double>(Clock::now() - load.measure_start()).count();

  Samples all;
  for (const auto& w : workers) {
    const Samples& s = w->samples();
    all.calls += s.calls;
    all.events += s.events;
    all.errors += s.errors;
    all.total_ns.insert(all.total_ns.end(), s.total_ns.begin(), s.total_ns.end());
    all.ttfb_ns.insert(all.ttfb_ns.end(), s.ttfb_ns.begin(), s.ttfb_ns.end());
    all.lag_ns.insert(all.lag_ns.end(), s.lag_ns.begin(), s.lag_ns.end());
  }
  std::sort(all.total_ns.begin(), all.total_ns.end());
  std::sort(all.ttfb_ns.begin(), all.ttfb_ns.end());
  std::sort(all.lag_ns.begin(), all.lag_ns.end());
  if (!first_error.empty()) std::fprintf(stderr, "grpc_load: first error: %s\n", first_error.c_str());
  std::string escaped_error;
  agentgateway::bench::AppendJsonEscaped(first_error, escaped_error);
  std::printf(
      "{\"rpc\":\"%s\",\"concurrency\":%d,\"seconds\":%.3f,\"calls\":%lld,\"rps\":%.1f,"
      "\"events\":%lld,\"events_per_s\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"p999_ms\":%.4f,"
      "\"ttfb_p50_ms\":%.4f,\"ttfb_p99_ms\":%.4f,\"ttfb_p999_ms\":%.4f,\"lag_p50_ms\":%.4f,"
      "\"lag_p99_ms\":%.4f,\"lag_p999_ms\":%.4f,\"lag_samples\":%zu,\"errors\":%lld,"
      "\"first_error\":\"%s\"}\n",
      o.rpc == "stream" ? "Stream" : "Invoke", o.concurrency, elapsed,
      static_cast<long long>(all.calls), static_cast<double>(all.calls) / elapsed,
      static_cast<long long>(all.events), static_cast<double>(all.events) / elapsed,
      PercentileMs(all.total_ns, 0.50), PercentileMs(all.total_ns, 0.99),
      PercentileMs(all.total_ns, 0.999), PercentileMs(all.ttfb_ns, 0.50),
      PercentileMs(all.ttfb_ns, 0.99), PercentileMs(all.ttfb_ns, 0.999),
      PercentileMs(all.lag_ns, 0.50), PercentileMs(all.lag_ns, 0.99),
      PercentileMs(all.lag_ns, 0.999), all.lag_ns.size(), static_cast<long long>(all.errors),
      escaped_error.c_str());
  return all.calls > 0 && all.errors == 0 ? 0 : 3;
}
