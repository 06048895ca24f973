#include "server/local/chat_stream.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "server/upstream/error_mapping.h"

namespace agentgateway::local {
namespace json = boost::json;

namespace {

std::string_view Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  const json::string& s = v->get_string();
  return {s.data(), s.size()};
}

std::string Excerpt(std::string_view data) {
  constexpr std::size_t kMax = 120;
  if (data.size() <= kMax) return std::string(data);
  return std::string(data.substr(0, kMax)) + "...";
}

}  // namespace

ChatStreamParser::ChatStreamParser(DeltaSink on_delta) : on_delta_(std::move(on_delta)) {}

absl::Status ChatStreamParser::Feed(std::string_view bytes) {
  if (!failure_.ok() || saw_done_) return failure_;
  decoder_.Feed(bytes, [this](upstream::SseEvent&& event) {
    if (!failure_.ok() || saw_done_) return;  // data after [DONE] or a failure is ignored
    failure_ = OnEvent(event);
  });
  if (failure_.ok() && decoder_.overflowed()) {
    failure_ = absl::InternalError("model stream: an event exceeded the size limit");
  }
  return failure_;
}

absl::Status ChatStreamParser::OnEvent(const upstream::SseEvent& event) {
  if (event.data == "[DONE]") {
    saw_done_ = true;
    return absl::OkStatus();
  }
  if (event.data.empty()) return absl::OkStatus();  // keep-alive frames
  boost::system::error_code ec;
  json::value parsed = json::parse(event.data, ec);
  if (ec || !parsed.is_object()) {
    return absl::InternalError(
        absl::StrCat("model stream: malformed chunk (not a JSON object): ", Excerpt(event.data)));
  }
  const json::object& chunk = parsed.get_object();
  if (const json::value* err = chunk.if_contains("error"); err != nullptr && !err->is_null()) {
    std::string message = upstream::ErrorMessageFromJson(event.data);
    return absl::UnavailableError(absl::StrCat(
        "model stream error: ", message.empty() ? Excerpt(event.data) : message));
  }
  if (event.event == "error") {
    std::string message = upstream::ErrorMessageFromJson(event.data);
    return absl::UnavailableError(
        absl::StrCat("model stream error: ", message.empty() ? Excerpt(event.data) : message));
  }
  if (result_.id.empty()) result_.id = Str(chunk, "id");
  if (result_.model.empty()) result_.model = Str(chunk, "model");
  if (const json::value* usage = chunk.if_contains("usage"); usage && usage->is_object()) {
    Usage u;
    const json::object& o = usage->get_object();
    auto num = [&](std::string_view key) -> int64_t {
      const json::value* n = o.if_contains(key);
      return n != nullptr && n->is_int64() ? n->get_int64() : 0;
    };
    u.prompt_tokens = num("prompt_tokens");
    u.completion_tokens = num("completion_tokens");
    u.total_tokens = num("total_tokens");
    result_.usage = u;
  }
  const json::value* choices = chunk.if_contains("choices");
  if (choices == nullptr || choices->is_null()) return absl::OkStatus();
  if (!choices->is_array()) return absl::InternalError("model stream: `choices` is not an array");
  for (const json::value& c : choices->get_array()) {
    const json::object* choice = c.if_object();
    if (choice == nullptr) return absl::InternalError("model stream: a choice is not an object");
    const json::value* index = choice->if_contains("index");
    if (index != nullptr && index->is_int64() && index->get_int64() != 0) continue;  // n == 1
    if (std::string_view reason = Str(*choice, "finish_reason"); !reason.empty()) {
      result_.finish_reason = reason;
    }
    const json::value* delta = choice->if_contains("delta");
    if (delta == nullptr || delta->is_null()) continue;
    if (!delta->is_object()) return absl::InternalError("model stream: `delta` is not an object");
    const json::object& d = delta->get_object();
    if (std::string_view text = Str(d, "content"); !text.empty()) {
      result_.text.append(text);
      if (on_delta_) on_delta_(text);
    }
    if (const json::value* calls = d.if_contains("tool_calls"); calls && !calls->is_null()) {
      if (!calls->is_array()) {
        return absl::InternalError("model stream: `tool_calls` is not an array");
      }
      for (const json::value& call : calls->get_array()) {
        if (absl::Status s = OnToolCallDelta(call); !s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ChatStreamParser::OnToolCallDelta(const json::value& value) {
  const json::object* delta = value.if_object();
  if (delta == nullptr) return absl::InternalError("model stream: a tool call delta is not an object");
  std::string_view id = Str(*delta, "id");
  int64_t index;
  const json::value* index_value = delta->if_contains("index");
  if (index_value != nullptr && index_value->is_int64()) {
    index = index_value->get_int64();
  } else if (!id.empty() && (last_index_ < 0 || calls_[last_index_].id != id)) {
    index = static_cast<int64_t>(calls_.size());  // servers that omit `index`: a new id, a new call
  } else if (last_index_ >= 0) {
    index = last_index_;
  } else {
    return absl::InternalError("model stream: a tool call delta has neither index nor id");
  }
  last_index_ = index;
  ToolCall& call = calls_[index];
  if (!id.empty()) call.id = id;
  if (const json::value* fn = delta->if_contains("function"); fn != nullptr && fn->is_object()) {
    call.name.append(Str(fn->get_object(), "name"));
    call.arguments.append(Str(fn->get_object(), "arguments"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ChatResult> ChatStreamParser::Finish() {
  if (!failure_.ok()) return failure_;
  decoder_.Finish();
  if (result_.finish_reason.empty() || !saw_done_) {
    return absl::UnavailableError(absl::StrCat(
        "model stream truncated: it ended without ",
        result_.finish_reason.empty() ? "a finish_reason" : "data: [DONE]"));
  }
  ChatResult result = std::move(result_);
  for (auto& [index, call] : calls_) {
    if (call.name.empty()) {
      return absl::InternalError(absl::StrCat("model stream: tool call ", index, " has no name"));
    }
    if (absl::Status s = CheckToolCallArguments(call); !s.ok()) return s;
    if (call.arguments.empty()) call.arguments = "{}";
    result.tool_calls.push_back(std::move(call));
  }
  calls_.clear();
  return result;
}

}  // namespace agentgateway::local
