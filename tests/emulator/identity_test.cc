// Tests of identity in the emulator: the OAuth M2M token endpoint, minted user tokens, scope
// and expiry checks on the responses route, and the per-request identity records.
#include <ctime>

#include "gtest/gtest.h"
#include "tests/emulator/codec.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/request_log.h"
#include "tests/emulator/test_client.h"

namespace agentgateway::emulator {
namespace {

using test_client::ClientResponse;
using test_client::Headers;
using test_client::ParseSse;
using test_client::SseEvent;
using test_client::TestClient;
namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::string_view kPath = "/ai-gateway/mlflow/v1/responses";
constexpr std::string_view kTokenPath = "/oidc/v1/token";
constexpr std::string_view kGrant = "grant_type=client_credentials&scope=all-apis";
// base64("emulator-client:emulator-secret"), written out so the encoder is not checked by itself.
constexpr std::string_view kDemoBasic = "Basic ZW11bGF0b3ItY2xpZW50OmVtdWxhdG9yLXNlY3JldA==";
constexpr std::string_view kFormType = "application/x-www-form-urlencoded";

std::string Body(std::string_view question, json::object extra = {}) {
  json::object body{{"model", "databricks-claude-sonnet-4-5"},
                    {"input", json::array{json::object{{"role", "user"}, {"content", question}}}}};
  for (auto& field : extra) body[field.key()] = field.value();
  return json::serialize(body);
}

json::object Tool(std::string_view type, std::string_view key, std::string_view value) {
  return json::object{{"type", type}, {type, json::object{{key, value}}}};
}

std::string Str(const json::value& v, std::string_view key) {
  return std::string(v.at(key).as_string());
}

std::string Basic(std::string_view id, std::string_view secret) {
  return "Basic " + Base64Encode(std::string(id) + ":" + std::string(secret));
}

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(EmulatorOptions options) {
    emulator_.reset();
    options.threads = 2;
    auto created = Emulator::Create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    emulator_ = *std::move(created);
  }

  ClientResponse Exchange(http::verb verb, std::string_view target, std::string body = {},
                          const Headers& headers = {}) {
    TestClient client(emulator_->port());
    return client.Exchange(verb, target, std::move(body), headers, /*with_auth=*/false);
  }

  ClientResponse TokenRequest(std::string_view authorization, std::string_view body = kGrant,
                              std::string_view content_type = kFormType) {
    Headers headers = {{"Content-Type", std::string(content_type)}};
    if (!authorization.empty()) headers.emplace_back("Authorization", std::string(authorization));
    return Exchange(http::verb::post, kTokenPath, std::string(body), headers);
  }

  std::string AppToken() {
    ClientResponse r = TokenRequest(kDemoBasic);
    EXPECT_EQ(r.status, 200) << r.body;
    return Str(r.Json(), "access_token");
  }

  ClientResponse Mint(json::object request) {
    return Exchange(http::verb::post, "/emulator/users/token", json::serialize(request));
  }

  std::string UserToken(std::string_view user, json::array scopes, int64_t ttl = 3600,
                        std::string_view format = "jwt") {
    ClientResponse r = Mint({{"user", user}, {"scopes", scopes}, {"ttl_seconds", ttl},
                             {"format", format}});
    EXPECT_EQ(r.status, 200) << r.body;
    return Str(r.Json(), "access_token");
  }

  ClientResponse PostAs(std::string_view token, std::string body, Headers headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + std::string(token));
    return Exchange(http::verb::post, kPath, std::move(body), headers);
  }

  ClientResponse GetAs(std::string_view token, std::string_view target) {
    return Exchange(http::verb::get, target, {}, {{"Authorization", "Bearer " + std::string(token)}});
  }

  json::value Get(std::string_view target) { return Exchange(http::verb::get, target).Json(); }

  std::unique_ptr<Emulator> emulator_;
};

TEST(IdentityCodecTest, MatchesReferenceVectors) {
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");  // RFC 4648 section 10
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Decode("Zm9vYg==").value_or("?"), "foob");
  EXPECT_FALSE(Base64Decode("Zm9v!mFy").has_value());
  EXPECT_FALSE(Base64Decode("Zm9").has_value());
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8").value_or("?"), "\xfb\xff");
  auto form = ParseForm("grant_type=client_credentials&scope=all-apis+x%21&empty");
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(form->at("grant_type"), "client_credentials");
  EXPECT_EQ(form->at("scope"), "all-apis x!");
  EXPECT_EQ(form->at("empty"), "");
  EXPECT_FALSE(ParseForm("a=%4").has_value());
  EXPECT_EQ(TokenFingerprint("abc"), "ba7816bf");  // SHA-256("abc"), FIPS 180-2
  EXPECT_EQ(RandomHex(16).size(), 32u);
}

TEST_F(IdentityTest, TokenEndpointIssuesAppTokens) {
  ClientResponse r = TokenRequest(kDemoBasic);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers[http::field::cache_control], "no-store");
  json::value body = r.Json();
  EXPECT_EQ(Str(body, "token_type"), "Bearer");
  EXPECT_EQ(body.at("expires_in").as_int64(), 3600);
  EXPECT_EQ(Str(body, "scope"), "all-apis");
  std::string token = Str(body, "access_token");
  EXPECT_EQ(token.substr(0, 8), "emu-app-");
  EXPECT_NE(AppToken(), token);
  ClientResponse answer = PostAs(token, Body("who am i"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(Str(answer.Json().at("metadata"), "emulator_identity"), "app:emulator-client");
  json::value stats = Get("/emulator/stats");
  EXPECT_EQ(stats.at("token_requests").as_int64(), 2);
  EXPECT_EQ(stats.at("token_failures").as_int64(), 0);
}

struct TokenErrorCase {
  std::string name, authorization, body, content_type;
  int status;
  std::string error;
};

TEST_F(IdentityTest, TokenEndpointRefusesLikeDatabricks) {
  std::string grant(kGrant);
  std::string form(kFormType);
  std::vector<TokenErrorCase> cases = {
      {"bad secret", Basic("emulator-client", "wrong"), grant, form, 401, "invalid_client"},
      {"unknown client", Basic("nobody", "emulator-secret"), grant, form, 401, "invalid_client"},
      {"no authorization", "", grant, form, 401, "invalid_client"},
      {"bearer, not basic", "Bearer abc", grant, form, 401, "invalid_client"},
      {"not base64", "Basic !!!!", grant, form, 401, "invalid_client"},
      {"no colon", "Basic " + Base64Encode("emulator-client"), grant, form, 401,
       "invalid_client"},
      {"bad grant", std::string(kDemoBasic), "grant_type=password&scope=all-apis", form, 400,
       "unsupported_grant_type"},
      {"no grant", std::string(kDemoBasic), "scope=all-apis", form, 400, "invalid_request"},
      {"json body", std::string(kDemoBasic), R"({"grant_type":"client_credentials"})",
       "application/json", 400, "invalid_request"},
  };
  for (const TokenErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    ClientResponse r = TokenRequest(c.authorization, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(Str(r.Json(), "error"), c.error);
    if (c.status == 401) {
      EXPECT_EQ(Str(r.Json(), "error_description"), "Client authentication failed");
    }
  }
  EXPECT_EQ(TokenRequest("").headers[http::field::www_authenticate], "Basic realm=\"oidc\"");
  EXPECT_EQ(Exchange(http::verb::get, kTokenPath).status, 405);
  ClientResponse waited = Exchange(http::verb::get,
                                   "/emulator/wait?counter=token_failures&value=10&timeout_ms=1");
  EXPECT_EQ(waited.status, 200) << waited.body;
  EXPECT_EQ(waited.Json().at("token_requests").as_int64(), 10);
}

TEST_F(IdentityTest, ConfiguredClientsReplaceTheDemoClient) {
  EmulatorOptions options;
  options.oauth_clients = {{"svc-1", "s3cret"}, {"svc-2", "other"}};
  options.token_ttl_seconds = 120;
  Start(options);
  ClientResponse r = TokenRequest(Basic("svc-2", "other"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().at("expires_in").as_int64(), 120);
  ClientResponse answer = PostAs(Str(r.Json(), "access_token"), Body("q"));
  EXPECT_EQ(Str(answer.Json().at("metadata"), "emulator_identity"), "app:svc-2");
  EXPECT_EQ(TokenRequest(kDemoBasic).status, 401);
}

TEST_F(IdentityTest, TokenEndpointFaultAndTtlControl) {
  auto control = [&](std::string_view query) {
    return Exchange(http::verb::post, "/emulator/token-endpoint" + std::string(query));
  };
  ClientResponse set = control("?fail=503");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.Json().at("fail").as_int64(), 503);
  for (int i = 0; i < 2; ++i) {
    ClientResponse r = TokenRequest(kDemoBasic);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(Str(r.Json(), "error_code"), "TEMPORARILY_UNAVAILABLE");
  }
  EXPECT_EQ(control("?fail=0").status, 200);
  EXPECT_EQ(TokenRequest(kDemoBasic).status, 200);
  EXPECT_EQ(Get("/emulator/stats").at("token_failures").as_int64(), 2);

  EXPECT_EQ(control("?ttl=60").Json().at("token_ttl_seconds").as_int64(), 60);
  EXPECT_EQ(TokenRequest(kDemoBasic).Json().at("expires_in").as_int64(), 60);
  control("?ttl=0");  // from now on tokens are born expired
  std::string expired = AppToken();
  ClientResponse refused = PostAs(expired, Body("q"));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(Str(refused.Json(), "error_code"), "UNAUTHENTICATED");
  EXPECT_EQ(Str(refused.Json(), "message"), "Token expired.");

  EXPECT_EQ(control("?fail=200").status, 400);
  EXPECT_EQ(control("?ttl=-1").status, 400);
  EXPECT_EQ(control("?fail=abc").status, 400);
  control("?fail=429");
  EXPECT_EQ(TokenRequest(kDemoBasic).headers["Retry-After"], "1");
  EXPECT_EQ(Exchange(http::verb::post, "/emulator/reset").status, 200);
  ClientResponse healthy = TokenRequest(kDemoBasic);
  EXPECT_EQ(healthy.status, 200);
  EXPECT_EQ(healthy.Json().at("expires_in").as_int64(), 3600);
}

TEST_F(IdentityTest, MintedJwtCarriesTheClaims) {
  int64_t before = static_cast<int64_t>(std::time(nullptr));
  std::string token = UserToken("alice@example.com", {"ai-gateway", "genie"}, 3600);
  int64_t after = static_cast<int64_t>(std::time(nullptr));
  std::size_t dot1 = token.find('.');
  std::size_t dot2 = token.find('.', dot1 + 1);
  ASSERT_NE(dot2, std::string::npos);
  EXPECT_EQ(token.find('.', dot2 + 1), std::string::npos);
  auto header = Base64UrlDecode(token.substr(0, dot1));
  auto payload = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  ASSERT_TRUE(header && payload && signature);
  EXPECT_EQ(json::parse(*header),
            json::parse(R"({"alg":"RS256","typ":"JWT","kid":"emulator"})"));
  json::value claims = json::parse(*payload);
  EXPECT_EQ(Str(claims, "sub"), "alice@example.com");
  EXPECT_EQ(Str(claims, "scp"), "ai-gateway genie");
  EXPECT_EQ(Str(claims, "iss"), "supervisor-emulator");
  EXPECT_EQ(Str(claims, "aud"), "databricks");
  int64_t iat = claims.at("iat").as_int64();
  EXPECT_GE(iat, before);
  EXPECT_LE(iat, after);
  EXPECT_EQ(claims.at("exp").as_int64() - iat, 3600);
  EXPECT_EQ(signature->size(), 256u);

  std::string opaque = UserToken("bob@example.com", {"ai-gateway"}, 60, "opaque");
  EXPECT_EQ(opaque.substr(0, 9), "emu-user-");
  EXPECT_EQ(opaque.find('.'), std::string::npos);
  ClientResponse answer = PostAs(opaque, Body("q"));
  EXPECT_EQ(Str(answer.Json().at("metadata"), "emulator_identity"), "user:bob@example.com");

  EXPECT_EQ(Mint({{"scopes", json::array{"genie"}}}).status, 400);
  EXPECT_EQ(Mint({{"user", ""}}).status, 400);
  EXPECT_EQ(Mint({{"user", "a"}, {"scopes", "genie"}}).status, 400);
  EXPECT_EQ(Mint({{"user", "a"}, {"format", "saml"}}).status, 400);
  EXPECT_EQ(Mint({{"user", "a"}, {"ttl_seconds", "soon"}}).status, 400);
}

TEST_F(IdentityTest, UserTokenCannotCallApps) {
  json::object tools{{"tools", json::array{Tool("app", "name", "helper-app")}}};
  std::string user = UserToken("alice@example.com", {"all-apis", "ai-gateway"});
  ClientResponse r = PostAs(user, Body("ask helper-app", tools));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Str(r.Json(), "error_code"), "PERMISSION_DENIED");
  EXPECT_NE(Str(r.Json(), "message").find("Apps cannot be called with user authorization"),
            std::string::npos);
  ClientResponse as_app = PostAs(AppToken(), Body("ask helper-app", tools));
  EXPECT_EQ(as_app.status, 200) << as_app.body;
}

struct ScopeCase {
  std::string name;
  json::array scopes;
  json::array tools;
  std::vector<std::string> missing;  // empty: allowed
  std::vector<std::string> not_named = {};
};

TEST_F(IdentityTest, UserTokenNeedsTheScopesOfItsTools) {
  json::object genie = Tool("genie_space", "id", "sales");
  json::object fn = Tool("uc_function", "name", "main.tools.lookup");
  json::object ka = Tool("knowledge_assistant", "knowledge_assistant_id", "ka-1");
  json::object conn = Tool("uc_connection", "name", "github");
  json::object client_fn{{"type", "function"}, {"name", "get_weather"}};
  std::vector<ScopeCase> cases = {
      {"no ai-gateway", {"genie"}, {}, {"ai-gateway"}},
      {"genie missing", {"ai-gateway"}, {genie}, {"genie (or dashboards.genie)"}, {"ai-gateway"}},
      {"genie alternative", {"ai-gateway", "dashboards.genie"}, {genie}, {}},
      {"uc_function", {"ai-gateway", "unity-catalog"}, {fn}, {}},
      {"uc_function missing", {"ai-gateway", "genie"}, {fn, genie},
       {"mcp.functions (or unity-catalog)"}, {"genie ("}},
      {"knowledge_assistant", {"ai-gateway", "serving.serving-endpoints"}, {ka}, {}},
      {"knowledge_assistant missing", {"ai-gateway"}, {ka}, {"model-serving"}},
      {"uc_connection", {"ai-gateway", "catalog.connections"}, {conn}, {}},
      {"both missing", {}, {conn}, {"ai-gateway", "catalog.connections"}},
      {"client function", {"ai-gateway"}, {client_fn}, {}},
      {"all-apis", {"all-apis"}, {genie, fn, ka, conn}, {}},
  };
  for (const ScopeCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::string token = UserToken("carol@example.com", c.scopes);
    json::object extra;
    if (!c.tools.empty()) extra["tools"] = c.tools;
    ClientResponse r = PostAs(token, Body("hello", extra));
    if (c.missing.empty()) {
      EXPECT_EQ(r.status, 200) << r.body;
      continue;
    }
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(Str(r.Json(), "error_code"), "PERMISSION_DENIED");
    std::string message = Str(r.Json(), "message");
    for (const std::string& scope : c.missing) {
      EXPECT_NE(message.find(scope), std::string::npos) << message;
    }
    for (const std::string& scope : c.not_named) {
      EXPECT_EQ(message.find(scope), std::string::npos) << message;
    }
  }
}

TEST_F(IdentityTest, ExpiredTokensAreRefusedInBothModes) {
  for (bool require_known : {false, true}) {
    SCOPED_TRACE(require_known);
    EmulatorOptions options;
    options.require_known_tokens = require_known;
    Start(options);
    for (int64_t ttl : {0, -30}) {
      std::string token = UserToken("dave@example.com", {"ai-gateway"}, ttl);
      ClientResponse r = PostAs(token, Body("q"));
      EXPECT_EQ(r.status, 401);
      EXPECT_EQ(Str(r.Json(), "error_code"), "UNAUTHENTICATED");
      EXPECT_EQ(Str(r.Json(), "message"), "Token expired.");
    }
    std::string live = UserToken("dave@example.com", {"ai-gateway"});
    ClientResponse bg = PostAs(live, Body("q", {{"background", true}}));
    ASSERT_EQ(bg.status, 200);
    std::string poll = std::string(kPath) + "/" + Str(bg.Json(), "id");
    std::string expired = UserToken("dave@example.com", {"ai-gateway"}, 0, "opaque");
    EXPECT_EQ(Str(GetAs(expired, poll).Json(), "message"), "Token expired.");
    EXPECT_EQ(GetAs(UserToken("eve@example.com", {"genie"}), poll).status, 403);
  }
}

TEST_F(IdentityTest, RequireKnownTokensRefusesUnknownTokens) {
  ClientResponse loose = PostAs("some-static-pat", Body("q"));
  ASSERT_EQ(loose.status, 200);
  EXPECT_EQ(Str(loose.Json().at("metadata"), "emulator_identity"), "static");

  EmulatorOptions options;
  options.require_known_tokens = true;
  Start(options);
  ClientResponse strict = PostAs("some-static-pat", Body("q"));
  EXPECT_EQ(strict.status, 401);
  EXPECT_EQ(Str(strict.Json(), "error_code"), "UNAUTHENTICATED");
  EXPECT_EQ(Str(strict.Json(), "message"), "Invalid access token.");
  EXPECT_EQ(PostAs(AppToken(), Body("q")).status, 200);
  EXPECT_EQ(PostAs(UserToken("alice@example.com", {"ai-gateway"}), Body("q")).status, 200);
  EXPECT_EQ(GetAs("some-static-pat", std::string(kPath) + "/resp_1").status, 401);
}

TEST_F(IdentityTest, IdentityIsRecordedPerRequestAndResponse) {
  std::string user = UserToken("alice@example.com", {"ai-gateway", "genie"});
  std::string app = AppToken();
  json::object metadata{{"metadata", json::object{{"trace", "t-1"}}}};
  ClientResponse plain = PostAs(user, Body("first question", metadata));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.Json().at("metadata"),
            json::parse(R"({"trace":"t-1","emulator_identity":"user:alice@example.com"})"));
  EXPECT_EQ(Str(Get("/emulator/requests/last"), "identity"), "user:alice@example.com");

  ClientResponse stream = PostAs(app, Body("ask sales", {{"stream", true},
                                 {"tools", json::array{Tool("genie_space", "id", "sales")}}}));
  ASSERT_EQ(stream.status, 200);
  int responses = 0;
  for (const SseEvent& e : ParseSse(stream.body)) {
    const json::value* response = e.json.is_object() ? e.json.as_object().if_contains("response")
                                                     : nullptr;
    if (response == nullptr) continue;
    ++responses;
    EXPECT_EQ(Str(response->at("metadata"), "emulator_identity"), "app:emulator-client");
  }
  EXPECT_EQ(responses, 6);  // created, in_progress, completed for each of the two rounds
  EXPECT_EQ(Str(Get("/emulator/requests/last"), "identity"), "app:emulator-client");

  ClientResponse bg = PostAs(user, Body("background question", {{"background", true}}));
  std::string poll = std::string(kPath) + "/" + Str(bg.Json(), "id");
  EXPECT_EQ(Str(bg.Json().at("metadata"), "emulator_identity"), "user:alice@example.com");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Str(GetAs(user, poll).Json().at("metadata"), "emulator_identity"),
              "user:alice@example.com");
  }
  PostAs(UserToken("mallory@example.com", {"ai-gateway"}),
         Body("blocked", {{"tools", json::array{Tool("app", "name", "a")}}}));

  ClientResponse listed = Exchange(http::verb::get, "/emulator/requests?limit=5");
  ASSERT_EQ(listed.status, 200);
  for (const std::string& token : {user, app}) {
    EXPECT_EQ(listed.body.find(token), std::string::npos);  // fingerprints only
  }
  json::value out = listed.Json();
  EXPECT_EQ(out.at("total").as_int64(), 6);
  const json::array& records = out.at("requests").as_array();
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(Str(records[0], "identity"), "app:emulator-client");
  EXPECT_EQ(Str(records[0], "question"), "ask sales");
  EXPECT_EQ(Str(records[0], "token_fingerprint"), TokenFingerprint(app));
  EXPECT_EQ(Str(records[1], "question"), "background question");
  EXPECT_EQ(Str(records[2], "method"), "GET");
  EXPECT_EQ(Str(records[3], "token_fingerprint"), TokenFingerprint(user));
  EXPECT_EQ(Str(records[4], "identity"), "user:mallory@example.com");
  EXPECT_EQ(records[4].at("status").as_int64(), 403);
  json::value last_one = Get("/emulator/requests?limit=1");
  ASSERT_EQ(last_one.at("requests").as_array().size(), 1u);
  EXPECT_EQ(Str(last_one.at("requests").at(0), "question"), "blocked");
  EXPECT_EQ(Exchange(http::verb::get, "/emulator/requests?limit=x").status, 400);

  PostAs("", Body("no token"));
  json::value refused = Get("/emulator/requests?limit=1").at("requests").at(0);
  EXPECT_EQ(Str(refused, "identity"), "");
  EXPECT_EQ(refused.at("status").as_int64(), 401);
}

TEST(RequestLogTest, KeepsTheMostRecentRecordsInOrder) {
  RequestLog log;
  constexpr int kAdded = 9000;
  static_assert(RequestLog::kCapacity >= 5000 && RequestLog::kCapacity < kAdded);
  for (int i = 0; i < kAdded; ++i) {
    RequestRecord record;
    record.question = std::to_string(i);
    log.Add(std::move(record));
  }
  EXPECT_EQ(log.total(), static_cast<uint64_t>(kAdded));
  json::array all = log.Recent(100'000);
  ASSERT_EQ(all.size(), RequestLog::kCapacity);
  EXPECT_EQ(Str(all.front(), "question"), std::to_string(kAdded - RequestLog::kCapacity));
  EXPECT_EQ(Str(all.back(), "question"), std::to_string(kAdded - 1));
  json::array five = log.Recent(5000);
  EXPECT_EQ(Str(five.front(), "question"), std::to_string(kAdded - 5000));
  RequestRecord long_one;
  long_one.question = std::string(RequestLog::kMaxQuestionBytes - 1, 'a') + "\xc3\xa9";
  log.Add(std::move(long_one));
  EXPECT_EQ(Str(log.Recent(1).at(0), "question").size(), RequestLog::kMaxQuestionBytes - 1);
}

TEST(IdentityCreateTest, RefusesBadClientsAndTtl) {
  EmulatorOptions colon;
  colon.oauth_clients = {{"a:b", "s"}};
  EXPECT_EQ(Emulator::Create(colon).status().code(), absl::StatusCode::kInvalidArgument);
  EmulatorOptions empty;
  empty.oauth_clients = {{"", "s"}};
  EXPECT_EQ(Emulator::Create(empty).status().code(), absl::StatusCode::kInvalidArgument);
  EmulatorOptions ttl;
  ttl.token_ttl_seconds = 0;
  EXPECT_EQ(Emulator::Create(ttl).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agentgateway::emulator
