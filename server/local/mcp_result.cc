// The text a tools/call result gives the model, and a failed call's outcome (declared in
// mcp_client.h).
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/json.hpp"
#include "server/local/mcp_client.h"

namespace agentgateway::local {
namespace json = boost::json;
namespace {

std::string_view Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return {v->get_string().data(), v->get_string().size()};
}

std::string PartText(const json::object& part) {
  std::string type(Str(part, "type"));
  if (type == "text") return std::string(Str(part, "text"));
  if (type == "image" || type == "audio") {
    return absl::StrCat("[", type, ": ", std::string(Str(part, "mimeType")), "]");
  }
  if (type == "resource_link") {
    return absl::StrCat("[resource link: ", std::string(Str(part, "uri")), "]");
  }
  if (type == "resource") {
    const json::value* r = part.if_contains("resource");
    if (r != nullptr && r->is_object()) {
      if (const json::value* t = r->get_object().if_contains("text"); t && t->is_string()) {
        return std::string(t->get_string());
      }
      return absl::StrCat("[resource: ", std::string(Str(r->get_object(), "uri")), "]");
    }
  }
  return absl::StrCat("[", type.empty() ? "unknown" : type, " content]");
}

}  // namespace

ToolOutcome ToolFailure(std::string_view tool, const absl::Status& status) {
  return ToolOutcome{absl::StrCat("Tool ", std::string(tool), " could not be called (",
                                  absl::StatusCodeToString(status.code()), "): ",
                                  std::string(status.message())),
                     true, std::nullopt, status};
}

std::string ToolResultText(const std::string& result_json, bool* is_error) {
  *is_error = false;
  boost::system::error_code ec;
  json::value v = json::parse(result_json, ec);
  if (ec || !v.is_object()) {
    *is_error = true;
    return "The tool's result was not a JSON object.";
  }
  const json::object& result = v.get_object();
  if (const json::value* e = result.if_contains("isError"); e && e->is_bool()) {
    *is_error = e->get_bool();
  }
  std::vector<std::string> parts;
  if (const json::value* content = result.if_contains("content"); content && content->is_array()) {
    for (const json::value& part : content->get_array()) {
      if (part.is_object()) parts.push_back(PartText(part.get_object()));
    }
  }
  if (parts.empty()) {
    if (const json::value* s = result.if_contains("structuredContent"); s && !s->is_null()) {
      return json::serialize(*s);
    }
  }
  return absl::StrJoin(parts, "\n");
}

}  // namespace agentgateway::local
