// The one gRPC status -> HTTP translation table of the gateway, and the two error body
// shapes: {"detail": ...} on /invocations routes, OpenAI {"error": {...}} on /responses.
#ifndef AGENTGATEWAY_GATEWAY_STATUS_MAPPING_H_
#define AGENTGATEWAY_GATEWAY_STATUS_MAPPING_H_

#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "gateway/http_types.h"

namespace agentgateway::gateway {

// Which front door a request came through; picks error shapes and SSE framing.
enum class ApiFlavor { kInvocations, kResponses };

int HttpStatusFromGrpc(grpc::StatusCode code);

// Lowercase gRPC code name: "invalid_argument", "unavailable", ...
std::string_view GrpcCodeName(grpc::StatusCode code);

// OpenAI error `type` for an HTTP status: invalid_request_error, authentication_error, ...
std::string_view OpenAiErrorType(int http_status);

// A JSON error response of the route's shape. `code` is the OpenAI `code` (ignored for
// kInvocations).
HttpResponse MakeErrorResponse(ApiFlavor flavor, int http_status, std::string_view message,
                               std::string_view code);

// The error response for a failed RPC; sets Retry-After when `retry_after` is non-empty.
HttpResponse ErrorResponseFromStatus(ApiFlavor flavor, const grpc::Status& status,
                                     std::string_view retry_after = {});

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_STATUS_MAPPING_H_
