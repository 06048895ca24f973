// Operability through the whole path (issue 6 items 1-3): the Prometheus page parsed line by
// line and its counters checked after known traffic on both doors; health routes; the call
// log lines parsed as JSON with their fields, a retried call's retry count, and no token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <sstream>

#include <boost/json.hpp>

#include "absl/strings/str_join.h"
#include "server/logging.h"
#include "tests/integration/stack.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

// One exposition, parsed: sample name + sorted labels -> value, and each family's TYPE.
struct Exposition {
  std::map<std::string, double> samples;  // e.g. `agentgateway_calls_total{code="OK",...}`
  std::map<std::string, std::string> types;
  std::vector<std::string> bad_lines;

  double Get(const std::string& key) const {
    auto it = samples.find(key);
    return it == samples.end() ? 0 : it->second;
  }
};

// Parses the text format 0.0.4 strictly enough to catch a malformed page: every line is a
// HELP or TYPE comment or `name{label="value",...} number`.
Exposition Parse(const std::string& text) {
  static const std::regex kSample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$)re");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kHelp(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  Exposition out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::smatch m;
    if (std::regex_match(line, m, kType)) {
      out.types[m[1]] = m[2];
    } else if (std::regex_match(line, kHelp)) {
    } else if (std::regex_match(line, m, kSample)) {
      // Labels as written, minus a trailing comma, sorted for a stable key.
      std::vector<std::string> labels;
      std::string all = m[3];
      static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"))re");
      for (auto it = std::sregex_iterator(all.begin(), all.end(), kLabel);
           it != std::sregex_iterator(); ++it) {
        labels.push_back((*it)[1]);
      }
      std::sort(labels.begin(), labels.end());
      std::string key = m[1].str() + (labels.empty() ? "" : "{" + absl::StrJoin(labels, ",") + "}");
      out.samples[key] = std::stod(m[4].str() == "+Inf" ? "inf" : m[4].str());
    } else {
      out.bad_lines.push_back(line);
    }
  }
  return out;
}

class ObservabilityTest : public SharedStackTest<::testing::Test> {
 protected:
  static Exposition Scrape() {
    auto page = stack_->Get("/metrics");
    EXPECT_EQ(page.head.status, 200);
    EXPECT_THAT(std::string(page.head.Header("content-type")), HasSubstr("text/plain; version=0.0.4"));
    Exposition e = Parse(page.body);
    EXPECT_TRUE(e.bad_lines.empty()) << "not exposition format: " << e.bad_lines.front();
    return e;
  }
};

constexpr char kHello[] = R"({"input":[{"role":"user","content":"hello"}]})";

TEST_F(ObservabilityTest, TheMetricsPageCountsKnownTrafficOnBothDoors) {
  const Exposition before = Scrape();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(stack_->Post("/invocations", kHello).head.status, 200);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    v1::InvokeResponse response;
    ASSERT_TRUE(stack_->grpc().Invoke(&ctx, TextRequest("hello"), &response).ok());
  }
  int events = 0;
  {
    grpc::ClientContext ctx;
    auto reader = stack_->grpc().Stream(&ctx, TextRequest("How did sales do last quarter?"));
    v1::StreamEvent event;
    while (reader->Read(&event)) ++events;
    ASSERT_TRUE(reader->Finish().ok());
  }
  EXPECT_EQ(stack_->Post("/agents/nope/invocations", kHello).head.status, 404);
  EXPECT_EQ(stack_->Post("/invocations", R"({"input":[)").head.status, 400);
  // A call is counted when gRPC is done with it, which may be just after its caller has the
  // answer.
  ASSERT_TRUE(stack_->service().WaitAllDone(absl::Seconds(10)));
  const Exposition after = Scrape();

  auto delta = [&](const std::string& key) { return after.Get(key) - before.Get(key); };
  EXPECT_EQ(delta(R"(agentgateway_calls_total{code="OK",profile="default",rpc="Invoke"})"), 5);
  EXPECT_EQ(delta(R"(agentgateway_calls_total{code="OK",profile="default",rpc="Stream"})"), 1);
  EXPECT_EQ(delta(R"(agentgateway_calls_total{code="NOT_FOUND",profile="",rpc="Invoke"})"), 1);
  EXPECT_EQ(delta(R"(agentgateway_denials_total{reason="unknown_profile"})"), 1);
  EXPECT_EQ(delta(R"(agentgateway_http_requests_total{route="/invocations",status="200"})"), 3);
  EXPECT_EQ(delta(R"(agentgateway_http_requests_total{route="/invocations",status="400"})"), 1);
  EXPECT_EQ(delta(R"(agentgateway_http_requests_total{route="/agents/{name}/invocations",status="404"})"), 1);
  EXPECT_EQ(delta(R"(agentgateway_call_duration_seconds_count{profile="default",rpc="Invoke"})"), 5);
  EXPECT_EQ(delta("agentgateway_upstream_first_byte_seconds_count"), 6);  // one per upstream call
  EXPECT_EQ(delta("agentgateway_first_event_seconds_count"), 1);
  EXPECT_EQ(delta("agentgateway_gateway_added_first_event_seconds_count"), 1);
  EXPECT_EQ(delta("agentgateway_event_relay_lag_seconds_count"), events);
  EXPECT_EQ(after.Get(R"(agentgateway_active_calls{rpc="Stream"})"), 0);
  EXPECT_EQ(after.types.at("agentgateway_calls_total"), "counter");
  EXPECT_EQ(after.types.at("agentgateway_event_relay_lag_seconds"), "histogram");
  EXPECT_EQ(after.types.at("agentgateway_active_calls"), "gauge");
  // A histogram's +Inf bucket is its count, and its buckets never fall.
  EXPECT_EQ(after.Get(R"(agentgateway_event_relay_lag_seconds_bucket{le="+Inf"})"),
            after.Get("agentgateway_event_relay_lag_seconds_count"));
  EXPECT_LE(after.Get(R"(agentgateway_event_relay_lag_seconds_bucket{le="0.001"})"),
            after.Get(R"(agentgateway_event_relay_lag_seconds_bucket{le="0.01"})"));
}

TEST_F(ObservabilityTest, RetriesAndTruncationsAreCounted) {
  const Exposition before = Scrape();
  // A 503 is retried (nothing was relayed); `truncate` ends a stream without its terminal event.
  auto failed = stack_->Post("/invocations",
                             R"({"input":[{"role":"user","content":"x [[fault:503]]"}]})");
  EXPECT_EQ(failed.head.status, 503);
  grpc::ClientContext ctx;
  auto reader = stack_->grpc().Stream(&ctx, TextRequest("y [[fault:truncate]]"));
  v1::StreamEvent event;
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(stack_->service().WaitAllDone(absl::Seconds(10)));
  const Exposition after = Scrape();
  EXPECT_EQ(after.Get("agentgateway_upstream_retries_total") -
                before.Get("agentgateway_upstream_retries_total"),
            2);  // three attempts in all
  EXPECT_EQ(after.Get("agentgateway_upstream_truncated_streams_total") -
                before.Get("agentgateway_upstream_truncated_streams_total"),
            1);
}

TEST_F(ObservabilityTest, HealthRoutesAnswer) {
  for (const char* path : {"/health", "/health/ready", "/readyz", "/health/live", "/livez"}) {
    SCOPED_TRACE(path);
    auto result = stack_->Get(path);
    EXPECT_EQ(result.head.status, 200) << result.body;
    json::value body = json::parse(result.body);
    EXPECT_TRUE(body.as_object().contains("status"));
  }
}

TEST_F(ObservabilityTest, EveryCallLogsOneJsonLineWithItsFacts) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lines;
  int call_lines = 0;
  SetLogSinkForTesting([&](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
    if (line.find("\"req-observability-") != std::string_view::npos) ++call_lines;
    cv.notify_all();
  });
  ASSERT_EQ(stack_->Post("/invocations", kHello, {{"X-Request-Id", "req-observability-1"}})
                .head.status,
            200);
  // A retried call says how many retries it took.
  stack_->Post("/invocations", R"({"input":[{"role":"user","content":"x [[fault:503]]"}]})",
               {{"X-Request-Id", "req-observability-2"}});
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-request-id", "req-observability-3");
    v1::InvokeResponse response;
    ASSERT_TRUE(stack_->grpc().Invoke(&ctx, TextRequest("hello"), &response).ok());
  }
  // A call's line is written when gRPC is done with it, which may be just after its caller
  // has the answer.
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return call_lines >= 3; }));
  }
  SetLogSinkForTesting(nullptr);

  std::map<std::string, json::object> calls;  // request id -> its call line
  for (const std::string& line : lines) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    const json::object& o = v.as_object();
    for (const char* key : {"ts", "level", "msg"}) EXPECT_TRUE(o.contains(key)) << line;
    if (o.at("msg") == "call") calls[std::string(o.at("request_id").as_string())] = o;
  }
  ASSERT_EQ(calls.count("req-observability-1"), 1u);
  const json::object& rest = calls["req-observability-1"];
  for (const char* key : {"rpc", "route", "trace_id", "profile", "auth", "user", "code",
                          "duration_ms", "retries"}) {
    EXPECT_TRUE(rest.contains(key)) << key;
  }
  EXPECT_EQ(rest.at("route"), "/invocations");
  EXPECT_EQ(rest.at("code"), "OK");
  EXPECT_EQ(rest.at("retries"), 0);
  ASSERT_EQ(calls.count("req-observability-2"), 1u);
  EXPECT_EQ(calls["req-observability-2"].at("retries"), 2);
  EXPECT_EQ(calls["req-observability-2"].at("code"), "UNAVAILABLE");
  ASSERT_EQ(calls.count("req-observability-3"), 1u);
  EXPECT_EQ(calls["req-observability-3"].at("route"), "grpc");
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find("app-token"), std::string::npos) << line;
    EXPECT_EQ(line.find("Bearer"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace agentgateway::testing
