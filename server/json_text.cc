#include "server/json_text.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"

namespace agentgateway {
namespace {

namespace json = boost::json;

void SkipSpace(std::string_view t, std::size_t& i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
}

// Advances `i` past one string literal starting at t[i] == '"'. False if unterminated.
bool SkipString(std::string_view t, std::size_t& i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      ++i;
      return true;
    }
  }
  return false;
}

// Advances past one value. The text was validated by a full parse first, so this only needs
// to find where the value ends, tracking nesting and strings.
bool SkipValue(std::string_view t, std::size_t& i) {
  SkipSpace(t, i);
  if (i >= t.size()) return false;
  if (t[i] == '"') return SkipString(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    while (i < t.size()) {
      char c = t[i];
      if (c == '"') {
        if (!SkipString(t, i)) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++i;
          return true;
        }
      }
      ++i;
    }
    return false;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' &&
         t[i] != '\t' && t[i] != '\n' && t[i] != '\r') {
    ++i;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<JsonMember>> SplitJsonObject(std::string_view text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("malformed JSON: ", ec.message()));
  if (!parsed.is_object()) return absl::InvalidArgumentError("expected a JSON object");

  std::vector<JsonMember> members;
  std::size_t i = 0;
  SkipSpace(text, i);
  ++i;  // '{'
  for (;;) {
    SkipSpace(text, i);
    if (text[i] == '}') break;
    std::size_t key_start = i;
    SkipString(text, i);
    json::value key = json::parse(text.substr(key_start, i - key_start));
    SkipSpace(text, i);
    ++i;  // ':'
    SkipSpace(text, i);
    std::size_t value_start = i;
    SkipValue(text, i);
    members.push_back({std::string(key.as_string()), text.substr(value_start, i - value_start)});
    SkipSpace(text, i);
    if (text[i] == ',') ++i;
  }
  return members;
}

std::optional<std::string_view> FindMember(const std::vector<JsonMember>& members,
                                           std::string_view key) {
  for (const JsonMember& m : members) {
    if (m.key == key) return m.value;
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<std::string_view>> SplitJsonArray(std::string_view text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("malformed JSON: ", ec.message()));
  if (!parsed.is_array()) return absl::InvalidArgumentError("expected a JSON array");

  std::vector<std::string_view> elements;
  elements.reserve(parsed.as_array().size());
  std::size_t i = 0;
  SkipSpace(text, i);
  ++i;  // '['
  for (std::size_t n = 0; n < parsed.as_array().size(); ++n) {
    SkipSpace(text, i);
    std::size_t start = i;
    SkipValue(text, i);
    elements.push_back(text.substr(start, i - start));
    SkipSpace(text, i);
    if (text[i] == ',') ++i;
  }
  return elements;
}

std::string ReplaceJsonMember(std::string_view object, std::string_view key,
                              std::string_view value) {
  absl::StatusOr<std::vector<JsonMember>> members = SplitJsonObject(object);
  if (!members.ok()) return std::string(object);
  std::optional<std::string_view> old = FindMember(*members, key);
  if (!old.has_value()) return std::string(object);
  std::size_t at = static_cast<std::size_t>(old->data() - object.data());
  std::string out(object.substr(0, at));
  out.append(value).append(object.substr(at + old->size()));
  return out;
}

std::string JsonQuote(std::string_view s) {
  return json::serialize(json::string_view(s.data(), s.size()));
}

}  // namespace agentgateway
