// RunChatScript and the wire forms of its turn: the emulator's deterministic stand-in for a
// tool-calling chat model.
#include "boost/json/serialize.hpp"
#include "tests/emulator/chat_model.h"
#include "tests/emulator/str_util.h"

namespace agentgateway::emulator {
namespace {

namespace json = boost::json;

// Tool-call arguments stream in pieces of at most this many bytes, as OpenAI's do.
constexpr std::size_t kArgumentPieceBytes = 16;

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::vector<std::string> ToolsToCall(const ChatRequest& request) {
  std::vector<std::string> out;
  if (request.tool_choice == "none" || request.tools.empty()) return out;
  if (request.loop) return {request.tools.front()};
  if (request.tool_choice == "function") {
    if (!Contains(request.called, request.forced_tool)) out.push_back(request.forced_tool);
    return out;
  }
  std::string question = ToLower(request.question);
  for (const std::string& tool : request.tools) {
    if (question.find(ToLower(tool)) != std::string::npos && !Contains(request.called, tool)) {
      out.push_back(tool);
    }
  }
  if (out.empty() && request.tool_choice == "required" && request.called.empty()) {
    out.push_back(request.tools.front());
  }
  if (!request.parallel_tool_calls && out.size() > 1) out.resize(1);
  return out;
}

std::string AnswerText(const ChatRequest& request) {
  std::string text = Cat("You asked: \"", request.question, "\".");
  if (request.results.empty()) return Cat(text, " No tool was needed.");
  for (const auto& [name, content] : request.results) {
    Append(text, " The tool ", name.empty() ? "(unknown)" : name, " said: \"", content, "\".");
  }
  return text;
}

// Word by word, each piece keeping the spaces after it.
std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t end = text.find(' ');
    end = end == std::string_view::npos ? text.size() : text.find_first_not_of(' ', end);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return out;
}

// Pieces of at most kArgumentPieceBytes, cut only at UTF-8 character boundaries.
std::vector<std::string> SplitBytes(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t cut = std::min(kArgumentPieceBytes, text.size());
    while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) ++cut;
    out.emplace_back(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  return out;
}

json::object Usage(const ChatTurn& turn) {
  return {{"prompt_tokens", turn.prompt_tokens},
          {"completion_tokens", turn.completion_tokens},
          {"total_tokens", turn.prompt_tokens + turn.completion_tokens}};
}

class ChunkWriter {
 public:
  ChunkWriter(const ChatMeta& meta, bool include_usage, std::vector<std::string>& frames)
      : meta_(meta), include_usage_(include_usage), frames_(frames) {}

  void Delta(json::object delta, json::value finish_reason = nullptr) {
    json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr},
                        {"finish_reason", std::move(finish_reason)}};
    json::object chunk = Base();
    chunk["choices"] = json::array{std::move(choice)};
    if (include_usage_) chunk["usage"] = nullptr;
    Push(chunk);
  }
  void UsageChunk(const ChatTurn& turn) {
    json::object chunk = Base();
    chunk["choices"] = json::array();
    chunk["usage"] = Usage(turn);
    Push(chunk);
  }

 private:
  json::object Base() const {
    return {{"id", meta_.id}, {"object", "chat.completion.chunk"}, {"created", meta_.created},
            {"model", meta_.model}, {"system_fingerprint", "emulator"}};
  }
  void Push(const json::object& chunk) {
    frames_.push_back(Cat("data: ", json::serialize(chunk), "\n\n"));
  }

  const ChatMeta& meta_;
  const bool include_usage_;
  std::vector<std::string>& frames_;
};

}  // namespace

std::string ChatTurn::Text() const {
  std::string text;
  for (const std::string& d : deltas) text += d;
  return text;
}

ChatTurn RunChatScript(const ChatRequest& request, uint64_t seq) {
  ChatTurn turn;
  turn.prompt_tokens = request.prompt_tokens;
  std::vector<std::string> tools = ToolsToCall(request);
  std::string arguments = json::serialize(json::object{{"question", request.question}});
  for (std::size_t k = 0; k < tools.size(); ++k) {
    turn.calls.push_back({Cat("call_", seq, "_", k), tools[k], arguments});
    turn.completion_tokens += static_cast<int64_t>(SplitBytes(arguments).size());
  }
  if (turn.calls.empty()) {
    turn.deltas = SplitWords(AnswerText(request));
    turn.completion_tokens = static_cast<int64_t>(turn.deltas.size());
  }
  return turn;
}

std::string ChatCompletionBody(const ChatTurn& turn, const ChatMeta& meta) {
  json::object message{{"role", "assistant"}};
  if (turn.calls.empty()) {
    message["content"] = turn.Text();
  } else {
    message["content"] = nullptr;
    json::array calls;
    for (const ChatToolCall& call : turn.calls) {
      calls.push_back(json::object{
          {"id", call.id},
          {"type", "function"},
          {"function", json::object{{"name", call.name}, {"arguments", call.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  json::object choice{{"index", 0},
                      {"message", std::move(message)},
                      {"logprobs", nullptr},
                      {"finish_reason", turn.calls.empty() ? "stop" : "tool_calls"}};
  json::object body{{"id", meta.id},
                    {"object", "chat.completion"},
                    {"created", meta.created},
                    {"model", meta.model},
                    {"system_fingerprint", "emulator"},
                    {"choices", json::array{std::move(choice)}},
                    {"usage", Usage(turn)}};
  return json::serialize(body);
}

std::vector<std::string> ChatStreamFrames(const ChatTurn& turn, const ChatMeta& meta,
                                          bool include_usage) {
  std::vector<std::string> frames;
  ChunkWriter w(meta, include_usage, frames);
  if (turn.calls.empty()) {
    w.Delta({{"role", "assistant"}, {"content", ""}});
    for (const std::string& piece : turn.deltas) w.Delta({{"content", piece}});
  } else {
    w.Delta({{"role", "assistant"}, {"content", nullptr}});
    for (std::size_t k = 0; k < turn.calls.size(); ++k) {
      const ChatToolCall& call = turn.calls[k];
      json::object first{{"index", k},
                         {"id", call.id},
                         {"type", "function"},
                         {"function", json::object{{"name", call.name}, {"arguments", ""}}}};
      w.Delta({{"tool_calls", json::array{std::move(first)}}});
      for (const std::string& piece : SplitBytes(call.arguments)) {
        json::object more{{"index", k}, {"function", json::object{{"arguments", piece}}}};
        w.Delta({{"tool_calls", json::array{std::move(more)}}});
      }
    }
  }
  w.Delta({}, turn.calls.empty() ? "stop" : "tool_calls");
  if (include_usage) w.UsageChunk(turn);
  frames.push_back("data: [DONE]\n\n");
  return frames;
}

}  // namespace agentgateway::emulator
