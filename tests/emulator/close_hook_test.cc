// EmulatorOptions::on_client_closed: called once per stream or hang whose client leaves first,
// with a time taken after the client left; never for a stream that completed.
//
// The client is a bare POSIX socket, so "the client left" is one close() whose time the test
// knows.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/emulator/emulator.h"

namespace agentgateway::emulator {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kWaitLimit{10};

// Collects the hook's calls; Wait() blocks until `n` were seen.
class CloseRecorder {
 public:
  void Record(Clock::time_point at) {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(at);
    cv_.notify_all();
  }
  bool Wait(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWaitLimit, [&] { return seen_.size() >= n; });
  }
  std::vector<Clock::time_point> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Clock::time_point> seen_;
};

// One blocking loopback connection; every read is bounded by a receive timeout.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{static_cast<time_t>(kWaitLimit.count()), 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { Close(); }

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads until `needle` has arrived; false on EOF, error or timeout.
  bool ReadUntil(const std::string& needle) {
    char buf[4096];
    while (received_.find(needle) == std::string::npos) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string received_;
};

std::string ResponsesPost(const std::string& question, bool stream) {
  std::string body = std::string(R"({"model":"m","stream":)") + (stream ? "true" : "false") +
                     R"(,"input":[{"role":"user","content":")" + question + R"("}]})";
  return "POST /ai-gateway/mlflow/v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         "Authorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class CloseHookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmulatorOptions options;
    options.on_client_closed = [this](Clock::time_point at) { closes_.Record(at); };
    auto emulator = Emulator::Create(options);
    ASSERT_TRUE(emulator.ok()) << emulator.status();
    emulator_ = *std::move(emulator);
  }

  // Blocks until the emulator has received `n` responses requests (its long-poll route).
  void WaitForRequests(int n) {
    RawClient waiter(emulator_->port());
    ASSERT_TRUE(waiter.connected());
    ASSERT_TRUE(waiter.Send("GET /emulator/wait?counter=responses_requests&value=" +
                            std::to_string(n) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(waiter.ReadUntil("HTTP/1.1 200"));
  }

  CloseRecorder closes_;  // outlives the emulator (declared first)
  std::unique_ptr<Emulator> emulator_;
};

TEST_F(CloseHookTest, ReportsAClientLeavingAHangAfterItLeft) {
  RawClient client(emulator_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(ResponsesPost("Hello [[fault:hang]]", false)));
  WaitForRequests(1);
  Clock::time_point left = Clock::now();
  client.Close();
  ASSERT_TRUE(closes_.Wait(1));
  std::vector<Clock::time_point> seen = closes_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_GE(seen[0], left);
  EXPECT_LT(seen[0] - left, kWaitLimit);
}

TEST_F(CloseHookTest, ReportsAClientLeavingMidStream) {
  RawClient client(emulator_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(ResponsesPost("Hello [[fault:hang-mid]]", true)));
  ASSERT_TRUE(client.ReadUntil("response.in_progress"));  // the second event
  Clock::time_point left = Clock::now();
  client.Close();
  ASSERT_TRUE(closes_.Wait(1));
  EXPECT_GE(closes_.seen().at(0), left);
}

TEST_F(CloseHookTest, ACompletedStreamIsNotReported) {
  // One keep-alive connection: a stream that completes, then a hang the client leaves. The
  // emulator handles them in order, so when the hang's close is reported the completed stream
  // had its chance to be (wrongly) reported too.
  RawClient client(emulator_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(ResponsesPost("Hello", true)));
  ASSERT_TRUE(client.ReadUntil("0\r\n\r\n"));  // the terminal chunk
  ASSERT_TRUE(client.Send(ResponsesPost("Hello [[fault:hang]]", false)));
  WaitForRequests(2);
  client.Close();
  ASSERT_TRUE(closes_.Wait(1));
  EXPECT_EQ(closes_.seen().size(), 1u);
}

TEST_F(CloseHookTest, EveryCountedCloseIsReported) {
  constexpr int kClients = 5;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(emulator_->port()));
    ASSERT_TRUE(clients.back()->connected());
    ASSERT_TRUE(clients.back()->Send(ResponsesPost("Hi [[fault:hang]]", i % 2 == 0)));
  }
  WaitForRequests(kClients);
  for (auto& client : clients) client->Close();
  ASSERT_TRUE(closes_.Wait(kClients));
  RawClient stats(emulator_->port());
  ASSERT_TRUE(stats.Send("GET /emulator/wait?counter=streams_client_closed&value=" +
                         std::to_string(kClients) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(stats.ReadUntil("HTTP/1.1 200"));
  EXPECT_EQ(closes_.seen().size(), static_cast<std::size_t>(kClients));
}

}  // namespace
}  // namespace agentgateway::emulator
