#include "server/upstream/http_pool.h"

#include <netdb.h>
#include <arpa/inet.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <thread>
#include <cstdio>
#include <future>
#include <mutex>

#include "gtest/gtest.h"
#include "tests/server/upstream/test_server.h"
#include "tests/testing/tls_certs.h"

namespace agentgateway::upstream {
namespace {

using agentgateway::testing::MakeTestPki;
using agentgateway::testing::TempDir;
using agentgateway::testing::TestPki;
using testing::ServerConn;
using testing::ServerRequest;
using testing::TestServer;

constexpr auto kWaitBound = std::chrono::seconds(20);

// Records what a streaming call delivers; tests wait on it instead of sleeping.
class Recorder : public ResponseHandler {
 public:
  // Decides OnBody's return value for the piece just recorded (1-based count).
  std::function<bool(int pieces)> keep_reading = [](int) { return true; };

  void OnHead(const HttpResponseHead& head) override {
    std::lock_guard lock(mu_);
    head_ = head;
  }
  bool OnBody(std::string_view bytes) override {
    int count;
    {
      std::lock_guard lock(mu_);
      pieces_.emplace_back(bytes);
      count = static_cast<int>(pieces_.size());
      cv_.notify_all();
    }
    return keep_reading(count);
  }
  void OnComplete(absl::Status status) override {
    std::lock_guard lock(mu_);
    EXPECT_FALSE(done_) << "OnComplete twice";
    status_ = std::move(status);
    done_ = true;
    cv_.notify_all();
  }

  bool WaitDone() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWaitBound, [&] { return done_; });
  }
  bool WaitPieces(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWaitBound, [&] { return static_cast<int>(pieces_.size()) >= n; });
  }
  // A negative check: true when no further piece arrived within `d`.
  bool NoMorePiecesWithin(int n, std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return static_cast<int>(pieces_.size()) > n || done_; });
  }
  absl::Status status() {
    std::lock_guard lock(mu_);
    return status_;
  }
  std::vector<std::string> pieces() {
    std::lock_guard lock(mu_);
    return pieces_;
  }
  std::string body() {
    std::lock_guard lock(mu_);
    std::string all;
    for (const auto& p : pieces_) all += p;
    return all;
  }
  int http_status() {
    std::lock_guard lock(mu_);
    return head_.status;
  }
  bool ConnectionReusable() override { return reusable; }
  bool reusable = true;  // what the handler answers when its connection could go back

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  HttpResponseHead head_;
  std::vector<std::string> pieces_;
  absl::Status status_ = absl::UnknownError("not completed");
  bool done_ = false;
};

std::string Chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

constexpr std::string_view kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

std::unique_ptr<HttpPool> MakePool(PoolOptions options = {}) {
  auto pool = HttpPool::Create(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return std::move(pool).value();
}

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.method = "GET";
  auto parsed = Url::Parse(url);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  request.url = *parsed;
  return request;
}

std::string HttpUrl(const TestServer& server, std::string host = "127.0.0.1") {
  return "http://" + host + ":" + std::to_string(server.port()) + "/v1/responses";
}
std::string HttpsUrl(const TestServer& server, std::string host = "127.0.0.1") {
  return "https://" + host + ":" + std::to_string(server.port()) + "/v1/responses";
}

bool AlwaysOk(const ServerRequest& request, ServerConn& conn) {
  return conn.Write(TestServer::Response(200, "hello " + request.target));
}

TEST(HttpPool, KeepAliveReusesOneConnection) {
  TestServer server(AlwaysOk);
  auto pool = MakePool();
  for (int i = 0; i < 2; ++i) {
    auto result = pool->Fetch(Get(HttpUrl(server)));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->head.status, 200);
    EXPECT_EQ(result->body, "hello /v1/responses");
    EXPECT_EQ(result->head.Header("content-length"), "19");
  }
  EXPECT_EQ(server.accepted(), 1);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.connections_opened, 1u);
  EXPECT_EQ(stats.connections_reused, 1u);
  EXPECT_EQ(stats.idle, 1u);
}

TEST(HttpPool, PostSendsBodyAndHeaders) {
  std::string seen;
  TestServer server([&](const ServerRequest& request, ServerConn& conn) {
    seen = request.method + " " + request.body;
    return conn.Write(TestServer::Response(200, "{}"));
  });
  auto pool = MakePool();
  HttpRequest request = Get(HttpUrl(server));
  request.method = "POST";
  request.body = R"({"model":"m"})";
  request.headers = {{"Content-Type", "application/json"}};
  auto result = pool->Fetch(request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(seen, R"(POST {"model":"m"})");
}

TEST(HttpPool, LimitQueuesSecondCallOnOneConnection) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TestServer server([&](const ServerRequest& request, ServerConn& conn) {
    if (request.index == 0) released.wait();
    return conn.Write(TestServer::Response(200, std::to_string(request.index)));
  });
  PoolOptions options;
  options.max_connections_per_origin = 1;
  auto pool = MakePool(options);
  auto first = std::make_shared<Recorder>();
  auto second = std::make_shared<Recorder>();
  auto call1 = pool->Start(Get(HttpUrl(server)), first);
  ASSERT_TRUE(server.WaitRequests(1));
  auto call2 = pool->Start(Get(HttpUrl(server)), second);
  EXPECT_EQ(pool->Stats().waiting, 1u);
  EXPECT_EQ(pool->Stats().open, 1u);
  release.set_value();
  ASSERT_TRUE(first->WaitDone());
  ASSERT_TRUE(second->WaitDone());
  EXPECT_TRUE(first->status().ok()) << first->status();
  EXPECT_TRUE(second->status().ok()) << second->status();
  EXPECT_EQ(first->body(), "0");
  EXPECT_EQ(second->body(), "1");
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpPool, CancelWhileQueued) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TestServer server([&](const ServerRequest& request, ServerConn& conn) {
    released.wait();
    return conn.Write(TestServer::Response(200, "x"));
  });
  PoolOptions options;
  options.max_connections_per_origin = 1;
  auto pool = MakePool(options);
  auto first = std::make_shared<Recorder>();
  auto second = std::make_shared<Recorder>();
  auto call1 = pool->Start(Get(HttpUrl(server)), first);
  ASSERT_TRUE(server.WaitRequests(1));
  auto call2 = pool->Start(Get(HttpUrl(server)), second);
  call2->Cancel();
  ASSERT_TRUE(second->WaitDone());
  EXPECT_EQ(second->status().code(), absl::StatusCode::kCancelled) << second->status();
  EXPECT_EQ(pool->Stats().waiting, 0u);
  release.set_value();
  ASSERT_TRUE(first->WaitDone());
  EXPECT_TRUE(first->status().ok());
}

TEST(HttpPool, IdleConnectionExpires) {
  TestServer server(AlwaysOk);
  PoolOptions options;
  options.idle_timeout = std::chrono::milliseconds(50);
  auto pool = MakePool(options);
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  ASSERT_TRUE(server.WaitClosed(1));  // the pool closed the idle connection
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(pool->Stats().connections_reused, 0u);
}

TEST(HttpPool, ConnectionCloseIsNotReused) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.Write(TestServer::Response(200, "bye", "Connection: close\r\n"));
    return false;
  });
  auto pool = MakePool();
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(pool->Stats().idle, 0u);
}

TEST(HttpPool, Http10WithoutKeepAliveIsNotReused) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    return conn.Write("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  auto pool = MakePool();
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  auto second = pool->Fetch(Get(HttpUrl(server)));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "ok");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpPool, ServerClosedIdleConnectionIsReplaced) {
  // Keep-alive response, then the server closes anyway (as servers with short idle limits do).
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.Write(TestServer::Response(200, "ok"));
    return false;
  });
  auto pool = MakePool();
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  ASSERT_TRUE(server.WaitClosed(1));
  auto second = pool->Fetch(Get(HttpUrl(server)));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(server.accepted(), 2);
}

// The server takes the second request on the kept-alive connection and closes without a
// response: an idempotent request is retried once on a fresh connection...
TEST(HttpPool, StaleConnectionRetriesIdempotentRequest) {
  TestServer server([](const ServerRequest& request, ServerConn& conn) {
    if (request.index == 1) return false;
    return conn.Write(TestServer::Response(200, std::to_string(request.index)));
  });
  auto pool = MakePool();
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  auto second = pool->Fetch(Get(HttpUrl(server)));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "2");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests(), 3);
}

// ...but a POST is not repeated: the server may have acted on it.
TEST(HttpPool, StaleConnectionDoesNotRepeatPost) {
  TestServer server([](const ServerRequest& request, ServerConn& conn) {
    if (request.index == 1) return false;
    return conn.Write(TestServer::Response(200, std::to_string(request.index)));
  });
  auto pool = MakePool();
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  HttpRequest post = Get(HttpUrl(server));
  post.method = "POST";
  post.body = "{}";
  auto second = pool->Fetch(post);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_EQ(server.requests(), 2);
}

TEST(HttpPool, ManyConcurrentCallsShareTheLimit) {
  TestServer server(AlwaysOk);
  PoolOptions options;
  options.threads = 2;
  options.max_connections_per_origin = 2;
  auto pool = MakePool(options);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 10; ++j) {
        if (pool->Fetch(Get(HttpUrl(server))).ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
  EXPECT_LE(server.accepted(), 2);
  EXPECT_EQ(pool->Stats().waiting, 0u);
}

TEST(HttpPool, TlsHandshakeHasItsOwnTimeout) {
  // A listening socket that never accepts: TCP connects (the kernel completes it from the
  // backlog) but no TLS handshake ever answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  PoolOptions options;
  options.connect_timeout = std::chrono::seconds(30);  // TCP connects at once: not this one
  options.tls_handshake_timeout = std::chrono::milliseconds(200);
  auto pool = MakePool(options);
  auto result = pool->Fetch(Get("https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  EXPECT_NE(result.status().message().find("in the TLS handshake with upstream 127.0.0.1:"),
            std::string::npos)
      << result.status();
  ::close(fd);
}

TEST(HttpPool, OverallCallTimeoutEndsAStreamThatKeepsTrickling) {
  // Each phase timeout is satisfied (the head comes at once, a chunk every 20 ms), so only the
  // overall backstop can end this call; the connection must then be closed, not reused.
  std::atomic<bool> stop{false};
  TestServer server([&](const ServerRequest&, ServerConn& conn) {
    if (!conn.Write(std::string(kChunkedHead))) return false;
    while (!stop && conn.Write(Chunk("tick"))) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return false;
  });
  PoolOptions options;
  options.read_idle_timeout = std::chrono::seconds(30);
  options.call_timeout = std::chrono::milliseconds(300);
  auto pool = MakePool(options);
  auto recorder = std::make_shared<Recorder>();
  auto call = pool->Start(Get(HttpUrl(server)), recorder);
  ASSERT_TRUE(recorder->WaitDone());
  stop = true;
  EXPECT_EQ(recorder->status().code(), absl::StatusCode::kDeadlineExceeded) << recorder->status();
  EXPECT_NE(recorder->status().message().find("exceeded the overall limit of 300ms"),
            std::string::npos)
      << recorder->status();
  EXPECT_FALSE(recorder->pieces().empty());
  EXPECT_TRUE(server.WaitClosed(1));
  EXPECT_EQ(pool->Stats().open, 0u);
}

TEST(HttpPool, TheCallersDeadlineEndsTheCallBeforeTheBackstop) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.Write(std::string(kChunkedHead) + Chunk("first"));
    conn.WaitForPeerClose();
    return false;
  });
  PoolOptions options;  // 30-minute backstop, 10-minute idle: neither can end this call
  auto pool = MakePool(options);
  auto recorder = std::make_shared<Recorder>();
  HttpRequest request = Get(HttpUrl(server));
  request.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  auto call = pool->Start(std::move(request), recorder);
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_EQ(recorder->status().code(), absl::StatusCode::kDeadlineExceeded) << recorder->status();
  EXPECT_NE(recorder->status().message().find("the caller's deadline passed"), std::string::npos)
      << recorder->status();
  EXPECT_EQ(recorder->body(), "first");
  EXPECT_TRUE(server.WaitClosed(1));
}

TEST(HttpPool, OverallCallTimeoutAppliesWhileQueued) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TestServer server([&](const ServerRequest&, ServerConn& conn) {
    released.wait();
    return conn.Write(TestServer::Response(200, "x"));
  });
  PoolOptions options;
  options.max_connections_per_origin = 1;
  options.call_timeout = std::chrono::milliseconds(300);
  auto pool = MakePool(options);
  auto first = std::make_shared<Recorder>();
  auto queued = std::make_shared<Recorder>();
  auto call1 = pool->Start(Get(HttpUrl(server)), first);
  ASSERT_TRUE(server.WaitRequests(1));
  auto call2 = pool->Start(Get(HttpUrl(server)), queued);
  ASSERT_TRUE(queued->WaitDone());
  EXPECT_EQ(queued->status().code(), absl::StatusCode::kDeadlineExceeded) << queued->status();
  EXPECT_EQ(pool->Stats().waiting, 0u);
  release.set_value();
  ASSERT_TRUE(first->WaitDone());
}

TEST(HttpPool, FinishedCallsLeaveNoBackstopBehind) {
  // A completed call cancels its backstop timer: the handle and the pool go away without
  // waiting out the 30-minute default (the test would hang otherwise).
  TestServer server(AlwaysOk);
  auto pool = MakePool();
  for (int i = 0; i < 20; ++i) {
    auto result = pool->Fetch(Get(HttpUrl(server)));
    ASSERT_TRUE(result.ok()) << result.status();
  }
  EXPECT_EQ(pool->Stats().connections_opened, 1u);
}

TEST(HttpPool, HandlerCanRefuseToGiveItsConnectionBack) {
  TestServer server(AlwaysOk);
  auto pool = MakePool();
  auto judged_broken = std::make_shared<Recorder>();
  judged_broken->reusable = false;
  auto call = pool->Start(Get(HttpUrl(server)), judged_broken);
  ASSERT_TRUE(judged_broken->WaitDone());
  EXPECT_TRUE(judged_broken->status().ok()) << judged_broken->status();
  EXPECT_TRUE(server.WaitClosed(1));
  EXPECT_EQ(pool->Stats().idle, 0u);
  ASSERT_TRUE(pool->Fetch(Get(HttpUrl(server))).ok());
  EXPECT_EQ(server.accepted(), 2);  // a new connection: the first was not reused
  EXPECT_EQ(pool->Stats().idle, 1u);
}

TEST(HttpPool, QueueBeyondItsCapIsRefusedAtOnce) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TestServer server([&](const ServerRequest&, ServerConn& conn) {
    released.wait();
    return conn.Write(TestServer::Response(200, "x"));
  });
  PoolOptions options;
  options.max_connections_per_origin = 1;
  options.max_waiters_per_origin = 1;
  auto pool = MakePool(options);
  auto busy = std::make_shared<Recorder>();
  auto queued = std::make_shared<Recorder>();
  auto refused = std::make_shared<Recorder>();
  auto call1 = pool->Start(Get(HttpUrl(server)), busy);
  ASSERT_TRUE(server.WaitRequests(1));
  auto call2 = pool->Start(Get(HttpUrl(server)), queued);
  auto call3 = pool->Start(Get(HttpUrl(server)), refused);
  ASSERT_TRUE(refused->WaitDone());  // before the server answers anything
  EXPECT_EQ(refused->status().code(), absl::StatusCode::kResourceExhausted) << refused->status();
  EXPECT_NE(refused->status().message().find("1 requests in flight and 1 queued"),
            std::string::npos)
      << refused->status();
  release.set_value();
  ASSERT_TRUE(busy->WaitDone());
  ASSERT_TRUE(queued->WaitDone());
  EXPECT_TRUE(busy->status().ok()) << busy->status();
  EXPECT_TRUE(queued->status().ok()) << queued->status();
  EXPECT_EQ(server.requests(), 2);
}

TEST(HttpPool, OversizedResponseHeadIsUnavailable) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    return conn.Write(TestServer::Response(200, "x", "X-Big: " + std::string(2000, 'a') + "\r\n"));
  });
  PoolOptions options;
  options.max_response_head_bytes = 1024;
  auto pool = MakePool(options);
  auto result = pool->Fetch(Get(HttpUrl(server)));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
}

TEST(HttpPool, ChunkedBodyStreamsInPiecesAndInOrder) {
  auto recorder = std::make_shared<Recorder>();
  const std::vector<std::string> pieces = {"data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"};
  TestServer server([&](const ServerRequest&, ServerConn& conn) {
    conn.Write(kChunkedHead);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      conn.Write(Chunk(pieces[i]));
      // Lockstep: the next piece is sent only after the client saw this one, which proves
      // the body is delivered as it arrives rather than at the end.
      if (!recorder->WaitPieces(static_cast<int>(i) + 1)) return false;
    }
    return conn.Write("0\r\n\r\n");
  });
  auto pool = MakePool();
  auto call = pool->Start(Get(HttpUrl(server)), recorder);
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_TRUE(recorder->status().ok()) << recorder->status();
  EXPECT_EQ(recorder->http_status(), 200);
  EXPECT_EQ(recorder->pieces(), pieces);
  EXPECT_EQ(pool->Stats().idle, 1u);  // a fully read chunked response leaves it reusable
}

TEST(HttpPool, PauseAndResume) {
  const std::string big(40 * 1024, 'x');
  TestServer server([&](const ServerRequest&, ServerConn& conn) {
    return conn.Write(std::string(kChunkedHead) + Chunk(big + "1") + Chunk(big + "2") +
                      Chunk(big + "3") + "0\r\n\r\n");
  });
  auto recorder = std::make_shared<Recorder>();
  recorder->keep_reading = [](int pieces) { return pieces != 1; };  // pause after the first
  auto pool = MakePool();
  auto call = pool->Start(Get(HttpUrl(server)), recorder);
  ASSERT_TRUE(recorder->WaitPieces(1));
  EXPECT_TRUE(recorder->NoMorePiecesWithin(1, std::chrono::milliseconds(100)));
  call->Resume();
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_TRUE(recorder->status().ok()) << recorder->status();
  EXPECT_EQ(recorder->body(), big + "1" + big + "2" + big + "3");
  EXPECT_GT(recorder->pieces().size(), 3u);
}

TEST(HttpPool, PausedCallWithDroppedHandleEndsAtShutdown) {
  const std::string big(40 * 1024, 'x');
  TestServer server([&](const ServerRequest&, ServerConn& conn) {
    conn.Write(std::string(kChunkedHead) + Chunk(big) + Chunk(big));
    conn.WaitForPeerClose();
    return false;
  });
  auto recorder = std::make_shared<Recorder>();
  recorder->keep_reading = [](int) { return false; };
  auto pool = MakePool();
  pool->Start(Get(HttpUrl(server)), recorder);  // handle dropped at once
  ASSERT_TRUE(recorder->WaitPieces(1));
  EXPECT_EQ(pool->Stats().open, 1u);
  pool.reset();
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_EQ(recorder->status().code(), absl::StatusCode::kCancelled) << recorder->status();
  EXPECT_TRUE(server.WaitClosed(1));
}

TEST(HttpPool, HeadResponseHasNoBody) {
  TestServer server([](const ServerRequest& request, ServerConn& conn) {
    if (request.method == "HEAD") return conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    return conn.Write(TestServer::Response(200, "0123456789"));
  });
  auto pool = MakePool();
  HttpRequest head = Get(HttpUrl(server));
  head.method = "HEAD";
  auto result = pool->Fetch(head);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->body, "");
  auto get = pool->Fetch(Get(HttpUrl(server)));  // same connection, still in sync
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->body, "0123456789");
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpPool, CancelMidBodyClosesConnection) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.Write(std::string(kChunkedHead) + Chunk("first"));
    conn.WaitForPeerClose();
    return false;
  });
  auto recorder = std::make_shared<Recorder>();
  auto pool = MakePool();
  auto call = pool->Start(Get(HttpUrl(server)), recorder);
  ASSERT_TRUE(recorder->WaitPieces(1));
  call->Cancel();
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_EQ(recorder->status().code(), absl::StatusCode::kCancelled) << recorder->status();
  EXPECT_TRUE(server.WaitClosed(1));
  EXPECT_EQ(pool->Stats().open, 0u);
  call->Cancel();  // idempotent, and harmless after completion
  call->Resume();
}

TEST(HttpPool, ResponseTimeout) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.WaitForPeerClose();
    return false;
  });
  PoolOptions options;
  options.response_timeout = std::chrono::milliseconds(200);
  auto pool = MakePool(options);
  auto result = pool->Fetch(Get(HttpUrl(server)));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  EXPECT_TRUE(server.WaitClosed(1));
}

TEST(HttpPool, ReadIdleTimeout) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.Write(std::string(kChunkedHead) + Chunk("first"));
    conn.WaitForPeerClose();
    return false;
  });
  PoolOptions options;
  options.read_idle_timeout = std::chrono::milliseconds(200);
  auto pool = MakePool(options);
  auto recorder = std::make_shared<Recorder>();
  auto call = pool->Start(Get(HttpUrl(server)), recorder);
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_EQ(recorder->status().code(), absl::StatusCode::kDeadlineExceeded) << recorder->status();
  EXPECT_EQ(recorder->body(), "first");
}

// The body's idle deadline is armed once and pushed back by every read, not re-armed per read:
// a body that keeps arriving, for longer in total than the idle limit, must not time out, and
// a stall after it still must.
TEST(HttpPool, ReadIdleTimeoutCountsFromTheLatestRead) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    if (!conn.Write(std::string(kChunkedHead))) return false;
    for (int i = 0; i < 8; ++i) {  // 8 x 100 ms: well past the 300 ms idle limit in total
      if (!conn.Write(Chunk("x"))) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    conn.WaitForPeerClose();  // then silence: the idle limit applies
    return false;
  });
  PoolOptions options;
  options.read_idle_timeout = std::chrono::milliseconds(300);
  auto pool = MakePool(options);
  auto recorder = std::make_shared<Recorder>();
  auto call = pool->Start(Get(HttpUrl(server)), recorder);
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_EQ(recorder->status().code(), absl::StatusCode::kDeadlineExceeded) << recorder->status();
  EXPECT_NE(recorder->status().message().find("reading the response body"), std::string::npos)
      << recorder->status();
  EXPECT_EQ(recorder->body(), "xxxxxxxx");  // every chunk arrived before the deadline hit
}

TEST(HttpPool, TruncatedBodyIsUnavailable) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part");
    return false;
  });
  auto pool = MakePool();
  auto result = pool->Fetch(Get(HttpUrl(server)));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
}

TEST(HttpPool, ConnectRefused) {
  uint16_t port;
  {
    TestServer server(AlwaysOk);
    port = server.port();
  }
  auto pool = MakePool();
  auto result = pool->Fetch(Get("http://127.0.0.1:" + std::to_string(port) + "/"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_NE(result.status().message().find("127.0.0.1"), std::string::npos) << result.status();
}

TEST(HttpPool, FetchBoundsBufferedBody) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    return conn.Write(TestServer::Response(200, std::string(1000, 'x')));
  });
  PoolOptions options;
  options.max_buffered_body_bytes = 100;
  auto pool = MakePool(options);
  auto result = pool->Fetch(Get(HttpUrl(server)));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted) << result.status();
}

TEST(HttpPool, ErrorStatusIsDeliveredWithBody) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    return conn.Write(TestServer::Response(429, R"({"error_code":"RATE_LIMITED"})"));
  });
  auto pool = MakePool();
  auto result = pool->Fetch(Get(HttpUrl(server)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->head.status, 429);
  EXPECT_EQ(result->body, R"({"error_code":"RATE_LIMITED"})");
}

TEST(HttpPool, DestructorCancelsOpenCalls) {
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.WaitForPeerClose();
    return false;
  });
  auto pool = MakePool();
  auto recorder = std::make_shared<Recorder>();
  auto call = pool->Start(Get(HttpUrl(server)), recorder);
  ASSERT_TRUE(server.WaitRequests(1));
  pool.reset();
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_EQ(recorder->status().code(), absl::StatusCode::kCancelled) << recorder->status();
  call->Cancel();  // the handle outlives the pool
  EXPECT_TRUE(server.WaitClosed(1));
}

TEST(HttpPool, TriesEachResolvedAddress) {
  TestServer server(AlwaysOk);  // on 127.0.0.1 only: 127.0.0.2 and ::1 refuse (or fail)
  PoolOptions options;
  options.resolve_overrides = {{"upstream.test", {"127.0.0.2", "::1", "127.0.0.1"}}};
  auto pool = MakePool(options);
  auto result = pool->Fetch(Get(HttpUrl(server, "upstream.test")));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->body, "hello /v1/responses");
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpPool, AllAddressesRefuseIsUnavailable) {
  uint16_t port;
  {
    TestServer server(AlwaysOk);
    port = server.port();
  }
  PoolOptions options;
  options.resolve_overrides = {{"upstream.test", {"127.0.0.2", "127.0.0.1"}}};
  auto pool = MakePool(options);
  auto result = pool->Fetch(Get("http://upstream.test:" + std::to_string(port) + "/"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
}

TEST(HttpPool, UnresolvableHostIsUnavailable) {
  auto pool = MakePool();
  auto result = pool->Fetch(Get("http://no-such-host.invalid/"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
}

// ---- TLS

PoolOptions TrustOnly(const TestPki& pki) {
  PoolOptions options;
  options.ca_pem = pki.ca_cert_pem;
  return options;
}

TEST(HttpPoolTls, TrustedCertificateWorksAndIsReused) {
  const TestPki pki = MakeTestPki();
  TestServer server(AlwaysOk, pki);
  auto pool = MakePool(TrustOnly(pki));
  for (const std::string host : {"127.0.0.1", "127.0.0.1"}) {
    auto result = pool->Fetch(Get(HttpsUrl(server, host)));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->body, "hello /v1/responses");
  }
  EXPECT_EQ(server.last_sni(), "");  // no SNI for IP literals (RFC 6066)
  EXPECT_EQ(server.accepted(), 1);
  // By DNS name too (SNI and the DNS SAN).
  auto by_name = pool->Fetch(Get(HttpsUrl(server, "localhost")));
  ASSERT_TRUE(by_name.ok()) << by_name.status();
}

TEST(HttpPoolTls, NamedHostWithSniAndResolveOverride) {
  const TestPki pki = MakeTestPki({"upstream.example"}, {});
  TestServer server(AlwaysOk, pki);
  PoolOptions options = TrustOnly(pki);
  options.resolve_overrides = {{"upstream.example", {"127.0.0.1"}}};
  auto pool = MakePool(options);
  auto result = pool->Fetch(Get(HttpsUrl(server, "upstream.example")));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(server.last_sni(), "upstream.example");

  auto untrusted = MakePool([&] {
    PoolOptions o;
    o.ca_pem = MakeTestPki().ca_cert_pem;
    o.resolve_overrides = options.resolve_overrides;
    return o;
  }());
  auto refused = untrusted->Fetch(Get(HttpsUrl(server, "upstream.example")));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_EQ(refused.status().message(),
            "TLS handshake with upstream.example:" + std::to_string(server.port()) +
                " failed: certificate verify failed: unable to get local issuer certificate");
}

TEST(HttpPoolTls, CaFromFile) {
  const TestPki pki = MakeTestPki();
  TempDir dir;
  ASSERT_TRUE(pki.WriteFiles(dir.path()).ok());
  TestServer server(AlwaysOk, pki);
  PoolOptions options;
  options.ca_file = dir.File("ca.pem");
  auto pool = MakePool(options);
  auto result = pool->Fetch(Get(HttpsUrl(server)));
  EXPECT_TRUE(result.ok()) << result.status();
}

TEST(HttpPoolTls, MissingCaFileFailsCreate) {
  PoolOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(HttpPool::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpPoolTls, UnknownCaIsUnavailableNamingTheHost) {
  const TestPki pki = MakeTestPki();
  const TestPki other = MakeTestPki();
  TestServer server(AlwaysOk, pki);
  auto pool = MakePool(TrustOnly(other));
  auto result = pool->Fetch(Get(HttpsUrl(server, "localhost")));
  ASSERT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  const std::string message(result.status().message());
  EXPECT_NE(message.find("TLS handshake with localhost:" + std::to_string(server.port())),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("certificate verify failed: unable to get local issuer certificate"),
            std::string::npos)
      << message;
  EXPECT_TRUE(server.WaitClosed(1));
}

TEST(HttpPoolTls, HostNameMismatchIsUnavailable) {
  const TestPki pki = MakeTestPki({"upstream.example"}, {});
  TestServer server(AlwaysOk, pki);
  auto pool = MakePool(TrustOnly(pki));
  auto result = pool->Fetch(Get(HttpsUrl(server, "localhost")));
  ASSERT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_NE(result.status().message().find("certificate does not match host name localhost"),
            std::string::npos)
      << result.status();
  auto by_ip = pool->Fetch(Get(HttpsUrl(server, "127.0.0.1")));
  EXPECT_EQ(by_ip.status().code(), absl::StatusCode::kUnavailable) << by_ip.status();
}

TEST(HttpPoolTls, CancelMidBody) {
  const TestPki pki = MakeTestPki();
  TestServer server([](const ServerRequest&, ServerConn& conn) {
    conn.Write(std::string(kChunkedHead) + Chunk("first"));
    conn.WaitForPeerClose();
    return false;
  }, pki);
  auto pool = MakePool(TrustOnly(pki));
  auto recorder = std::make_shared<Recorder>();
  auto call = pool->Start(Get(HttpsUrl(server)), recorder);
  ASSERT_TRUE(recorder->WaitPieces(1));
  call->Cancel();
  ASSERT_TRUE(recorder->WaitDone());
  EXPECT_EQ(recorder->status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(server.WaitClosed(1));
}

}  // namespace
}  // namespace agentgateway::upstream

namespace agentgateway::upstream {
namespace {

// Waits (bounded) until the pool's pending timers number `n`; a cancel completes on a pool
// thread, so the count drops an instant after it.
bool WaitTimers(HttpPool& pool, std::size_t n) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.Stats().timers != n) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(HttpPool, ACancelledTimerNeverRunsAndIsFreedAtOnce) {
  auto pool = HttpPool::Create(PoolOptions{});
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::atomic<bool> ran{false};
  auto cancel = (*pool)->RunAfterCancellable(std::chrono::hours(1), [&ran] { ran = true; });
  EXPECT_EQ((*pool)->Stats().timers, 1u);
  cancel();
  cancel();  // idempotent
  EXPECT_TRUE(WaitTimers(**pool, 0));
  EXPECT_FALSE(ran.load());
  // A timer that is not cancelled runs, and is freed once it has.
  std::promise<void> fired;
  (*pool)->RunAfterCancellable(std::chrono::milliseconds(1), [&fired] { fired.set_value(); });
  fired.get_future().wait();
  EXPECT_TRUE(WaitTimers(**pool, 0));
}

// The destructor cancels what is pending instead of waiting for it: with an hour-long timer
// left, a pool that waited would hang this test (and agent-gateway's exit) for the hour.
TEST(HttpPool, DestructionDoesNotWaitForPendingTimers) {
  auto pool = HttpPool::Create(PoolOptions{});
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::atomic<bool> ran{false};
  (*pool)->RunAfter(std::chrono::hours(1), [&ran] { ran = true; });
  auto cancel = (*pool)->RunAfterCancellable(std::chrono::hours(1), [&ran] { ran = true; });
  pool->reset();
  EXPECT_FALSE(ran.load());
  cancel();  // after the pool is gone: harmless
}

}  // namespace
}  // namespace agentgateway::upstream
