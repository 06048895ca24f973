#include "server/call_log.h"

#include "server/logging.h"
#include "server/metrics.h"

namespace agentgateway {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",        "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN";
}

}  // namespace

void LogCall(const CallInfo& info, const grpc::Status& status, std::int64_t events) {
  const auto duration = std::chrono::steady_clock::now() - info.start;
  double ms = std::chrono::duration<double, std::milli>(duration).count();
  const std::string code = CodeName(status.error_code());
  Metrics::Get().CallEnded(info.rpc, info.profile, code, duration);
  LogFields fields = {{"rpc", info.rpc},
                      {"route", info.route.empty() ? std::string("grpc") : info.route},
                      {"request_id", info.request_id},
                      {"trace_id", info.trace_id},
                      {"profile", info.profile},
                      {"auth", info.auth},
                      {"user", info.user},
                      {"code", code},
                      {"duration_ms", ms},
                      {"retries", static_cast<std::int64_t>(info.retries ? info.retries->load() : 0)}};
  if (info.first_event_ms >= 0) fields.emplace_back("first_event_ms", info.first_event_ms);
  if (events >= 0) fields.emplace_back("events", events);
  if (!status.ok()) fields.emplace_back("error", status.error_message());
  Log(status.ok() ? LogLevel::kInfo : LogLevel::kWarning, "call", fields);
}

}  // namespace agentgateway
