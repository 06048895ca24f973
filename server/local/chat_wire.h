// The Chat Completions wire forms the local engine's model client speaks (OpenAI-compatible:
// Databricks `/serving-endpoints/chat/completions`, any `.../v1/chat/completions`): the
// request body, the non-stream `chat.completion` answer, and the assembled result of a turn.
//
// Plain data and pure functions: no I/O, no threads. The streamed form is in chat_stream.h.
#ifndef AGENTGATEWAY_SERVER_LOCAL_CHAT_WIRE_H_
#define AGENTGATEWAY_SERVER_LOCAL_CHAT_WIRE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace agentgateway::local {

// One function call the model asked for (or, in history, asked for earlier).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text of an object, as the model produced it
};

struct ChatMessage {
  std::string role;                    // "system" | "developer" | "user" | "assistant" | "tool"
  std::optional<std::string> content;  // null for an assistant message with only tool calls
  std::vector<ToolCall> tool_calls;    // assistant only
  std::string tool_call_id;            // tool only: the call this message answers

  static ChatMessage System(std::string text);
  static ChatMessage User(std::string text);
  static ChatMessage Assistant(std::optional<std::string> text, std::vector<ToolCall> calls = {});
  static ChatMessage ToolResult(std::string call_id, std::string text);
};

// A function the model may call; sent as {type:"function", function:{name, description,
// parameters}}.
struct FunctionTool {
  std::string name;
  std::string description;     // omitted when empty
  std::string parameters_json; // JSON Schema object as text; empty: omitted
};

struct ChatRequest {
  std::string model;  // the serving endpoint's name on Databricks
  std::vector<ChatMessage> messages;
  std::vector<FunctionTool> tools;
  std::optional<bool> parallel_tool_calls;  // sent only with tools
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  bool stream = true;  // adds stream_options {include_usage: true}
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
};

// What one model turn produced.
struct ChatResult {
  std::string id;
  std::string model;
  std::string text;                 // the assistant text (all deltas joined)
  std::vector<ToolCall> tool_calls; // in index order; arguments checked to be JSON objects
  std::string finish_reason;        // "stop", "tool_calls", "length", "content_filter", ...
  std::optional<Usage> usage;
};

// The request body. INVALID_ARGUMENT when a tool's parameters or a history tool call's
// arguments are not valid JSON (they are embedded as JSON, not as strings).
absl::StatusOr<std::string> BuildChatRequestBody(const ChatRequest& request);

// A non-stream `chat.completion` body. INTERNAL for a body that is not one (with a short
// reason); a body holding an `error` object gives that error's message (UNAVAILABLE).
absl::StatusOr<ChatResult> ParseChatCompletion(std::string_view body);

// OK when `arguments` is a JSON object (an empty string counts as "{}"); else INTERNAL naming
// the call. Shared by both paths.
absl::Status CheckToolCallArguments(const ToolCall& call);

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_CHAT_WIRE_H_
