#include "tests/integration/stack.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/direct_backend.h"
#include "server/upstream/sse_decoder.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;

upstream::Url MustParse(const std::string& url) {
  auto parsed = upstream::Url::Parse(url);
  if (!parsed.ok()) {
    ADD_FAILURE() << "bad URL " << url << ": " << parsed.status();
    return {};
  }
  return *parsed;
}

}  // namespace

std::unique_ptr<Stack> Stack::Start(const StackOptions& options) {
  const Config* config_in = options.config;
  std::unique_ptr<Stack> s(new Stack());
  s->pki_ = MakeTestPki({"localhost"}, {"127.0.0.1"});
  s->dir_ = std::make_unique<TempDir>();
  EXPECT_TRUE(s->pki_.WriteFiles(s->dir_->path()).ok());

  emulator::EmulatorOptions eo;
  eo.cert_pem = s->pki_.cert_pem;
  eo.key_pem = s->pki_.key_pem;
  eo.oauth_clients[options.oauth_client_id] = options.oauth_client_secret;
  eo.require_known_tokens = options.require_known_tokens;
  auto emu = emulator::Emulator::Create(eo);
  if (!emu.ok()) {
    ADD_FAILURE() << "emulator: " << emu.status();
    return nullptr;
  }
  s->emulator_ = *std::move(emu);
  s->emulator_base_ = "https://localhost:" + std::to_string(s->emulator_->port());

  upstream::PoolOptions po;
  po.record_metrics = true;  // the gateway's upstream pool, as in main()
  po.ca_file = s->dir_->File("ca.pem");
  po.threads = 2;
  auto pool = upstream::HttpPool::Create(po);
  if (!pool.ok()) {
    ADD_FAILURE() << "pool: " << pool.status();
    return nullptr;
  }
  s->upstream_pool_ = *std::move(pool);
  upstream::PoolOptions client_options = po;
  client_options.record_metrics = false;  // the test's own client is not the gateway's upstream
  auto client = upstream::HttpPool::Create(client_options);
  s->client_pool_ = *std::move(client);

  // The fault suites inject many failures in a row: a large reserve keeps the process-wide
  // retry budget (unit-tested on its own) from changing their attempt counts.
  RetryPolicy retry;
  retry.initial_backoff = std::chrono::milliseconds(20);
  retry.budget_reserve = 1000;
  auto engine = SupervisorEngine::Create(s->upstream_pool_.get(),
                                         s->emulator_base_ + "/ai-gateway/mlflow/v1", retry);
  if (!engine.ok()) {
    ADD_FAILURE() << "engine: " << engine.status();
    return nullptr;
  }
  s->engine_ = *std::move(engine);
  auto config = std::make_shared<const Config>(config_in ? *config_in : EmbeddedDefaultConfig());
  if (options.oauth_m2m) {
    identity::OAuthM2MOptions oo;
    oo.host_url = s->emulator_base_;
    oo.client_id = options.oauth_client_id;
    oo.client_secret = identity::Secret(options.oauth_client_secret);
    oo.initial_backoff = std::chrono::milliseconds(1);
    oo.max_backoff = std::chrono::milliseconds(5);
    auto tokens = identity::MakeOAuthM2MTokenSource(s->upstream_pool_.get(), std::move(oo));
    if (!tokens.ok()) {
      ADD_FAILURE() << "token source: " << tokens.status();
      return nullptr;
    }
    s->app_tokens_ = *std::move(tokens);
  } else {
    s->app_tokens_ = identity::MakeStaticTokenSource(identity::Secret("app-token"));
  }
  ServiceOptions so;
  so.trusted_proxy = options.trusted_proxy;
  s->approvals_ = std::make_unique<ApprovalEngine>(s->engine_.get());
  s->service_ = std::make_unique<AgentServiceImpl>(config, s->approvals_.get(), s->app_tokens_.get(), so);

  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
  builder.RegisterService(s->service_.get());
  s->grpc_server_ = builder.BuildAndStart();
  if (!s->grpc_server_ || grpc_port == 0) {
    ADD_FAILURE() << "gRPC server did not start";
    return nullptr;
  }
  s->stub_ = v1::AgentService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(grpc_port), grpc::InsecureChannelCredentials()));

  gateway::HttpServerOptions ho;
  ho.port = 0;
  ho.readiness_problem = [tokens = s->app_tokens_.get()] {
    return identity::NotReadyReason(*tokens);
  };
  ho.max_body_bytes = 1 << 20;
  auto http = gateway::HttpServer::Create(ho, MakeDirectBackend(s->service_.get()));
  if (!http.ok()) {
    ADD_FAILURE() << "http: " << http.status();
    return nullptr;
  }
  s->http_ = *std::move(http);
  s->gateway_url_ = "http://127.0.0.1:" + std::to_string(s->http_->port());
  return s;
}

Stack::~Stack() {
  // Front doors first, then the service, then the upstream side.
  if (http_) http_->Stop();
  if (grpc_server_) grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  client_pool_.reset();
  app_tokens_.reset();
  upstream_pool_.reset();
  if (emulator_) emulator_->Stop();
}

upstream::HttpPool::FetchResult Stack::Post(const std::string& path, const std::string& body,
                                            upstream::Headers headers) {
  upstream::HttpRequest r;
  r.method = "POST";
  r.url = MustParse(gateway_url_ + path);
  r.headers = std::move(headers);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = body;
  auto result = client_pool_->Fetch(std::move(r));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : upstream::HttpPool::FetchResult{};
}

upstream::HttpPool::FetchResult Stack::Get(const std::string& path) {
  upstream::HttpRequest r;
  r.method = "GET";
  r.url = MustParse(gateway_url_ + path);
  auto result = client_pool_->Fetch(std::move(r));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : upstream::HttpPool::FetchResult{};
}

std::shared_ptr<upstream::Call> Stack::PostStreaming(
    const std::string& path, const std::string& body,
    std::shared_ptr<upstream::ResponseHandler> handler) {
  upstream::HttpRequest r;
  r.method = "POST";
  r.url = MustParse(gateway_url_ + path);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = body;
  return client_pool_->Start(std::move(r), std::move(handler));
}

std::string Stack::EmulatorGet(const std::string& path_and_query) {
  upstream::HttpRequest r;
  r.method = "GET";
  r.url = MustParse(emulator_base_ + path_and_query);
  auto result = client_pool_->Fetch(std::move(r));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->body : std::string();
}

std::string Stack::EmulatorPost(const std::string& path_and_query, const std::string& body) {
  upstream::HttpRequest r;
  r.method = "POST";
  r.url = MustParse(emulator_base_ + path_and_query);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = body;
  auto result = client_pool_->Fetch(std::move(r));
  EXPECT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result.ok() && result->head.status == 200) << (result.ok() ? result->body : "");
  return result.ok() ? result->body : std::string();
}

std::string Stack::MintUserToken(const std::string& user, const std::vector<std::string>& scopes,
                                 const std::string& format, int ttl_seconds) {
  json::array s;
  for (const auto& scope : scopes) s.emplace_back(scope);
  json::object body{{"user", user}, {"scopes", s}, {"format", format}, {"ttl_seconds", ttl_seconds}};
  json::value answer = json::parse(EmulatorPost("/emulator/users/token", json::serialize(body)));
  return std::string(answer.at("access_token").as_string());
}

long long Stack::EmulatorCounter(const std::string& name) {
  json::value stats = json::parse(EmulatorGet("/emulator/stats"));
  const json::value* v = stats.as_object().if_contains(name);
  // "faults.<name>" (as /emulator/wait spells it) is stats.faults[name], 0 until applied once.
  constexpr std::string_view kFaultPrefix = "faults.";
  if (v == nullptr && name.rfind(kFaultPrefix, 0) == 0) {
    const json::value* faults = stats.as_object().if_contains("faults");
    if (faults == nullptr || !faults->is_object()) return 0;
    v = faults->as_object().if_contains(name.substr(kFaultPrefix.size()));
    if (v == nullptr) return 0;
  }
  return v && v->is_int64() ? v->as_int64() : (v && v->is_uint64() ? v->as_uint64() : -1);
}

bool Stack::WaitEmulatorCounter(const std::string& name, long long value, int timeout_ms) {
  upstream::HttpRequest r;
  r.method = "GET";
  r.url = MustParse(emulator_base_ + "/emulator/wait?counter=" + name +
                    "&value=" + std::to_string(value) + "&timeout_ms=" + std::to_string(timeout_ms));
  auto result = client_pool_->Fetch(std::move(r));
  return result.ok() && result->head.status == 200;
}

std::string Stack::LastUpstreamBody() {
  json::value last = json::parse(EmulatorGet("/emulator/requests/last"));
  return std::string(last.at("body").as_string());
}

std::string Stack::LastUpstreamHeader(const std::string& lowercase_name) {
  json::value last = json::parse(EmulatorGet("/emulator/requests/last"));
  const json::value* v = last.at("headers").as_object().if_contains(lowercase_name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

void CollectingHandler::OnHead(const upstream::HttpResponseHead& head) {
  std::lock_guard<std::mutex> lock(mu_);
  head_ = head;
  cv_.notify_all();
}

bool CollectingHandler::OnBody(std::string_view bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  body_.append(bytes);
  cv_.notify_all();
  return true;
}

void CollectingHandler::OnComplete(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  status_ = std::move(status);
  cv_.notify_all();
}

bool CollectingHandler::Wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return done_; });
}

bool CollectingHandler::WaitFor(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout,
                      [&] { return done_ || body_.find(needle) != std::string::npos; }) &&
         body_.find(needle) != std::string::npos;
}

int CollectingHandler::status_code() {
  std::lock_guard<std::mutex> lock(mu_);
  return head_.status;
}

std::string CollectingHandler::header(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::string(head_.Header(name));
}

std::string CollectingHandler::body() {
  std::lock_guard<std::mutex> lock(mu_);
  return body_;
}

absl::Status CollectingHandler::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

v1::InvokeRequest TextRequest(const std::string& text) {
  v1::InvokeRequest request;
  v1::InputItem* item = request.add_input();
  item->set_type(v1::ITEM_TYPE_MESSAGE);
  item->set_role("user");
  item->set_text(text);
  return request;
}

std::vector<Frame> ParseSse(const std::string& body) {
  std::vector<Frame> frames;
  upstream::SseDecoder decoder;
  decoder.Feed(body, [&](upstream::SseEvent&& e) {
    frames.push_back(Frame{std::move(e.event), std::move(e.data)});
  });
  return frames;
}

}  // namespace agentgateway::testing
