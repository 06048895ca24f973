// Lossless mapping between the REST /invocations body (protocol.md section 3) and
// agentgateway::v1::InvokeRequest. No sockets, no gRPC calls: pure functions.
//
// Each `input` item, `custom_inputs`, `context` and every tolerated top-level field travel as
// the caller's exact JSON text; Boost.JSON only validates and reads the typed mirrors.
#ifndef AGENTGATEWAY_GATEWAY_INVOCATIONS_MAPPING_H_
#define AGENTGATEWAY_GATEWAY_INVOCATIONS_MAPPING_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "agentgateway/v1/agent_service.pb.h"

namespace agentgateway::gateway {

struct ParsedInvocation {
  agentgateway::v1::InvokeRequest request;
  bool stream = false;  // the body's "stream" (picks the Stream RPC over Invoke)
  bool return_trace = false;  // databricks_options.return_trace: true
};

// Parses and validates a /invocations (or /responses) body. Errors are INVALID_ARGUMENT
// with a message naming the problem precisely (sent to the caller as HTTP 400).
// `profile` fills InvokeRequest.profile (empty: the configured default).
absl::StatusOr<ParsedInvocation> ParseInvocationBody(std::string_view body,
                                                     std::string_view profile = {});

// Rebuilds the /invocations body from `request` (items byte-identical when their `json` is
// set; typed-only items are built from role/text). `stream` adds "stream": true|false.
std::string InvokeRequestToJson(const agentgateway::v1::InvokeRequest& request, bool stream);

// Inserts `"custom_outputs": <custom_outputs_json>` (or `{}` when empty) into the JSON object
// text `response_json` without re-serialising it; replaces nothing (an existing top-level
// custom_outputs is left as is). Non-object text is returned unchanged.
std::string AddCustomOutputs(std::string_view response_json, std::string_view custom_outputs_json);

// Adds `"trace_id": <trace_id>` to the response object's `metadata` (created when absent or
// null) without re-serialising anything else; an existing metadata.trace_id is kept.
// Non-object text is returned unchanged.
std::string AddTraceId(std::string_view response_json, std::string_view trace_id);

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_INVOCATIONS_MAPPING_H_
