// grpc_bare_server: agentgateway.v1.AgentService on the gRPC callback API with no upstream.
//
//   grpc_bare_server [--listen 127.0.0.1:0] [--events N] [--bytes B] [--keepalive-ms MS]
//
// Stream writes the StreamEvent sequence agent-gateway relays for the emulator's bench answer
// (`--bench-answer N:B`): response.created, response.in_progress, output_item.added,
// content_part.added, N output_text.delta events whose `delta` is B bytes starting `@<T>;`
// (T: steady_clock ns when the event is handed to StartWrite), output_text.done,
// content_part.done, output_item.done and response.completed, each as the emulator's JSON
// text with sequence numbers from 1, one write in flight (the next on OnWriteDone), as fast as
// the client takes them. `[[drip-ms:MS]]` in the question spaces the events MS ms apart (for
// holding streams open). Invoke answers the equivalent completed Responses object at once.
// The gRPC server is set up like agent-gateway's listener (server/main.cc): default builder
// and threads, the health service, optional keepalive. Prints one line
// `grpc_bare_server listening on HOST:PORT` once it serves; SIGTERM/SIGINT stop it.
//
// Threads: gRPC owns the callback threads; a reactor's steps are serialised by its single
// write in flight (or its single pending alarm), so its members need no lock.
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "tests/bench/load_stats.h"

namespace agentgateway::bench {
namespace {

using v1::InvokeRequest;
using v1::InvokeResponse;
using v1::StreamEvent;

struct Answer {
  int events = 200;
  int bytes = 100;
  std::string model = "databricks-claude-sonnet-4-5";  // the gateway's default profile
};

// B bytes: `@<now ns>;` then letters (nothing JSON would escape).
std::string StampedText(int bytes) {
  static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyz";
  std::string text = "@" + std::to_string(SteadyNowNs()) + ";";
  for (std::size_t i = 0; text.size() < static_cast<std::size_t>(bytes); ++i) {
    text += kLetters[i % (sizeof kLetters - 1)];
  }
  return text;
}

// The milliseconds of `[[drip-ms:MS]]` in the last input item's text, or 0.
int DripMs(const InvokeRequest& request) {
  if (request.input_size() == 0) return 0;
  const auto& item = request.input(request.input_size() - 1);
  const std::string& text = item.json().empty() ? item.text() : item.json();
  static constexpr std::string_view kTag = "[[drip-ms:";
  std::size_t at = text.find(kTag);
  if (at == std::string::npos) return 0;
  int ms = 0;
  for (std::size_t i = at + kTag.size(); i < text.size() && text[i] >= '0' && text[i] <= '9';
       ++i) {
    ms = std::min(ms * 10 + (text[i] - '0'), 3600000);
  }
  return ms;
}

// The Responses object; `output_tokens` < 0 leaves `usage` out (in_progress).
std::string ResponseJson(const std::string& id, const Answer& a, const char* status,
                         const std::string& output, int output_tokens) {
  std::string json = "{\"id\":\"" + id + "\",\"object\":\"response\",\"created_at\":" +
                     std::to_string(std::time(nullptr)) + ",\"status\":\"" + status +
                     "\",\"model\":\"" + a.model + "\",\"metadata\":{},\"output\":[" + output +
                     "]";
  if (output_tokens >= 0) {
    json += ",\"usage\":{\"input_tokens\":1,\"output_tokens\":" +
            std::to_string(output_tokens) + ",\"total_tokens\":" +
            std::to_string(output_tokens + 1) + "}";
  }
  return json + "}";
}

std::string MessageItem(const std::string& msg_id, const std::string& text) {
  return "{\"type\":\"message\",\"id\":\"" + msg_id +
         "\",\"role\":\"assistant\",\"status\":\"completed\",\"content\":[{\"type\":"
         "\"output_text\",\"text\":\"" + text + "\",\"annotations\":[]}]}";
}

// One Stream call: writes event `index_` per step. Deletes itself in OnDone (gRPC's last
// reaction), after exactly one Finish.
class BareStreamReactor : public grpc::ServerWriteReactor<StreamEvent> {
 public:
  BareStreamReactor(const Answer& answer, std::int64_t call, int drip_ms)
      : answer_(answer), drip_ms_(drip_ms), id_("resp_" + std::to_string(call)),
        msg_id_("msg_" + std::to_string(call)) {
    text_.reserve(static_cast<std::size_t>(answer.events) * answer.bytes + 32);
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "caller went away"));
    if (drip_ms_ == 0) return Next();
    // The reactor lives until Finish, which only a step after this alarm can call. A fresh
    // alarm per step: the previous one may still be inside its callback (it holds its own
    // reference, so dropping our handle to it is safe; setting it again would not be).
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(std::chrono::system_clock::now() + std::chrono::milliseconds(drip_ms_),
               [this](bool) { Next(); });
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    const int total = answer_.events + 8;
    if (index_ == total) return Finish(grpc::Status::OK);
    const int i = index_++;
    const int upstream_seq = i;  // the emulator's sequence_number starts at 0
    const std::string seq = std::to_string(upstream_seq);
    const std::string part_head = "\"item_id\":\"" + msg_id_ +
                                  "\",\"output_index\":0,\"content_index\":0";
    std::string type, json;
    if (i < 2) {
      type = i == 0 ? "response.created" : "response.in_progress";
      json = "{\"type\":\"" + type + "\",\"sequence_number\":" + seq + ",\"response\":" +
             ResponseJson(id_, answer_, "in_progress", "", -1) + "}";
    } else if (i == 2) {
      type = "response.output_item.added";
      json = "{\"type\":\"" + type + "\",\"sequence_number\":" + seq +
             ",\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"" + msg_id_ +
             "\",\"role\":\"assistant\",\"status\":\"in_progress\",\"content\":[]}}";
    } else if (i == 3) {
      type = "response.content_part.added";
      json = "{\"type\":\"" + type + "\",\"sequence_number\":" + seq + "," + part_head +
             ",\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}}";
    } else if (i < 4 + answer_.events) {
      type = "response.output_text.delta";
      std::string delta = StampedText(answer_.bytes);
      text_ += delta;
      json = "{\"type\":\"" + type + "\"," + part_head + ",\"sequence_number\":" + seq +
             ",\"delta\":\"" + delta + "\"}";
    } else {
      const int k = i - 4 - answer_.events;
      static constexpr const char* kTypes[] = {"response.output_text.done",
                                               "response.content_part.done",
                                               "response.output_item.done",
                                               "response.completed"};
      type = kTypes[k];
      json = "{\"type\":\"" + type + "\",\"sequence_number\":" + seq;
      const std::string part =
          "{\"type\":\"output_text\",\"text\":\"" + text_ + "\",\"annotations\":[]}";
      if (k == 0) json += "," + part_head + ",\"text\":\"" + text_ + "\"}";
      if (k == 1) json += "," + part_head + ",\"part\":" + part + "}";
      if (k == 2) json += ",\"output_index\":0,\"item\":" + MessageItem(msg_id_, text_) + "}";
      if (k == 3) {
        json += ",\"response\":" +
                ResponseJson(id_, answer_, "completed", MessageItem(msg_id_, text_), answer_.events) + "}";
      }
    }
    event_.set_sequence_number(i + 1);
    event_.set_type(std::move(type));
    event_.set_json(std::move(json));
    StartWrite(&event_);
  }

  const Answer& answer_;
  const int drip_ms_;
  const std::string id_, msg_id_;
  std::string text_;  // the deltas so far: the closing events repeat it
  int index_ = 0;
  StreamEvent event_;  // untouched between StartWrite and OnWriteDone
  std::unique_ptr<grpc::Alarm> alarm_;
};

class BareService final : public v1::AgentService::CallbackService {
 public:
  explicit BareService(Answer answer) : answer_(std::move(answer)) {}

  grpc::ServerWriteReactor<StreamEvent>* Stream(grpc::CallbackServerContext*,
                                                const InvokeRequest* request) override {
    return new BareStreamReactor(answer_, ++calls_, DripMs(*request));
  }

  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* context,
                                   const InvokeRequest*, InvokeResponse* response) override {
    const std::int64_t call = ++calls_;
    const std::string id = "resp_" + std::to_string(call);
    std::string text = StampedText(answer_.bytes);
    response->set_response_json(ResponseJson(
        id, answer_, "completed", MessageItem("msg_" + std::to_string(call), text), 1));
    response->set_id(id);
    response->set_status("completed");
    response->set_output_text(std::move(text));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const Answer answer_;
  std::atomic<std::int64_t> calls_{0};
};

}  // namespace
}  // namespace agentgateway::bench

int main(int argc, char** argv) {
  using namespace agentgateway::bench;
  std::string listen = "127.0.0.1:0";
  Answer answer;
  int keepalive_ms = 0;
  CLI::App app{"grpc_bare_server: AgentService with no upstream (the gRPC floor of the bench)"};
  app.add_option("--listen", listen, "HOST:PORT (PORT 0: ephemeral)");
  app.add_option("--events", answer.events, "output_text.delta events per Stream")
      ->check(CLI::Range(0, 10000000));
  app.add_option("--bytes", answer.bytes, "bytes of each delta text")->check(CLI::Range(1, 1 << 20));
  app.add_option("--model", answer.model, "model name in the answers");
  app.add_option("--keepalive-ms", keepalive_ms, "HTTP/2 keepalive pings (0: gRPC default, off)")
      ->check(CLI::Range(0, 3600000));
  CLI11_PARSE(app, argc, argv);

  // Before any gRPC thread starts, so only sigwait below sees the stop signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  BareService service(answer);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  if (keepalive_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive_ms);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  }
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "grpc_bare_server: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("grpc_bare_server listening on %s:%d\n", listen.substr(0, listen.rfind(':')).c_str(),
              port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  // Not on a gRPC thread, so Shutdown cannot deadlock; calls still open after the grace
  // period are cancelled (a dripping stream ends at its next step).
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server->Wait();
  return 0;
}
