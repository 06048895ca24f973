#include "gateway/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

namespace agentgateway::gateway {
namespace {

HttpRequest Req(std::string method, std::string target, std::string body = "",
                HeaderList headers = {}) {
  return HttpRequest{std::move(method), std::move(target), std::move(headers), std::move(body)};
}

std::string HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kBody[] = R"({"input":[{"role":"user","content":"hi"}]})";

TEST(RouterTest, Health) {
  RouteResult r = Route(Req("GET", "/health"));
  ASSERT_TRUE(r.response.has_value());
  EXPECT_EQ(r.response->status, 200);
  EXPECT_EQ(r.response->body, R"({"status":"healthy"})");
  EXPECT_THAT(r.request_id, ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
}

TEST(RouterTest, ReadinessFailsWhileDrainingButLivenessDoesNot) {
  for (const char* path : {"/health", "/health/ready", "/readyz"}) {
    RouteResult ready = Route(Req("GET", path));
    ASSERT_TRUE(ready.response.has_value()) << path;
    EXPECT_EQ(ready.response->status, 200) << path;
    RouteResult draining = Route(Req("GET", path), ServerState{.draining = true});
    ASSERT_TRUE(draining.response.has_value()) << path;
    EXPECT_EQ(draining.response->status, 503) << path;
    EXPECT_EQ(draining.response->body, R"({"status":"draining"})");
  }
  for (const char* path : {"/health/live", "/livez"}) {
    RouteResult live = Route(Req("GET", path), ServerState{.draining = true, .not_ready = "x"});
    ASSERT_TRUE(live.response.has_value()) << path;
    EXPECT_EQ(live.response->status, 200) << path;
    EXPECT_EQ(live.response->body, R"({"status":"alive"})");
  }
  EXPECT_EQ(Route(Req("POST", "/health/live")).response->status, 405);
  EXPECT_EQ(Route(Req("POST", "/readyz")).response->status, 405);
}

TEST(RouterTest, ReadinessNamesWhatKeepsTheGatewayFromServing) {
  const ServerState no_token{.not_ready = "the app's upstream token cannot be obtained"};
  for (const char* path : {"/health/ready", "/readyz"}) {
    RouteResult r = Route(Req("GET", path), no_token);
    ASSERT_TRUE(r.response.has_value()) << path;
    EXPECT_EQ(r.response->status, 503) << path;
    EXPECT_EQ(r.response->body,
              R"({"status":"not_ready","reason":"the app's upstream token cannot be obtained"})");
  }
  // /health keeps protocol.md's meaning (serving, unless draining).
  EXPECT_EQ(Route(Req("GET", "/health"), no_token).response->status, 200);
}

TEST(RouterTest, MetricsPageIsPrometheusText) {
  RouteResult r = Route(Req("GET", "/metrics"));
  ASSERT_TRUE(r.response.has_value());
  EXPECT_EQ(r.response->status, 200);
  ASSERT_FALSE(r.response->headers.empty());
  EXPECT_EQ(r.response->headers[0].first, "content-type");
  EXPECT_THAT(r.response->headers[0].second, ::testing::HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(r.response->body,
              ::testing::HasSubstr("# TYPE agentgateway_upstream_retries_total counter"));
  EXPECT_EQ(Route(Req("POST", "/metrics")).response->status, 405);
}

TEST(RouterTest, RouteTemplatesAreABoundedSet) {
  EXPECT_EQ(RouteTemplate("/invocations?x=1"), "/invocations");
  EXPECT_EQ(RouteTemplate("/agents/sales/invocations"), "/agents/{name}/invocations");
  EXPECT_EQ(RouteTemplate("/agents/sales/responses"), "/agents/{name}/responses");
  EXPECT_EQ(RouteTemplate("/responses/resp_1"), "/responses/{id}");
  EXPECT_EQ(RouteTemplate("/agents/a/invocations/resp_1"), "/agents/{name}/invocations/{id}");
  EXPECT_EQ(RouteTemplate("/readyz"), "/readyz");
  EXPECT_EQ(RouteTemplate("/secret/path/with/user-data"), "other");
  EXPECT_EQ(RouteTemplate("/agents//invocations"), "other");
}

TEST(RouterTest, ChatPageRunsOnlyItsOwnFiles) {
  RouteResult r = Route(Req("GET", "/?x=1"));
  ASSERT_TRUE(r.response.has_value());
  EXPECT_EQ(r.response->status, 200);
  EXPECT_EQ(HeaderOf(*r.response, "content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(*r.response, "cache-control"), "no-cache");
  EXPECT_EQ(HeaderOf(*r.response, "x-content-type-options"), "nosniff");
  const std::string csp = HeaderOf(*r.response, "content-security-policy");
  EXPECT_THAT(csp, ::testing::HasSubstr("default-src 'none'"));
  EXPECT_THAT(csp, ::testing::HasSubstr("script-src 'self';"));
  EXPECT_THAT(csp, ::testing::Not(::testing::HasSubstr("unsafe-inline")));
  // No inline script: every <script> loads a file.
  const std::string& page = r.response->body;
  for (std::size_t at = page.find("<script"); at != std::string::npos;
       at = page.find("<script", at + 1)) {
    EXPECT_EQ(page.compare(at, 13, "<script src=\""), 0) << page.substr(at, 40);
  }
  EXPECT_THAT(page, ::testing::ContainsRegex("src=\"chat\\.js\\?v=[0-9a-f]{16}\""));
  EXPECT_THAT(page, ::testing::ContainsRegex("href=\"chat\\.css\\?v=[0-9a-f]{16}\""));
}

TEST(RouterTest, ChatAssetsHaveTheirTypesAndAreCachedForGood) {
  const std::pair<const char*, const char*> kAssets[] = {
      {"/chat.js", "text/javascript; charset=utf-8"},
      {"/markdown.js", "text/javascript; charset=utf-8"},
      {"/chat.css", "text/css; charset=utf-8"}};
  const std::string page = Route(Req("GET", "/")).response->body;
  for (const auto& [path, type] : kAssets) {
    // The page names each asset with its content hash; the query does not change the answer.
    std::smatch versioned;
    const std::string name = std::string(path).substr(1);
    ASSERT_TRUE(std::regex_search(page, versioned, std::regex(name + "\\?v=[0-9a-f]{16}"))) << path;
    RouteResult r = Route(Req("GET", "/" + versioned.str()));
    ASSERT_TRUE(r.response.has_value()) << path;
    EXPECT_EQ(r.response->status, 200) << path;
    EXPECT_EQ(HeaderOf(*r.response, "content-type"), type) << path;
    EXPECT_EQ(HeaderOf(*r.response, "cache-control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(HeaderOf(*r.response, "x-content-type-options"), "nosniff");
    EXPECT_FALSE(r.response->body.empty()) << path;
    EXPECT_EQ(RouteTemplate("/" + versioned.str()), std::string_view(path));
    EXPECT_EQ(Route(Req("POST", path)).response->status, 405) << path;
  }
  // The scripts never turn text into HTML.
  for (const char* script : {"/chat.js", "/markdown.js"}) {
    const std::string body = Route(Req("GET", script)).response->body;
    EXPECT_THAT(body, ::testing::Not(::testing::HasSubstr("innerHTML"))) << script;
    EXPECT_THAT(body, ::testing::Not(::testing::HasSubstr("insertAdjacentHTML"))) << script;
    EXPECT_THAT(body, ::testing::Not(::testing::HasSubstr("document.write"))) << script;
  }
  const std::string chat = Route(Req("GET", "/chat.js")).response->body;
  EXPECT_THAT(chat, ::testing::HasSubstr("getReader"));
  EXPECT_THAT(chat, ::testing::HasSubstr("AbortController"));
  EXPECT_EQ(Route(Req("GET", "/chat.jsx")).response->status, 404);
}

TEST(RouterTest, WhoAmIShowsTheForwardedIdentityButNeverTheToken) {
  const ServerState trusted{.trusted_proxy = true};
  const HttpRequest forwarded = Req("GET", "/agent/whoami", "",
                                    {{"x-forwarded-user", "1234@example"},
                                     {"x-forwarded-email", "alice@example.com"},
                                     {"x-forwarded-preferred-username", "alice \"al\""},
                                     {"x-forwarded-access-token", "secret-token-value"}});
  RouteResult r = Route(forwarded, trusted);
  ASSERT_TRUE(r.response.has_value());
  EXPECT_EQ(r.response->status, 200);
  EXPECT_EQ(HeaderOf(*r.response, "content-type"), "application/json");
  EXPECT_EQ(HeaderOf(*r.response, "cache-control"), "no-store");
  EXPECT_EQ(r.response->body,
            R"({"user":"1234@example","email":"alice@example.com",)"
            R"("preferred_username":"alice \"al\"","user_token":true,"trusted_proxy":true})");
  EXPECT_THAT(r.response->body, ::testing::Not(::testing::HasSubstr("secret")));

  // Without the trusted proxy calls ignore those headers, so whoami shows none of them.
  RouteResult untrusted = Route(forwarded);
  EXPECT_EQ(untrusted.response->body,
            R"({"user":"","email":"","preferred_username":"","user_token":false,)"
            R"("trusted_proxy":false})");

  RouteResult nobody = Route(Req("GET", "/agent/whoami?x=1"), trusted);
  EXPECT_EQ(nobody.response->body,
            R"({"user":"","email":"","preferred_username":"","user_token":false,)"
            R"("trusted_proxy":true})");
  // Values that would not be forwarded as metadata are not shown either.
  RouteResult odd =
      Route(Req("GET", "/agent/whoami", "", {{"x-forwarded-email", "a\x01b"}}), trusted);
  EXPECT_THAT(odd.response->body, ::testing::HasSubstr(R"("email":"")"));
  EXPECT_EQ(Route(Req("POST", "/agent/whoami")).response->status, 405);
  EXPECT_EQ(RouteTemplate("/agent/whoami"), "/agent/whoami");
}

TEST(RouterTest, UnknownPathIs404Json) {
  RouteResult r = Route(Req("GET", "/nope"));
  EXPECT_EQ(r.response->status, 404);
  EXPECT_EQ(r.response->body, R"({"detail":"no route for /nope"})");
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  RouteResult r = Route(Req("GET", "/invocations"));
  EXPECT_EQ(r.response->status, 405);
  EXPECT_EQ(HeaderOf(*r.response, "allow"), "POST");
  r = Route(Req("POST", "/health"));
  EXPECT_EQ(r.response->status, 405);
  EXPECT_EQ(HeaderOf(*r.response, "allow"), "GET");
  r = Route(Req("DELETE", "/responses"));
  EXPECT_EQ(r.response->status, 405);
  EXPECT_NE(r.response->body.find("\"type\":\"invalid_request_error\""), std::string::npos);
}

TEST(RouterTest, InvocationsPlansInvokeOrStream) {
  RouteResult r = Route(Req("POST", "/invocations", kBody));
  ASSERT_TRUE(r.rpc.has_value());
  EXPECT_EQ(r.rpc->kind, RpcPlan::Kind::kInvoke);
  EXPECT_EQ(r.rpc->flavor, ApiFlavor::kInvocations);
  r = Route(Req("POST", "/responses", R"({"input":[{"role":"user","content":"hi"}],"stream":true})"));
  ASSERT_TRUE(r.rpc.has_value());
  EXPECT_EQ(r.rpc->kind, RpcPlan::Kind::kStream);
  EXPECT_EQ(r.rpc->framing(), SseFraming::kOpenAi);
}

TEST(RouterTest, AgentPathSelectsProfile) {
  RouteResult r = Route(Req("POST", "/agents/my%2Dagent/invocations", kBody));
  ASSERT_TRUE(r.rpc.has_value());
  EXPECT_EQ(r.rpc->request.profile(), "my-agent");
  EXPECT_EQ(r.rpc->framing(), SseFraming::kMlflow);
  EXPECT_EQ(Route(Req("POST", "/agents//invocations", kBody)).response->status, 404);
  EXPECT_EQ(Route(Req("POST", "/agents/a%zz/invocations", kBody)).response->status, 400);
}

TEST(RouterTest, BadBodyIs400WithRouteShape) {
  RouteResult r = Route(Req("POST", "/invocations", "{"));
  EXPECT_EQ(r.response->status, 400);
  EXPECT_NE(r.response->body.find("{\"detail\":\"malformed JSON"), std::string::npos);
  r = Route(Req("POST", "/responses", "{"));
  EXPECT_EQ(r.response->status, 400);
  EXPECT_NE(r.response->body.find("{\"error\":{\"message\":\"malformed JSON"), std::string::npos);
}

TEST(RouterTest, HeadersBecomeMetadata) {
  RouteResult r = Route(Req("POST", "/invocations", kBody,
                            {{"x-forwarded-access-token", "tok"},
                             {"x-forwarded-user", "u1"},
                             {"x-forwarded-email", "u@x"},
                             {"x-forwarded-preferred-username", "uu"},
                             {"x-real-ip", "10.0.0.1"},
                             {"x-request-id", "rid-1"},
                             {"traceparent", kTraceparent},
                             {"tracestate", "k=v"},
                             {"x-request-timeout", "2.5"},
                             {"x-mlflow-return-trace-id", "true"},
                             {"authorization", "Bearer secret"}}));
  ASSERT_TRUE(r.rpc.has_value());
  EXPECT_EQ(r.request_id, "rid-1");
  HeaderList expected = {{"traceparent", kTraceparent},
                         {"x-forwarded-access-token", "tok"},
                         {"x-forwarded-user", "u1"},
                         {"x-forwarded-email", "u@x"},
                         {"x-forwarded-preferred-username", "uu"},
                         {"x-real-ip", "10.0.0.1"},
                         {"tracestate", "k=v"},
                         {"x-request-timeout", "2.5"},
                         {"x-agentgateway-route", "/invocations"},
                         {"x-request-id", "rid-1"}};
  EXPECT_EQ(r.rpc->metadata, expected);
  ASSERT_TRUE(r.rpc->timeout.has_value());
  EXPECT_EQ(r.rpc->timeout->count(), 2500);
  EXPECT_TRUE(r.rpc->return_trace_id);
  EXPECT_EQ(r.rpc->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

std::string MetadataValue(const RpcPlan& plan, const std::string& key) {
  for (const auto& [k, v] : plan.metadata) {
    if (k == key) return v;
  }
  return "";
}

TEST(RouterTest, BackgroundPollRoutesPlanGetResponse) {
  struct Case {
    const char* target;
    ApiFlavor flavor;
    const char* profile;
  } cases[] = {
      {"/responses/resp_1", ApiFlavor::kResponses, ""},
      {"/invocations/resp_1", ApiFlavor::kInvocations, ""},
      {"/agents/my%2Dagent/responses/resp_1", ApiFlavor::kResponses, "my-agent"},
      {"/agents/my-agent/invocations/resp_1?x=1", ApiFlavor::kInvocations, "my-agent"},
  };
  for (const Case& c : cases) {
    RouteResult r = Route(Req("GET", c.target, "", {{"x-forwarded-access-token", "tok"}}));
    ASSERT_TRUE(r.rpc.has_value()) << c.target;
    EXPECT_EQ(r.rpc->kind, RpcPlan::Kind::kGetResponse) << c.target;
    EXPECT_EQ(r.rpc->flavor, c.flavor) << c.target;
    EXPECT_EQ(r.rpc->get_response.id(), "resp_1") << c.target;
    EXPECT_EQ(r.rpc->get_response.profile(), c.profile) << c.target;
    EXPECT_EQ(MetadataValue(*r.rpc, "x-forwarded-access-token"), "tok") << c.target;
    EXPECT_EQ(MetadataValue(*r.rpc, "x-request-id"), r.request_id) << c.target;
  }
  // Percent-encoded ids are decoded before the check.
  RouteResult r = Route(Req("GET", "/responses/resp%5F2"));
  ASSERT_TRUE(r.rpc.has_value());
  EXPECT_EQ(r.rpc->get_response.id(), "resp_2");
}

TEST(RouterTest, BadBackgroundIdsAre400WithTheRouteShape) {
  const std::string targets[] = {"/responses/a%2Fb", "/responses/..",     "/responses/a%20b",
                                 "/responses/a%zz",  "/responses/r%3Fx", "/responses/",
                                 "/responses/" + std::string(257, 'a'), "/agents/p/responses/a.b"};
  for (const std::string& target : targets) {
    RouteResult r = Route(Req("GET", target));
    ASSERT_TRUE(r.response.has_value()) << target;
    EXPECT_FALSE(r.rpc.has_value()) << target;
    EXPECT_EQ(r.response->status, 400) << target;
    EXPECT_NE(r.response->body.find("{\"error\":{\"message\":\"invalid response id"),
              std::string::npos)
        << r.response->body;
  }
  RouteResult r = Route(Req("GET", "/invocations/a%2Fb"));
  EXPECT_EQ(r.response->status, 400);
  EXPECT_EQ(r.response->body,
            R"({"detail":"invalid response id: expected 1 to 256 characters of [A-Za-z0-9_-]"})");
  // An empty agent name or an extra segment is no route at all; another method is 405.
  EXPECT_EQ(Route(Req("GET", "/agents//responses/r")).response->status, 404);
  EXPECT_EQ(Route(Req("GET", "/responses/a/b")).response->status, 404);
  r = Route(Req("POST", "/responses/resp_1", kBody));
  EXPECT_EQ(r.response->status, 405);
  EXPECT_EQ(HeaderOf(*r.response, "allow"), "GET");
}

TEST(RouterTest, PollResultsKeepTheResponsesObjectAndAddCustomOutputsOnlyForMlflow) {
  RpcPlan plan;
  plan.kind = RpcPlan::Kind::kGetResponse;
  plan.flavor = ApiFlavor::kResponses;
  v1::InvokeResponse response;
  response.set_response_json(R"({"id":"resp_1","status":"in_progress","output":[]})");
  HttpResponse openai = InvokeResultToHttp(plan, grpc::Status::OK, response, "");
  EXPECT_EQ(openai.status, 200);
  EXPECT_EQ(openai.body, response.response_json());
  plan.flavor = ApiFlavor::kInvocations;
  HttpResponse mlflow = InvokeResultToHttp(plan, grpc::Status::OK, response, "");
  EXPECT_EQ(mlflow.body,
            R"({"custom_outputs":{},"id":"resp_1","status":"in_progress","output":[]})");
  HttpResponse missing = InvokeResultToHttp(
      plan, grpc::Status(grpc::StatusCode::NOT_FOUND, "Response 'x' does not exist"), response, "");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("Response 'x' does not exist"), std::string::npos);
}

TEST(RouterTest, AMissingOrInvalidTraceparentStartsANewTrace) {
  for (const char* bad : {"", "00-abc-def-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}) {
    HeaderList headers = {{"tracestate", "k=v"}};
    if (*bad) headers.emplace_back("traceparent", bad);
    RouteResult r = Route(Req("POST", "/invocations", kBody, headers));
    ASSERT_TRUE(r.rpc.has_value());
    std::string traceparent = MetadataValue(*r.rpc, "traceparent");
    EXPECT_THAT(traceparent, ::testing::MatchesRegex("00-[0-9a-f]{32}-[0-9a-f]{16}-01")) << bad;
    EXPECT_NE(traceparent, bad);
    EXPECT_EQ(r.rpc->trace_id, traceparent.substr(3, 32));
    EXPECT_EQ(MetadataValue(*r.rpc, "tracestate"), "") << "a new trace drops the old state";
  }
  RouteResult a = Route(Req("POST", "/invocations", kBody));
  RouteResult b = Route(Req("POST", "/invocations", kBody));
  EXPECT_NE(a.rpc->trace_id, b.rpc->trace_id);
}

TEST(RouterTest, DatabricksOptionsReturnTraceAsksForTheTraceIdToo) {
  RouteResult r = Route(Req("POST", "/invocations",
                            R"({"input":[{"role":"user","content":"hi"}],)"
                            R"("databricks_options":{"return_trace":true}})"));
  ASSERT_TRUE(r.rpc.has_value());
  EXPECT_TRUE(r.rpc->return_trace_id);
  RouteResult off = Route(Req("POST", "/invocations",
                              R"({"input":[{"role":"user","content":"hi"}],)"
                              R"("databricks_options":{"return_trace":false}})"));
  EXPECT_FALSE(off.rpc->return_trace_id);
}

TEST(RouterTest, JsonAnswerCarriesTheTraceIdInMetadataWhenAsked) {
  RpcPlan plan;
  plan.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  v1::InvokeResponse response;
  response.set_response_json(R"({"id":"r1","metadata":{"a":"b"},"output":[]})");
  HttpResponse plain = InvokeResultToHttp(plan, grpc::Status::OK, response, "");
  EXPECT_EQ(plain.body, R"({"custom_outputs":{},"id":"r1","metadata":{"a":"b"},"output":[]})");
  plan.return_trace_id = true;
  HttpResponse traced = InvokeResultToHttp(plan, grpc::Status::OK, response, "");
  EXPECT_EQ(traced.body,
            R"({"custom_outputs":{},"id":"r1","metadata":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","a":"b"},"output":[]})");
}

TEST(RouterTest, GeneratedRequestIdWhenAbsentOrInvalid) {
  RouteResult a = Route(Req("POST", "/invocations", kBody, {{"x-request-timeout", "soon"}}));
  RouteResult b = Route(Req("POST", "/invocations", kBody, {{"x-request-id", "bad\x01id"}}));
  EXPECT_EQ(a.request_id.size(), 36u);
  EXPECT_EQ(b.request_id.size(), 36u);
  EXPECT_NE(a.request_id, b.request_id);
  EXPECT_FALSE(a.rpc->timeout.has_value());
  EXPECT_EQ(a.rpc->metadata.back(), (std::pair<std::string, std::string>("x-request-id", a.request_id)));
}

TEST(RouterTest, AgentInfoResponse) {
  v1::AgentInfo info;
  info.set_name("gw");
  info.set_default_profile("default");
  info.set_version("0.1.0");
  v1::ProfileInfo* p = info.add_profiles();
  p->set_name("default");
  p->set_model("m");
  p->set_engine("supervisor");
  p->set_auth("app");
  p->add_tool_types("genie_space");
  HttpResponse r = AgentInfoResultToHttp(grpc::Status::OK, info, "");
  EXPECT_EQ(r.body,
            R"({"name":"gw","agent_api":"responses","default_profile":"default","profiles":[)"
            R"({"name":"default","model":"m","engine":"supervisor","auth":"app",)"
            R"("tool_types":["genie_space"],"allowed_models":[]}],"version":"0.1.0"})");
}

}  // namespace
}  // namespace agentgateway::gateway

namespace agentgateway::gateway {
namespace {

// The Supervisor API's own path, for callers that only change their base URL (issue 9).
TEST(DropinRouteTest, OffUnlessAProfileServesIt) {
  RouteResult r = Route(Req("POST", "/ai-gateway/mlflow/v1/responses", kBody));
  ASSERT_TRUE(r.response.has_value());
  EXPECT_EQ(r.response->status, 404);
  EXPECT_THAT(r.response->body, ::testing::HasSubstr("set agent_from_request: true on a profile"));
  EXPECT_THAT(r.response->body, ::testing::HasSubstr(R"("type":"not_found_error")"));
}

TEST(DropinRouteTest, ASupervisorApiRequestBecomesACallOnTheDropinProfile) {
  const ServerState state{.dropin_profile = "dropin"};
  const std::string body =
      R"({"model":"databricks-claude-sonnet-4-5","input":[{"role":"user","content":"hi"}],)"
      R"("instructions":"Be brief.","tools":[{"type":"genie_space","genie_space":{"id":"g",)"
      R"("description":"d"}}],"stream":true,"trace_destination":{"catalog_name":"c",)"
      R"("schema_name":"s"}})";
  RouteResult r = Route(Req("POST", "/ai-gateway/mlflow/v1/responses", body,
                            {{"authorization", "Bearer dapi-123"}, {"x-request-id", "rid-1"}}),
                        state);
  ASSERT_TRUE(r.rpc.has_value()) << (r.response ? r.response->body : "");
  EXPECT_EQ(r.rpc->kind, RpcPlan::Kind::kStream);
  EXPECT_EQ(r.rpc->flavor, ApiFlavor::kResponses);  // OpenAI Responses shapes, as upstream's
  EXPECT_EQ(r.rpc->request.profile(), "dropin");
  EXPECT_EQ(r.rpc->request.model(), "databricks-claude-sonnet-4-5");
  EXPECT_THAT(r.rpc->request.extra_json(), ::testing::HasSubstr(R"("instructions":"Be brief.")"));
  EXPECT_THAT(r.rpc->request.extra_json(), ::testing::HasSubstr(R"("tools":[{"type":"genie_space")"));
  EXPECT_THAT(r.rpc->request.extra_json(), ::testing::HasSubstr(R"("trace_destination":)"));
  EXPECT_THAT(r.rpc->metadata,
              ::testing::Contains(std::pair<std::string, std::string>("authorization",
                                                                      "Bearer dapi-123")));
  EXPECT_THAT(r.rpc->metadata,
              ::testing::Contains(std::pair<std::string, std::string>(
                  "x-agentgateway-route", "/ai-gateway/mlflow/v1/responses")));
  // Other routes never pass the caller's Authorization on.
  RouteResult plain = Route(
      Req("POST", "/responses", kBody, {{"authorization", "Bearer dapi-123"}}), state);
  ASSERT_TRUE(plain.rpc.has_value());
  for (const auto& [key, value] : plain.rpc->metadata) EXPECT_NE(key, "authorization");
}

TEST(DropinRouteTest, PollsMethodsAndBadBodies) {
  const ServerState state{.dropin_profile = "dropin"};
  RouteResult poll = Route(Req("GET", "/ai-gateway/mlflow/v1/responses/resp_1"), state);
  ASSERT_TRUE(poll.rpc.has_value());
  EXPECT_EQ(poll.rpc->kind, RpcPlan::Kind::kGetResponse);
  EXPECT_EQ(poll.rpc->get_response.id(), "resp_1");
  EXPECT_EQ(poll.rpc->get_response.profile(), "dropin");
  RouteResult get = Route(Req("GET", "/ai-gateway/mlflow/v1/responses"), state);
  ASSERT_TRUE(get.response.has_value());
  EXPECT_EQ(get.response->status, 405);
  EXPECT_EQ(HeaderOf(*get.response, "allow"), "POST");
  RouteResult bad = Route(Req("POST", "/ai-gateway/mlflow/v1/responses", R"({"model":"m"})"), state);
  ASSERT_TRUE(bad.response.has_value());
  EXPECT_EQ(bad.response->status, 400);
  EXPECT_THAT(bad.response->body, ::testing::HasSubstr("\\\"input\\\" is required"));
  EXPECT_EQ(RouteTemplate("/ai-gateway/mlflow/v1/responses"), "/ai-gateway/mlflow/v1/responses");
  EXPECT_EQ(RouteTemplate("/ai-gateway/mlflow/v1/responses/abc"),
            "/ai-gateway/mlflow/v1/responses/{id}");
  EXPECT_EQ(RouteTemplate("/ai-gateway/mlflow/v1/other"), "other");
}

}  // namespace
}  // namespace agentgateway::gateway
