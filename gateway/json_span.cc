#include "gateway/json_span.h"

#include <boost/json.hpp>

#include "gateway/text.h"

namespace agentgateway::gateway::json_span {
namespace {

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

absl::Status Bad(std::string_view what, std::size_t pos) {
  return absl::InvalidArgumentError(Cat("JSON scan: ", what, " at offset ", pos));
}

// End of the string literal whose opening quote is at `pos`.
absl::StatusOr<std::size_t> StringEnd(std::string_view text, std::size_t pos) {
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // the escaped character cannot close the string
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return Bad("unterminated string", pos);
}

// End of an object or array starting at `pos`: counts brackets, skipping strings.
absl::StatusOr<std::size_t> ContainerEnd(std::string_view text, std::size_t pos) {
  std::size_t depth = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      auto end = StringEnd(text, i);
      if (!end.ok()) return end.status();
      i = *end - 1;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return Bad("unbalanced bracket", i);
      if (--depth == 0) return i + 1;
    }
  }
  return Bad("unterminated container", pos);
}

absl::StatusOr<std::string> DecodeKey(std::string_view quoted) {
  if (quoted.find('\\') == std::string_view::npos) {
    return std::string(quoted.substr(1, quoted.size() - 2));
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(quoted, ec);
  if (ec || !v.is_string()) return Bad("invalid key", 0);
  return std::string(v.get_string().c_str(), v.get_string().size());
}

}  // namespace

std::size_t SkipWhitespace(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsWhitespace(text[pos])) ++pos;
  return pos;
}

absl::StatusOr<std::size_t> ValueEnd(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return Bad("expected a value", pos);
  char c = text[pos];
  if (c == '"') return StringEnd(text, pos);
  if (c == '{' || c == '[') return ContainerEnd(text, pos);
  // Number or literal: runs until a structural character or whitespace.
  std::size_t i = pos;
  while (i < text.size() && !IsWhitespace(text[i]) && text[i] != ',' && text[i] != '}' &&
         text[i] != ']' && text[i] != ':' && text[i] != '"') {
    ++i;
  }
  if (i == pos) return Bad("expected a value", pos);
  return i;
}

absl::StatusOr<std::vector<Member>> ObjectMembers(std::string_view text) {
  std::vector<Member> members;
  std::size_t i = SkipWhitespace(text, 0);
  if (i >= text.size() || text[i] != '{') return Bad("expected an object", i);
  i = SkipWhitespace(text, i + 1);
  if (i < text.size() && text[i] == '}') {
    if (SkipWhitespace(text, i + 1) != text.size()) return Bad("trailing text", i + 1);
    return members;
  }
  while (true) {
    if (i >= text.size() || text[i] != '"') return Bad("expected a key", i);
    auto key_end = StringEnd(text, i);
    if (!key_end.ok()) return key_end.status();
    auto key = DecodeKey(text.substr(i, *key_end - i));
    if (!key.ok()) return key.status();
    i = SkipWhitespace(text, *key_end);
    if (i >= text.size() || text[i] != ':') return Bad("expected ':'", i);
    i = SkipWhitespace(text, i + 1);
    auto value_end = ValueEnd(text, i);
    if (!value_end.ok()) return value_end.status();
    members.push_back(Member{*std::move(key), text.substr(i, *value_end - i)});
    i = SkipWhitespace(text, *value_end);
    if (i < text.size() && text[i] == ',') {
      i = SkipWhitespace(text, i + 1);
      continue;
    }
    if (i < text.size() && text[i] == '}') break;
    return Bad("expected ',' or '}'", i);
  }
  if (SkipWhitespace(text, i + 1) != text.size()) return Bad("trailing text", i + 1);
  return members;
}

absl::StatusOr<std::vector<std::string_view>> ArrayElements(std::string_view text) {
  std::vector<std::string_view> elements;
  std::size_t i = SkipWhitespace(text, 0);
  if (i >= text.size() || text[i] != '[') return Bad("expected an array", i);
  i = SkipWhitespace(text, i + 1);
  if (i < text.size() && text[i] == ']') {
    if (SkipWhitespace(text, i + 1) != text.size()) return Bad("trailing text", i + 1);
    return elements;
  }
  while (true) {
    auto end = ValueEnd(text, i);
    if (!end.ok()) return end.status();
    elements.push_back(text.substr(i, *end - i));
    i = SkipWhitespace(text, *end);
    if (i < text.size() && text[i] == ',') {
      i = SkipWhitespace(text, i + 1);
      continue;
    }
    if (i < text.size() && text[i] == ']') break;
    return Bad("expected ',' or ']'", i);
  }
  if (SkipWhitespace(text, i + 1) != text.size()) return Bad("trailing text", i + 1);
  return elements;
}

bool HasTopLevelKey(std::string_view text, std::string_view key) {
  auto members = ObjectMembers(text);
  if (!members.ok()) return false;
  for (const Member& m : *members) {
    if (m.key == key) return true;
  }
  return false;
}

std::string Quote(std::string_view s) {
  return boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

}  // namespace agentgateway::gateway::json_span
