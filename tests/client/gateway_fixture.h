// The gateway as its users meet it: the real agent-gateway binary as a child process (its
// gRPC and REST doors on ephemeral loopback ports), in front of the Supervisor API emulator
// (in process, plain HTTP on loopback). Plus the emulator's inspection routes, so a test can
// say what reached the upstream. One per test suite.
#ifndef AGENTGATEWAY_TESTS_CLIENT_GATEWAY_FIXTURE_H_
#define AGENTGATEWAY_TESTS_CLIENT_GATEWAY_FIXTURE_H_

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/upstream/http_pool.h"
#include "tests/emulator/emulator.h"
#include "tests/testing/gateway_process.h"
#include "tests/testing/tls_certs.h"

namespace agentgateway::testing {

// Profiles of the client suites: `default` asks approval for github (uc_connection) and runs
// the sales Genie space; `auto` approves github by policy; `user` runs as the caller.
inline constexpr char kClientSuiteYaml[] = R"(identity:
  trusted_proxy: true
  user_api_scopes: [ai-gateway, genie]
default_profile: default
profiles:
  default:
    model: emulated-model
    tools: &tools
      - {type: genie_space, genie_space: {id: sales, description: Sales figures}}
      - {type: uc_connection, uc_connection: {name: github, description: GitHub issues}}
  auto:
    model: emulated-model
    tools: *tools
    mcp_approvals: {approve: [github]}
  user:
    model: emulated-model
    auth: user
    tools: [{type: genie_space, genie_space: {id: sales, description: Sales figures}}]
)";

class GatewayFixture {
 public:
  // `yaml` is the config after `upstream:` (which the fixture writes); `extra_yaml` is
  // appended (e.g. a `listen:` section). Fails with the gateway's output when it did not start.
  static absl::StatusOr<std::unique_ptr<GatewayFixture>> Start(const std::string& yaml,
                                                               const std::string& extra_yaml = "");
  ~GatewayFixture();

  std::string grpc_target() const;  // 127.0.0.1:PORT
  std::string rest_url() const;     // http://127.0.0.1:PORT
  GatewayProcess& gateway() { return *gateway_; }
  const TempDir& dir() const { return dir_; }

  // A user token the emulator knows (what the Databricks Apps proxy would forward).
  std::string MintUserToken(const std::string& user, const std::vector<std::string>& scopes);
  long long Counter(const std::string& name);
  // Waits (the emulator's long poll) until counter >= value; false on timeout.
  bool WaitCounter(const std::string& name, long long value);
  // The last request the emulator's responses route received: {method, headers, body, ...}.
  boost::json::object LastUpstreamRequest();

 private:
  GatewayFixture() = default;
  std::string EmulatorCall(const std::string& method, const std::string& path,
                           const std::string& body = "");

  TempDir dir_;
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<upstream::HttpPool> pool_;
  std::unique_ptr<GatewayProcess> gateway_;
};

// A loopback port that refuses connections for as long as this lives: bound, never listening.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  uint16_t port() const { return port_; }
  // Frees the port (for a server that takes it over).
  void Release();

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_CLIENT_GATEWAY_FIXTURE_H_
