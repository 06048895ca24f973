#include "server/local/tool_endpoints.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "boost/json.hpp"
#include "server/upstream/http_pool.h"

namespace agentgateway::local {
namespace json = boost::json;
namespace {

std::string Trimmed(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string NormalisedHost(const std::string& host) {
  if (absl::StartsWith(host, "https://") || absl::StartsWith(host, "http://")) return Trimmed(host);
  return Trimmed(absl::StrCat("https://", host));
}

// A URL path segment we build from config or request data: [A-Za-z0-9_.-]+ (no traversal).
bool SafeSegment(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<std::string> RequiredString(const json::object& inner, std::string_view type,
                                           std::string_view key) {
  const json::value* v = inner.if_contains(key);
  if (v == nullptr || !v->is_string() || v->get_string().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hosted tool ", std::string(type), ": `", std::string(key),
                     "` must be a non-empty string"));
  }
  return std::string(v->get_string());
}

absl::Status UnsafeSegment(std::string_view type, std::string_view value) {
  return absl::InvalidArgumentError(absl::StrCat("hosted tool ", std::string(type), ": '",
                                                 std::string(value),
                                                 "' is not a valid name ([A-Za-z0-9_.-]+)"));
}

}  // namespace

std::vector<std::string> DefaultUserScopes(std::string_view type) {
  if (type == "genie_space") return {"genie", "dashboards.genie"};
  if (type == "uc_function") return {"mcp.functions", "unity-catalog"};
  if (type == "knowledge_assistant") return {"model-serving", "serving.serving-endpoints"};
  if (type == "uc_connection") return {"catalog.connections"};
  return {};
}

absl::StatusOr<ToolEndpoint> ResolveHostedTool(std::string_view tool_json,
                                               const ToolEndpointConfig& config) {
  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(tool_json.data(), tool_json.size()), ec);
  const json::object* tool = ec ? nullptr : parsed.if_object();
  const json::value* type_value = tool != nullptr ? tool->if_contains("type") : nullptr;
  if (type_value == nullptr || !type_value->is_string()) {
    return absl::InvalidArgumentError("hosted tool must be a JSON object with a string `type`");
  }
  ToolEndpoint out;
  out.type = std::string(type_value->get_string());
  const json::value* inner_value = tool->if_contains(out.type);
  if (inner_value == nullptr || !inner_value->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hosted tool ", out.type, ": missing its `", out.type, "` object"));
  }
  const json::object& inner = inner_value->get_object();
  if (const json::value* d = inner.if_contains("description"); d && d->is_string()) {
    out.description = std::string(d->get_string());
  }
  if (const json::value* t = inner.if_contains("timeout_ms"); t && !t->is_null()) {
    // A number, or its digits as a string (a YAML config reads tool settings as strings).
    std::int64_t ms = 0;
    const bool read = t->is_int64()    ? (ms = t->get_int64(), true)
                      : t->is_uint64() ? (ms = static_cast<std::int64_t>(t->get_uint64()), true)
                      : t->is_string() ? absl::SimpleAtoi(std::string(t->get_string()), &ms)
                                       : false;
    if (!read || ms < 1 || ms > 86'400'000) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hosted tool ", out.type, ": timeout_ms must be a whole number of milliseconds from 1 "
          "to 86400000"));
    }
    out.timeout = std::chrono::milliseconds(ms);
  }
  const std::string host = NormalisedHost(config.host);
  const bool needs_host = out.type != "app" && out.type != "mcp";
  if (needs_host && config.host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hosted tool ", out.type, ": no workspace host configured"));
  }
  if (out.type == "genie_space") {
    absl::StatusOr<std::string> id = RequiredString(inner, out.type, "id");
    if (!id.ok()) return id.status();
    if (!SafeSegment(*id)) return UnsafeSegment(out.type, *id);
    out.url = absl::StrCat(host, "/api/2.0/mcp/genie/", *id);
  } else if (out.type == "uc_function") {
    absl::StatusOr<std::string> name = RequiredString(inner, out.type, "name");
    if (!name.ok()) return name.status();
    std::vector<std::string> parts = absl::StrSplit(*name, '.');
    if (parts.size() != 3) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hosted tool uc_function: name '", *name, "' is not catalog.schema.function"));
    }
    for (const std::string& p : parts) {
      if (!SafeSegment(p) || p.find('.') != std::string::npos) return UnsafeSegment(out.type, *name);
    }
    out.url = absl::StrCat(host, "/api/2.0/mcp/functions/", parts[0], "/", parts[1]);
    if (config.uc_function_server_per_function) absl::StrAppend(&out.url, "/", parts[2]);
    out.mcp_tool = absl::StrCat(parts[0], "__", parts[1], "__", parts[2]);
  } else if (out.type == "uc_connection") {
    absl::StatusOr<std::string> name = RequiredString(inner, out.type, "name");
    if (!name.ok()) return name.status();
    if (!SafeSegment(*name)) return UnsafeSegment(out.type, *name);
    out.url = absl::StrCat(host, "/api/2.0/mcp/external/", *name);
    out.needs_approval = true;
    out.server_label = *name;
  } else if (out.type == "knowledge_assistant") {
    absl::StatusOr<std::string> id = RequiredString(inner, out.type, "knowledge_assistant_id");
    if (!id.ok()) return id.status();
    if (!SafeSegment(*id)) return UnsafeSegment(out.type, *id);
    out.kind = ToolEndpointKind::kServingEndpoint;
    out.name = *id;
    out.url = absl::StrCat(host, "/serving-endpoints/", *id, "/invocations");
  } else if (out.type == "app") {
    absl::StatusOr<std::string> name = RequiredString(inner, out.type, "name");
    if (!name.ok()) return name.status();
    auto it = config.app_urls.find(*name);
    if (it == config.app_urls.end() || it->second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hosted tool app '", *name,
          "': no URL configured for this App (set its URL in the local engine's app_urls)"));
    }
    std::string base = Trimmed(it->second);
    if (!absl::StartsWith(base, "https://") && !absl::StartsWith(base, "http://")) {
      base = absl::StrCat("https://", base);
    }
    out.url = absl::EndsWith(base, "/mcp") ? base : absl::StrCat(base, "/mcp");
    out.user_auth_allowed = false;
    out.needs_approval = true;
    out.server_label = *name;
  } else if (out.type == "mcp") {
    absl::StatusOr<std::string> url = RequiredString(inner, out.type, "server_url");
    if (!url.ok()) return url.status();
    if (!absl::StartsWith(*url, "https://") && !absl::StartsWith(*url, "http://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("hosted tool mcp: server_url '", *url, "' is not an http(s) URL"));
    }
    absl::StatusOr<upstream::Url> parsed = upstream::Url::Parse(*url);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("hosted tool mcp: server_url '", *url,
                                                     "': ", parsed.status().message()));
    }
    out.url = *url;
    // Same origin as the workspace: its own MCP server, which takes the workspace token.
    absl::StatusOr<upstream::Url> workspace =
        config.host.empty() ? absl::StatusOr<upstream::Url>(absl::NotFoundError(""))
                            : upstream::Url::Parse(host);
    out.send_token = workspace.ok() && workspace->Origin() == parsed->Origin();
    const json::value* label = inner.if_contains("server_label");
    out.server_label = label != nullptr && label->is_string() && !label->get_string().empty()
                           ? std::string(label->get_string())
                           : parsed->host;
    const json::value* approval = inner.if_contains("require_approval");
    if (approval != nullptr && !approval->is_null()) {
      if (!approval->is_string() ||
          (approval->get_string() != "always" && approval->get_string() != "never")) {
        return absl::InvalidArgumentError(
            "hosted tool mcp: `require_approval` must be \"always\" or \"never\"");
      }
      out.needs_approval = approval->get_string() == "always";
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown hosted tool type '", out.type, "'"));
  }
  if (auto it = config.scope_overrides.find(out.type); it != config.scope_overrides.end()) {
    out.user_scopes = it->second;
  } else {
    out.user_scopes = DefaultUserScopes(out.type);
  }
  return out;
}

}  // namespace agentgateway::local
