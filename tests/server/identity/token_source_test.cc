// OAuth M2M token source against a hand-driven HttpPool and a fake clock.
#include "server/identity/token_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway::identity {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using namespace std::chrono_literals;

constexpr char kClientSecret[] = "dose0123456789abcdefSECRET";
constexpr char kToken1[] = "tok-one-0123456789abcdef0123456789";
constexpr char kToken2[] = "tok-two-0123456789abcdef0123456789";

class FakeCall final : public upstream::Call {
 public:
  void Cancel() override { ++cancels; }
  void Resume() override {}
  std::atomic<int> cancels{0};
};

// Records every call; the test answers them by index. Start may be called from many threads.
class FakePool final : public upstream::HttpPool {
 public:
  // Scheduled work is kept for the test to run (deterministic backoff).
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) override {
    scheduled.emplace_back(delay, std::move(fn));
  }
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> scheduled;

  std::shared_ptr<upstream::Call> Start(upstream::HttpRequest request,
                                        std::shared_ptr<upstream::ResponseHandler> handler) override {
    absl::MutexLock lock(&mu_);
    requests_.push_back(std::move(request));
    handlers_.push_back(std::move(handler));
    calls_.push_back(std::make_shared<FakeCall>());
    return calls_.back();
  }
  absl::StatusOr<FetchResult> Fetch(upstream::HttpRequest) override {
    return absl::UnimplementedError("the token source must not block");
  }
  upstream::PoolStats Stats() const override { return {}; }

  std::size_t count() const {
    absl::MutexLock lock(&mu_);
    return requests_.size();
  }
  upstream::HttpRequest request(std::size_t i) const {
    absl::MutexLock lock(&mu_);
    return requests_.at(i);
  }
  std::shared_ptr<FakeCall> call(std::size_t i) const {
    absl::MutexLock lock(&mu_);
    return calls_.at(i);
  }
  void Respond(std::size_t i, int status, std::string_view body) {
    std::shared_ptr<upstream::ResponseHandler> handler = TakeHandler(i);
    upstream::HttpResponseHead head;
    head.status = status;
    head.headers.emplace_back("Content-Type", "application/json");
    handler->OnHead(head);
    handler->OnBody(body);
    handler->OnComplete(absl::OkStatus());
  }
  void Fail(std::size_t i, absl::Status status) { TakeHandler(i)->OnComplete(std::move(status)); }

 private:
  std::shared_ptr<upstream::ResponseHandler> TakeHandler(std::size_t i) {
    absl::MutexLock lock(&mu_);
    return std::move(handlers_.at(i));
  }
  mutable absl::Mutex mu_;
  std::vector<upstream::HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<upstream::ResponseHandler>> handlers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<FakeCall>> calls_ ABSL_GUARDED_BY(mu_);
};

std::string TokenJson(std::string_view token, int expires_in = 3600) {
  return absl::StrCat(R"({"access_token":")", std::string(token),
                      R"(","token_type":"Bearer","expires_in":)", expires_in, "}");
}

// Collects what one GetToken delivered.
struct Result {
  bool called = false;
  absl::StatusOr<Secret> value = absl::UnknownError("not called");
};
TokenSource::Callback Into(Result& r) {
  return [&r](absl::StatusOr<Secret> v) {
    r.called = true;
    r.value = std::move(v);
  };
}

class OAuthM2MTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(); }
  void Make(double jitter = 0) {
    OAuthM2MOptions options;
    options.host_url = "adb-1.azuredatabricks.net/";
    options.client_id = "sp-1234";
    options.client_secret = Secret(std::string(kClientSecret));
    options.jitter_fraction = jitter;
    options.initial_backoff = 1000ms;
    options.max_backoff = 8000ms;
    options.now = [this] { return start_ + std::chrono::milliseconds(clock_ms_.load()); };
    auto source = MakeOAuthM2MTokenSource(&pool_, std::move(options));
    ASSERT_THAT(source.status(), IsOk());
    source_ = *std::move(source);
  }
  // Shared: the answer may come later, from FakePool::Respond.
  std::shared_ptr<Result> Get() {
    auto r = std::make_shared<Result>();
    source_->GetToken([r](absl::StatusOr<Secret> v) {
      r->called = true;
      r->value = std::move(v);
    });
    return r;
  }
  void Advance(std::chrono::milliseconds d) { clock_ms_ += d.count(); }

  FakePool pool_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<int64_t> clock_ms_{0};
  std::unique_ptr<TokenSource> source_;
};

TEST_F(OAuthM2MTest, FirstCallPostsClientCredentials) {
  auto r = Get();
  EXPECT_FALSE(r->called);
  ASSERT_EQ(pool_.count(), 1u);
  const upstream::HttpRequest request = pool_.request(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url.scheme, "https");
  EXPECT_EQ(request.url.host, "adb-1.azuredatabricks.net");
  EXPECT_EQ(request.url.port, 443);
  EXPECT_EQ(request.url.target, "/oidc/v1/token");
  // base64("sp-1234:dose0123456789abcdefSECRET")
  EXPECT_THAT(request.headers,
              Contains(Pair("Authorization", "Basic c3AtMTIzNDpkb3NlMDEyMzQ1Njc4OWFiY2RlZlNFQ1JFVA==")));
  EXPECT_THAT(request.headers, Contains(Pair("Content-Type", "application/x-www-form-urlencoded")));
  EXPECT_EQ(request.body, "grant_type=client_credentials&scope=all-apis");

  pool_.Respond(0, 200, TokenJson(kToken1));
  ASSERT_TRUE(r->called);
  ASSERT_THAT(r->value.status(), IsOk());
  EXPECT_EQ(r->value->Reveal(), kToken1);
  EXPECT_EQ(source_->GetStats().refreshes, 1u);
  EXPECT_TRUE(source_->GetStats().has_valid_token);
}

TEST_F(OAuthM2MTest, DescribesWithoutTheSecret) {
  EXPECT_EQ(source_->Describe(), "OAuth M2M client sp-1234 at https://adb-1.azuredatabricks.net");
}

TEST_F(OAuthM2MTest, CachedTokenIsServedAtOnceWithoutARequest) {
  Get();
  pool_.Respond(0, 200, TokenJson(kToken1));
  Advance(2000s);
  auto r = Get();
  ASSERT_TRUE(r->called);  // synchronously, on this thread
  EXPECT_EQ(r->value->Reveal(), kToken1);
  EXPECT_EQ(pool_.count(), 1u);
}

TEST_F(OAuthM2MTest, RefreshAtEightyPercentServesTheOldTokenAndMakesOneCall) {
  Get();
  pool_.Respond(0, 200, TokenJson(kToken1, 1000));
  Advance(799s);
  Get();
  EXPECT_EQ(pool_.count(), 1u);
  Advance(1s);  // 80% of 1000 s
  for (int i = 0; i < 5; ++i) {
    auto r = Get();
    ASSERT_TRUE(r->called);
    EXPECT_EQ(r->value->Reveal(), kToken1);
  }
  ASSERT_EQ(pool_.count(), 2u);  // one background refresh, however many callers
  pool_.Respond(1, 200, TokenJson(kToken2, 1000));
  EXPECT_EQ(Get()->value->Reveal(), kToken2);
  EXPECT_EQ(pool_.count(), 2u);
}

TEST_F(OAuthM2MTest, JitterRefreshesNoLaterThanTheFraction) {
  Make(/*jitter=*/0.05);
  Get();
  pool_.Respond(0, 200, TokenJson(kToken1, 1000));
  Advance(749s);  // before 80% - 5%: never due
  Get();
  EXPECT_EQ(pool_.count(), 1u);
  Advance(51s);  // at 80%: always due
  Get();
  EXPECT_EQ(pool_.count(), 2u);
}

TEST_F(OAuthM2MTest, TwoHundredConcurrentCallersShareOneRequest) {
  constexpr int kThreads = 4, kPerThread = 50;
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        source_->GetToken([&](absl::StatusOr<Secret> v) {
          (v.ok() && v->Reveal() == kToken1 ? ok : wrong)++;
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(pool_.count(), 1u);
  EXPECT_EQ(ok + wrong, 0);
  pool_.Respond(0, 200, TokenJson(kToken1));
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(pool_.count(), 1u);
}

TEST_F(OAuthM2MTest, DownThenBack) {
  auto a = Get();
  auto b = Get();
  ASSERT_EQ(pool_.count(), 1u);
  pool_.Respond(0, 503, R"({"error_code":"TEMPORARILY_UNAVAILABLE","message":"try later"})");
  for (const auto& r : {a, b}) {
    ASSERT_TRUE(r->called);
    EXPECT_THAT(r->value.status(),
                StatusIs(absl::StatusCode::kUnavailable,
                         AllOf(HasSubstr("cannot obtain an OAuth token for client sp-1234 from "
                                         "https://adb-1.azuredatabricks.net/oidc/v1/token"),
                               HasSubstr("HTTP 503"), HasSubstr("try later"))));
  }
  // Back-off: first delay is in [500, 1000] ms. Callers fail fast, no request.
  Advance(400ms);
  auto c = Get();
  ASSERT_TRUE(c->called);
  EXPECT_THAT(c->value.status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("next attempt in")));
  EXPECT_EQ(pool_.count(), 1u);
  EXPECT_EQ(source_->GetStats().failures, 1u);

  Advance(600ms);
  auto d = Get();
  EXPECT_FALSE(d->called);
  ASSERT_EQ(pool_.count(), 2u);
  pool_.Respond(1, 200, TokenJson(kToken1));
  ASSERT_TRUE(d->called);
  EXPECT_EQ(d->value->Reveal(), kToken1);
}

TEST_F(OAuthM2MTest, BackoffGrowsAndIsCapped) {
  // Failure k waits a random time in [cap/2, cap], cap = min(8 s, 1 s * 2^(k-1)).
  Get();
  pool_.Fail(0, absl::UnavailableError("connection refused"));
  std::size_t n = 1;
  for (int64_t cap_ms : {1000, 2000, 4000, 8000, 8000}) {
    Advance(std::chrono::milliseconds(cap_ms / 2 - 1));
    auto r = Get();
    ASSERT_TRUE(r->called);
    EXPECT_THAT(r->value.status(), StatusIs(absl::StatusCode::kUnavailable,
                                            HasSubstr("connection refused")));
    EXPECT_EQ(pool_.count(), n) << "retried before the back-off of " << cap_ms << " ms";
    Advance(std::chrono::milliseconds(cap_ms / 2 + 1));
    Get();
    ASSERT_EQ(pool_.count(), n + 1) << "no retry after the back-off of " << cap_ms << " ms";
    pool_.Fail(n++, absl::UnavailableError("connection refused"));
  }
}

TEST_F(OAuthM2MTest, ValidTokenKeepsBeingServedWhileRefreshesFail) {
  Get();
  pool_.Respond(0, 200, TokenJson(kToken1, 1000));
  Advance(850s);
  EXPECT_EQ(Get()->value->Reveal(), kToken1);
  ASSERT_EQ(pool_.count(), 2u);
  pool_.Respond(1, 500, "<html>oops</html>");
  EXPECT_EQ(Get()->value->Reveal(), kToken1);  // in back-off: no new request
  EXPECT_EQ(pool_.count(), 2u);
  Advance(2s);
  EXPECT_EQ(Get()->value->Reveal(), kToken1);
  EXPECT_EQ(pool_.count(), 3u);
  pool_.Fail(2, absl::DeadlineExceededError("timed out"));
  Advance(200s);  // expired now
  auto r = Get();
  EXPECT_FALSE(source_->GetStats().has_valid_token);
  EXPECT_FALSE(r->called);  // waits for a new request (back-off is over)
  ASSERT_EQ(pool_.count(), 4u);
  pool_.Fail(3, absl::UnavailableError("reset"));
  EXPECT_THAT(r->value.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("reset")));
}

TEST_F(OAuthM2MTest, BadCredentialsAreAFailedPrecondition) {
  auto r = Get();
  pool_.Respond(0, 401,
                R"({"error":"invalid_client","error_description":"Client authentication failed"})");
  EXPECT_THAT(r->value.status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("HTTP 401: invalid_client: Client authentication failed"),
                             HasSubstr("sp-1234"), Not(HasSubstr(kClientSecret)))));
  auto again = Get();  // during back-off: the same verdict, fast
  EXPECT_THAT(again->value.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                             HasSubstr("invalid_client")));
}

TEST_F(OAuthM2MTest, MalformedAnswersAreUnavailable) {
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"token_type":"Bearer","expires_in":3600})", "no access_token"},
      {R"({"access_token":"x","expires_in":3600})", "no token_type"},
      {R"({"access_token":"x","token_type":"Bearer"})", "no expires_in"},
      {R"({"access_token":"x","token_type":"Bearer","expires_in":-5})", "expires_in"},
      {R"({"access_token":"x","token_type":"MAC","expires_in":60})", "not Bearer"},
  };
  std::size_t n = 0;
  for (const auto& [body, why] : cases) {
    Advance(10s);  // past any back-off
    auto r = Get();
    ASSERT_EQ(pool_.count(), n + 1) << body;
    pool_.Respond(n++, 200, body);
    EXPECT_THAT(r->value.status(), StatusIs(absl::StatusCode::kUnavailable,
                                           AllOf(HasSubstr("malformed token response"),
                                                 HasSubstr(why))));
  }
}

TEST_F(OAuthM2MTest, MessagesNeverCarryTheSecretOrTokens) {
  auto r = Get();
  const std::string echoed_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  pool_.Respond(0, 502,
                absl::StrCat("<html>bad gateway; upstream said Authorization: Basic ",
                             "c3AtMTIzNDpkb3NlMDEyMzQ1Njc4OWFiY2RlZlNFQ1JFVA== and token ",
                             echoed_token, " secret ", kClientSecret, "</html>"));
  const std::string message(r->value.status().message());
  EXPECT_THAT(message, HasSubstr("HTTP 502"));
  EXPECT_THAT(message, Not(HasSubstr(kClientSecret)));
  EXPECT_THAT(message, Not(HasSubstr("c3AtMTIzNDpk")));
  EXPECT_THAT(message, Not(HasSubstr(echoed_token)));
  EXPECT_THAT(message, HasSubstr("[redacted]"));
  EXPECT_THAT(source_->Describe(), Not(HasSubstr(kClientSecret)));
}

TEST_F(OAuthM2MTest, DestroyingTheSourceCancelsTheRefreshAndAnswersWaiters) {
  auto r = Get();
  std::shared_ptr<FakeCall> call = pool_.call(0);
  source_.reset();
  EXPECT_EQ(call->cancels.load(), 1);
  pool_.Fail(0, absl::CancelledError("cancelled"));  // the pool's answer to Cancel()
  EXPECT_THAT(r->value.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cancelled")));
}

TEST(OAuthM2MOptionsTest, RejectsBadOptions) {
  FakePool pool;
  auto make = [&](auto change) {
    OAuthM2MOptions options;
    options.host_url = "https://h.example.com";
    options.client_id = "id";
    options.client_secret = Secret(std::string("s"));
    change(options);
    return MakeOAuthM2MTokenSource(&pool, std::move(options)).status();
  };
  EXPECT_THAT(make([](OAuthM2MOptions&) {}), IsOk());
  EXPECT_THAT(make([](OAuthM2MOptions& o) { o.host_url = " "; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DATABRICKS_HOST")));
  EXPECT_THAT(make([](OAuthM2MOptions& o) { o.client_id.clear(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("client id")));
  EXPECT_THAT(make([](OAuthM2MOptions& o) { o.client_secret = Secret(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("client secret")));
  EXPECT_THAT(make([](OAuthM2MOptions& o) { o.refresh_fraction = 1.5; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("refresh_fraction")));
  EXPECT_THAT(make([](OAuthM2MOptions& o) { o.host_url = "ftp://h"; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scheme")));
  EXPECT_THAT(MakeOAuthM2MTokenSource(nullptr, OAuthM2MOptions{}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pool")));
}

TEST(StaticTokenSourceTest, ServesTheTokenAndDescribesItsFingerprint) {
  const Secret token{std::string("dapi0123456789abcdef0123456789abcdef")};
  std::unique_ptr<TokenSource> source = MakeStaticTokenSource(token);
  Result r;
  source->GetToken(Into(r));
  ASSERT_TRUE(r.called);
  EXPECT_EQ(r.value->Reveal(), token.Reveal());
  EXPECT_EQ(source->Describe(), "static token " + token.Fingerprint());
  EXPECT_TRUE(source->GetStats().has_valid_token);

  std::unique_ptr<TokenSource> empty = MakeStaticTokenSource(Secret());
  empty->GetToken(Into(r));
  EXPECT_THAT(r.value.status(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("empty")));
}

}  // namespace
}  // namespace agentgateway::identity
