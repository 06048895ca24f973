#include "tests/client/gateway_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace agentgateway::testing {

namespace json = boost::json;

absl::StatusOr<std::unique_ptr<GatewayFixture>> GatewayFixture::Start(const std::string& yaml,
                                                                      const std::string& extra_yaml) {
  std::unique_ptr<GatewayFixture> f(new GatewayFixture());
  auto emulator = emulator::Emulator::Create(emulator::EmulatorOptions{});
  if (!emulator.ok()) return emulator.status();
  f->emulator_ = *std::move(emulator);
  auto pool = upstream::HttpPool::Create(upstream::PoolOptions{});
  if (!pool.ok()) return pool.status();
  f->pool_ = *std::move(pool);
  const std::string path = f->dir_.File("gateway.yaml");
  std::ofstream(path) << "upstream:\n  base_url: " << f->emulator_->BaseUrl()
                      << "/ai-gateway/mlflow/v1\n"
                      << yaml << extra_yaml;
  auto gateway = GatewayProcess::Start({.binary = AG_GATEWAY_BINARY, .config_path = path});
  if (!gateway.ok()) return gateway.status();
  f->gateway_ = *std::move(gateway);
  return f;
}

GatewayFixture::~GatewayFixture() {
  gateway_.reset();  // SIGKILL + reap: the emulator must outlive its client
  pool_.reset();
  if (emulator_) emulator_->Stop();
}

std::string GatewayFixture::grpc_target() const {
  return absl::StrCat("127.0.0.1:", gateway_->grpc_port());
}

std::string GatewayFixture::rest_url() const {
  return absl::StrCat("http://127.0.0.1:", gateway_->http_port());
}

std::string GatewayFixture::EmulatorCall(const std::string& method, const std::string& path,
                                         const std::string& body) {
  upstream::HttpRequest request;
  request.method = method;
  request.url = *upstream::Url::Parse(emulator_->BaseUrl() + path);
  if (method == "POST") request.headers.emplace_back("Content-Type", "application/json");
  request.body = body;
  auto result = pool_->Fetch(std::move(request));
  if (!result.ok()) {
    ADD_FAILURE() << method << " " << path << ": " << result.status();
    return "{}";
  }
  return result->body;
}

std::string GatewayFixture::MintUserToken(const std::string& user,
                                          const std::vector<std::string>& scopes) {
  json::array s;
  for (const std::string& scope : scopes) s.emplace_back(scope);
  json::value answer = json::parse(EmulatorCall(
      "POST", "/emulator/users/token",
      json::serialize(json::object{{"user", user}, {"scopes", s}, {"format", "opaque"}})));
  const json::value* token = answer.as_object().if_contains("access_token");
  return token && token->is_string() ? std::string(token->as_string()) : std::string();
}

long long GatewayFixture::Counter(const std::string& name) {
  json::value stats = json::parse(EmulatorCall("GET", "/emulator/stats"));
  const json::value* v = stats.as_object().if_contains(name);
  return v && v->is_int64() ? v->as_int64() : (v && v->is_uint64() ? v->as_uint64() : -1);
}

bool GatewayFixture::WaitCounter(const std::string& name, long long value) {
  upstream::HttpRequest request;
  request.method = "GET";
  request.url = *upstream::Url::Parse(absl::StrCat(emulator_->BaseUrl(), "/emulator/wait?counter=",
                                                   name, "&value=", value, "&timeout_ms=20000"));
  auto result = pool_->Fetch(std::move(request));
  return result.ok() && result->head.status == 200;
}

json::object GatewayFixture::LastUpstreamRequest() {
  json::value last = json::parse(EmulatorCall("GET", "/emulator/requests/last"));
  return last.is_object() ? last.as_object() : json::object();
}

RefusingPort::RefusingPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot bind a loopback port";
    return;
  }
  port_ = ntohs(addr.sin_port);
}

RefusingPort::~RefusingPort() { Release(); }

void RefusingPort::Release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace agentgateway::testing
