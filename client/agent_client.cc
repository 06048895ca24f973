#include "client/agent_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "client/retry.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace agentgateway::client {
namespace {

constexpr char kUnreachablePayload[] = "type.agentgateway.dev/client.unreachable";

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " '", path, "'"));
  }
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const TlsOptions& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate needs its key, and a key its certificate");
  }
  grpc::SslCredentialsOptions ssl;
  if (!tls.ca_file.empty()) {
    auto ca = ReadFile(tls.ca_file, "CA file");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!tls.cert_file.empty()) {
    auto cert = ReadFile(tls.cert_file, "client certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(tls.key_file, "client key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// gRPC refuses metadata it cannot send (it would fail the call with a vague INTERNAL): say
// which entry is wrong before anything is sent.
absl::Status CheckMetadata(const Metadata& metadata) {
  for (const auto& [key, value] : metadata) {
    const bool key_ok = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_' || c == '.';
    });
    if (!key_ok || key.starts_with("grpc-") || key.ends_with("-bin")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata key '", key, "' is not allowed (lowercase letters, digits, '-', '_', '.'; "
          "not grpc-*, not *-bin)"));
    }
    const bool value_ok = std::all_of(value.begin(), value.end(), [](char c) {
      return c >= 0x20 && c <= 0x7e;
    });
    if (!value_ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("metadata '", key, "' must be printable ASCII"));
    }
  }
  return absl::OkStatus();
}

// The call never reached the gateway: gRPC could not connect (refused, no route, DNS, TLS
// handshake). A gateway that answered UNAVAILABLE itself leaves the channel READY, and a
// connection lost mid-call says so in other words.
bool IsConnectFailure(const grpc::Status& status, grpc::Channel& channel) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  if (channel.GetState(false) == GRPC_CHANNEL_READY) return false;
  const std::string message = absl::AsciiStrToLower(status.error_message());
  return absl::StrContains(message, "failed to connect") ||
         absl::StrContains(message, "dns resolution failed") ||
         absl::StrContains(message, "handshake");
}

void FillReport(grpc::ClientContext& context, int attempt, CallReport& report) {
  report.attempts = attempt;
  report.trailers.clear();
  report.trace_id.clear();
  for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
    report.trailers.emplace_back(std::string(key.data(), key.size()),
                                 std::string(value.data(), value.size()));
    if (key == "x-trace-id") report.trace_id = std::string(value.data(), value.size());
  }
}

enum class RetryRule {
  kUnreachableOnly,   // Invoke: the gateway may have run tools before its UNAVAILABLE
  kAnyUnavailable,    // reads, and Stream until its first event (the attempt says so)
};

}  // namespace

struct AgentClient::Impl {
  // An attempt's outcome as the caller should read it: the gateway's own status, a deadline
  // that names its length (`timeout`, when the call had one), or "cannot reach".
  absl::Status Describe(const grpc::Status& result, bool unreachable,
                        std::chrono::milliseconds timeout) const;

  ClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AgentService::Stub> stub;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;

  // One attempt: runs the RPC on `context`; clears `may_retry` once retrying is unsafe.
  using Attempt = std::function<grpc::Status(grpc::ClientContext& context, bool& may_retry)>;

  absl::Status Run(const CallOptions& call, RetryRule rule, CallReport* report,
                   const Attempt& attempt_fn);
  void Prepare(grpc::ClientContext& context, const CallOptions& call,
               std::optional<std::chrono::system_clock::time_point> deadline);
};

void AgentClient::Impl::Prepare(grpc::ClientContext& context, const CallOptions& call,
                                std::optional<std::chrono::system_clock::time_point> deadline) {
  if (deadline.has_value()) context.set_deadline(*deadline);
  const std::pair<const char*, const std::string*> named[] = {
      {"x-forwarded-access-token", &call.user_token},
      {"x-forwarded-user", &call.forwarded_user},
      {"x-forwarded-email", &call.forwarded_email},
      {"x-request-id", &call.request_id},
      {"traceparent", &call.traceparent}};
  for (const auto& [key, value] : named) {
    if (!value->empty()) context.AddMetadata(key, *value);
  }
  for (const auto& [key, value] : call.metadata) context.AddMetadata(key, value);
}

absl::Status AgentClient::Impl::Describe(const grpc::Status& result, bool unreachable,
                                         std::chrono::milliseconds timeout) const {
  if (unreachable) {
    return MarkUnreachable(absl::UnavailableError(absl::StrCat(
        "cannot reach the gateway at ", options.target, ": ", result.error_message())));
  }
  if (result.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && timeout.count() > 0) {
    return absl::DeadlineExceededError(
        absl::StrCat(result.error_message(), " (the call's deadline of ",
                     absl::FormatDuration(absl::FromChrono(timeout)), " passed)"));
  }
  return FromGrpc(result);
}

absl::Status AgentClient::Impl::Run(const CallOptions& call, RetryRule rule, CallReport* report,
                                    const Attempt& attempt_fn) {
  if (absl::Status s = CheckMetadata(call.metadata); !s.ok()) return s;
  if (absl::Status s = CheckMetadata({{"x-forwarded-access-token", call.user_token},
                                      {"x-forwarded-user", call.forwarded_user},
                                      {"x-forwarded-email", call.forwarded_email},
                                      {"x-request-id", call.request_id},
                                      {"traceparent", call.traceparent}});
      !s.ok()) {
    return s;
  }
  std::optional<std::chrono::system_clock::time_point> deadline;
  const std::chrono::milliseconds timeout = call.timeout.value_or(options.default_timeout);
  if (timeout.count() > 0) deadline = std::chrono::system_clock::now() + timeout;

  Backoff backoff(options.initial_backoff, options.max_backoff);
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    Prepare(context, call, deadline);
    bool may_retry = true;
    const grpc::Status result = attempt_fn(context, may_retry);
    const bool unreachable = may_retry && IsConnectFailure(result, *channel);
    const absl::Status status = Describe(result, unreachable, timeout);
    if (report != nullptr) FillReport(context, attempt, *report);
    if (result.error_code() != grpc::StatusCode::UNAVAILABLE) return WithAttempts(status, attempt);
    const bool retryable = may_retry && (rule == RetryRule::kAnyUnavailable || unreachable);
    if (!retryable || attempt >= options.max_attempts) return WithAttempts(status, attempt);
    const std::chrono::milliseconds wait = backoff.Next();
    if (deadline.has_value() && std::chrono::system_clock::now() + wait >= *deadline) {
      return WithAttempts(status, attempt);
    }
    if (options.on_retry) options.on_retry(attempt, status);
    if (unreachable) {
      // The channel reconnects on the same backoff; a fail-fast call made while it still sits
      // in TRANSIENT_FAILURE would fail at once, so wait for it to connect (at most `wait`).
      channel->WaitForConnected(std::chrono::system_clock::now() + wait);
    } else {
      std::this_thread::sleep_for(wait);  // a blocking API: the caller's thread waits it out
    }
  }
}

absl::StatusOr<std::unique_ptr<AgentClient>> AgentClient::Create(ClientOptions options) {
  if (options.target.empty()) return absl::InvalidArgumentError("the gateway target is empty");
  if (options.max_attempts < 1) options.max_attempts = 1;
  if (options.initial_backoff.count() < 1) options.initial_backoff = std::chrono::milliseconds(1);
  options.max_backoff = std::max(options.max_backoff, options.initial_backoff);
  auto credentials = Credentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  // Reconnect on the client's own backoff: gRPC's default (1 s, growing to 120 s) would make
  // every retry of a fail-fast call fail at once while the channel waits to reconnect.
  const int initial = static_cast<int>(options.initial_backoff.count());
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, initial);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(options.max_backoff.count()));
  auto impl = std::make_unique<Impl>();
  impl->channel = grpc::CreateCustomChannel(options.target, *credentials, args);
  impl->stub = v1::AgentService::NewStub(impl->channel);
  impl->health = grpc::health::v1::Health::NewStub(impl->channel);
  impl->options = std::move(options);
  return std::unique_ptr<AgentClient>(new AgentClient(std::move(impl)));
}

AgentClient::AgentClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AgentClient::~AgentClient() = default;

const std::string& AgentClient::target() const { return impl_->options.target; }

absl::StatusOr<v1::InvokeResponse> AgentClient::Invoke(const v1::InvokeRequest& request,
                                                       const CallOptions& options,
                                                       CallReport* report) {
  v1::InvokeRequest with_profile;
  const v1::InvokeRequest* sent = &request;
  if (!options.profile.empty()) {
    with_profile = request;
    with_profile.set_profile(options.profile);
    sent = &with_profile;
  }
  v1::InvokeResponse response;
  absl::Status status = impl_->Run(options, RetryRule::kUnreachableOnly, report,
                                   [&](grpc::ClientContext& context, bool&) {
                                     response.Clear();
                                     return impl_->stub->Invoke(&context, *sent, &response);
                                   });
  if (!status.ok()) return status;
  return response;
}

absl::Status AgentClient::Stream(const v1::InvokeRequest& request, const CallOptions& options,
                                 const EventCallback& on_event, CallReport* report) {
  v1::InvokeRequest with_profile;
  const v1::InvokeRequest* sent = &request;
  if (!options.profile.empty()) {
    with_profile = request;
    with_profile.set_profile(options.profile);
    sent = &with_profile;
  }
  bool stopped = false;
  absl::Status status = impl_->Run(
      options, RetryRule::kAnyUnavailable, report,
      [&](grpc::ClientContext& context, bool& may_retry) {
        std::unique_ptr<grpc::ClientReader<v1::StreamEvent>> reader =
            impl_->stub->Stream(&context, *sent);
        v1::StreamEvent event;
        while (reader->Read(&event)) {
          may_retry = false;  // the caller saw part of the answer: tools may have run
          if (!on_event(event)) {
            stopped = true;
            context.TryCancel();
            while (reader->Read(&event)) {
            }
            break;
          }
        }
        return reader->Finish();
      });
  if (stopped) return absl::CancelledError("stream stopped by the caller");
  return status;
}

absl::StatusOr<v1::InvokeResponse> AgentClient::GetResponse(const std::string& id,
                                                            const CallOptions& options,
                                                            CallReport* report) {
  v1::GetResponseRequest request;
  request.set_id(id);
  request.set_profile(options.profile);
  v1::InvokeResponse response;
  absl::Status status = impl_->Run(options, RetryRule::kAnyUnavailable, report,
                                   [&](grpc::ClientContext& context, bool&) {
                                     response.Clear();
                                     return impl_->stub->GetResponse(&context, request, &response);
                                   });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::AgentInfo> AgentClient::GetAgentInfo(const CallOptions& options) {
  v1::AgentInfo info;
  absl::Status status = impl_->Run(options, RetryRule::kAnyUnavailable, nullptr,
                                   [&](grpc::ClientContext& context, bool&) {
                                     info.Clear();
                                     return impl_->stub->GetAgentInfo(
                                         &context, v1::GetAgentInfoRequest(), &info);
                                   });
  if (!status.ok()) return status;
  return info;
}

absl::StatusOr<HealthStatus> AgentClient::Health(const std::string& service,
                                                 const CallOptions& options) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  absl::Status status = impl_->Run(options, RetryRule::kAnyUnavailable, nullptr,
                                   [&](grpc::ClientContext& context, bool&) {
                                     response.Clear();
                                     return impl_->health->Check(&context, request, &response);
                                   });
  if (!status.ok()) return status;
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return HealthStatus::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return HealthStatus::kNotServing;
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return HealthStatus::kServiceUnknown;
    default:
      return HealthStatus::kUnknown;
  }
}

std::string_view HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kServing:
      return "SERVING";
    case HealthStatus::kNotServing:
      return "NOT_SERVING";
    case HealthStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    case HealthStatus::kUnknown:
      break;
  }
  return "UNKNOWN";
}

bool IsUnreachable(const absl::Status& status) {
  return status.GetPayload(kUnreachablePayload).has_value();
}

absl::Status MarkUnreachable(absl::Status status) {
  status.SetPayload(kUnreachablePayload, absl::Cord("1"));
  return status;
}

v1::InvokeRequest TextRequest(std::string_view question, std::string_view profile) {
  v1::InvokeRequest request;
  request.set_profile(std::string(profile));
  v1::InputItem* item = request.add_input();
  item->set_type(v1::ITEM_TYPE_MESSAGE);
  item->set_role("user");
  item->set_text(std::string(question));
  return request;
}

}  // namespace agentgateway::client
