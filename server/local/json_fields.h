// Reading fields of the JSON objects the loop passes around (items, plans, events).
#ifndef AGENTGATEWAY_SERVER_LOCAL_JSON_FIELDS_H_
#define AGENTGATEWAY_SERVER_LOCAL_JSON_FIELDS_H_

#include <string>
#include <string_view>

#include "boost/json.hpp"

namespace agentgateway::local {

// The string at `key`, or "" when it is absent or not a string.
inline std::string Str(const boost::json::object& obj, std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_JSON_FIELDS_H_
