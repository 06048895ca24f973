// W3C trace context (traceparent) for calls: validate a caller's, or start a new trace.
// Shared by the REST door (which must know the trace id to return it) and the gRPC service
// (for direct gRPC callers). No gRPC or Asio here.
#ifndef AGENTGATEWAY_SERVER_TRACE_CONTEXT_H_
#define AGENTGATEWAY_SERVER_TRACE_CONTEXT_H_

#include <string>
#include <string_view>

namespace agentgateway {

// "<2 hex version>-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lowercase; version
// ff, an all-zero trace id or parent id are invalid; versions above 00 may carry more fields.
bool IsValidTraceparent(std::string_view traceparent);

// A new trace: version 00, random trace and parent ids, sampled.
std::string NewTraceparent();

// The 32-hex trace id of a valid traceparent.
inline std::string_view TraceIdOf(std::string_view traceparent) { return traceparent.substr(3, 32); }

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_TRACE_CONTEXT_H_
