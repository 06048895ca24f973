#include "client/agentctl_app.h"

#include <google/protobuf/util/json_util.h>
#include <grpc/support/log.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/agent_client.h"
#include "client/event_printer.h"
#include "client/rest_door.h"

namespace agentgateway::client {
namespace {

constexpr char kExitCodesHelp[] =
    "Exit codes:\n"
    "  0  success (health: SERVING)\n"
    "  1  the call failed: a gRPC status, an HTTP error, an error frame mid-stream;\n"
    "     health: NOT_SERVING\n"
    "  2  usage error\n"
    "  3  cannot reach the gateway (connect failed, after retries)\n"
    "  4  the answer awaits the caller: an MCP approval request or a client function call\n"
    "Errors are one line on stderr: agentctl: <CODE>: <message>\n"
    "Environment: AGENTCTL_TARGET, AGENTCTL_REST, AGENTCTL_USER_TOKEN (prefer it to\n"
    "--user-token, which other users can see in the process list), NO_COLOR.";

// What the command line asked for.
struct Flags {
  std::string target = "127.0.0.1:50051";
  std::string rest;
  bool tls = false;
  std::string ca_file, cert_file, key_file;
  double timeout_seconds = 0;
  int attempts = 3;
  bool json = false;
  std::string user_token, user, email, request_id, traceparent;
  std::vector<std::string> headers;
  std::string profile;
  std::vector<std::string> question;
  std::string service;
};

// The front door agentctl talks through: the same three operations on either.
class Door {
 public:
  virtual ~Door() = default;
  virtual absl::Status Stream(const std::string& question, const CallOptions& call,
                              const DataCallback& on_data) = 0;
  virtual absl::StatusOr<v1::AgentInfo> Info(const CallOptions& call) = 0;
  // The agent info as JSON, for --json.
  virtual std::string InfoJson(const v1::AgentInfo& info) = 0;
  virtual absl::StatusOr<HealthStatus> Health(const std::string& service,
                                              const CallOptions& call) = 0;
};

class GrpcDoor final : public Door {
 public:
  explicit GrpcDoor(std::unique_ptr<AgentClient> client) : client_(std::move(client)) {}
  absl::Status Stream(const std::string& question, const CallOptions& call,
                      const DataCallback& on_data) override {
    return client_->Stream(TextRequest(question), call, [&](const v1::StreamEvent& event) {
      return on_data(event.type(), event.json());
    });
  }
  absl::StatusOr<v1::AgentInfo> Info(const CallOptions& call) override {
    return client_->GetAgentInfo(call);
  }
  std::string InfoJson(const v1::AgentInfo& info) override {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    std::string out;
    (void)google::protobuf::util::MessageToJsonString(info, &out, options);
    return out;
  }
  absl::StatusOr<HealthStatus> Health(const std::string& service,
                                      const CallOptions& call) override {
    return client_->Health(service, call);
  }

 private:
  std::unique_ptr<AgentClient> client_;
};

class RestDoorAdapter final : public Door {
 public:
  explicit RestDoorAdapter(std::unique_ptr<RestDoor> door) : door_(std::move(door)) {}
  absl::Status Stream(const std::string& question, const CallOptions& call,
                      const DataCallback& on_data) override {
    return door_->Stream(question, call, on_data);
  }
  absl::StatusOr<v1::AgentInfo> Info(const CallOptions& call) override {
    return door_->GetAgentInfo(call);
  }
  std::string InfoJson(const v1::AgentInfo&) override { return door_->last_body(); }
  absl::StatusOr<HealthStatus> Health(const std::string&, const CallOptions& call) override {
    return door_->Health(call);
  }

 private:
  std::unique_ptr<RestDoor> door_;
};

int Fail(const absl::Status& status) {
  std::cerr << "agentctl: " << absl::StatusCodeToString(status.code()) << ": "
            << OneLine(std::string_view(status.message().data(), status.message().size()), 4096)
            << std::endl;
  return IsUnreachable(status) ? kExitUnreachable : kExitCallFailed;
}

int UsageError(std::string_view message) {
  std::cerr << "agentctl: usage: " << OneLine(message, 4096) << " (see agentctl --help)"
            << std::endl;
  return kExitUsage;
}

// "name: value" or "name=value" -> a lowercase metadata key and its value.
bool ParseHeader(const std::string& text, std::pair<std::string, std::string>* out) {
  const std::size_t colon = text.find(':');
  const std::size_t equals = text.find('=');
  const std::size_t cut = std::min(colon, equals);
  if (cut == std::string::npos || cut == 0) return false;
  out->first = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(0, cut)));
  out->second = std::string(absl::StripAsciiWhitespace(text.substr(cut + 1)));
  return !out->first.empty();
}

absl::StatusOr<std::unique_ptr<Door>> MakeDoor(const Flags& flags) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_seconds * 1000));
  if (!flags.rest.empty()) {
    RestOptions options;
    options.base_url = flags.rest;
    options.ca_file = flags.ca_file;
    options.default_timeout = timeout;
    options.max_attempts = flags.attempts;
    auto door = RestDoor::Create(std::move(options));
    if (!door.ok()) return door.status();
    return std::make_unique<RestDoorAdapter>(*std::move(door));
  }
  ClientOptions options;
  options.target = flags.target;
  options.tls.enabled = flags.tls || !flags.ca_file.empty() || !flags.cert_file.empty();
  options.tls.ca_file = flags.ca_file;
  options.tls.cert_file = flags.cert_file;
  options.tls.key_file = flags.key_file;
  options.default_timeout = timeout;
  options.max_attempts = flags.attempts;
  auto client = AgentClient::Create(std::move(options));
  if (!client.ok()) return client.status();
  return std::make_unique<GrpcDoor>(*std::move(client));
}

int RunInvoke(Door& door, const Flags& flags, const CallOptions& call) {
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  PrinterOptions printer_options;
  printer_options.json = flags.json;
  printer_options.color = ::isatty(STDERR_FILENO) == 1 && (no_color == nullptr || *no_color == 0) &&
                          !(term != nullptr && std::string_view(term) == "dumb");
  EventPrinter printer(std::cout, std::cerr, printer_options);
  const std::string question = absl::StrJoin(flags.question, " ");
  absl::Status status = door.Stream(question, call, [&](std::string_view type, std::string_view json) {
    printer.OnEvent(type, json);
    return true;
  });
  printer.Finish();
  if (!status.ok()) return Fail(status);
  if (printer.AwaitsCaller()) {
    std::cerr << "agentctl: " << printer.AwaitingSummary() << std::endl;
    return kExitAwaitsCaller;
  }
  return kExitOk;
}

int RunProfiles(Door& door, const Flags& flags, const CallOptions& call) {
  absl::StatusOr<v1::AgentInfo> info = door.Info(call);
  if (!info.ok()) return Fail(info.status());
  if (flags.json) {
    std::cout << door.InfoJson(*info) << std::endl;
    return kExitOk;
  }
  std::cout << (info->name().empty() ? "agent" : info->name())
            << (info->version().empty() ? "" : " " + info->version()) << ", agent_api "
            << (info->agent_api().empty() ? "responses" : info->agent_api()) << "\n";
  std::size_t name_width = 7, model_width = 5;  // the headers' widths
  for (const v1::ProfileInfo& p : info->profiles()) {
    name_width = std::max(name_width, p.name().size());
    model_width = std::max(model_width, p.model().size());
  }
  auto pad = [](const std::string& s, std::size_t width) {
    return s + std::string(width > s.size() ? width - s.size() : 0, ' ');
  };
  std::cout << "  " << pad("PROFILE", name_width) << "  " << pad("MODEL", model_width)
            << "  AUTH  TOOLS\n";
  for (const v1::ProfileInfo& p : info->profiles()) {
    const bool is_default = p.name() == info->default_profile();
    std::string tools = absl::StrJoin(p.tool_types(), ", ");
    std::cout << (is_default ? "* " : "  ") << pad(p.name(), name_width) << "  "
              << pad(p.model(), model_width) << "  " << pad(p.auth(), 4) << "  "
              << (tools.empty() ? "-" : tools);
    if (!p.allowed_models().empty()) {
      std::cout << "  (models: " << absl::StrJoin(p.allowed_models(), ", ") << ")";
    }
    std::cout << "\n";
  }
  std::cout << "* default profile" << std::endl;
  return kExitOk;
}

int RunHealth(Door& door, const Flags& flags, const CallOptions& call) {
  absl::StatusOr<HealthStatus> health = door.Health(flags.service, call);
  if (!health.ok()) return Fail(health.status());
  if (flags.json) {
    std::cout << "{\"status\":\"" << HealthStatusName(*health) << "\"}" << std::endl;
  } else {
    std::cout << HealthStatusName(*health) << std::endl;
  }
  return *health == HealthStatus::kServing ? kExitOk : kExitCallFailed;
}

}  // namespace

// gRPC core logs some failures itself (a TLS handshake that failed, ...), on stderr, in its
// own format; agentctl reports each failure once, as one line. GRPC_VERBOSITY brings them back.
namespace {
void QuietGrpcLogs(gpr_log_func_args*) {}
}  // namespace

int AgentctlMain(int argc, char** argv) {
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(QuietGrpcLogs);
  Flags flags;
  CLI::App app{"agentctl: a command-line client of agent-gateway (gRPC AgentService or the REST door)"};
  app.name("agentctl");
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  app.fallthrough();  // connection flags may follow the subcommand too
  app.add_option("--target", flags.target, "gateway gRPC address HOST:PORT")
      ->envname("AGENTCTL_TARGET")
      ->capture_default_str();
  app.add_option("--rest", flags.rest, "use the REST door at this base URL instead (http(s)://HOST:PORT)")
      ->envname("AGENTCTL_REST");
  app.add_flag("--tls", flags.tls, "gRPC over TLS (implied by --ca, --cert)");
  app.add_option("--ca", flags.ca_file, "trust roots (PEM) for TLS, either door")->check(CLI::ExistingFile);
  auto* cert = app.add_option("--cert", flags.cert_file, "client certificate (PEM) for mutual TLS (gRPC)")
                   ->check(CLI::ExistingFile);
  auto* key = app.add_option("--key", flags.key_file, "its private key (PEM)")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  app.add_option("--timeout", flags.timeout_seconds, "deadline of the call in seconds (default: none)")
      ->check(CLI::PositiveNumber);
  app.add_option("--attempts", flags.attempts,
                 "attempts when the gateway cannot be reached (or is unavailable before the first event)")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  app.add_flag("--json", flags.json, "print raw JSON: each event on its own line");
  app.add_option("--user-token", flags.user_token,
                 "the user's token, sent as X-Forwarded-Access-Token (profiles with auth: user)")
      ->envname("AGENTCTL_USER_TOKEN");
  app.add_option("--user", flags.user, "sent as X-Forwarded-User");
  app.add_option("--email", flags.email, "sent as X-Forwarded-Email");
  app.add_option("--request-id", flags.request_id, "sent as X-Request-Id");
  app.add_option("--traceparent", flags.traceparent, "W3C traceparent to join");
  app.add_option("-H,--header", flags.headers, "extra metadata / header 'name: value' (repeatable)");

  CLI::App* invoke = app.add_subcommand("invoke", "ask the agent; stream the answer to the terminal");
  invoke->add_option("--profile", flags.profile, "agent profile (default: the gateway's default)");
  invoke->add_option("question", flags.question, "the question (several words are joined)")
      ->required();
  CLI::App* health = app.add_subcommand("health", "check readiness (grpc.health.v1 or GET /health)");
  health->add_option("--service", flags.service, "gRPC service name to check (default: the server)");
  CLI::App* profiles = app.add_subcommand("profiles", "list the agent profiles the gateway serves");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }

  CallOptions call;
  call.profile = flags.profile;
  call.user_token = flags.user_token;
  call.forwarded_user = flags.user;
  call.forwarded_email = flags.email;
  call.request_id = flags.request_id;
  call.traceparent = flags.traceparent;
  for (const std::string& header : flags.headers) {
    std::pair<std::string, std::string> entry;
    if (!ParseHeader(header, &entry)) {
      return UsageError(absl::StrCat("--header wants 'name: value', not '", header, "'"));
    }
    call.metadata.push_back(std::move(entry));
  }
  if (invoke->parsed() && absl::StrJoin(flags.question, "").empty()) {
    return UsageError("the question is empty");
  }

  absl::StatusOr<std::unique_ptr<Door>> door = MakeDoor(flags);
  if (!door.ok()) {
    return door.status().code() == absl::StatusCode::kInvalidArgument
               ? UsageError(std::string(door.status().message()))
               : Fail(door.status());
  }
  if (invoke->parsed()) return RunInvoke(**door, flags, call);
  if (health->parsed()) return RunHealth(**door, flags, call);
  if (profiles->parsed()) return RunProfiles(**door, flags, call);
  return UsageError("name a command: invoke, health or profiles");
}

}  // namespace agentgateway::client
