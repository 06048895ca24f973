// OAuth M2M token source: cache, early refresh, one request in flight, back-off on failure.
#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "absl/base/dynamic_annotations.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "server/identity/oauth_token_request.h"
#include "server/identity/token_source.h"

namespace agentgateway::identity {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxAnswerBytes = 64 * 1024;

absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// absl::MutexLock that also tells ThreadSanitizer about the lock: Debian's abseil is built
// without TSan, so its Mutex is invisible to it and every guarded access would be reported as a
// race. The annotations compile to nothing outside TSan builds.
class ABSL_SCOPED_LOCKABLE Lock {
 public:
  explicit Lock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
    ABSL_ANNOTATE_RWLOCK_ACQUIRED(mu_, 1);
  }
  ~Lock() ABSL_UNLOCK_FUNCTION() {
    ABSL_ANNOTATE_RWLOCK_RELEASED(mu_, 1);
    mu_->Unlock();
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  absl::Mutex* const mu_;
};

// The shared state of one source. In-flight handlers hold it by shared_ptr, so a completion
// that arrives after the TokenSource was destroyed still answers its waiters safely.
class M2MCore : public std::enable_shared_from_this<M2MCore> {
 public:
  M2MCore(upstream::HttpPool* pool, OAuthM2MOptions options, upstream::Url token_url,
          std::string origin)
      : pool_(pool),
        options_(std::move(options)),
        token_url_(std::move(token_url)),
        origin_(std::move(origin)),
        context_(absl::StrCat("cannot obtain an OAuth token for client ", options_.client_id,
                              " from ", origin_, token_url_.target)),
        rng_(std::random_device{}()) {}

  void GetToken(TokenSource::Callback done);
  TokenSource::Stats GetStats() const;
  std::string Describe() const {
    return absl::StrCat("OAuth M2M client ", options_.client_id, " at ", origin_);
  }
  // Cancels the request in flight, if any (its waiters get UNAVAILABLE).
  void Cancel();
  void OnFetchDone(uint64_t fetch_id, Clock::time_point sent_at, absl::Status transport,
                   int http_status, std::string body);

 private:
  void DoFetch(uint64_t fetch_id, Clock::time_point sent_at);
  // Claims the single refresh slot; the caller runs DoFetch once the lock is released.
  uint64_t BeginFetchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Clock::duration NextBackoffLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double UniformLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  Clock::time_point Now() const { return options_.now(); }
  // ScrubSecrets cannot know a short secret that an upstream echoes back; this source can.
  absl::Status WithoutOwnSecret(const absl::Status& status) const {
    const std::string& secret = options_.client_secret.Reveal();
    if (!absl::StrContains(status.message(), secret)) return status;
    return absl::Status(status.code(),
                        absl::StrReplaceAll(status.message(), {{secret, std::string(kRedacted)}}));
  }

  upstream::HttpPool* const pool_;
  const OAuthM2MOptions options_;
  const upstream::Url token_url_;
  const std::string origin_;
  const std::string context_;  // prefix of every error message

  mutable absl::Mutex mu_;
  Secret token_ ABSL_GUARDED_BY(mu_);
  Clock::time_point expires_at_ ABSL_GUARDED_BY(mu_);  // token_ is valid before this
  Clock::time_point refresh_at_ ABSL_GUARDED_BY(mu_);  // refresh in the background after this
  Clock::time_point retry_at_ ABSL_GUARDED_BY(mu_);    // no request before this (back-off)
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t fetch_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<upstream::Call> call_ ABSL_GUARDED_BY(mu_);
  std::vector<TokenSource::Callback> waiters_ ABSL_GUARDED_BY(mu_);
  uint64_t refreshes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

// Buffers the (small) token answer and hands it to the core when the call completes.
class TokenAnswerHandler final : public upstream::ResponseHandler {
 public:
  TokenAnswerHandler(std::shared_ptr<M2MCore> core, uint64_t fetch_id, Clock::time_point sent_at)
      : core_(std::move(core)), fetch_id_(fetch_id), sent_at_(sent_at) {}
  void OnHead(const upstream::HttpResponseHead& head) override { http_status_ = head.status; }
  bool OnBody(std::string_view bytes) override {
    // Past the limit the rest is read and dropped: the answer is judged on what was kept.
    body_.append(bytes.substr(0, kMaxAnswerBytes - std::min(kMaxAnswerBytes, body_.size())));
    return true;
  }
  void OnComplete(absl::Status status) override {
    core_->OnFetchDone(fetch_id_, sent_at_, std::move(status), http_status_, std::move(body_));
  }

 private:
  const std::shared_ptr<M2MCore> core_;
  const uint64_t fetch_id_;
  const Clock::time_point sent_at_;
  int http_status_ = 0;
  std::string body_;
};

void M2MCore::GetToken(TokenSource::Callback done) {
  uint64_t fetch = 0;
  bool answer_now = true;
  Clock::time_point sent_at;
  absl::StatusOr<Secret> answer = absl::UnknownError("unset");
  {
    Lock lock(&mu_);
    const Clock::time_point now = Now();
    if (!token_.empty() && now < expires_at_) {
      if (now >= refresh_at_ && !in_flight_ && now >= retry_at_) {
        fetch = BeginFetchLocked();
        sent_at = now;
      }
      answer = token_;
    } else if (in_flight_) {
      waiters_.push_back(std::move(done));
      return;
    } else if (now < retry_at_) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now);
      answer = absl::Status(last_error_.code(),
                            absl::StrCat(last_error_.message(), " (failed ", consecutive_failures_,
                                         " time(s); next attempt in ", wait.count(), " ms)"));
    } else {
      waiters_.push_back(std::move(done));
      answer_now = false;
      fetch = BeginFetchLocked();
      sent_at = now;
    }
  }
  if (answer_now) done(std::move(answer));
  if (fetch != 0) DoFetch(fetch, sent_at);
}

uint64_t M2MCore::BeginFetchLocked() {
  in_flight_ = true;
  return ++fetch_id_;
}

void M2MCore::DoFetch(uint64_t fetch_id, Clock::time_point sent_at) {
  upstream::HttpRequest request =
      BuildTokenRequest(token_url_, options_.client_id, options_.client_secret, options_.scope);
  auto handler = std::make_shared<TokenAnswerHandler>(shared_from_this(), fetch_id, sent_at);
  std::shared_ptr<upstream::Call> call = pool_->Start(std::move(request), std::move(handler));
  Lock lock(&mu_);
  // The call may have completed already (inside Start); then there is nothing to cancel.
  if (in_flight_ && fetch_id_ == fetch_id) call_ = std::move(call);
}

void M2MCore::Cancel() {
  std::shared_ptr<upstream::Call> call;
  {
    Lock lock(&mu_);
    call = std::move(call_);
  }
  if (call) call->Cancel();
}

Clock::duration M2MCore::NextBackoffLocked() {
  // Exponential from initial_backoff, capped at max_backoff, then "equal jitter": a random
  // point in the upper half, so that many gateways restarted together spread out.
  const double exponent = std::min(consecutive_failures_ - 1, 30);
  const double base = std::min<double>(
      double(options_.max_backoff.count()),
      double(options_.initial_backoff.count()) * std::pow(2.0, exponent));
  const double ms = base * (0.5 + 0.5 * UniformLocked());
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

void M2MCore::OnFetchDone(uint64_t fetch_id, Clock::time_point sent_at, absl::Status transport,
                          int http_status, std::string body) {
  absl::StatusOr<TokenAnswer> answer =
      ParseTokenResponse(transport, http_status, body, context_);
  if (!answer.ok()) answer = WithoutOwnSecret(answer.status());
  std::vector<TokenSource::Callback> waiters;
  absl::StatusOr<Secret> result = absl::UnknownError("unset");
  {
    Lock lock(&mu_);
    if (!in_flight_ || fetch_id != fetch_id_) return;  // (cannot happen: one fetch at a time)
    in_flight_ = false;
    call_.reset();
    const Clock::time_point now = Now();
    if (answer.ok()) {
      ++refreshes_;
      consecutive_failures_ = 0;
      last_error_ = absl::OkStatus();
      retry_at_ = Clock::time_point::min();
      // Lifetimes count from when the request was sent: the token may be a little older
      // than its answer.
      const std::chrono::duration<double> life = answer->expires_in;
      const double fraction =
          options_.refresh_fraction - options_.jitter_fraction * UniformLocked();
      token_ = std::move(answer->access_token);
      expires_at_ = sent_at + answer->expires_in;
      refresh_at_ = sent_at + std::chrono::duration_cast<Clock::duration>(life * fraction);
      result = token_;
    } else {
      ++failures_;
      ++consecutive_failures_;
      last_error_ = answer.status();
      retry_at_ = now + NextBackoffLocked();
      result = answer.status();
    }
    waiters.swap(waiters_);
  }
  for (TokenSource::Callback& waiter : waiters) waiter(result);
}

TokenSource::Stats M2MCore::GetStats() const {
  Lock lock(&mu_);
  TokenSource::Stats stats;
  stats.refreshes = refreshes_;
  stats.failures = failures_;
  stats.has_valid_token = !token_.empty() && Now() < expires_at_;
  return stats;
}

class OAuthM2MTokenSource final : public TokenSource {
 public:
  explicit OAuthM2MTokenSource(std::shared_ptr<M2MCore> core) : core_(std::move(core)) {}
  ~OAuthM2MTokenSource() override { core_->Cancel(); }

  void GetToken(Callback done) override { core_->GetToken(std::move(done)); }
  std::string Describe() const override { return core_->Describe(); }
  Stats GetStats() const override { return core_->GetStats(); }

 private:
  const std::shared_ptr<M2MCore> core_;
};

// "adb-1.net", "https://adb-1.net/", " HTTPS://adb-1.net " -> "https://adb-1.net".
std::string NormaliseHost(std::string_view host_url) {
  std::string host(absl::StripAsciiWhitespace(Av(host_url)));
  if (!absl::StrContains(host, "://")) host = absl::StrCat("https://", host);
  while (!host.empty() && host.back() == '/') host.pop_back();
  return host;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenSource>> MakeOAuthM2MTokenSource(upstream::HttpPool* pool,
                                                                     OAuthM2MOptions options) {
  auto bad = [](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("OAuth M2M token source: ", Av(why)));
  };
  if (pool == nullptr) return bad("no HTTP pool");
  if (absl::StripAsciiWhitespace(options.host_url).empty()) return bad("no host (DATABRICKS_HOST)");
  if (options.client_id.empty()) return bad("no client id (DATABRICKS_CLIENT_ID)");
  if (options.client_secret.empty()) return bad("no client secret (DATABRICKS_CLIENT_SECRET)");
  if (!(options.refresh_fraction > 0 && options.refresh_fraction <= 1)) {
    return bad("refresh_fraction must be in (0, 1]");
  }
  if (!(options.jitter_fraction >= 0 && options.jitter_fraction < options.refresh_fraction)) {
    return bad("jitter_fraction must be in [0, refresh_fraction)");
  }
  if (options.initial_backoff.count() <= 0 || options.max_backoff < options.initial_backoff) {
    return bad("backoffs must satisfy 0 < initial_backoff <= max_backoff");
  }
  const std::string host = NormaliseHost(options.host_url);
  absl::StatusOr<upstream::Url> url = upstream::Url::Parse(absl::StrCat(host, "/oidc/v1/token"));
  if (!url.ok()) return bad(std::string(url.status().message()));
  if (!options.now) options.now = [] { return Clock::now(); };
  std::string origin = host.substr(0, host.find('/', host.find("://") + 3));
  auto core = std::make_shared<M2MCore>(pool, std::move(options), *std::move(url), std::move(origin));
  return std::unique_ptr<TokenSource>(std::make_unique<OAuthM2MTokenSource>(std::move(core)));
}

}  // namespace agentgateway::identity
