// A `knowledge_assistant` hosted tool in the local loop: one call to its serving endpoint,
// `POST {host}/serving-endpoints/{endpoint}/invocations` with a Responses-shaped body
// (protocol.md section 5), as the run's identity.
//
// The model sees the tool as a function taking `{"question": string}`; the question goes to
// the endpoint as one user message and the answer's text (its `message` items' text parts)
// comes back as the tool's output. Failures never escape as errors: like an MCP tool's, they
// become an outcome with is_error and a sentence naming the failure.
//
// Asynchronous and stateless; the HttpPool is not owned and must outlive the call.
#ifndef AGENTGATEWAY_SERVER_LOCAL_SERVING_TOOL_H_
#define AGENTGATEWAY_SERVER_LOCAL_SERVING_TOOL_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/local/mcp_client.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::local {

// The parameters schema the model is given for a serving-endpoint tool.
inline constexpr char kServingToolSchema[] =
    R"({"type":"object","properties":{"question":{"type":"string",)"
    R"("description":"The question to ask, in full"}},"required":["question"]})";

struct ServingCall {
  std::string url;           // .../serving-endpoints/{endpoint}/invocations
  std::string bearer_token;  // required
  std::string tool;          // the name the model called, for messages
  std::string arguments_json;  // the model's arguments: {"question": ...}
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Starts the call; `done` runs exactly once, on a pool thread (a call refused before anything
// is sent, e.g. a bad URL, still answers through `done`, posted). The handle's Cancel() closes
// the connection and completes the call with a CANCELLED outcome; nullptr when nothing was
// sent.
std::shared_ptr<upstream::Call> CallServingEndpoint(upstream::HttpPool& pool, ServingCall call,
                                                    McpClient::OutcomeCallback done);

// The text of a Responses object's answer: the text parts of its `message` items, joined with
// newlines; INTERNAL when the body is not such an object. Exposed for tests.
absl::StatusOr<std::string> ResponsesAnswerText(std::string_view body);

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_SERVING_TOOL_H_
