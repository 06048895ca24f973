#include "server/supervisor_engine.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/identity/secret.h"
#include "server/json_text.h"
#include "server/metrics.h"
#include "server/request_builder.h"
#include "server/upstream/error_mapping.h"
#include "server/upstream/sse_decoder.h"

namespace agentgateway {

bool RetryableHttpStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

std::chrono::milliseconds RetryAfterValue(std::string_view value) {
  int seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::chrono::milliseconds(0);
    seconds = std::min(60, seconds * 10 + (c - '0'));
  }
  return std::chrono::seconds(seconds);
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt,
                                       std::chrono::milliseconds retry_after) {
  const auto cap = std::min(policy.max_backoff, policy.initial_backoff * (1 << (attempt - 1)));
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::chrono::milliseconds delay(
      std::uniform_int_distribution<std::int64_t>(0, cap.count())(rng));  // full jitter
  return std::max(delay, retry_after);
}
namespace {

namespace json = boost::json;

// Largest error body or non-streamed response we buffer.
constexpr std::size_t kMaxErrorBody = 64 * 1024;
constexpr std::size_t kMaxResponseBody = 32u << 20;

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' ||
                        s.front() == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

std::string Excerpt(std::string_view s) {
  std::string out(s.substr(0, 120));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); }) !=
         haystack.end();
}

// Upstream error text may echo credentials (a proxy's debug page, a misconfigured server):
// the caller only ever sees it with anything token-shaped redacted.
absl::Status Scrubbed(absl::Status status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), identity::ScrubSecrets(std::string(status.message())));
}

bool IsTerminal(std::string_view type) {
  return type == "response.completed" || type == "response.failed" ||
         type == "response.incomplete";
}

// Lets the caller cancel or resume a call that may not have been started yet.
class CallHandle final : public RunHandle {
 public:
  void Set(std::shared_ptr<upstream::Call> call) {
    bool cancel;
    {
      absl::MutexLock lock(&mu_);
      call_ = call;
      cancel = cancelled_;
    }
    if (cancel) call->Cancel();
  }
  void Cancel() override {
    std::shared_ptr<upstream::Call> call;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      call = call_;
    }
    if (call) call->Cancel();
  }
  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }
  void Resume() override {
    std::shared_ptr<upstream::Call> call;
    {
      absl::MutexLock lock(&mu_);
      call = call_;
    }
    if (call) call->Resume();
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<upstream::Call> call_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

std::chrono::milliseconds RetryAfter(const upstream::HttpResponseHead& head) {
  return RetryAfterValue(head.Header("retry-after"));
}

// What every attempt of one run shares. Touched by one attempt at a time (the next attempt
// starts only after the previous one completed), so it needs no lock.
struct Attempts {
  upstream::HttpPool* pool;
  const RetryPolicy* policy;
  SupervisorEngine::RetryBudget* budget;
  upstream::HttpRequest request;  // sent again as is
  std::shared_ptr<CallHandle> handle;
  int attempt = 1;
  std::chrono::milliseconds waited{0};
  std::chrono::milliseconds last_retry_after{0};  // of the latest attempt's response
  std::shared_ptr<std::atomic<int>> retries;      // the call's count, for its log line

  // The delay before the next attempt, or nullopt when the run may not retry.
  std::optional<std::chrono::milliseconds> NextDelay(std::chrono::milliseconds retry_after) {
    if (attempt >= policy->max_attempts) return std::nullopt;
    const std::chrono::milliseconds delay = BackoffDelay(*policy, attempt, retry_after);
    if (waited + delay > policy->max_total_wait || !budget->TryWithdraw()) return std::nullopt;
    ++attempt;
    waited += delay;
    Metrics::Get().UpstreamRetry();
    if (retries) retries->fetch_add(1);
    return delay;
  }

  absl::Status Annotate(absl::Status status) const {
    if (status.ok() || attempt == 1) return status;
    return absl::Status(status.code(),
                        absl::StrCat(std::string(status.message()), " (after ", attempt, " attempts)"));
  }

  // The run's final failure as the caller gets it: secrets scrubbed, attempts counted, and the
  // upstream's last Retry-After passed on when it is a "come back later" failure.
  absl::Status Final(absl::Status status) const {
    absl::Status out = Scrubbed(Annotate(std::move(status)));
    if (out.code() != absl::StatusCode::kResourceExhausted &&
        out.code() != absl::StatusCode::kUnavailable) {
      return out;
    }
    return WithRetryAfter(std::move(out), std::chrono::ceil<std::chrono::seconds>(last_retry_after));
  }

  // Starts the next attempt after `delay` unless the run was cancelled meanwhile; `start`
  // makes the attempt's handler, `cancelled` ends the run.
  template <typename Handler, typename Owner>
  static void Schedule(std::shared_ptr<Attempts> self, std::chrono::milliseconds delay,
                       Owner owner, std::function<void(Owner&)> cancelled) {
    upstream::HttpPool* pool = self->pool;
    pool->RunAfter(delay, [self = std::move(self), owner = std::move(owner),
                           cancelled = std::move(cancelled)]() mutable {
      if (self->handle->cancelled()) return cancelled(owner);
      auto handler = std::make_shared<Handler>(std::move(owner), self);
      self->handle->Set(self->pool->Start(self->request, std::move(handler)));
    });
  }
};

// One streaming run. The pool calls it on the call's strand only, so no lock is needed.
class StreamHandler final : public upstream::ResponseHandler {
 public:
  StreamHandler(std::shared_ptr<EventSink> sink, std::shared_ptr<Attempts> attempts)
      : sink_(std::move(sink)), attempts_(std::move(attempts)), handle_(attempts_->handle) {}

  void OnHead(const upstream::HttpResponseHead& head) override {
    http_status_ = head.status;
    retry_after_ = RetryAfter(head);
    attempts_->last_retry_after = retry_after_;
    if (head.status / 100 != 2) {
      collecting_error_ = true;
    } else if (!ContainsIgnoreCase(head.Header("content-type"), "text/event-stream")) {
      Fail(absl::UnavailableError(absl::StrCat(
          "upstream answered a streaming request with content-type '",
          std::string(head.Header("content-type")), "' instead of text/event-stream")));
    }
  }

  bool OnBody(std::string_view bytes) override {
    if (collecting_error_) {
      error_body_.append(bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size())));
      return true;
    }
    if (failure_.has_value()) return true;
    bool keep_reading = true;
    decoder_.Feed(bytes, [&](upstream::SseEvent&& event) {
      if (!HandleEvent(std::move(event))) keep_reading = false;
    });
    if (decoder_.overflowed()) {
      Fail(absl::UnavailableError("upstream sent an SSE event larger than the 8 MiB limit"));
    }
    return keep_reading;
  }

  void OnComplete(absl::Status status) override {
    // Retry only while nothing reached the caller and the upstream did not start the run.
    bool retryable = events_ == 0 && !failure_.has_value() &&
                     ((collecting_error_ && RetryableHttpStatus(http_status_)) ||
                      (http_status_ == 0 && upstream::IsConnectFailure(status)));
    if (retryable) {
      if (auto delay = attempts_->NextDelay(retry_after_)) {
        Attempts::Schedule<StreamHandler>(
            attempts_, *delay, std::move(sink_), std::function<void(std::shared_ptr<EventSink>&)>(
                [](std::shared_ptr<EventSink>& sink) {
                  sink->OnFinish(absl::CancelledError("cancelled while waiting to retry"));
                }));
        return;
      }
    }
    sink_->OnFinish(attempts_->Final(FinalStatus(std::move(status))));
    sink_.reset();
  }

  // A stream that broke the protocol (no terminal event, bad data) does not
  // give its connection back: the server may be about to close it, and a POST sent on a
  // connection the server closes meanwhile cannot be retried safely.
  bool ConnectionReusable() override {
    return collecting_error_ || (!failure_.has_value() && last_was_terminal_);
  }

 private:
  // Returns the sink's wish to keep reading.
  bool HandleEvent(upstream::SseEvent&& event) {
    if (failure_.has_value()) return true;
    std::string_view data = TrimLeft(event.data);
    if (data == "[DONE]") {
      done_seen_ = true;
      return true;
    }
    if (data.empty() || data.front() != '{') {
      Fail(absl::UnavailableError(
          absl::StrCat("upstream sent a non-JSON event: ", Excerpt(data))));
      return true;
    }
    std::string type = event.event;
    if (type.empty() || type == "message") {
      boost::system::error_code ec;
      json::value v = json::parse(data, ec);
      if (ec || !v.is_object()) {
        Fail(absl::UnavailableError(
            absl::StrCat("upstream sent malformed event JSON: ", Excerpt(data))));
        return true;
      }
      if (const json::value* t = v.as_object().if_contains("type"); t && t->is_string()) {
        type = std::string(t->as_string());
      } else if (v.as_object().contains("error")) {
        type = "error";
      }
    }
    if (type == "error") {
      if (!error_.has_value()) error_ = StatusFromErrorEvent(data);
    } else if (type == "response.failed") {
      if (!error_.has_value()) {
        error_ = absl::UnknownError(absl::StrCat("upstream response failed: ",
                                                 upstream::ErrorMessageFromJson(data)));
      }
    }
    last_was_terminal_ = IsTerminal(type);
    ++events_;
    return sink_->OnEvent(EngineEvent{std::move(type), std::move(event.data)});
  }

  // Records the first protocol failure and stops the upstream call.
  void Fail(absl::Status status) {
    if (!failure_.has_value()) failure_ = std::move(status);
    handle_->Cancel();
  }

  absl::Status FinalStatus(absl::Status transport) {
    if (collecting_error_) return upstream::StatusFromHttpError(http_status_, error_body_);
    if (failure_.has_value()) return *failure_;
    if (!transport.ok()) {
      if (events_ > 0 && transport.code() == absl::StatusCode::kUnavailable) {
        Metrics::Get().UpstreamTruncated();
        return absl::UnavailableError(absl::StrCat(
            "upstream stream broke after ", events_, " events: ", transport.message()));
      }
      return transport;
    }
    decoder_.Finish();
    if (error_.has_value()) return *error_;
    if (!last_was_terminal_) {
      Metrics::Get().UpstreamTruncated();
      return absl::UnavailableError(absl::StrCat(
          "upstream stream ended without a terminal event after ", events_,
          " events (truncated)"));
    }
    return absl::OkStatus();
  }

  std::shared_ptr<EventSink> sink_;
  std::shared_ptr<Attempts> attempts_;
  std::shared_ptr<CallHandle> handle_;
  upstream::SseDecoder decoder_;
  int http_status_ = 0;
  std::chrono::milliseconds retry_after_{0};
  bool collecting_error_ = false;
  std::string error_body_;
  std::optional<absl::Status> failure_;
  std::optional<absl::Status> error_;
  bool last_was_terminal_ = false;
  bool done_seen_ = false;
  std::size_t events_ = 0;
};

std::string OutputText(const json::array& output) {
  std::string text;
  for (const json::value& item : output) {
    if (!item.is_object()) continue;
    const json::value* content = item.as_object().if_contains("content");
    if (!content || !content->is_array()) continue;
    for (const json::value& part : content->as_array()) {
      if (!part.is_object()) continue;
      const json::value* type = part.as_object().if_contains("type");
      const json::value* t = part.as_object().if_contains("text");
      if (type && type->is_string() && type->as_string() == "output_text" && t &&
          t->is_string()) {
        text += t->as_string();
      }
    }
  }
  return text;
}

std::string OutputText(const json::object& response) {
  const json::value* output = response.if_contains("output");
  return output && output->is_array() ? OutputText(output->as_array()) : std::string();
}

std::string StringField(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// One non-streaming run: buffers the body, then parses the Responses object.
class InvokeHandler final : public upstream::ResponseHandler {
 public:
  InvokeHandler(Engine::InvokeDone done, std::shared_ptr<Attempts> attempts)
      : done_(std::move(done)), attempts_(std::move(attempts)) {}

  void OnHead(const upstream::HttpResponseHead& head) override {
    http_status_ = head.status;
    retry_after_ = RetryAfter(head);
    attempts_->last_retry_after = retry_after_;
  }

  bool OnBody(std::string_view bytes) override {
    std::size_t limit = http_status_ / 100 == 2 ? kMaxResponseBody : kMaxErrorBody;
    if (body_.size() + bytes.size() > limit) {
      too_big_ = true;
      return true;
    }
    body_.append(bytes);
    return true;
  }

  void OnComplete(absl::Status status) override {
    bool retryable = (status.ok() && RetryableHttpStatus(http_status_)) ||
                     (http_status_ == 0 && upstream::IsConnectFailure(status));
    if (retryable) {
      if (auto delay = attempts_->NextDelay(retry_after_)) {
        Attempts::Schedule<InvokeHandler>(
            attempts_, *delay, std::move(done_),
            std::function<void(Engine::InvokeDone&)>([](Engine::InvokeDone& done) {
              done(absl::CancelledError("cancelled while waiting to retry"));
            }));
        return;
      }
    }
    auto done = [d = std::move(done_), a = attempts_](absl::StatusOr<InvokeResult> r) {
      d(r.ok() ? std::move(r) : absl::StatusOr<InvokeResult>(a->Final(r.status())));
    };
    if (!status.ok()) return done(std::move(status));
    if (http_status_ / 100 != 2) return done(upstream::StatusFromHttpError(http_status_, body_));
    if (too_big_) {
      return done(absl::ResourceExhaustedError("upstream response exceeds the 32 MiB limit"));
    }
    boost::system::error_code ec;
    json::value v = json::parse(body_, ec);
    if (ec || !v.is_object()) {
      return done(absl::UnavailableError(
          absl::StrCat("upstream answered with a body that is not a JSON object: ",
                       Excerpt(body_))));
    }
    const json::object& obj = v.as_object();
    InvokeResult result;
    result.id = StringField(obj, "id");
    result.status = StringField(obj, "status");
    result.output_text = OutputText(obj);
    if (result.status == "failed") {
      std::string message = upstream::ErrorMessageFromJson(body_);
      return done(absl::UnknownError(absl::StrCat(
          "upstream response failed", message.empty() ? "" : ": ", message)));
    }
    result.response_json = std::move(body_);
    done(std::move(result));
  }

 private:
  Engine::InvokeDone done_;
  std::shared_ptr<Attempts> attempts_;
  int http_status_ = 0;
  std::chrono::milliseconds retry_after_{0};
  std::string body_;
  bool too_big_ = false;
};

// --- Background runs ------------------------------------------------------------------------

using BackgroundRun = SupervisorEngine::BackgroundRuns::Run;

std::uint64_t Mix(std::uint64_t h, std::uint64_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

// A hash of a JSON value that ignores member order and number spelling (1, 1.0 and 1e0 are
// equal), so an echo that re-serialised the items still matches. Boost.JSON's parser bounds
// the nesting depth, and with it this recursion.
std::uint64_t CanonicalJsonHash(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return 1;
    case json::kind::bool_:
      return v.get_bool() ? 2 : 3;
    case json::kind::string: {
      const json::string& s = v.get_string();
      return Mix(4, std::hash<std::string_view>{}(std::string_view(s.data(), s.size())));
    }
    case json::kind::array: {
      std::uint64_t h = 5;
      for (const json::value& e : v.get_array()) h = Mix(h, CanonicalJsonHash(e));
      return h;
    }
    case json::kind::object: {
      std::vector<std::uint64_t> members;
      for (const auto& m : v.get_object()) {
        std::string_view key(m.key().data(), m.key().size());
        members.push_back(Mix(std::hash<std::string_view>{}(key), CanonicalJsonHash(m.value())));
      }
      std::sort(members.begin(), members.end());
      std::uint64_t h = 6;
      for (std::uint64_t m : members) h = Mix(h, m);
      return h;
    }
    default: {  // numbers
      double d = v.to_number<double>();
      if (v.is_int64()) return Mix(7, static_cast<std::uint64_t>(v.get_int64()));
      if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return Mix(7, v.get_uint64());
      }
      if (d == std::trunc(d) && std::abs(d) < 9.2e18) {
        return Mix(7, static_cast<std::uint64_t>(static_cast<std::int64_t>(d)));
      }
      std::uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      return Mix(8, bits);
    }
  }
}

// What a poll needs to know about a run about to start, when the request asks for a background
// run; null otherwise. `body` is the upstream body as built (valid JSON).
std::shared_ptr<const BackgroundRun> BackgroundRunOf(std::string_view body,
                                                     const Profile& profile) {
  absl::StatusOr<std::vector<JsonMember>> members = SplitJsonObject(body);
  if (!members.ok()) return nullptr;
  bool background = false;
  std::string_view input;
  for (const JsonMember& m : *members) {
    if (m.key == "background") background = m.value == "true";
    if (m.key == "input") input = m.value;
  }
  if (!background) return nullptr;
  auto run = std::make_shared<BackgroundRun>();
  run->auth = profile.auth;
  boost::system::error_code ec;
  json::value items = json::parse(input, ec);
  if (!ec && items.is_array()) {
    for (const json::value& item : items.as_array()) run->input.push_back(CanonicalJsonHash(item));
  }
  return run;
}

// Upstream quirk: a background run's output starts with the input items echoed back. Cuts
// them when the output begins with every item that was sent, each equal as JSON; anything
// else (a partial or altered echo, an in-progress answer without one) stays untouched, so
// produced output is never lost. Bytes outside the cut are kept as the upstream sent them.
void StripInputEcho(const BackgroundRun& run, InvokeResult* result) {
  const std::size_t n = run.input.size();
  if (n == 0) return;
  absl::StatusOr<std::vector<JsonMember>> members = SplitJsonObject(result->response_json);
  if (!members.ok()) return;
  for (const JsonMember& m : *members) {
    if (m.key != "output") continue;
    absl::StatusOr<std::vector<std::string_view>> items = SplitJsonArray(m.value);
    if (!items.ok() || items->size() < n) return;
    for (std::size_t i = 0; i < n; ++i) {
      boost::system::error_code ec;
      json::value item = json::parse((*items)[i], ec);
      if (ec || CanonicalJsonHash(item) != run.input[i]) return;
    }
    std::string output = "[";
    for (std::size_t i = n; i < items->size(); ++i) {
      if (i > n) output += ',';
      output.append((*items)[i]);
    }
    output += ']';
    boost::system::error_code ec;
    json::value produced = json::parse(output, ec);
    if (ec || !produced.is_array()) return;
    result->response_json = ReplaceJsonMember(result->response_json, "output", output);
    result->output_text = OutputText(produced.as_array());
    return;
  }
}

}  // namespace

bool IsValidResponseId(std::string_view id) {
  return !id.empty() && id.size() <= 256 && std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

void SupervisorEngine::BackgroundRuns::Add(std::string id, std::shared_ptr<const Run> run) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = runs_.insert_or_assign(id, std::move(run));
  if (!inserted) return;
  order_.push_back(std::move(id));
  if (order_.size() > capacity_) {
    runs_.erase(order_.front());
    order_.pop_front();
  }
}

std::shared_ptr<const SupervisorEngine::BackgroundRuns::Run> SupervisorEngine::BackgroundRuns::Find(
    std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(absl::string_view(id.data(), id.size()));
  return it == runs_.end() ? nullptr : it->second;
}

absl::Status StatusFromErrorEvent(std::string_view data) {
  std::string message = upstream::ErrorMessageFromJson(data);
  if (message.empty()) message = Excerpt(data);
  std::string code;
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  if (!ec && v.is_object()) {
    const json::object& obj = v.as_object();
    code = StringField(obj, "error_code");
    if (code.empty()) code = StringField(obj, "code");
    if (const json::value* e = obj.if_contains("error"); code.empty() && e && e->is_object()) {
      code = StringField(e->as_object(), "code");
    }
  }
  std::string text = absl::StrCat("upstream error", code.empty() ? "" : " (" + code + ")",
                                  ": ", message);
  if (code == "oauth" || code == "UNAUTHENTICATED") return absl::UnauthenticatedError(text);
  if (code == "INVALID_PARAMETER_VALUE" || code == "BAD_REQUEST" ||
      code == "invalid_request_error") {
    return absl::InvalidArgumentError(text);
  }
  if (code == "PERMISSION_DENIED") return absl::PermissionDeniedError(text);
  if (code == "RESOURCE_EXHAUSTED" || code == "REQUEST_LIMIT_EXCEEDED" ||
      code == "rate_limit_exceeded") {
    return absl::ResourceExhaustedError(text);
  }
  return absl::UnknownError(text);
}

void SupervisorEngine::RetryBudget::OnRequest() {
  absl::MutexLock lock(&mu_);
  tokens_ = std::min(cap_, tokens_ + ratio_);
}

bool SupervisorEngine::RetryBudget::TryWithdraw() {
  absl::MutexLock lock(&mu_);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

absl::StatusOr<std::unique_ptr<SupervisorEngine>> SupervisorEngine::Create(
    upstream::HttpPool* pool, std::string base_url, RetryPolicy retry) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  absl::StatusOr<upstream::Url> url = upstream::Url::Parse(base_url + "/responses");
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("upstream base URL '", base_url, "': ", url.status().message()));
  }
  return std::unique_ptr<SupervisorEngine>(new SupervisorEngine(pool, *std::move(url), retry));
}

upstream::HttpRequest SupervisorEngine::MakeRequest(std::string body, const RunContext& context,
                                                    bool stream) const {
  upstream::HttpRequest request;
  request.method = "POST";
  request.url = responses_url_;
  request.headers.emplace_back("Authorization", "Bearer " + context.bearer_token.Reveal());
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  request.headers.emplace_back("Accept", stream ? "text/event-stream" : "application/json");
  for (const auto& header : context.forward_headers) request.headers.push_back(header);
  request.body = std::move(body);
  request.deadline = context.deadline;
  request.deadline_reason = context.deadline_reason;
  return request;
}

absl::StatusOr<std::shared_ptr<RunHandle>> SupervisorEngine::Stream(
    const Profile& profile, const v1::InvokeRequest& request, RunContext context,
    std::shared_ptr<EventSink> sink) {
  absl::StatusOr<std::string> body = BuildUpstreamBody(request, profile, /*stream=*/true);
  if (!body.ok()) return body.status();
  budget_.OnRequest();
  auto attempts = std::make_shared<Attempts>(Attempts{
      pool_, &retry_, &budget_, MakeRequest(*std::move(body), context, true),
      std::make_shared<CallHandle>()});
  attempts->retries = context.retries;
  auto handler = std::make_shared<StreamHandler>(std::move(sink), attempts);
  attempts->handle->Set(pool_->Start(attempts->request, std::move(handler)));
  return attempts->handle;
}

absl::StatusOr<std::shared_ptr<RunHandle>> SupervisorEngine::Invoke(
    const Profile& profile, const v1::InvokeRequest& request, RunContext context,
    InvokeDone done) {
  absl::StatusOr<std::string> body = BuildUpstreamBody(request, profile, /*stream=*/false);
  if (!body.ok()) return body.status();
  if (std::shared_ptr<const BackgroundRun> run = BackgroundRunOf(*body, profile)) {
    // The engine outlives its calls (the pool completes every call before it goes).
    done = [runs = &background_, run, done = std::move(done)](absl::StatusOr<InvokeResult> r) {
      if (r.ok() && !r->id.empty()) runs->Add(r->id, run);
      done(std::move(r));
    };
  }
  return StartUnary(MakeRequest(*std::move(body), context, false), std::move(done),
                    context.retries);
}

absl::StatusOr<std::shared_ptr<RunHandle>> SupervisorEngine::Poll(const Profile& profile,
                                                                  std::string id,
                                                                  RunContext context,
                                                                  InvokeDone done) {
  if (!IsValidResponseId(id)) {
    return absl::InvalidArgumentError(
        "invalid response id: expected 1 to 256 characters of [A-Za-z0-9_-]");
  }
  std::shared_ptr<const BackgroundRun> run = background_.Find(id);
  if (run != nullptr && run->auth != profile.auth) {
    // Never the wrong identity: a user's run is not read with the app's, nor the reverse.
    return absl::PermissionDeniedError(absl::StrCat(
        "background run '", id, "' was started with ", run->auth, " identity, but profile '",
        profile.name, "' runs with ", profile.auth, " identity; poll it through a profile with ",
        run->auth, " identity"));
  }
  upstream::HttpRequest request = MakeRequest("", context, false);
  request.method = "GET";
  std::string& target = request.url.target;
  target.insert(std::min(target.find('?'), target.size()), "/" + id);
  if (run != nullptr) {
    done = [run, done = std::move(done)](absl::StatusOr<InvokeResult> r) {
      if (r.ok()) StripInputEcho(*run, &*r);
      done(std::move(r));
    };
  }
  return StartUnary(std::move(request), std::move(done), context.retries);
}

std::shared_ptr<RunHandle> SupervisorEngine::StartUnary(
    upstream::HttpRequest request, InvokeDone done, std::shared_ptr<std::atomic<int>> retries) {
  budget_.OnRequest();
  auto attempts = std::make_shared<Attempts>(Attempts{pool_, &retry_, &budget_, std::move(request),
                                                      std::make_shared<CallHandle>()});
  attempts->retries = std::move(retries);
  auto handler = std::make_shared<InvokeHandler>(std::move(done), attempts);
  attempts->handle->Set(pool_->Start(attempts->request, std::move(handler)));
  return attempts->handle;
}

}  // namespace agentgateway
