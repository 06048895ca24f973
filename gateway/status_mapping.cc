#include "gateway/status_mapping.h"

#include "gateway/text.h"
#include "gateway/json_span.h"

namespace agentgateway::gateway {

int HttpStatusFromGrpc(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return 200;
    case grpc::StatusCode::INVALID_ARGUMENT: return 400;
    case grpc::StatusCode::FAILED_PRECONDITION: return 400;
    case grpc::StatusCode::OUT_OF_RANGE: return 400;
    case grpc::StatusCode::UNAUTHENTICATED: return 401;
    case grpc::StatusCode::PERMISSION_DENIED: return 403;
    case grpc::StatusCode::NOT_FOUND: return 404;
    case grpc::StatusCode::ALREADY_EXISTS: return 409;
    case grpc::StatusCode::ABORTED: return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return 429;
    case grpc::StatusCode::UNIMPLEMENTED: return 501;
    // CANCELLED reaches a caller only when the service gave up on its own (a caller that went
    // away never reads the answer): tell it to try again.
    case grpc::StatusCode::CANCELLED: return 503;
    case grpc::StatusCode::UNAVAILABLE: return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return 504;
    default: return 500;
  }
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "ok";
    case grpc::StatusCode::CANCELLED: return "cancelled";
    case grpc::StatusCode::UNKNOWN: return "unknown";
    case grpc::StatusCode::INVALID_ARGUMENT: return "invalid_argument";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "deadline_exceeded";
    case grpc::StatusCode::NOT_FOUND: return "not_found";
    case grpc::StatusCode::ALREADY_EXISTS: return "already_exists";
    case grpc::StatusCode::PERMISSION_DENIED: return "permission_denied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "resource_exhausted";
    case grpc::StatusCode::FAILED_PRECONDITION: return "failed_precondition";
    case grpc::StatusCode::ABORTED: return "aborted";
    case grpc::StatusCode::OUT_OF_RANGE: return "out_of_range";
    case grpc::StatusCode::UNIMPLEMENTED: return "unimplemented";
    case grpc::StatusCode::INTERNAL: return "internal";
    case grpc::StatusCode::UNAVAILABLE: return "unavailable";
    case grpc::StatusCode::DATA_LOSS: return "data_loss";
    case grpc::StatusCode::UNAUTHENTICATED: return "unauthenticated";
    default: return "unknown";
  }
}

std::string_view OpenAiErrorType(int http_status) {
  switch (http_status) {
    case 400: case 405: case 413: case 431: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 409: return "conflict_error";
    case 429: return "rate_limit_error";
    default: return http_status >= 500 ? "server_error" : "invalid_request_error";
  }
}

HttpResponse MakeErrorResponse(ApiFlavor flavor, int http_status, std::string_view message,
                               std::string_view code) {
  HttpResponse response;
  response.status = http_status;
  response.SetHeader("content-type", "application/json");
  if (flavor == ApiFlavor::kInvocations) {
    response.body = Cat("{\"detail\":", json_span::Quote(message), "}");
  } else {
    response.body = Cat(
        "{\"error\":{\"message\":", json_span::Quote(message), ",\"type\":",
        json_span::Quote(OpenAiErrorType(http_status)), ",\"param\":null,\"code\":",
        code.empty() ? std::string("null") : json_span::Quote(code), "}}");
  }
  return response;
}

HttpResponse ErrorResponseFromStatus(ApiFlavor flavor, const grpc::Status& status,
                                     std::string_view retry_after) {
  HttpResponse response =
      MakeErrorResponse(flavor, HttpStatusFromGrpc(status.error_code()), status.error_message(),
                        GrpcCodeName(status.error_code()));
  if (!retry_after.empty()) response.SetHeader("retry-after", std::string(retry_after));
  return response;
}

}  // namespace agentgateway::gateway
