// SupervisorEngine against a scripted HttpPool: every way an upstream stream can end.
#include "server/supervisor_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/upstream/error_mapping.h"
#include "tests/testing/status_matchers.h"

namespace agentgateway {
namespace {

using ::agentgateway::testing::IsOk;
using ::agentgateway::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FakeCall final : public upstream::Call {
 public:
  void Cancel() override { ++cancels; }
  void Resume() override { ++resumes; }
  int cancels = 0;
  int resumes = 0;
};

// Records the request; the test plays the response through the handler.
class FakePool final : public upstream::HttpPool {
 public:
  // Scheduled work is kept for the test to run (deterministic backoff).
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) override {
    scheduled.emplace_back(delay, std::move(fn));
  }
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> scheduled;

  std::shared_ptr<upstream::Call> Start(upstream::HttpRequest request,
                                        std::shared_ptr<upstream::ResponseHandler> handler) override {
    ++starts;
    last_request = std::move(request);
    this->handler = std::move(handler);
    call = std::make_shared<FakeCall>();
    return call;
  }
  absl::StatusOr<FetchResult> Fetch(upstream::HttpRequest) override {
    return absl::UnimplementedError("not used");
  }
  upstream::PoolStats Stats() const override { return {}; }

  void Head(int status, std::string content_type) { Head(status, std::move(content_type), ""); }

  // Runs the oldest scheduled retry.
  void RunScheduled() {
    ASSERT_FALSE(scheduled.empty());
    auto fn = std::move(scheduled.front().second);
    scheduled.erase(scheduled.begin());
    fn();
  }
  void Head(int status, std::string content_type, std::string retry_after) {
    upstream::HttpResponseHead head;
    head.status = status;
    head.headers.emplace_back("Content-Type", std::move(content_type));
    head.headers.emplace_back("Retry-After", std::move(retry_after));
    handler->OnHead(head);
  }

  int starts = 0;
  upstream::HttpRequest last_request;
  std::shared_ptr<upstream::ResponseHandler> handler;
  std::shared_ptr<FakeCall> call;
};

class RecordingSink final : public EventSink {
 public:
  bool OnEvent(EngineEvent event) override {
    types.push_back(event.type);
    data.push_back(event.json);
    return keep_reading;
  }
  void OnFinish(absl::Status s) override {
    ++finishes;
    status = std::move(s);
  }
  std::vector<std::string> types;
  std::vector<std::string> data;
  absl::Status status = absl::InternalError("not finished");
  int finishes = 0;
  bool keep_reading = true;
};

std::string Sse(std::string_view type, std::string_view data) {
  return "event: " + std::string(type) + "\ndata: " + std::string(data) + "\n\n";
}
std::string Typed(std::string_view type) {
  return Sse(type, R"({"type":")" + std::string(type) + R"("})");
}

class SupervisorEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    profile_.name = "p";
    profile_.model = "m";
    request_.add_input()->set_json(R"({"role":"user","content":"hi"})");
    auto engine = SupervisorEngine::Create(&pool_, "https://ws.example.com/ai-gateway/mlflow/v1/",
                                           retry_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }

  std::shared_ptr<RunHandle> StartStream() {
    RunContext context;
    context.bearer_token = identity::Secret("tok");
    context.forward_headers.emplace_back("traceparent", "00-abc-def-01");
    auto run = engine_->Stream(profile_, request_, context, sink_);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : nullptr;
  }

  RetryPolicy retry_;
  FakePool pool_;
  Profile profile_;
  v1::InvokeRequest request_;
  std::unique_ptr<SupervisorEngine> engine_;
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
};

TEST_F(SupervisorEngineTest, SendsThePostToResponsesWithIdentityAndTraceHeaders) {
  StartStream();
  const upstream::HttpRequest& r = pool_.last_request;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url.scheme, "https");
  EXPECT_EQ(r.url.host, "ws.example.com");
  EXPECT_EQ(r.url.target, "/ai-gateway/mlflow/v1/responses");
  EXPECT_THAT(r.headers, ::testing::Contains(std::make_pair(std::string("Authorization"),
                                                            std::string("Bearer tok"))));
  EXPECT_THAT(r.headers, ::testing::Contains(std::make_pair(std::string("traceparent"),
                                                            std::string("00-abc-def-01"))));
  EXPECT_THAT(r.body, HasSubstr(R"("stream":true)"));
}

TEST_F(SupervisorEngineTest, RelaysEveryEventInOrderAcrossSeveralResponseRounds) {
  StartStream();
  pool_.Head(200, "text/event-stream; charset=utf-8");
  std::string body = Typed("response.created") + Typed("response.output_item.done") +
                     Typed("response.completed") + Typed("response.created") +
                     Sse("response.output_text.delta", R"({"type":"response.output_text.delta","delta":"Hi"})") +
                     ": keep-alive comment\n\n" + Typed("response.completed") + "data: [DONE]\n\n";
  // Deliver in awkward pieces: the decoder must not care.
  for (std::size_t i = 0; i < body.size(); i += 7) pool_.handler->OnBody(std::string_view(body).substr(i, 7));
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(sink_->types, ElementsAre("response.created", "response.output_item.done",
                                        "response.completed", "response.created",
                                        "response.output_text.delta", "response.completed"));
  EXPECT_EQ(sink_->data[4], R"({"type":"response.output_text.delta","delta":"Hi"})");
  EXPECT_THAT(sink_->status, IsOk());
  EXPECT_EQ(sink_->finishes, 1);
}

TEST_F(SupervisorEngineTest, TypeComesFromDataWhenThereIsNoEventLine) {
  StartStream();
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody("data: {\"type\":\"response.created\"}\n\ndata: {\"type\":\"response.completed\"}\n\n");
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(sink_->types, ElementsAre("response.created", "response.completed"));
  EXPECT_THAT(sink_->status, IsOk());
}

TEST_F(SupervisorEngineTest, StreamWithoutTerminalEventIsTruncation) {
  StartStream();
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody(Typed("response.created") + Typed("response.output_text.delta"));
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_EQ(sink_->types.size(), 2u);
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("without a terminal event after 2 events")));
}

TEST_F(SupervisorEngineTest, DoneMarkerWithoutTerminalEventIsStillTruncation) {
  StartStream();
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody(Typed("response.created") + "data: [DONE]\n\n");
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("truncated")));
}

TEST_F(SupervisorEngineTest, ErrorEventFollowedByCompletedStillFails) {
  StartStream();
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody(Typed("response.created") +
                        Sse("error", R"({"message":"tool exploded"})") +  // type only on event:
                        Typed("response.completed"));
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(sink_->types, ElementsAre("response.created", "error", "response.completed"));
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnknown, HasSubstr("tool exploded")));
}

TEST_F(SupervisorEngineTest, OauthErrorEventAsksTheUserToSignIn) {
  StartStream();
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody(
      "data: {\"type\":\"error\",\"code\":\"oauth\",\"message\":\"Please login at https://x/login\"}\n\n");
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnauthenticated,
                                      HasSubstr("Please login at https://x/login")));
}

TEST_F(SupervisorEngineTest, ConnectionLostMidStreamIsUnavailableWithEventCount) {
  StartStream();
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody(Typed("response.created"));
  pool_.handler->OnComplete(absl::UnavailableError("connection reset by peer"));
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("broke after 1 events: connection reset")));
}

TEST_F(SupervisorEngineTest, NonJsonEventDataStopsTheStream) {
  StartStream();
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody("data: <html>Bad gateway</html>\n\n");
  EXPECT_EQ(pool_.call->cancels, 1);
  pool_.handler->OnComplete(absl::CancelledError("cancelled"));
  EXPECT_TRUE(sink_->types.empty());
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("non-JSON event: <html>Bad gateway</html>")));
}

TEST_F(SupervisorEngineTest, JsonAnswerToAStreamingRequestIsRefused) {
  StartStream();
  pool_.Head(200, "application/json");
  pool_.handler->OnBody("{}");
  pool_.handler->OnComplete(absl::CancelledError("cancelled"));
  EXPECT_THAT(sink_->status,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("instead of text/event-stream")));
}

TEST_F(SupervisorEngineTest, HttpErrorsMapWithTheUpstreamMessage) {
  StartStream();
  for (int attempt = 1; attempt <= retry_.max_attempts; ++attempt) {  // 429 is retried first
    if (attempt > 1) pool_.RunScheduled();
    pool_.Head(429, "application/json");
    pool_.handler->OnBody(R"({"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"})");
    pool_.handler->OnComplete(absl::OkStatus());
  }
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("slow down")));
}

TEST_F(SupervisorEngineTest, TokenShapedTextInUpstreamErrorsIsRedacted) {
  const std::string leaked = "dapi0123456789abcdef0123456789abcdef";
  StartStream();
  pool_.Head(401, "application/json");
  pool_.handler->OnBody(R"({"error_code":"UNAUTHENTICATED","message":"bad token )" + leaked + R"("})");
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("bad token")));
  EXPECT_THAT(std::string(sink_->status.message()), ::testing::Not(HasSubstr(leaked)));

  absl::StatusOr<InvokeResult> result = absl::InternalError("not called");
  ASSERT_TRUE(engine_->Invoke(profile_, request_, RunContext{},
                              [&](absl::StatusOr<InvokeResult> r) { result = std::move(r); })
                  .ok());
  pool_.Head(500, "text/html");
  pool_.handler->OnBody("<html>debug: Authorization: Bearer " + leaked + "</html>");
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("debug")));
  EXPECT_THAT(std::string(result.status().message()), ::testing::Not(HasSubstr(leaked)));
}

TEST_F(SupervisorEngineTest, PausesWhenTheSinkIsFullAndResumesThroughTheHandle) {
  auto run = StartStream();
  pool_.Head(200, "text/event-stream");
  sink_->keep_reading = false;
  EXPECT_FALSE(pool_.handler->OnBody(Typed("response.created")));
  run->Resume();
  EXPECT_EQ(pool_.call->resumes, 1);
  run->Cancel();
  EXPECT_EQ(pool_.call->cancels, 1);
}

TEST_F(SupervisorEngineTest, ValidationFailsBeforeAnythingIsSent) {
  v1::InvokeRequest empty;
  auto run = engine_->Stream(profile_, empty, RunContext{}, sink_);
  EXPECT_THAT(run, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one item")));
  EXPECT_EQ(pool_.handler, nullptr);
}

TEST_F(SupervisorEngineTest, InvokeParsesTheResponseObject) {
  absl::StatusOr<InvokeResult> result = absl::InternalError("not called");
  auto run = engine_->Invoke(profile_, request_, RunContext{},
                             [&](absl::StatusOr<InvokeResult> r) { result = std::move(r); });
  ASSERT_TRUE(run.ok());
  EXPECT_THAT(pool_.last_request.body, ::testing::Not(HasSubstr("stream")));
  pool_.Head(200, "application/json");
  std::string body =
      R"({"id":"resp_1","status":"completed","output":[{"type":"function_call"},{"type":"message","content":[{"type":"output_text","text":"Hello "},{"type":"output_text","text":"there"}]}]})";
  pool_.handler->OnBody(body.substr(0, 10));
  pool_.handler->OnBody(body.substr(10));
  pool_.handler->OnComplete(absl::OkStatus());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->id, "resp_1");
  EXPECT_EQ(result->status, "completed");
  EXPECT_EQ(result->output_text, "Hello there");
  EXPECT_EQ(result->response_json, body);
}

TEST_F(SupervisorEngineTest, InvokeMapsErrorsAndGarbage) {
  absl::StatusOr<InvokeResult> result = absl::InternalError("not called");
  auto done = [&](absl::StatusOr<InvokeResult> r) { result = std::move(r); };
  ASSERT_TRUE(engine_->Invoke(profile_, request_, RunContext{}, done).ok());
  pool_.Head(400, "application/json");
  pool_.handler->OnBody(R"({"error_code":"INVALID_PARAMETER_VALUE","message":"Parameter not supported when tools are provided"})");
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("Parameter not supported when tools are provided")));

  ASSERT_TRUE(engine_->Invoke(profile_, request_, RunContext{}, done).ok());
  pool_.Head(200, "text/html");
  pool_.handler->OnBody("<html>oops</html>");
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("not a JSON object")));

  ASSERT_TRUE(engine_->Invoke(profile_, request_, RunContext{}, done).ok());
  pool_.handler->OnComplete(absl::DeadlineExceededError("response timeout"));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timeout")));
}


// --- Safe retries -------------------------------------------------------------------------

void Fail503(FakePool& pool) {
  pool.Head(503, "application/json");
  pool.handler->OnBody(R"({"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"})");
  pool.handler->OnComplete(absl::OkStatus());
}

TEST_F(SupervisorEngineTest, RetriesA503BeforeAnythingWasRelayed) {
  StartStream();
  Fail503(pool_);
  EXPECT_EQ(sink_->finishes, 0);
  ASSERT_EQ(pool_.scheduled.size(), 1u);
  EXPECT_LE(pool_.scheduled[0].first, retry_.initial_backoff);
  pool_.RunScheduled();
  EXPECT_EQ(pool_.starts, 2);
  EXPECT_THAT(pool_.last_request.body, HasSubstr(R"("stream":true)"));  // the same request
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody(Typed("response.created") + Typed("response.completed"));
  pool_.handler->OnComplete(absl::OkStatus());
  EXPECT_THAT(sink_->status, IsOk());
  EXPECT_THAT(sink_->types, ElementsAre("response.created", "response.completed"));
  EXPECT_EQ(sink_->finishes, 1);
}

TEST_F(SupervisorEngineTest, HonoursRetryAfter) {
  StartStream();
  pool_.Head(429, "application/json", "2");
  pool_.handler->OnComplete(absl::OkStatus());
  ASSERT_EQ(pool_.scheduled.size(), 1u);
  EXPECT_EQ(pool_.scheduled[0].first, std::chrono::seconds(2));
}

TEST_F(SupervisorEngineTest, StopsAfterMaxAttemptsAndSaysSo) {
  StartStream();
  for (int attempt = 1; attempt < retry_.max_attempts; ++attempt) {
    Fail503(pool_);
    pool_.RunScheduled();
  }
  Fail503(pool_);
  EXPECT_TRUE(pool_.scheduled.empty());
  EXPECT_EQ(pool_.starts, retry_.max_attempts);
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("(after 3 attempts)")));
}

TEST_F(SupervisorEngineTest, NeverRetriesOnceAnEventWasRelayed) {
  StartStream();
  pool_.Head(200, "text/event-stream");
  pool_.handler->OnBody(Typed("response.created"));
  pool_.handler->OnComplete(absl::UnavailableError("connection reset by peer"));
  EXPECT_TRUE(pool_.scheduled.empty());
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("broke after")));
}

TEST_F(SupervisorEngineTest, NeverRetriesErrorsThatMayHaveStartedWork) {
  StartStream();
  pool_.Head(500, "application/json");
  pool_.handler->OnComplete(absl::OkStatus());  // 500: not in the retryable set
  EXPECT_TRUE(pool_.scheduled.empty());
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kUnavailable, ::testing::_));

  sink_ = std::make_shared<RecordingSink>();
  StartStream();
  // Lost after the request was sent: the upstream may be running it. Not retried.
  pool_.handler->OnComplete(absl::UnavailableError("reading the response head failed: eof"));
  EXPECT_TRUE(pool_.scheduled.empty());
  EXPECT_EQ(sink_->finishes, 1);
}

TEST_F(SupervisorEngineTest, RetriesConnectFailures) {
  StartStream();
  pool_.handler->OnComplete(upstream::ConnectFailure("connecting to upstream x:443 failed"));
  EXPECT_EQ(pool_.scheduled.size(), 1u);
  EXPECT_EQ(sink_->finishes, 0);
}

TEST_F(SupervisorEngineTest, CancelDuringBackoffEndsTheRunWithoutANewRequest) {
  auto run = StartStream();
  Fail503(pool_);
  run->Cancel();
  pool_.RunScheduled();
  EXPECT_EQ(pool_.starts, 1);
  EXPECT_THAT(sink_->status, StatusIs(absl::StatusCode::kCancelled, HasSubstr("retry")));
}

TEST_F(SupervisorEngineTest, InvokeRetriesToo) {
  absl::StatusOr<InvokeResult> result = absl::InternalError("not called");
  ASSERT_TRUE(engine_->Invoke(profile_, request_, RunContext{},
                              [&](absl::StatusOr<InvokeResult> r) { result = std::move(r); })
                  .ok());
  pool_.Head(502, "text/html");
  pool_.handler->OnComplete(absl::OkStatus());
  pool_.RunScheduled();
  pool_.Head(200, "application/json");
  pool_.handler->OnBody(R"({"id":"r2","status":"completed","output":[]})");
  pool_.handler->OnComplete(absl::OkStatus());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->id, "r2");
}

// --- Background runs ----------------------------------------------------------------------

class BackgroundRunTest : public SupervisorEngineTest {
 protected:
  // Starts a background run of request_ under `auth` and answers it with `id`.
  void StartRun(const std::string& id, const std::string& auth = "app") {
    profile_.auth = auth;
    request_.set_extra_json(R"({"background":true})");
    ASSERT_TRUE(engine_->Invoke(profile_, request_, RunContext{}, Record()).ok());
    EXPECT_THAT(pool_.last_request.body, HasSubstr(R"("background":true)"));
    Answer(R"({"id":")" + id + R"(","status":"in_progress","output":[]})");
    ASSERT_TRUE(result_.ok()) << result_.status();
    EXPECT_EQ(result_->status, "in_progress");
  }
  Engine::InvokeDone Record() {
    result_ = absl::InternalError("not called");
    return [this](absl::StatusOr<InvokeResult> r) { result_ = std::move(r); };
  }
  absl::StatusOr<std::shared_ptr<RunHandle>> Poll(const std::string& id) {
    RunContext context;
    context.bearer_token = identity::Secret("poll-tok");
    context.forward_headers.emplace_back("traceparent", "00-abc-def-01");
    return engine_->Poll(profile_, id, context, Record());
  }
  void Answer(const std::string& body, int status = 200) {
    pool_.Head(status, "application/json");
    pool_.handler->OnBody(body);
    pool_.handler->OnComplete(absl::OkStatus());
  }

  absl::StatusOr<InvokeResult> result_ = absl::InternalError("not called");
};

constexpr char kProduced[] =
    R"({"type":"message","id":"msg_2","role":"assistant","content":[{"type":"output_text","text":"Done."}]})";

TEST_F(BackgroundRunTest, PollIsAGetWithTheRunsIdentityAndNoBody) {
  StartRun("resp_1");
  ASSERT_TRUE(Poll("resp_1").ok());
  const upstream::HttpRequest& r = pool_.last_request;
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url.target, "/ai-gateway/mlflow/v1/responses/resp_1");
  EXPECT_EQ(r.body, "");
  EXPECT_THAT(r.headers, ::testing::Contains(std::make_pair(std::string("Authorization"),
                                                            std::string("Bearer poll-tok"))));
  EXPECT_THAT(r.headers, ::testing::Contains(std::make_pair(std::string("traceparent"),
                                                            std::string("00-abc-def-01"))));
  EXPECT_THAT(r.headers, ::testing::Not(::testing::Contains(::testing::Key("Content-Type"))));
}

TEST_F(BackgroundRunTest, CompletedPollLosesTheEchoedInputButKeepsTheRestByteForByte) {
  // History with an assistant turn: its text must not count as the answer either.
  request_.Clear();
  request_.add_input()->set_json(R"({"role":"user","content":"first"})");
  request_.add_input()->set_json(
      R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Old."}]})");
  request_.add_input()->set_json(R"({"role":"user","content":"second"})");
  StartRun("resp_7");
  ASSERT_TRUE(Poll("resp_7").ok());
  // The echo re-serialised with other member order and spacing still matches; the big number
  // and the escape outside the cut keep their bytes.
  Answer(std::string(R"({"id":"resp_7","status":"completed","output":[ {"content":"first","role":"user"},)") +
         R"({"content":[{"text":"Old.","type":"output_text"}],"role":"assistant","type":"message"}, )" +
         R"({"role":"user","content":"second"} , )" + kProduced +
         R"(],"usage":{"n":123456789012345678901234567890},"note":"\u00e9"})");
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ(result_->response_json,
            std::string(R"({"id":"resp_7","status":"completed","output":[)") + kProduced +
                R"(],"usage":{"n":123456789012345678901234567890},"note":"\u00e9"})");
  EXPECT_EQ(result_->output_text, "Done.");
  EXPECT_EQ(result_->status, "completed");
}

TEST_F(BackgroundRunTest, AnythingButAnExactEchoPassesThroughUnchanged) {
  StartRun("resp_8");
  const std::string cases[] = {
      // in progress: partial items, no echo
      std::string(R"({"id":"resp_8","status":"in_progress","output":[)") + kProduced + "]}",
      // the echoed item differs
      std::string(R"({"id":"resp_8","status":"completed","output":[{"role":"user","content":"hi!"},)") +
          kProduced + "]}",
      // empty output
      R"({"id":"resp_8","status":"completed","output":[]})",
  };
  for (const std::string& body : cases) {
    ASSERT_TRUE(Poll("resp_8").ok());
    Answer(body);
    ASSERT_TRUE(result_.ok()) << result_.status();
    EXPECT_EQ(result_->response_json, body);
  }
}

TEST_F(BackgroundRunTest, RunsThisEngineDidNotStartPassThrough) {
  std::string body = std::string(R"({"id":"resp_9","status":"completed","output":[{"role":"user","content":"hi"},)") +
                     kProduced + "]}";
  ASSERT_TRUE(Poll("resp_9").ok());
  Answer(body);
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ(result_->response_json, body);
}

TEST_F(BackgroundRunTest, BadIdsFailBeforeAnythingIsSent) {
  for (const std::string& id : {std::string(), std::string("a/b"), std::string("../x"),
                                std::string("a b"), std::string("r?x=1"), std::string("%41"),
                                std::string(257, 'a')}) {
    EXPECT_THAT(Poll(id), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[A-Za-z0-9_-]")))
        << id;
  }
  EXPECT_EQ(pool_.starts, 0);
  EXPECT_TRUE(Poll(std::string(256, 'a')).ok());
}

TEST_F(BackgroundRunTest, AUserRunIsNotPolledWithTheAppIdentityNorTheReverse) {
  StartRun("resp_u", "user");
  StartRun("resp_a", "app");
  const int starts = pool_.starts;
  profile_.auth = "app";
  EXPECT_THAT(Poll("resp_u"), StatusIs(absl::StatusCode::kPermissionDenied,
                                       HasSubstr("started with user identity")));
  profile_.auth = "user";
  EXPECT_THAT(Poll("resp_a"), StatusIs(absl::StatusCode::kPermissionDenied,
                                       HasSubstr("started with app identity")));
  EXPECT_EQ(pool_.starts, starts);
  EXPECT_TRUE(Poll("resp_u").ok());
}

TEST_F(BackgroundRunTest, UnknownRunIsNotFoundWithTheUpstreamMessage) {
  ASSERT_TRUE(Poll("resp_404").ok());
  Answer(R"({"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Response 'resp_404' does not exist"})",
         404);
  EXPECT_THAT(result_, StatusIs(absl::StatusCode::kNotFound,
                                HasSubstr("Response 'resp_404' does not exist")));
}

TEST_F(BackgroundRunTest, PollRetriesLikeInvoke) {
  ASSERT_TRUE(Poll("resp_r").ok());
  Fail503(pool_);
  pool_.RunScheduled();
  EXPECT_EQ(pool_.starts, 2);
  EXPECT_EQ(pool_.last_request.method, "GET");
  Answer(R"({"id":"resp_r","status":"in_progress","output":[]})");
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ(result_->status, "in_progress");
}

TEST(BackgroundRunsTest, ForgetsTheOldestBeyondCapacity) {
  SupervisorEngine::BackgroundRuns runs(2);
  auto run = std::make_shared<const SupervisorEngine::BackgroundRuns::Run>();
  runs.Add("a", run);
  runs.Add("b", run);
  runs.Add("a", run);  // known already: no new slot
  runs.Add("c", run);
  EXPECT_EQ(runs.Find("a"), nullptr);
  EXPECT_NE(runs.Find("b"), nullptr);
  EXPECT_NE(runs.Find("c"), nullptr);
}

TEST(RetryBudgetTest, RetriesAreBoundedByAShareOfTheRequestRate) {
  SupervisorEngine::RetryBudget budget(/*ratio=*/0.5, /*reserve=*/2);
  EXPECT_TRUE(budget.TryWithdraw());
  EXPECT_TRUE(budget.TryWithdraw());
  EXPECT_FALSE(budget.TryWithdraw());  // reserve spent: an outage is not amplified
  budget.OnRequest();
  EXPECT_FALSE(budget.TryWithdraw());  // half a token
  budget.OnRequest();
  EXPECT_TRUE(budget.TryWithdraw());
}

}  // namespace
}  // namespace agentgateway
