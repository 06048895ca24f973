// Shared fixture of the server/local tests: an in-process emulator on a loopback port 0 and an
// HttpPool to reach it, plus helpers to mint user tokens, wait for async outcomes, wait on the
// emulator's counters and see when it saw a client leave.
#ifndef AGENTGATEWAY_TESTS_LOCAL_LOCAL_FIXTURE_H_
#define AGENTGATEWAY_TESTS_LOCAL_LOCAL_FIXTURE_H_

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/local/mcp_client.h"
#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/json.hpp"
#include "gtest/gtest.h"
#include "server/upstream/http_pool.h"
#include "tests/emulator/emulator.h"

namespace agentgateway::local::testing {

// Generous failure bound for an async outcome; tests normally finish in milliseconds.
inline constexpr std::chrono::seconds kWait{20};

// Times at which the emulator saw a client leave a stream or a hang first
// (EmulatorOptions::on_client_closed), waited on by count. Thread-safe.
class CloseLog {
 public:
  void Record(std::chrono::steady_clock::time_point at) {
    absl::MutexLock lock(&mu_);
    seen_.push_back(at);
  }
  // The first `n` times once there are that many; nullopt (and a test failure) after kWait.
  std::optional<std::vector<std::chrono::steady_clock::time_point>> Wait(std::size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return seen_.size() >= n; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&enough), absl::FromChrono(kWait))) {
      ADD_FAILURE() << "the emulator saw " << seen_.size() << " client closes, not " << n;
      return std::nullopt;
    }
    return seen_;
  }
  std::size_t count() {
    absl::MutexLock lock(&mu_);
    return seen_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> seen_ ABSL_GUARDED_BY(mu_);
};

class LocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator::EmulatorOptions options;
    options.threads = 2;
    // Shared: the hook may run until the emulator's Stop() returns.
    options.on_client_closed = [log = closes_](std::chrono::steady_clock::time_point at) {
      log->Record(at);
    };
    auto created = emulator::Emulator::Create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    emulator_ = *std::move(created);
    upstream::PoolOptions pool_options;
    pool_options.threads = 2;
    auto pool = upstream::HttpPool::Create(pool_options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
  }
  void TearDown() override {
    pool_.reset();
    emulator_.reset();
  }

  std::string Url(std::string_view path) const { return absl::StrCat(emulator_->BaseUrl(), std::string(path)); }

  // A user token from the emulator (what the Apps proxy would forward).
  std::string UserToken(std::string_view user, std::vector<std::string> scopes) {
    boost::json::array scope_array;
    for (const auto& s : scopes) scope_array.emplace_back(s);
    upstream::HttpRequest request;
    request.url = *upstream::Url::Parse(Url("/emulator/users/token"));
    request.headers = {{"Content-Type", "application/json"}};
    request.body = boost::json::serialize(
        boost::json::object{{"user", user}, {"scopes", std::move(scope_array)}, {"format", "opaque"}});
    auto fetched = pool_->Fetch(std::move(request));
    EXPECT_TRUE(fetched.ok()) << fetched.status();
    if (!fetched.ok()) return "";
    EXPECT_EQ(fetched->head.status, 200) << fetched->body;
    return std::string(boost::json::parse(fetched->body).at("access_token").as_string());
  }

  // Blocks until the emulator's counter `name` (GET /emulator/stats) reaches `value`, with the
  // emulator's own long poll; false (and a test failure) after kWait.
  bool WaitForCounter(std::string_view name, int64_t value) {
    upstream::HttpRequest request;
    request.method = "GET";
    request.url = *upstream::Url::Parse(
        Url(absl::StrCat("/emulator/wait?counter=", std::string(name), "&value=", value,
                         "&timeout_ms=", std::chrono::milliseconds(kWait).count())));
    auto fetched = pool_->Fetch(std::move(request));
    EXPECT_TRUE(fetched.ok()) << fetched.status();
    if (!fetched.ok()) return false;
    EXPECT_EQ(fetched->head.status, 200) << name << " did not reach " << value << ": "
                                         << fetched->body;
    return fetched->head.status == 200;
  }

  std::shared_ptr<CloseLog> closes_ = std::make_shared<CloseLog>();
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<upstream::HttpPool> pool_;
};

// Waits for a future with the failure bound; nullopt (and a test failure) on timeout.
template <typename T>
std::optional<T> Await(std::future<T>& future) {
  if (future.wait_for(kWait) != std::future_status::ready) {
    ADD_FAILURE() << "async outcome did not arrive in time";
    return std::nullopt;
  }
  return future.get();
}

// LocalTest plus an McpClient on its pool.
class McpLocalTest : public LocalTest {
 protected:
  void SetUp() override {
    LocalTest::SetUp();
    auto client = McpClient::Create(pool_.get());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }
  void TearDown() override {
    client_.reset();
    LocalTest::TearDown();
  }

  std::unique_ptr<McpClient> client_;
};

}  // namespace agentgateway::local::testing

#endif  // AGENTGATEWAY_TESTS_LOCAL_LOCAL_FIXTURE_H_
