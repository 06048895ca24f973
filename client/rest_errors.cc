#include "client/rest_errors.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client/agent_client.h"
#include "client/event_printer.h"
#include "client/json_fields.h"
#include "server/upstream/error_mapping.h"

namespace agentgateway::client {
namespace {

// The pool names its peer "upstream" (it was written for the gateway's side); here the peer
// is the gateway.
std::string AsGatewayPeer(absl::string_view message) {
  return absl::StrReplaceAll(message, {{"the upstream call to ", "the call to "},
                                       {"upstream ", ""}});
}

// Nothing reached the gateway: the pool could not connect, or the TLS handshake failed (the
// pool marks the first; the second it words "TLS handshake with HOST failed: ...").
bool NeverReachedTheGateway(const absl::Status& status) {
  return upstream::IsConnectFailure(status) ||
         (status.code() == absl::StatusCode::kUnavailable &&
          absl::StartsWith(status.message(), "TLS handshake with "));
}

}  // namespace

absl::StatusCode CodeFromHttpStatus(int http_status) {
  switch (http_status) {
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 405: return absl::StatusCode::kUnimplemented;
    case 408: return absl::StatusCode::kDeadlineExceeded;
    case 409: return absl::StatusCode::kAborted;
    case 413: return absl::StatusCode::kInvalidArgument;
    case 429: return absl::StatusCode::kResourceExhausted;
    case 499: return absl::StatusCode::kCancelled;
    case 501: return absl::StatusCode::kUnimplemented;
    case 502: return absl::StatusCode::kUnavailable;
    case 503: return absl::StatusCode::kUnavailable;
    case 504: return absl::StatusCode::kDeadlineExceeded;
    default: break;
  }
  if (http_status >= 400 && http_status < 500) return absl::StatusCode::kFailedPrecondition;
  return absl::StatusCode::kUnknown;
}

std::string ErrorMessage(std::string_view body) {
  boost::json::object o = ParseObject(body);
  if (std::string detail = StringField(o, "detail"); !detail.empty()) return detail;
  if (const boost::json::value* error = o.if_contains("error"); error != nullptr) {
    if (error->is_string()) return std::string(error->as_string());
    if (error->is_object()) {
      if (std::string m = StringField(error->as_object(), "message"); !m.empty()) return m;
    }
  }
  return body.empty() ? std::string("(empty body)") : OneLine(body, 200);
}

absl::Status HttpError(int http_status, std::string_view body) {
  return absl::Status(CodeFromHttpStatus(http_status),
                      absl::StrCat(ErrorMessage(body), " (HTTP ", http_status, ")"));
}

absl::Status TransportError(const absl::Status& status, bool head_received,
                            const std::string& base_url) {
  if (!head_received && NeverReachedTheGateway(status)) {
    return MarkUnreachable(absl::UnavailableError(absl::StrCat(
        "cannot reach the gateway at ", base_url, ": ", AsGatewayPeer(status.message()))));
  }
  return absl::Status(status.code(), AsGatewayPeer(status.message()));
}

}  // namespace agentgateway::client
