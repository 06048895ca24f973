// The emulator's OpenAI-compatible Chat Completions model: request validation and a
// deterministic script that calls tools (in parallel) and answers from their results.
//
// ParseChatRequest checks a POST .../chat/completions body the way an OpenAI-compatible server
// does; RunChatScript turns it into one assistant turn; ChatCompletionBody and ChatStreamFrames
// put that turn on the wire (a chat.completion object, or the chat.completion.chunk SSE frames
// ending with `data: [DONE]`). Plain functions with no I/O: the same request and seq always give
// the same bytes (the `created` time aside).
#ifndef AGENTGATEWAY_TESTS_EMULATOR_CHAT_MODEL_H_
#define AGENTGATEWAY_TESTS_EMULATOR_CHAT_MODEL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgateway::emulator {

struct ChatRequest {
  std::string model;
  bool stream = false;
  bool include_usage = false;      // stream_options.include_usage
  std::vector<std::string> tools;  // function tool names, in request order
  std::string tool_choice = "auto";  // "auto", "none", "required" or "function"
  std::string forced_tool;           // tool_choice "function": its name
  bool parallel_tool_calls = true;
  std::string question;  // text of the last user message
  // After the question: the tools the assistant already called (by name, in order) and the
  // tool results as (tool name, content).
  std::vector<std::string> called;
  std::vector<std::pair<std::string, std::string>> results;
  bool loop = false;     // "[[loop]]" in the question
  std::string fault;     // "[[fault:NAME]]" in the question; may be empty
  int64_t drip_ms = 0;   // "[[drip-ms:MS]]" in the question
  int64_t prompt_tokens = 0;  // words in every message, a stand-in for a tokenizer
};

// INVALID_ARGUMENT with an OpenAI-style message; `param` names the offending field ("" when
// the body as a whole is wrong).
absl::StatusOr<ChatRequest> ParseChatRequest(std::string_view body, std::string& param);

struct ChatToolCall {
  std::string id;  // "call_<seq>_<k>"
  std::string name;
  std::string arguments;  // JSON text
};

struct ChatTurn {
  std::vector<ChatToolCall> calls;  // non-empty: finish_reason "tool_calls", no text
  std::vector<std::string> deltas;  // the answer text in stream pieces (one per word)
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string Text() const;
};

ChatTurn RunChatScript(const ChatRequest& request, uint64_t seq);

struct ChatMeta {
  std::string id;  // "chatcmpl-<seq>"
  std::string model;
  int64_t created = 0;
};

std::string ChatCompletionBody(const ChatTurn& turn, const ChatMeta& meta);
// `data: <chunk>\n\n` frames, one per delta, then `data: [DONE]\n\n`.
std::vector<std::string> ChatStreamFrames(const ChatTurn& turn, const ChatMeta& meta,
                                          bool include_usage);

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_CHAT_MODEL_H_
