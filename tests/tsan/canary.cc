// Canary for scripts/test-tsan.sh: proves that the annotations and suppressions in tests/tsan/
// do not hide a real race in our code behind gRPC. A callback server streams 200 events to a
// ClientReadReactor over loopback.
//
//   canary correct   the reader follows the StartRead contract: TSan must report nothing
//   canary racy      the main thread also reads the event gRPC is parsing into (a read of
//                    the message between StartRead and OnReadDone): TSan must report it
//
// Without the interposers TSan reports ~170 false races on the correct program.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "agentgateway/v1/agent_service.grpc.pb.h"

namespace {

using agentgateway::v1::AgentService;
using agentgateway::v1::InvokeRequest;
using agentgateway::v1::StreamEvent;

constexpr int kEvents = 200;

// Writes kEvents events, one write in flight; owned by gRPC (deletes itself in OnDone).
class EventWriter : public grpc::ServerWriteReactor<StreamEvent> {
 public:
  EventWriter() { WriteNext(); }

  void OnWriteDone(bool ok) override {
    if (!ok || sent_ == kEvents) {
      Finish(grpc::Status::OK);
      return;
    }
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    event_.set_sequence_number(++sent_);
    event_.set_json(std::string(100, 'x'));
    StartWrite(&event_);
  }

  StreamEvent event_;
  int sent_ = 0;
};

class Service : public AgentService::CallbackService {
  grpc::ServerWriteReactor<StreamEvent>* Stream(grpc::CallbackServerContext*,
                                                const InvokeRequest*) override {
    return new EventWriter;
  }
};

// Reads until the end; event_ belongs to gRPC between StartRead and OnReadDone.
class EventReader : public grpc::ClientReadReactor<StreamEvent> {
 public:
  explicit EventReader(AgentService::Stub* stub) {
    stub->async()->Stream(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    last_seen_ = event_.sequence_number();
    StartRead(&event_);
  }
  void OnDone(const grpc::Status&) override { done_.store(true); }

  bool done() const { return done_.load(); }
  // The contract breach of the racy mode: no ordering with the parse into event_.
  int64_t PeekUnsynchronized() const { return event_.sequence_number(); }

 private:
  grpc::ClientContext context_;
  InvokeRequest request_;
  StreamEvent event_;
  int64_t last_seen_ = 0;
  std::atomic<bool> done_{false};
};

}  // namespace

int main(int argc, char** argv) {
  const bool racy = argc > 1 && std::strcmp(argv[1], "racy") == 0;
  Service service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = AgentService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                        grpc::InsecureChannelCredentials()));
  EventReader reader(stub.get());
  int64_t sum = 0;
  while (!reader.done()) {
    if (racy) sum += reader.PeekUnsynchronized();
    std::this_thread::yield();
  }
  server->Shutdown();
  std::printf("canary %s done (%lld)\n", racy ? "racy" : "correct", static_cast<long long>(sum));
  return 0;
}
