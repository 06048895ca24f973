#include "client/json_fields.h"

namespace agentgateway::client {

namespace json = boost::json;

namespace {
const json::value* Member(const json::object& o, std::string_view key) {
  return o.if_contains(json::string_view(key.data(), key.size()));
}
}  // namespace

json::object ParseObject(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = Member(o, key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string TextField(const json::object& o, std::string_view key) {
  const json::value* v = Member(o, key);
  if (v == nullptr || v->is_null()) return {};
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

std::vector<std::string> StringsField(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = Member(o, key);
  if (v == nullptr || !v->is_array()) return out;
  for (const json::value& s : v->as_array()) {
    if (s.is_string()) out.emplace_back(s.as_string());
  }
  return out;
}

}  // namespace agentgateway::client
