// The fault matrix: every emulator fault through every door (gRPC Invoke, gRPC Stream, REST
// JSON, REST SSE), before the first byte and mid-stream, each cell asserting the exact
// outcome: code or status, message, events relayed before an explicit error end, the attempts
// the emulator saw (retries only before anything was relayed), and no leaked connection or
// file descriptor. Then cancellation by the caller, which must reach the upstream too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/integration/fault_doors.h"
#include "tests/integration/stack.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using Code = grpc::StatusCode;

enum class Phase {
  kBeforeFirstByte,  // nothing of the answer reached the gateway (at most a stream's head)
  kMidStream,        // part of the answer did (streams: and was relayed)
  kStatusAnswer,     // an HTTP error status: before any byte by nature, one phase only
  kNoFailure,        // `drip` (slow, not broken) and `none`: one phase only
};

// Which flavour of the emulator's faults a cell meets: the stream doors ask the upstream for
// a stream, Invoke and REST JSON for a whole answer (see tests/emulator/README.md, "Faults").
enum class Flavour { kStream, kWhole };

struct Cell {
  std::string_view fault;
  Flavour flavour;
  Phase phase;
  Code code;
  int http_status;           // REST; SSE: when nothing was relayed (else 200 + error frame)
  std::string_view message;  // in the gRPC message, REST detail and SSE error frame alike
  int events;                // stream doors: events relayed before the error (clean ends: 0,
                             // not counted)
  int attempts;              // POSTs the emulator saw: retried only before anything relayed
  bool pooled;               // the upstream connection stays open, idle in the pool
};

constexpr auto kStream = Flavour::kStream;
constexpr auto kWhole = Flavour::kWhole;
constexpr auto kEarly = Phase::kBeforeFirstByte;
constexpr auto kMid = Phase::kMidStream;
constexpr auto kStatus = Phase::kStatusAnswer;
constexpr auto kFine = Phase::kNoFailure;

// Whole messages, as the gRPC status, the REST `detail` and the SSE error frame carry them;
// {upstream} stands for the emulator's host:port. "(after N attempts)" only when retried.
constexpr std::string_view k429 =
    "upstream returned HTTP 429 (REQUEST_LIMIT_EXCEEDED): Rate limit exceeded for this endpoint "
    "(after 3 attempts)";
constexpr std::string_view k500 =
    "upstream returned HTTP 500 (INTERNAL_ERROR): The server encountered an internal error";
constexpr std::string_view k503 =
    "upstream returned HTTP 503 (TEMPORARILY_UNAVAILABLE): The service is temporarily "
    "unavailable (after 3 attempts)";
constexpr std::string_view k502 =
    "upstream returned HTTP 502: 502 Bad Gateway 502 Bad Gateway emulated proxy "
    "(after 3 attempts)";
constexpr std::string_view kHeadReset =
    "reading the response head from upstream {upstream} failed: Connection reset by peer";
constexpr std::string_view kStreamReset =
    "upstream stream broke after 3 events: reading the response body from upstream {upstream} "
    "failed: Connection reset by peer";
constexpr std::string_view kBodyTruncated =
    "reading the response body from upstream {upstream} failed: stream truncated";
constexpr std::string_view kNoEventTruncated =
    "upstream stream ended without a terminal event after 0 events (truncated)";
constexpr std::string_view kStreamTruncated =
    "upstream stream ended without a terminal event after 3 events (truncated)";
constexpr std::string_view kDeadline = "Deadline Exceeded";
// The REST door calls the service in-process: the engine's deadline is the call's, and names
// where the time ran out.
constexpr std::string_view kRestDeadline =
    "the caller's deadline passed during the upstream call to {upstream}";
constexpr std::string_view kFirstError =
    "upstream error: The emulator failed before starting the response";
constexpr std::string_view kError = "upstream error: The emulator failed while running the agent";
constexpr std::string_view kErrorThenCompleted =
    "upstream error (INTERNAL_ERROR): The emulator failed while generating the response";
constexpr std::string_view kFailed500 =
    "upstream returned HTTP 500 (INTERNAL_ERROR): The emulator failed while running the agent";
constexpr std::string_view kOauthEvent =
    "upstream error (oauth): Please login to the connection to continue: "
    "https://emulator.invalid/explore/connections/login";
constexpr std::string_view kOauth403 =
    "upstream returned HTTP 403 (oauth): Please login to the connection to continue: "
    "https://emulator.invalid/explore/connections/login";

constexpr Cell kCells[] = {
    // Status answers: retried (429, 502, 503) up to 3 attempts, 500 not at all; the response
    // was read to its end, so the connection stays pooled.
    {"429", kStream, kStatus, Code::RESOURCE_EXHAUSTED, 429, k429, 0, 3, true},
    {"429", kWhole, kStatus, Code::RESOURCE_EXHAUSTED, 429, k429, 0, 3, true},
    {"500", kStream, kStatus, Code::UNAVAILABLE, 503, k500, 0, 1, true},
    {"500", kWhole, kStatus, Code::UNAVAILABLE, 503, k500, 0, 1, true},
    {"503", kStream, kStatus, Code::UNAVAILABLE, 503, k503, 0, 3, true},
    {"503", kWhole, kStatus, Code::UNAVAILABLE, 503, k503, 0, 3, true},
    {"html-502", kStream, kStatus, Code::UNAVAILABLE, 503, k502, 0, 3, true},
    {"html-502", kWhole, kStatus, Code::UNAVAILABLE, 503, k502, 0, 3, true},
    // Reset. The upstream read the request, so it may have started the run: never retried.
    // A whole answer is only ever reset before its head (`reset` is early there too).
    {"reset-early", kStream, kEarly, Code::UNAVAILABLE, 503, kHeadReset, 0, 1, false},
    {"reset-early", kWhole, kEarly, Code::UNAVAILABLE, 503, kHeadReset, 0, 1, false},
    {"reset", kStream, kMid, Code::UNAVAILABLE, 200, kStreamReset, 3, 1, false},
    {"reset", kWhole, kEarly, Code::UNAVAILABLE, 503, kHeadReset, 0, 1, false},
    // Truncation: the upstream closes its side, so nothing stays open at the emulator.
    {"truncate-early", kStream, kEarly, Code::UNAVAILABLE, 503, kNoEventTruncated, 0, 1, false},
    {"truncate-early", kWhole, kEarly, Code::UNAVAILABLE, 503, kBodyTruncated, 0, 1, false},
    {"truncate", kStream, kMid, Code::UNAVAILABLE, 200, kStreamTruncated, 3, 1, false},
    {"truncate", kWhole, kMid, Code::UNAVAILABLE, 503, kBodyTruncated, 0, 1, false},
    // Hangs end at the caller's deadline, which must close the upstream request.
    {"hang", kStream, kEarly, Code::DEADLINE_EXCEEDED, 504, kDeadline, 0, 1, false},
    {"hang", kWhole, kEarly, Code::DEADLINE_EXCEEDED, 504, kDeadline, 0, 1, false},
    {"hang-mid", kStream, kMid, Code::DEADLINE_EXCEEDED, 200, kDeadline, 2, 1, false},
    {"hang-mid", kWhole, kMid, Code::DEADLINE_EXCEEDED, 504, kDeadline, 0, 1, false},
    // Error events are relayed (they are events), then end the call with the event's code.
    // A stream that ends without a terminal event does not give its connection back, even
    // when well framed; `error-then-completed` ends with one. Whole answers: a status.
    {"error-event-first", kStream, kEarly, Code::UNKNOWN, 200, kFirstError, 1, 1, false},
    {"error-event-first", kWhole, kStatus, Code::UNAVAILABLE, 503, kFailed500, 0, 1, true},
    {"error-event", kStream, kMid, Code::UNKNOWN, 200, kError, 3, 1, false},
    {"error-event", kWhole, kStatus, Code::UNAVAILABLE, 503, kFailed500, 0, 1, true},
    {"error-then-completed", kStream, kMid, Code::UNKNOWN, 200, kErrorThenCompleted, 4, 1, true},
    {"error-then-completed", kWhole, kStatus, Code::UNAVAILABLE, 503, kFailed500, 0, 1, true},
    {"oauth", kStream, kMid, Code::UNAUTHENTICATED, 200, kOauthEvent, 3, 1, false},
    // Kept as the gateway does it, though questionable: the same upstream condition is
    // UNAUTHENTICATED as a stream event but PERMISSION_DENIED as a 403 whole answer.
    {"oauth", kWhole, kStatus, Code::UNAUTHENTICATED, 401, kOauth403, 0, 1, true},
    // Not failures.
    {"drip", kStream, kFine, Code::OK, 200, "", 0, 1, true},
    {"drip", kWhole, kFine, Code::OK, 200, "", 0, 1, true},
    {"none", kStream, kFine, Code::OK, 200, "", 0, 1, true},
    {"none", kWhole, kFine, Code::OK, 200, "", 0, 1, true},
};

bool IsHang(const Cell& cell) { return cell.fault == "hang" || cell.fault == "hang-mid"; }

std::string Question(const Cell& cell) {
  // drip-ms: 2 ms between events keeps the drip cells short (the default is 200 ms).
  return "Tell me about sales [[fault:" + std::string(cell.fault) + "]] [[drip-ms:2]]";
}

// The caller's deadline: a hang before the first byte needs none to speak of; one
// mid-stream must leave the first events ample time to be relayed (sanitizers included).
std::optional<std::chrono::milliseconds> Timeout(const Cell& cell) {
  if (cell.fault == "hang") return std::chrono::milliseconds(300);
  if (cell.fault == "hang-mid") return std::chrono::milliseconds(1500);
  return std::nullopt;
}

std::string ExpectedMessage(const Cell& c, std::string_view upstream, bool rest) {
  constexpr std::string_view kPlaceholder = "{upstream}";
  std::string message(rest && c.message == kDeadline ? kRestDeadline : c.message);
  if (std::size_t at = message.find(kPlaceholder); at != std::string::npos) {
    message.replace(at, kPlaceholder.size(), upstream);
  }
  return message;
}

// `upstream`: the emulator's host:port, as the gateway names it in messages.
void ExpectOutcome(Door door, const Cell& c, std::string_view upstream, const DoorOutcome& out) {
  ASSERT_TRUE(out.finished) << "the call did not end";
  EXPECT_EQ(out.problem, "");
  const bool rest = door == Door::kRestJson || door == Door::kRestSse;
  if (!rest) {
    EXPECT_EQ(out.code, c.code) << out.message;
  } else {
    EXPECT_EQ(out.http_status, c.http_status) << out.message;
  }
  if (c.code == Code::OK) {
    EXPECT_EQ(out.message, "");
    if (door == Door::kGrpcStream) {
      EXPECT_EQ(out.last_event, "response.completed");
    }
    if (door == Door::kRestSse) {
      EXPECT_TRUE(out.done_marker);
      EXPECT_FALSE(out.error_frame);
      EXPECT_THAT(out.last_event, HasSubstr("\"type\":\"response.completed\""));
    }
    if (!StreamsUpstream(door)) {
      EXPECT_THAT(out.answer, HasSubstr("You asked"));
    }
    return;
  }
  EXPECT_EQ(out.message, ExpectedMessage(c, upstream, rest));
  if (!StreamsUpstream(door)) return;
  EXPECT_EQ(out.events, c.events) << "events relayed before the error";
  if (door == Door::kRestSse && c.events > 0) {
    // Started streams end with an explicit error, never a clean end.
    EXPECT_TRUE(out.error_frame);
    EXPECT_TRUE(out.done_marker);
  }
}

std::string CellName(Door door, const Cell& c) {
  static constexpr std::string_view kPhaseNames[] = {"before the first byte", "mid-stream",
                                                     "status answer", "no failure"};
  return std::string(DoorName(door)) + " x " + std::string(c.fault) + " (" +
         std::string(kPhaseNames[static_cast<int>(c.phase)]) + ")";
}

class FaultMatrixTest : public SharedStackTest<::testing::TestWithParam<Door>> {
 protected:
  static void SetUpTestSuite() {
    SharedStackTest::SetUpTestSuite();
    if (stack_ == nullptr) return;
    // One clean call through every door: the gRPC channel, the REST client's connection and
    // one idle upstream connection exist from here on. What the emulator counts beyond that
    // idle connection is the test's own inspection connection(s): the baseline.
    for (Door door : {Door::kGrpcInvoke, Door::kGrpcStream, Door::kRestJson, Door::kRestSse}) {
      CallThroughDoor(*stack_, door, "Hello", std::nullopt);
    }
    baseline_connections_ = stack_->EmulatorCounter("open_connections") - 1;
  }

  // One clean call through `door`; afterwards exactly one upstream connection is open (idle).
  void CleanCall(Door door) {
    DoorOutcome out = CallThroughDoor(*stack_, door, "Hello", std::nullopt);
    ASSERT_TRUE(out.finished);
    ASSERT_EQ(out.problem, "");
    ASSERT_TRUE(out.code == Code::OK || out.http_status == 200) << out.message;
    ASSERT_EQ(AwaitEmulatorGauge(*stack_, "open_connections", baseline_connections_ + 1),
              baseline_connections_ + 1);
  }

  void RunCell(Door door, const Cell& c) {
    json::value before = json::parse(stack_->EmulatorGet("/emulator/stats"));
    long long requests = before.at("responses_requests").as_int64();
    long long client_closed = before.at("streams_client_closed").as_int64();
    auto start = std::chrono::steady_clock::now();
    DoorOutcome out = CallThroughDoor(*stack_, door, Question(c), Timeout(c));
    auto elapsed = std::chrono::steady_clock::now() - start;
    ExpectOutcome(door, c, Upstream(), out);
    if (c.fault == "429") {
      // Each of the 2 retries waited at least the upstream's Retry-After (1 s), and once the
      // retries are spent the caller gets that Retry-After too.
      EXPECT_GE(elapsed, std::chrono::seconds(2));
      EXPECT_EQ(out.retry_after, "1");
    } else {
      EXPECT_EQ(out.retry_after, "") << "no Retry-After unless the upstream asked for one";
    }
    if (IsHang(c)) {
      // The caller's deadline reached the upstream: the emulator saw its client leave.
      EXPECT_TRUE(stack_->WaitEmulatorCounter("streams_client_closed", client_closed + 1));
    }
    // A broken or abandoned connection is closed, never pooled; a finished one may stay idle.
    long long expected = baseline_connections_ + (c.pooled ? 1 : 0);
    EXPECT_EQ(AwaitEmulatorGauge(*stack_, "open_connections", expected), expected)
        << "upstream connections open at the emulator after the cell";
    json::value after = json::parse(stack_->EmulatorGet("/emulator/stats"));
    EXPECT_EQ(after.at("responses_requests").as_int64() - requests, c.attempts) << "attempts";
    EXPECT_EQ(after.at("streams_client_closed").as_int64() - client_closed, IsHang(c) ? 1 : 0);
  }

  // "localhost:PORT" of the emulator.
  static std::string Upstream() {
    constexpr std::string_view kScheme = "https://";
    return stack_->emulator_base_url().substr(kScheme.size());
  }

  static inline long long baseline_connections_ = 0;
};

TEST_P(FaultMatrixTest, EveryFaultEndsExactlyAndLeaksNothing) {
  const Door door = GetParam();
  const Flavour flavour = StreamsUpstream(door) ? kStream : kWhole;
  CleanCall(door);
  const int fds_before = OpenFds();
  int cells = 0;
  for (const Cell& c : kCells) {
    if (c.flavour != flavour) continue;
    SCOPED_TRACE(CellName(door, c));
    RunCell(door, c);
    ++cells;
  }
  EXPECT_EQ(cells, 16);
  // Back to the starting state: one idle upstream connection, the same client connections and
  // channels (this call reaps a dead idle one a cell may have left behind). No tolerance: every
  // descriptor a cell opened must be closed by now, since the gateway closes a failed
  // upstream socket before it reports the failure and the emulator's side was awaited.
  CleanCall(door);
  EXPECT_EQ(OpenFds(), fds_before);
}

INSTANTIATE_TEST_SUITE_P(EveryDoor, FaultMatrixTest,
                         ::testing::Values(Door::kGrpcInvoke, Door::kGrpcStream, Door::kRestJson,
                                           Door::kRestSse),
                         [](const ::testing::TestParamInfo<Door>& info) {
                           return std::string(DoorName(info.param));
                         });

using CancellationTest = SharedStackTest<::testing::Test>;

TEST_F(CancellationTest, GrpcCancelMidStreamClosesTheUpstreamRequest) {
  long long closed = stack_->EmulatorCounter("streams_client_closed");
  grpc::ClientContext ctx;
  v1::InvokeRequest request = TextRequest("Tell me about sales [[fault:hang-mid]]");
  auto reader = stack_->grpc().Stream(&ctx, request);
  v1::StreamEvent event;
  ASSERT_TRUE(reader->Read(&event));
  ctx.TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(stack_->WaitEmulatorCounter("streams_client_closed", closed + 1));
}

TEST_F(CancellationTest, RestClientClosingMidStreamClosesTheUpstreamRequest) {
  long long closed = stack_->EmulatorCounter("streams_client_closed");
  auto handler = std::make_shared<CollectingHandler>();
  json::object body{{"stream", true},
                    {"input", json::array{json::object{
                                  {"role", "user"},
                                  {"content", "Tell me about sales [[fault:hang-mid]]"}}}}};
  auto call = stack_->PostStreaming("/invocations", json::serialize(body), handler);
  ASSERT_TRUE(handler->WaitFor("data: "));
  call->Cancel();
  EXPECT_TRUE(stack_->WaitEmulatorCounter("streams_client_closed", closed + 1));
}

}  // namespace
}  // namespace agentgateway::testing
