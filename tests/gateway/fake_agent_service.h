// A scriptable AgentService (callback API) for the HTTP server tests: unary answers, a
// scripted event stream that can stay open until the client cancels, and a record of what the
// service saw. Register it on a grpc::Server and reach it through InProcessChannel.
#ifndef AGENTGATEWAY_TESTS_GATEWAY_FAKE_AGENT_SERVICE_H_
#define AGENTGATEWAY_TESTS_GATEWAY_FAKE_AGENT_SERVICE_H_

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "agentgateway/v1/agent_service.grpc.pb.h"

namespace agentgateway::gateway::testing {

inline constexpr char kBody[] =
    R"({"input":[{"role":"user","content":"hi"}],"custom_inputs":{"k":1}})";
inline constexpr char kStreamBody[] = R"({"input":[{"role":"user","content":"hi"}],"stream":true})";

struct StreamScript {
  std::vector<std::pair<std::string, std::string>> events;  // (type, json)
  grpc::Status final_status = grpc::Status::OK;
  bool hold_open = false;  // after the events, wait for the client to cancel
  // Set: the stream stops before event number `pause_before` (0 = before any) until
  // FakeAgentService::ResumeStream().
  std::optional<std::size_t> pause_before;
};

class FakeAgentService final : public v1::AgentService::CallbackService {
 public:
  // Test knobs, set before requests are sent.
  grpc::Status invoke_status = grpc::Status::OK;
  std::string invoke_retry_after;
  v1::InvokeResponse invoke_response;
  StreamScript script;

  // The answers most tests expect: one JSON response and a four-event stream.
  void SetDefaults() {
    invoke_response.set_response_json(R"({"id":"resp_1","output":[],"n":1.50})");
    invoke_response.set_custom_outputs_json(R"({"out":true})");
    script.events = {
        {"response.created", R"({"type":"response.created","response":{"id":"r1"}})"},
        {"response.output_text.delta", R"({"type":"response.output_text.delta","delta":"Hel"})"},
        {"response.output_text.delta", R"({"type":"response.output_text.delta","delta":"lo"})"},
        {"response.completed", R"({"type":"response.completed","response":{"id":"r1"}})"}};
  }

  // What the service saw.
  absl::Mutex mu;
  v1::InvokeRequest last_request ABSL_GUARDED_BY(mu);
  std::multimap<std::string, std::string> last_metadata ABSL_GUARDED_BY(mu);
  bool deadline_set ABSL_GUARDED_BY(mu) = false;
  std::promise<void> cancelled;
  std::atomic<bool> cancel_seen{false};

  void Record(grpc::CallbackServerContext* ctx, const v1::InvokeRequest* request) {
    absl::MutexLock lock(&mu);
    last_request = *request;
    last_metadata.clear();
    for (const auto& [k, v] : ctx->client_metadata()) {
      last_metadata.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
    deadline_set = ctx->deadline() != std::chrono::system_clock::time_point::max();
  }
  std::string Metadata(const std::string& key) {
    absl::MutexLock lock(&mu);
    auto it = last_metadata.find(key);
    return it == last_metadata.end() ? "<absent>" : it->second;
  }
  void NoteCancel() {
    if (!cancel_seen.exchange(true)) cancelled.set_value();
  }

  // Lets a stream paused by script.pause_before go on (or pass the pause, if not there yet).
  void ResumeStream() {
    absl::MutexLock lock(&pause_mu);
    resumed = true;
    if (paused != nullptr) std::exchange(paused, nullptr)->Resume();
  }

  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* ctx,
                                   const v1::InvokeRequest* request,
                                   v1::InvokeResponse* response) override {
    Record(ctx, request);
    auto* reactor = ctx->DefaultReactor();
    if (!invoke_retry_after.empty()) ctx->AddTrailingMetadata("retry-after", invoke_retry_after);
    if (invoke_status.ok()) *response = invoke_response;
    reactor->Finish(invoke_status);
    return reactor;
  }

  grpc::ServerUnaryReactor* GetAgentInfo(grpc::CallbackServerContext* ctx,
                                         const v1::GetAgentInfoRequest*,
                                         v1::AgentInfo* info) override {
    info->set_name("fake-agent");
    info->set_agent_api("responses");
    info->set_default_profile("default");
    info->set_version("9.9");
    info->add_profiles()->set_name("default");
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  class Writer;
  absl::Mutex pause_mu;
  Writer* paused ABSL_GUARDED_BY(pause_mu) = nullptr;
  bool resumed ABSL_GUARDED_BY(pause_mu) = false;

  class Writer : public grpc::ServerWriteReactor<v1::StreamEvent> {
   public:
    Writer(FakeAgentService* service, StreamScript script)
        : service_(service), script_(std::move(script)) {
      Next();
    }
    // From ResumeStream (pause_mu held); no write is pending while paused.
    void Resume() { Next(); }
    void OnWriteDone(bool ok) override {
      if (!ok) return FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      Next();
    }
    void OnCancel() override {
      service_->NoteCancel();
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    }
    void OnDone() override {
      {
        absl::MutexLock lock(&service_->pause_mu);
        if (service_->paused == this) service_->paused = nullptr;
      }
      delete this;
    }

   private:
    void Next() {
      if (script_.pause_before == index_ && !pause_passed_) {
        pause_passed_ = true;
        absl::MutexLock lock(&service_->pause_mu);
        if (!service_->resumed) {
          service_->paused = this;
          return;
        }
      }
      if (index_ < script_.events.size()) {
        event_.set_sequence_number(static_cast<int64_t>(index_) + 1);
        event_.set_type(script_.events[index_].first);
        event_.set_json(script_.events[index_].second);
        ++index_;
        StartWrite(&event_);
      } else if (!script_.hold_open) {
        FinishOnce(script_.final_status);
      }
    }
    void FinishOnce(const grpc::Status& status) {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      Finish(status);
    }
    FakeAgentService* service_;
    StreamScript script_;
    std::size_t index_ = 0;
    bool pause_passed_ = false;
    v1::StreamEvent event_;
    absl::Mutex mu_;
    bool finished_ = false;
  };

  grpc::ServerWriteReactor<v1::StreamEvent>* Stream(grpc::CallbackServerContext* ctx,
                                                    const v1::InvokeRequest* request) override {
    Record(ctx, request);
    return new Writer(this, script);
  }
};

// Starts an in-process gRPC server (no listening port) serving `service` with its default
// script; the HTTP server under test reaches it through InProcessChannel().
inline std::unique_ptr<grpc::Server> StartFakeServer(FakeAgentService& service) {
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server) service.SetDefaults();
  return server;
}

}  // namespace agentgateway::gateway::testing

#endif  // AGENTGATEWAY_TESTS_GATEWAY_FAKE_AGENT_SERVICE_H_
