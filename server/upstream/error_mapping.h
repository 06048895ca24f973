// The one place where upstream HTTP outcomes become absl::Status codes.
#ifndef AGENTGATEWAY_SERVER_UPSTREAM_ERROR_MAPPING_H_
#define AGENTGATEWAY_SERVER_UPSTREAM_ERROR_MAPPING_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace agentgateway::upstream {

// 401 -> UNAUTHENTICATED, 403 -> PERMISSION_DENIED, 400/422 -> INVALID_ARGUMENT,
// 404 -> NOT_FOUND, 409 -> ABORTED, 413 -> INVALID_ARGUMENT, 429 -> RESOURCE_EXHAUSTED,
// 504 -> DEADLINE_EXCEEDED, other 5xx -> UNAVAILABLE, anything else non-2xx -> UNKNOWN.
absl::StatusCode CodeForHttpStatus(int http_status);

// Builds the status for a non-2xx upstream response, preserving the upstream's own message.
// Understands the three error body shapes of protocol.md section 1:
//   {"error_code": "...", "message": "..."}   (Databricks)
//   {"error": {"message", "type", "param", "code"}}   (OpenAI)
//   {"code": "...", "message": "..."}   (e.g. oauth)
// A non-JSON body (an HTML page from a proxy) gives "upstream returned HTTP <n>" plus a short,
// tag-stripped excerpt. The message never includes request headers or tokens.
absl::Status StatusFromHttpError(int http_status, std::string_view body);

// Extracts the human message from an error JSON of any of the shapes above (or an `error`
// SSE event's data); empty when none is found.
std::string ErrorMessageFromJson(std::string_view json_text);

// UNAVAILABLE for a failure to establish the connection (resolve, TCP connect), marked so
// callers know no request byte reached the upstream: such a call is safe to retry.
absl::Status ConnectFailure(std::string message);
bool IsConnectFailure(const absl::Status& status);

}  // namespace agentgateway::upstream

#endif  // AGENTGATEWAY_SERVER_UPSTREAM_ERROR_MAPPING_H_
