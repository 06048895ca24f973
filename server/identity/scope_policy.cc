#include "server/identity/scope_policy.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/identity/jwt.h"

namespace agentgateway::identity {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// "genie (or dashboards.genie)" for the alternatives {genie, dashboards.genie}.
std::string Describe(const std::vector<std::string>& alternatives) {
  std::string text = alternatives.front();
  if (alternatives.size() > 1) {
    absl::StrAppend(&text, " (or ",
                    absl::StrJoin(alternatives.begin() + 1, alternatives.end(), ", or "), ")");
  }
  return text;
}

// Every requirement of the profile (request scopes first, then per tool type in order of first
// use) that `granted` does not satisfy, described with its alternatives, without repeats.
std::vector<std::string> MissingScopes(const Profile& profile,
                                       const std::vector<std::string>& granted,
                                       const ScopeTable& table) {
  std::vector<std::string> missing;
  if (Has(granted, kAllApisScope)) return missing;
  auto require = [&](const std::vector<std::string>& alternatives) {
    if (alternatives.empty()) return;
    const bool satisfied = std::any_of(alternatives.begin(), alternatives.end(),
                                       [&](const std::string& s) { return Has(granted, s); });
    if (std::string text = Describe(alternatives); !satisfied && !Has(missing, text)) {
      missing.push_back(std::move(text));
    }
  };
  for (const std::string& scope : table.request_scopes) require({scope});
  for (const ToolSpec& tool : profile.tools) {
    if (auto it = table.tool_scopes.find(tool.type); it != table.tool_scopes.end()) {
      require(it->second);
    }
  }
  return missing;
}

// The `name` of an app tool, {"type":"app","app":{"name":"ticket-mcp"}}; "?" when absent.
std::string AppToolName(const ToolSpec& tool) {
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(tool.json, ec);
  const boost::json::object* object = ec ? nullptr : json.if_object();
  const boost::json::value* inner = object != nullptr ? object->if_contains("app") : nullptr;
  const boost::json::object* app = inner != nullptr ? inner->if_object() : nullptr;
  const boost::json::value* name = app != nullptr ? app->if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) return "?";
  return std::string(name->get_string().data(), name->get_string().size());
}

std::optional<std::string> ProfileProblems(const Profile& profile,
                                           const std::vector<std::string>& app_user_scopes,
                                           const ScopeTable& table) {
  std::vector<std::string> problems;
  if (std::vector<std::string> missing = MissingScopes(profile, app_user_scopes, table);
      !missing.empty()) {
    problems.push_back(absl::StrCat("missing user scope(s): ", absl::StrJoin(missing, ", ")));
  }
  for (const ToolSpec& tool : profile.tools) {
    if (tool.type == "app") {
      problems.push_back(absl::StrCat("tool app '", AppToolName(tool),
                                      "' cannot run with user authorization"));
    }
  }
  if (problems.empty()) return std::nullopt;
  return absl::StrCat("profile '", profile.name, "' (auth: user): ", absl::StrJoin(problems, "; "));
}

}  // namespace

ScopeTable ScopeTable::Defaults() {
  ScopeTable table;
  table.tool_scopes = {
      {"genie_space", {"genie", "dashboards.genie"}},
      {"uc_function", {"mcp.functions", "unity-catalog"}},
      {"knowledge_assistant", {"model-serving", "serving.serving-endpoints"}},
      {"uc_connection", {"catalog.connections"}},
      {"function", {}},
  };
  table.request_scopes = {"ai-gateway"};
  return table;
}

absl::Status CheckUserProfiles(const Config& config, const std::vector<std::string>& app_user_scopes,
                               const ScopeTable& table) {
  std::vector<std::string> lines;
  for (const auto& [name, profile] : config.profiles) {
    if (profile.auth != "user") continue;
    if (std::optional<std::string> line = ProfileProblems(profile, app_user_scopes, table)) {
      lines.push_back(*std::move(line));
    }
  }
  if (lines.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      config.source, ": ", lines.size(),
      " profile(s) with `auth: user` cannot run with the app's user authorization scopes [",
      absl::StrJoin(app_user_scopes, ", "),
      "] (add the missing scopes to the app's user_api_scopes, or use `auth: app`):\n",
      absl::StrJoin(lines, "\n")));
}

absl::Status CheckTokenScopes(const Profile& profile, const Secret& user_token,
                              const ScopeTable& table) {
  const std::optional<std::vector<std::string>> granted = JwtScopes(user_token.Reveal());
  if (!granted.has_value()) return absl::OkStatus();  // opaque: the upstream decides
  const std::vector<std::string> missing = MissingScopes(profile, *granted, table);
  if (missing.empty()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "the user's token lacks scope(s) needed by profile '", profile.name,
      "': ", absl::StrJoin(missing, ", "), " (token scopes: [", absl::StrJoin(*granted, ", "),
      "]; the app's user authorization must include them and the user must consent again)"));
}

}  // namespace agentgateway::identity
