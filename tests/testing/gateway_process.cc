#include "tests/testing/gateway_process.h"

#include <signal.h>

#include <regex>

#include "absl/strings/str_cat.h"

namespace agentgateway::testing {

absl::StatusOr<std::unique_ptr<GatewayProcess>> GatewayProcess::Start(GatewayOptions options) {
  ChildOptions child;
  child.argv = {options.binary,  "--config",      options.config_path, "--http-listen",
                "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"};
  child.argv.insert(child.argv.end(), options.extra_args.begin(), options.extra_args.end());
  child.drop_env_prefixes = {"DATABRICKS_", "AGENTGATEWAY_"};
  child.env = std::move(options.env);
  child.stderr_path = options.stderr_path;
  auto process = ChildProcess::Start(std::move(child));
  if (!process.ok()) return process.status();
  std::unique_ptr<GatewayProcess> gateway(new GatewayProcess(*std::move(process)));
  ChildProcess& p = *gateway->process_;

  // "identity  :" ends the banner, printed in one write with the lines naming both ports:
  // "REST      : POST http://127.0.0.1:PORT/invocations" and "gRPC      : 127.0.0.1:PORT".
  const bool ready = p.WaitForStdout("identity  :", options.ready_timeout);
  static const std::regex kRest(R"(REST +: POST https?://[^ ]+:(\d+)/invocations)");
  static const std::regex kGrpc(R"(gRPC +: [^ ]+:(\d+))");
  const std::string banner = p.out();
  std::smatch rest, grpc;
  if (!ready || !std::regex_search(banner, rest, kRest) ||
      !std::regex_search(banner, grpc, kGrpc)) {
    return absl::UnavailableError(absl::StrCat(
        "agent-gateway did not start; stdout:\n", banner, "\nstderr",
        options.stderr_path.empty() ? absl::StrCat(":\n", p.err())
                                    : absl::StrCat(" in ", options.stderr_path)));
  }
  gateway->http_port_ = static_cast<uint16_t>(std::stoi(rest[1]));
  gateway->grpc_port_ = static_cast<uint16_t>(std::stoi(grpc[1]));
  return gateway;
}

std::optional<int> GatewayProcess::Stop(std::chrono::milliseconds timeout) {
  process_->Signal(SIGTERM);
  return process_->WaitExit(timeout);
}

}  // namespace agentgateway::testing
