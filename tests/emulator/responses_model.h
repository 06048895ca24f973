// The emulator's request validation and its deterministic scripted "model".
//
// ParseResponsesRequest checks a POST .../responses body the way the Supervisor API does and
// extracts what the script needs. RunScript turns the request into a Turn: the output items,
// grouped in rounds (one upstream response per tool round, as the real stream shows them).
// Plain functions with no I/O: the same request always yields the same Turn for the same seq.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_RESPONSES_MODEL_H_
#define AGENTGATEWAY_TESTS_EMULATOR_RESPONSES_MODEL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/json/array.hpp"
#include "boost/json/object.hpp"

namespace agentgateway::emulator {

// One tool from the request's `tools`.
struct ToolSpec {
  std::string type;       // "genie_space", ..., "function"
  std::string ident;      // identifying name: genie id, full UC name, connection name, ...
  std::string mention;    // lowercase text whose presence in the question triggers the tool
  std::string call_name;  // function_call name: ident with '.' mangled to "__"
  bool needs_approval = false;  // uc_connection, app
  bool client_function = false; // type "function": the caller runs it
};

struct ResponsesRequest {
  boost::json::object body;
  std::string model;
  bool stream = false;
  bool background = false;
  std::vector<ToolSpec> tools;
  std::string question;  // text of the last user message
  std::string fault;     // metadata.emulator_fault or a "[[fault:NAME]]" marker; may be empty
};

// INVALID_ARGUMENT with the upstream's message when the body would be refused upstream.
absl::StatusOr<ResponsesRequest> ParseResponsesRequest(std::string_view body);

struct TurnOptions {
  uint64_t seq = 0;        // makes every id of this turn unique
  int deltas = 0;          // >0: the answer is exactly `deltas` pieces of `delta_bytes` bytes
  int delta_bytes = 16;
};

// One upstream response inside a stream: its output items, in order.
struct Round {
  boost::json::array items;
};

struct Turn {
  std::vector<Round> rounds;        // at least one
  std::vector<std::string> deltas;  // text pieces of the final message; empty if no message
  std::string message_id;           // id of the final message item, if any
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
};

Turn RunScript(const ResponsesRequest& request, const TurnOptions& options);

// Kept with the model because the script and tests agree on them.
inline constexpr std::size_t kMaxInputIdLength = 64;

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_RESPONSES_MODEL_H_
