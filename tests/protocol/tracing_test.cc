// Tracing and metadata (issue 5 item 7) through both front doors against the emulator: the
// caller's W3C traceparent/tracestate reach the upstream (a new trace when absent or invalid,
// and then no tracestate); the profile's trace_destination is sent; x-mlflow-return-trace-id
// and databricks_options.return_trace give the trace id back (a {"trace_id"} frame before
// [DONE], or metadata.trace_id); gRPC callers get it in the x-trace-id trailer; /agent/info
// and GetAgentInfo list the profiles.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "server/trace_context.h"
#include "tests/protocol/protocol_doors.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kTracestate[] = "vendor=opaque,other=1";
constexpr char kItems[] = R"([{"role":"user","content":"Trace this, please."}])";
constexpr char kItem[] = R"({"role":"user","content":"Trace this, please."})";

class TracingTest : public ConfiguredStackTest<TracingTest> {
 public:
  static constexpr char kYaml[] = R"(
default_profile: traced
profiles:
  traced:
    model: m
    trace_destination: {catalog_name: main, schema_name: agents, table_prefix: gateway}
  untraced:
    model: m
)";
  static constexpr char kYamlName[] = "tracing-test.yaml";

 protected:
  // The trace id the upstream call carried; fails the test when its traceparent is not valid.
  static std::string UpstreamTraceId() {
    const std::string traceparent = stack_->LastUpstreamHeader("traceparent");
    EXPECT_TRUE(IsValidTraceparent(traceparent)) << "'" << traceparent << "'";
    return IsValidTraceparent(traceparent) ? std::string(TraceIdOf(traceparent)) : "";
  }

  // The {"trace_id": ...} frame of an MLflow stream, which must sit right before [DONE];
  // empty when there is none.
  static std::string TraceFrame(const std::string& sse_body) {
    std::vector<Frame> frames = ParseSse(sse_body);
    EXPECT_GE(frames.size(), 2u);
    if (frames.size() < 2) return {};
    EXPECT_EQ(frames.back().data, "[DONE]");
    std::string found;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      if (frames[i].data.find("\"trace_id\"") == std::string::npos) continue;
      json::value v = Json(frames[i].data);
      if (!v.is_object() || !v.as_object().contains("trace_id") || v.as_object().contains("type")) {
        continue;
      }
      EXPECT_EQ(i, frames.size() - 2) << "the trace frame must come just before [DONE]";
      EXPECT_EQ(v.as_object().size(), 1u) << frames[i].data;
      found = std::string(v.at("trace_id").as_string());
    }
    return found;
  }

  static std::string MetadataTraceId(const std::string& body) {
    json::value v = Json(body);
    if (!v.is_object()) return {};
    const json::value* metadata = v.as_object().if_contains("metadata");
    if (metadata == nullptr || !metadata->is_object()) return {};
    const json::value* id = metadata->as_object().if_contains("trace_id");
    return id && id->is_string() ? std::string(id->as_string()) : std::string();
  }
};

TEST_F(TracingTest, TheCallersTraceparentAndTracestateReachTheUpstream) {
  const upstream::Headers headers = {{"traceparent", kTraceparent}, {"tracestate", kTracestate}};
  for (const std::string extra : {"", R"("stream":true)"}) {
    SCOPED_TRACE("REST" + extra);
    auto rest = stack_->Post("/invocations", RestBody(kItems, extra), headers);
    ASSERT_EQ(rest.head.status, 200) << rest.body;
    EXPECT_EQ(stack_->LastUpstreamHeader("traceparent"), kTraceparent);
    EXPECT_EQ(stack_->LastUpstreamHeader("tracestate"), kTracestate);
  }
  const GrpcMetadata metadata = {{"traceparent", kTraceparent}, {"tracestate", kTracestate}};
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "gRPC Stream" : "gRPC Invoke");
    GrpcOutcome grpc = stream ? GrpcStream(*stack_, JsonRequest("", {kItem}), metadata)
                              : GrpcInvoke(*stack_, JsonRequest("", {kItem}), metadata);
    ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
    EXPECT_EQ(stack_->LastUpstreamHeader("traceparent"), kTraceparent);
    EXPECT_EQ(stack_->LastUpstreamHeader("tracestate"), kTracestate);
    EXPECT_EQ(grpc.Trailer("x-trace-id"), kTraceId);
  }
}

TEST_F(TracingTest, WithoutAValidTraceparentEachCallStartsItsOwnTrace) {
  std::set<std::string> trace_ids;
  // Absent, then invalid (all-zero trace id, then garbage): a tracestate of no trace is dropped.
  const std::vector<upstream::Headers> cases = {
      {},
      {{"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
       {"tracestate", kTracestate}},
      {{"traceparent", "not-a-traceparent"}, {"tracestate", kTracestate}}};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    auto rest = stack_->Post("/invocations", RestBody(kItems), cases[i]);
    ASSERT_EQ(rest.head.status, 200) << rest.body;
    trace_ids.insert(UpstreamTraceId());
    EXPECT_EQ(stack_->LastUpstreamHeader("tracestate"), "");

    GrpcMetadata metadata(cases[i].begin(), cases[i].end());
    GrpcOutcome grpc = GrpcStream(*stack_, JsonRequest("", {kItem}), metadata);
    ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
    const std::string upstream_trace = UpstreamTraceId();
    EXPECT_EQ(grpc.Trailer("x-trace-id"), upstream_trace);
    EXPECT_EQ(stack_->LastUpstreamHeader("tracestate"), "");
    trace_ids.insert(upstream_trace);
  }
  EXPECT_EQ(trace_ids.size(), 2 * cases.size()) << "every call a trace of its own";
  EXPECT_FALSE(trace_ids.contains("00000000000000000000000000000000"));
}

TEST_F(TracingTest, TheProfilesTraceDestinationIsSent) {
  const json::value destination =
      Json(R"({"catalog_name":"main","schema_name":"agents","table_prefix":"gateway"})");
  auto rest = stack_->Post("/invocations", RestBody(kItems, R"("stream":true)"));
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  EXPECT_EQ(Json(stack_->LastUpstreamBody()).at("trace_destination"), destination);
  GrpcOutcome grpc = GrpcInvoke(*stack_, JsonRequest("traced", {kItem}));
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_EQ(Json(stack_->LastUpstreamBody()).at("trace_destination"), destination);

  // A profile without one sends none.
  rest = stack_->Post("/agents/untraced/invocations", RestBody(kItems));
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  EXPECT_FALSE(Json(stack_->LastUpstreamBody()).as_object().contains("trace_destination"));
  grpc = GrpcInvoke(*stack_, JsonRequest("untraced", {kItem}));
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_FALSE(Json(stack_->LastUpstreamBody()).as_object().contains("trace_destination"));
}

TEST_F(TracingTest, ReturnTraceIdHeaderAddsTheTraceFrameOrMetadataTraceId) {
  const upstream::Headers asked = {{"x-mlflow-return-trace-id", "true"}};
  auto streamed = stack_->Post("/invocations", RestBody(kItems, R"("stream":true)"), asked);
  ASSERT_EQ(streamed.head.status, 200) << streamed.body;
  EXPECT_EQ(TraceFrame(streamed.body), UpstreamTraceId());

  auto json_answer = stack_->Post("/agents/untraced/invocations", RestBody(kItems), asked);
  ASSERT_EQ(json_answer.head.status, 200) << json_answer.body;
  EXPECT_EQ(MetadataTraceId(json_answer.body), UpstreamTraceId());
  // Added next to the upstream's own metadata, which stays.
  EXPECT_EQ(Json(json_answer.body).at("metadata").at("emulator_identity").as_string(), "static");

  // The caller's trace when it sent one.
  upstream::Headers joined = asked;
  joined.emplace_back("traceparent", kTraceparent);
  streamed = stack_->Post("/invocations", RestBody(kItems, R"("stream":true)"), joined);
  ASSERT_EQ(streamed.head.status, 200) << streamed.body;
  EXPECT_EQ(TraceFrame(streamed.body), kTraceId);
  json_answer = stack_->Post("/invocations", RestBody(kItems), joined);
  EXPECT_EQ(MetadataTraceId(json_answer.body), kTraceId);
}

TEST_F(TracingTest, DatabricksOptionsReturnTraceDoesTheSameAndStaysInTheGateway) {
  const std::string options = R"("databricks_options":{"return_trace":true})";
  auto streamed =
      stack_->Post("/invocations", RestBody(kItems, options + R"(,"stream":true)"));
  ASSERT_EQ(streamed.head.status, 200) << streamed.body;
  EXPECT_EQ(TraceFrame(streamed.body), UpstreamTraceId());
  EXPECT_FALSE(Json(stack_->LastUpstreamBody()).as_object().contains("databricks_options"));

  auto json_answer = stack_->Post("/invocations", RestBody(kItems, options));
  ASSERT_EQ(json_answer.head.status, 200) << json_answer.body;
  EXPECT_EQ(MetadataTraceId(json_answer.body), UpstreamTraceId());
  EXPECT_FALSE(Json(stack_->LastUpstreamBody()).as_object().contains("databricks_options"));

  // gRPC callers carry it in extra_json (REST maps it there): the trailer is their trace id.
  v1::InvokeRequest request = JsonRequest("", {kItem});
  request.set_extra_json("{" + options + "}");
  GrpcOutcome grpc = GrpcInvoke(*stack_, request);
  ASSERT_TRUE(grpc.status.ok()) << grpc.status.error_message();
  EXPECT_EQ(grpc.Trailer("x-trace-id"), UpstreamTraceId());
  EXPECT_FALSE(Json(stack_->LastUpstreamBody()).as_object().contains("databricks_options"));
}

TEST_F(TracingTest, WithoutBeingAskedNoTraceIdIsAdded) {
  auto streamed = stack_->Post("/invocations", RestBody(kItems, R"("stream":true)"));
  ASSERT_EQ(streamed.head.status, 200) << streamed.body;
  EXPECT_EQ(TraceFrame(streamed.body), "");
  auto json_answer = stack_->Post("/invocations", RestBody(kItems),
                                  {{"x-mlflow-return-trace-id", "false"}});
  ASSERT_EQ(json_answer.head.status, 200) << json_answer.body;
  EXPECT_EQ(MetadataTraceId(json_answer.body), "");
  // The OpenAI-style route keeps OpenAI's stream shape: no extra frame (router.h).
  auto openai = stack_->Post("/responses", RestBody(kItems, R"("stream":true)"),
                             {{"x-mlflow-return-trace-id", "true"}});
  ASSERT_EQ(openai.head.status, 200) << openai.body;
  EXPECT_THAT(openai.body, Not(HasSubstr(R"({"trace_id")")));
}

TEST_F(TracingTest, AgentInfoListsTheProfilesOnBothDoors) {
  auto rest = stack_->Get("/agent/info");
  ASSERT_EQ(rest.head.status, 200) << rest.body;
  json::value info = Json(rest.body);
  EXPECT_EQ(info.at("agent_api").as_string(), "responses");
  EXPECT_EQ(info.at("default_profile").as_string(), "traced");
  std::vector<std::string> names;
  for (const json::value& p : info.at("profiles").as_array()) {
    names.emplace_back(p.at("name").as_string());
  }
  EXPECT_THAT(names, ElementsAre("traced", "untraced"));

  grpc::ClientContext ctx;
  v1::AgentInfo grpc_info;
  grpc::Status status = stack_->grpc().GetAgentInfo(&ctx, v1::GetAgentInfoRequest(), &grpc_info);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(grpc_info.default_profile(), "traced");
  ASSERT_EQ(grpc_info.profiles_size(), 2);
  EXPECT_EQ(grpc_info.profiles(0).name(), "traced");
  EXPECT_EQ(grpc_info.profiles(1).name(), "untraced");
}

}  // namespace
}  // namespace agentgateway::testing
