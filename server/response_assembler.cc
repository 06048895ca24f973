#include "server/response_assembler.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>

#include <boost/json.hpp>

#include "server/json_text.h"
#include "server/logging.h"

namespace agentgateway {
namespace {

namespace json = boost::json;

std::optional<json::object> ParseObject(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::int64_t IntField(const json::object& obj, std::string_view key, std::int64_t fallback) {
  const json::value* v = obj.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return fallback;
}

std::string StringField(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->get_string());
}

// False only when `json` certainly has no member "output" whose value is an empty array: no
// `"output"` key followed by `[` and `]` with only whitespace between, and no \u escape that
// could spell the key another way. Lets Repair skip parsing a completed event (which carries
// the whole answer) in the usual case of a filled output.
bool MayHaveEmptyOutput(std::string_view json) {
  if (json.find("\\u") != std::string_view::npos) return true;
  constexpr std::string_view kKey = "\"output\"";
  auto skip_space = [&](std::size_t i) {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) ++i;
    return i;
  };
  for (std::size_t at = json.find(kKey); at != std::string_view::npos;
       at = json.find(kKey, at + 1)) {
    std::size_t i = skip_space(at + kKey.size());
    if (i >= json.size() || json[i] != ':') continue;
    i = skip_space(i + 1);
    if (i >= json.size() || json[i] != '[') continue;
    i = skip_space(i + 1);
    if (i < json.size() && json[i] == ']') return true;
  }
  return false;
}

}  // namespace

bool ResponseAssembler::Process(std::string_view type, std::string& json) {
  if (type == "response.created") {
    StartRound();
    return false;
  }
  if (type == "response.completed") {
    bool repaired = Repair(json);
    StartRound();
    return repaired;
  }
  if (round_given_up_) return false;
  if (type == "response.output_item.added") {
    OnItemEvent(json, /*done=*/false);
  } else if (type == "response.output_item.done") {
    OnItemEvent(json, /*done=*/true);
  } else if (type == "response.output_text.delta") {
    OnText(json, /*done=*/false);
  } else if (type == "response.output_text.done") {
    OnText(json, /*done=*/true);
  }
  return false;
}

ResponseAssembler::Item& ResponseAssembler::Find(std::string_view id, std::int64_t output_index) {
  auto it = std::find_if(items_.begin(), items_.end(), [&](const Item& item) {
    return id.empty() ? output_index >= 0 && item.output_index == output_index : item.id == id;
  });
  if (it == items_.end()) {
    it = items_.insert(items_.end(), Item{std::string(id), output_index, {}, {}, {}});
  }
  if (it->output_index < 0) it->output_index = output_index;
  return *it;
}

void ResponseAssembler::OnItemEvent(std::string_view json, bool done) {
  auto members = SplitJsonObject(json);
  if (!members.ok()) return;
  std::optional<std::string_view> item_text = FindMember(*members, "item");
  if (!item_text.has_value()) return;
  std::optional<json::object> item = ParseObject(*item_text);
  std::optional<json::object> event = ParseObject(json);
  if (!item.has_value() || !event.has_value()) return;
  if (!Charge(item_text->size())) return;
  Item& entry = Find(StringField(*item, "id"), IntField(*event, "output_index", -1));
  (done ? entry.done : entry.added) = std::string(*item_text);
}

void ResponseAssembler::OnText(std::string_view json, bool done) {
  // One per text delta, so the hot one: the parse lives in a stack buffer (a delta event is a
  // few hundred bytes), with no heap allocation unless the event is large.
  alignas(std::max_align_t) unsigned char scratch[4096];
  json::monotonic_resource arena(scratch, sizeof scratch);
  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(json.data(), json.size()), ec, &arena);
  if (ec || !parsed.is_object()) return;
  const json::object& event = parsed.get_object();
  const json::value* text = event.if_contains(done ? "text" : "delta");
  json::string_view text_view;
  if (text != nullptr && text->is_string()) text_view = text->get_string();
  if (!Charge(text_view.size())) return;
  const json::value* item_id = event.if_contains("item_id");
  json::string_view id_view;
  if (item_id != nullptr && item_id->is_string()) id_view = item_id->get_string();
  const std::string_view id(id_view.data(), id_view.size());
  Item& entry = Find(id, IntField(event, "output_index", -1));
  std::string& part = entry.parts[IntField(event, "content_index", 0)];
  if (done) part.clear();  // the whole text: it supersedes the deltas
  part.append(text_view.data(), text_view.size());
}

bool ResponseAssembler::Repair(std::string& json) {
  if (round_given_up_ || items_.empty() || !MayHaveEmptyOutput(json)) return false;
  auto members = SplitJsonObject(json);
  if (!members.ok()) return false;
  std::optional<std::string_view> response = FindMember(*members, "response");
  if (!response.has_value()) return false;
  auto response_members = SplitJsonObject(*response);
  if (!response_members.ok()) return false;
  std::optional<std::string_view> output = FindMember(*response_members, "output");
  if (!output.has_value()) return false;
  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(output->data(), output->size()), ec);
  if (ec || !parsed.is_array() || !parsed.as_array().empty()) return false;

  // Items with a known output_index first, in that order; the rest as they were first seen.
  std::stable_sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
    if (a.output_index < 0 || b.output_index < 0) return a.output_index >= 0 && b.output_index < 0;
    return a.output_index < b.output_index;
  });
  std::string rebuilt = "[";
  bool any = false;
  for (const Item& item : items_) {
    std::string text = item.done;
    if (text.empty() && !item.parts.empty()) text = MessageFromDeltas(item);
    if (text.empty()) continue;  // an item that never finished and carried no text
    if (any) rebuilt += ",";
    rebuilt += text;
    any = true;
  }
  if (!any) return false;
  rebuilt += "]";
  // `output` points into `json` (the members are views of it).
  std::size_t offset = static_cast<std::size_t>(output->data() - json.data());
  json.replace(offset, output->size(), rebuilt);
  return true;
}

std::string ResponseAssembler::MessageFromDeltas(const Item& item) {
  json::object message;
  if (std::optional<json::object> added = ParseObject(item.added)) message = std::move(*added);
  if (!message.contains("type")) message["type"] = "message";
  if (!item.id.empty()) message["id"] = item.id;  // the id the deltas carried
  if (!message.contains("role")) message["role"] = "assistant";
  message["status"] = "completed";
  json::array content;
  for (const auto& [index, text] : item.parts) {
    content.push_back(json::object{
        {"type", "output_text"}, {"text", text}, {"annotations", json::array()}});
  }
  message["content"] = std::move(content);
  return json::serialize(message);
}

bool ResponseAssembler::Charge(std::size_t bytes) {
  round_bytes_ += bytes;
  if (round_bytes_ <= max_round_bytes_) return true;
  round_given_up_ = true;
  items_.clear();
  items_.shrink_to_fit();
  if (!logged_limit_) {
    logged_limit_ = true;
    Log(LogLevel::kWarning,
        "stream round too large to assemble; its response.completed is relayed unchanged",
        {{"limit_bytes", static_cast<std::int64_t>(max_round_bytes_)}});
  }
  return false;
}

void ResponseAssembler::StartRound() {
  items_.clear();
  round_bytes_ = 0;
  round_given_up_ = false;
}

}  // namespace agentgateway
