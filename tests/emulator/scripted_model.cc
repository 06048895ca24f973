// RunScript: the emulator's deterministic stand-in for the Supervisor API's agent loop.
#include <map>
#include <optional>

#include "tests/emulator/str_util.h"
#include "boost/json/serialize.hpp"
#include "tests/emulator/responses_model.h"

namespace agentgateway::emulator {
namespace {

// Upstream emits ids longer than the 64 characters it accepts back; so does the emulator, so
// that clients replaying history must cut them (see protocol.md section 1).
constexpr std::size_t kLongIdLength = 72;

std::string_view Str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

std::string ItemType(const boost::json::object& item) {
  std::string_view type = Str(item, "type");
  if (type.empty() && item.contains("role")) return "message";
  return std::string(type);
}

class Script {
 public:
  Script(const ResponsesRequest& request, const TurnOptions& options)
      : request_(request), options_(options) {}

  Turn Run();

 private:
  std::string NextId(std::string_view prefix) {
    return Cat(prefix, "_", options_.seq, "_", next_item_++);
  }
  std::string LongId(std::string_view prefix) {
    std::string id = Cat(NextId(prefix), "_");
    constexpr std::string_view kPad = "0123456789abcdef";
    while (id.size() < kLongIdLength) id += kPad[id.size() % kPad.size()];
    return id;
  }
  std::string Arguments() const {
    boost::json::object args;
    args["question"] = request_.question;
    return boost::json::serialize(args);
  }
  boost::json::object FunctionCall(const ToolSpec& tool, const std::string& call_id);
  void AddToolRound(const ToolSpec& tool);
  std::optional<bool> ApprovalFor(const ToolSpec& tool) const;
  void AddMessage(std::string text);
  bool AnswerFunctionOutput();

  const ResponsesRequest& request_;
  const TurnOptions& options_;
  uint64_t next_item_ = 0;
  Turn turn_;
  std::string sentences_;
};

std::string ToolResult(const ToolSpec& tool) {
  if (tool.type == "genie_space") return Cat("Genie space ", tool.ident, " found 3 rows");
  if (tool.type == "uc_function") return Cat("Function ", tool.ident, " returned 42");
  if (tool.type == "knowledge_assistant") {
    return Cat("Knowledge assistant ", tool.ident, " cited 2 documents");
  }
  if (tool.type == "uc_connection") {
    return Cat("Connection ", tool.ident, " completed the call");
  }
  return Cat("App ", tool.ident, " completed the call");
}

boost::json::object Script::FunctionCall(const ToolSpec& tool, const std::string& call_id) {
  return {{"type", "function_call"}, {"id", LongId("fc")},  {"call_id", call_id},
          {"name", tool.call_name},  {"arguments", Arguments()}, {"status", "completed"}};
}

void Script::AddToolRound(const ToolSpec& tool) {
  std::string call_id = LongId("call");
  std::string result = ToolResult(tool);
  Round round;
  round.items.emplace_back(FunctionCall(tool, call_id));
  round.items.emplace_back(boost::json::object{{"type", "function_call_output"},
                                               {"id", NextId("fco")},
                                               {"call_id", call_id},
                                               {"output", result}});
  turn_.rounds.push_back(std::move(round));
  Append(sentences_, " ", result, ".");
}

// The caller's decision on an MCP tool: a mcp_approval_response naming either an approval
// request of this tool present in the input, or an id this emulator minted for the tool.
std::optional<bool> Script::ApprovalFor(const ToolSpec& tool) const {
  std::map<std::string_view, std::string_view> request_names;
  std::optional<bool> decision;
  for (const boost::json::value& v : request_.body.at("input").get_array()) {
    if (!v.is_object()) continue;
    const boost::json::object& item = v.get_object();
    std::string type = ItemType(item);
    if (type == "mcp_approval_request") request_names[Str(item, "id")] = Str(item, "name");
    if (type != "mcp_approval_response") continue;
    std::string_view id = Str(item, "approval_request_id");
    auto named = request_names.find(id);
    std::size_t tail = id.find("__tool_");
    bool match = named != request_names.end()
                     ? named->second == tool.call_name
                     : (id.substr(0, 5) == "mcpr_" && tail != std::string_view::npos &&
                        tail + 7 < id.size() &&
                        std::string_view(tool.call_name).substr(0, id.size() - tail - 7) ==
                            id.substr(tail + 7));
    if (!match) continue;
    const boost::json::value* approve = item.if_contains("approve");
    decision = approve != nullptr && approve->is_bool() && approve->get_bool();
  }
  return decision;
}

void Script::AddMessage(std::string text) {
  turn_.message_id = NextId("msg");
  if (options_.deltas > 0) {
    std::string piece;
    constexpr std::string_view kFiller = "lorem ipsum dolor sit amet ";
    while (piece.size() < static_cast<std::size_t>(std::max(options_.delta_bytes, 1))) {
      piece += kFiller[piece.size() % kFiller.size()];
    }
    turn_.deltas.assign(options_.deltas, piece);
    text.clear();
    for (const std::string& d : turn_.deltas) text += d;
  } else {
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t space = text.find(' ', start);
      std::size_t end = space == std::string::npos ? text.size() : space + 1;
      turn_.deltas.push_back(text.substr(start, end - start));
      start = end;
    }
  }
  turn_.output_tokens = static_cast<int64_t>(turn_.deltas.size());
  Round round;
  boost::json::object part{{"type", "output_text"}, {"text", text},
                           {"annotations", boost::json::array()}};
  round.items.emplace_back(boost::json::object{{"type", "message"},
                                               {"id", turn_.message_id},
                                               {"role", "assistant"},
                                               {"status", "completed"},
                                               {"content", boost::json::array{std::move(part)}}});
  turn_.rounds.push_back(std::move(round));
}

// When the last input item is a function_call_output, the answer uses it.
bool Script::AnswerFunctionOutput() {
  const boost::json::array& input = request_.body.at("input").get_array();
  if (input.empty() || !input.back().is_object()) return false;
  const boost::json::object& last = input.back().get_object();
  if (ItemType(last) != "function_call_output") return false;
  std::string_view call_id = Str(last, "call_id");
  std::string_view name;
  for (const boost::json::value& v : input) {
    if (v.is_object() && ItemType(v.get_object()) == "function_call" &&
        Str(v.get_object(), "call_id") == call_id) {
      name = Str(v.get_object(), "name");
    }
  }
  const boost::json::value* output = last.if_contains("output");
  std::string output_text = output == nullptr       ? std::string()
                            : output->is_string() ? std::string(output->get_string())
                                                    : boost::json::serialize(*output);
  AddMessage(Cat("You asked: \"", request_.question, "\". The function ", name,
                          " returned: ", output_text, "."));
  return true;
}

Turn Script::Run() {
  turn_.input_tokens = static_cast<int64_t>(request_.question.size() / 4 + 1);
  if (AnswerFunctionOutput()) return std::move(turn_);
  std::string question = ToLower(request_.question);
  std::vector<const ToolSpec*> mentioned;
  for (const ToolSpec& tool : request_.tools) {
    if (!tool.mention.empty() && question.find(tool.mention) != std::string::npos) {
      mentioned.push_back(&tool);
    }
  }
  Round approvals;
  for (const ToolSpec* tool : mentioned) {
    if (!tool->needs_approval || ApprovalFor(*tool).has_value()) continue;
    std::string id = Cat("mcpr_", options_.seq, "_", next_item_++, "__tool_",
                                  tool->call_name);
    id.resize(std::min(id.size(), kMaxInputIdLength));
    approvals.items.emplace_back(boost::json::object{{"type", "mcp_approval_request"},
                                                     {"id", id},
                                                     {"name", tool->call_name},
                                                     {"server_label", tool->ident},
                                                     {"arguments", Arguments()}});
  }
  if (!approvals.items.empty()) {
    turn_.rounds.push_back(std::move(approvals));
    return std::move(turn_);
  }
  for (const ToolSpec* tool : mentioned) {
    if (tool->client_function) continue;
    if (tool->needs_approval && !*ApprovalFor(*tool)) {
      Append(sentences_, " The tool ", tool->call_name,
                      " was not run: the approval was denied.");
      continue;
    }
    AddToolRound(*tool);
  }
  for (const ToolSpec* tool : mentioned) {
    if (!tool->client_function) continue;
    Round call;
    call.items.emplace_back(FunctionCall(*tool, LongId("call")));
    turn_.rounds.push_back(std::move(call));
    return std::move(turn_);
  }
  AddMessage(Cat("You asked: \"", request_.question, "\".", sentences_));
  return std::move(turn_);
}

}  // namespace

Turn RunScript(const ResponsesRequest& request, const TurnOptions& options) {
  return Script(request, options).Run();
}

}  // namespace agentgateway::emulator
