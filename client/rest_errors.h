// How the REST door's failures read, as absl statuses: the one HTTP status -> code table (the
// inverse of the gateway's), the message of an error body, and the HTTP pool's transport
// failures worded with the gateway as the peer. Internal to client/.
#ifndef AGENTGATEWAY_CLIENT_REST_ERRORS_H_
#define AGENTGATEWAY_CLIENT_REST_ERRORS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace agentgateway::client {

absl::StatusCode CodeFromHttpStatus(int http_status);

// The message of an error body: {"detail": ...} (/invocations), {"error": {"message": ...}}
// (OpenAI shape), {"error": "..."}; else the body itself, on one line.
std::string ErrorMessage(std::string_view body);

// A non-2xx answer: its code, its message and "(HTTP N)".
absl::Status HttpError(int http_status, std::string_view body);

// A failure of the HTTP pool before or while reading an answer from `base_url`. When nothing
// reached the gateway (connect or TLS handshake failed) it is UNAVAILABLE "cannot reach the
// gateway", marked with MarkUnreachable().
absl::Status TransportError(const absl::Status& status, bool head_received,
                            const std::string& base_url);

}  // namespace agentgateway::client

#endif  // AGENTGATEWAY_CLIENT_REST_ERRORS_H_
