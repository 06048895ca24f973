// Reading fields of JSON objects without failing: agentctl shows what it understands of an
// event or a body and skips the rest. Internal to client/ (Boost.JSON stays in .cc files that
// parse JSON anyway).
#ifndef AGENTGATEWAY_CLIENT_JSON_FIELDS_H_
#define AGENTGATEWAY_CLIENT_JSON_FIELDS_H_

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace agentgateway::client {

// The object `text` holds; an empty object for bad JSON or any other value.
boost::json::object ParseObject(std::string_view text);
// A string member; empty when absent or not a string.
std::string StringField(const boost::json::object& o, std::string_view key);
// A member as text: a string as it is, any other value as compact JSON, null/absent empty.
std::string TextField(const boost::json::object& o, std::string_view key);
// The strings of an array member.
std::vector<std::string> StringsField(const boost::json::object& o, std::string_view key);

}  // namespace agentgateway::client

#endif  // AGENTGATEWAY_CLIENT_JSON_FIELDS_H_
