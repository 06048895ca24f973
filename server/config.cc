#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace agentgateway {
namespace {

namespace json = boost::json;

// Collects every problem instead of stopping at the first, so one start-up run shows them all.
class Problems {
 public:
  explicit Problems(std::string_view source) : source_(source) {}
  void Add(std::string_view key, std::string_view problem) {
    lines_.push_back(absl::StrCat(source_, ": ", std::string(key), ": ", std::string(problem)));
  }
  bool empty() const { return lines_.empty(); }
  absl::Status ToStatus() const {
    return absl::InvalidArgumentError(absl::StrJoin(lines_, "\n"));
  }

 private:
  std::string source_;
  std::vector<std::string> lines_;
};

// YAML scalar -> JSON value. Quoted scalars stay strings; plain ones become booleans, null or
// (where `numbers` is set) numbers when they read as such (YAML 1.2 core schema). Tool
// settings are ids and names, so there an unquoted 12345 stays the string "12345".
json::value ScalarToJson(const YAML::Node& node, bool numbers) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return json::string(text);
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  static const std::regex kInt("^[-+]?[0-9]+$");
  static const std::regex kFloat("^[-+]?([0-9]*\\.[0-9]+|[0-9]+\\.?[0-9]*)([eE][-+]?[0-9]+)?$");
  // A real number in a config is short; the length guard also keeps std::regex (recursive in
  // libstdc++) away from huge inputs.
  if (numbers && text.size() <= 64 &&
      (std::regex_match(text, kInt) || std::regex_match(text, kFloat))) {
    boost::system::error_code ec;
    json::value v = json::parse(text[0] == '+' ? text.substr(1) : text, ec);
    if (!ec) return v;
  }
  return json::string(text);
}

// `numbers`: whether plain numeric scalars become JSON numbers. Off for tool settings, on
// below a `parameters` key (a function tool's JSON Schema, where `minimum: 0` is a number).
// Limits on what one tool definition may expand to: YAML aliases can refer to themselves or
// multiply (a few hundred bytes can stand for a billion nodes).
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxNodes = 100'000;

json::value YamlToJson(const YAML::Node& node, bool numbers, int depth, std::size_t& nodes) {
  if (depth > kMaxDepth || ++nodes > kMaxNodes) {
    throw YAML::Exception(node.Mark(), "tool definition nests deeper than 64 levels or expands to "
                                       "more than 100000 values (a recursive or repeated alias?)");
  }
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json::object obj;
      for (const auto& kv : node) {
        std::string key = kv.first.as<std::string>();
        obj[key] = YamlToJson(kv.second, numbers || key == "parameters", depth + 1, nodes);
      }
      return obj;
    }
    case YAML::NodeType::Sequence: {
      json::array arr;
      for (const auto& item : node) arr.push_back(YamlToJson(item, numbers, depth + 1, nodes));
      return arr;
    }
    case YAML::NodeType::Scalar:
      return ScalarToJson(node, numbers);
    default:
      return nullptr;
  }
}

json::value YamlToJson(const YAML::Node& node, bool numbers = true) {
  std::size_t nodes = 0;
  return YamlToJson(node, numbers, 0, nodes);
}

std::string OptionalString(const YAML::Node& parent, const char* key, const std::string& path,
                           Problems& problems, std::string fallback = "") {
  YAML::Node node = parent[key];
  if (!node || node.IsNull()) return fallback;
  if (!node.IsScalar()) {
    problems.Add(absl::StrCat(path, ".", key), "must be a string");
    return fallback;
  }
  return node.Scalar();
}

std::vector<std::string> StringList(const YAML::Node& parent, const char* key,
                                    const std::string& path, Problems& problems) {
  std::vector<std::string> out;
  YAML::Node node = parent[key];
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) {
    problems.Add(absl::StrCat(path, ".", key), "must be a list of strings");
    return out;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    if (!node[i].IsScalar()) {
      problems.Add(absl::StrCat(path, ".", key, "[", i, "]"), "must be a string");
      continue;
    }
    out.push_back(node[i].Scalar());
  }
  return out;
}

void RejectUnknownKeys(const YAML::Node& node, const std::string& path,
                       const std::set<std::string>& known, Problems& problems) {
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!known.count(key)) problems.Add(absl::StrCat(path, ".", key), "unknown key");
  }
}

// A duration in whole milliseconds; `zero_means` names what 0 does where 0 is allowed.
template <typename Duration>
Duration Millis(const YAML::Node& parent, const char* key, const std::string& path,
                Problems& problems, Duration fallback, const char* zero_means = nullptr) {
  YAML::Node node = parent[key];
  if (!node) return fallback;
  try {
    long long v = node.as<long long>();
    if (v < 0 || (v == 0 && zero_means == nullptr)) {
      throw YAML::Exception(YAML::Mark(), "out of range");
    }
    return Duration(v);
  } catch (const YAML::Exception&) {
    problems.Add(absl::StrCat(path, ".", key),
                 zero_means == nullptr
                     ? std::string("must be a positive number of milliseconds")
                     : absl::StrCat("must be a non-negative number of milliseconds (0: ",
                                    zero_means, ")"));
    return fallback;
  }
}

std::size_t Count(const YAML::Node& parent, const char* key, const std::string& path,
                  Problems& problems, std::size_t fallback, const char* zero_means) {
  YAML::Node node = parent[key];
  if (!node) return fallback;
  try {
    long long v = node.as<long long>();
    if (v < 0) throw YAML::Exception(YAML::Mark(), "negative");
    return static_cast<std::size_t>(v);
  } catch (const YAML::Exception&) {
    problems.Add(absl::StrCat(path, ".", key),
                 absl::StrCat("must be a non-negative number (0: ", zero_means, ")"));
    return fallback;
  }
}

// Required string keys of each hosted tool's inner object (protocol.md section 1).
const std::vector<std::string>& RequiredToolKeys(std::string_view type) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kKeys = {
      {"genie_space", {"id"}},
      {"uc_function", {"name"}},
      {"knowledge_assistant", {"knowledge_assistant_id"}},
      {"uc_connection", {"name"}},
      {"app", {"name"}},
      {"mcp", {"server_url"}},
  };
  static const std::vector<std::string> kNone;
  auto it = kKeys.find(type);
  return it == kKeys.end() ? kNone : it->second;
}

// `original`: the tool as JSON (a request's), kept byte for byte instead of the YAML's reading.
void ParseTool(const YAML::Node& node, const std::string& path, Profile& profile,
               Problems& problems, const json::value* original = nullptr) {
  if (!node.IsMap()) {
    problems.Add(path, "must be a mapping with a `type` key");
    return;
  }
  std::string type = OptionalString(node, "type", path, problems);
  if (type.empty()) {
    problems.Add(path + ".type", "required; one of genie_space, uc_function, "
                                 "knowledge_assistant, uc_connection, app, function");
    return;
  }
  json::value tool = original != nullptr ? *original : YamlToJson(node, /*numbers=*/false);
  if (type == "function") {
    static const std::regex kName("^[a-zA-Z0-9_-]{1,64}$");
    std::string name = OptionalString(node, "name", path, problems);
    if (!std::regex_match(name, kName)) {
      problems.Add(path + ".name", absl::StrCat("function name '", name,
                                                "' must match ^[a-zA-Z0-9_-]{1,64}$"));
    }
  } else if (std::find(std::begin(kHostedToolTypes), std::end(kHostedToolTypes), type) ==
             std::end(kHostedToolTypes)) {
    problems.Add(path + ".type",
                 absl::StrCat("unknown tool type '", type,
                              "'; expected one of genie_space, uc_function, "
                              "knowledge_assistant, uc_connection, app, mcp, function"));
    return;
  } else {
    YAML::Node inner = node[type];
    if (!inner || !inner.IsMap()) {
      problems.Add(absl::StrCat(path, ".", type),
                   absl::StrCat("required: a `", type, "` mapping with the tool's settings"));
      return;
    }
    for (const std::string& key : RequiredToolKeys(type)) {
      YAML::Node v = inner[key];
      if (!v || !v.IsScalar() || v.Scalar().empty()) {
        problems.Add(absl::StrCat(path, ".", type, ".", key), "required non-empty string");
      }
    }
    if (YAML::Node timeout = inner["timeout_ms"]; timeout && !timeout.IsNull()) {
      std::int64_t ms = 0;
      if (!timeout.IsScalar() || !absl::SimpleAtoi(timeout.Scalar(), &ms) || ms < 1 ||
          ms > 86'400'000) {
        problems.Add(absl::StrCat(path, ".", type, ".timeout_ms"),
                     "must be a whole number of milliseconds from 1 to 86400000");
      } else if (profile.engine != "local") {
        problems.Add(absl::StrCat(path, ".", type, ".timeout_ms"),
                     "bounds the local engine's calls to this tool; with engine: supervisor the "
                     "Supervisor API runs its tools itself (and would refuse the field)");
      }
    }
    if (type == "mcp") {
      const std::string url = inner["server_url"] && inner["server_url"].IsScalar()
                                  ? inner["server_url"].Scalar()
                                  : "";
      if (!url.empty() && url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
        problems.Add(path + ".mcp.server_url",
                     absl::StrCat("'", url, "' must start with http:// or https://"));
      }
      if (YAML::Node approval = inner["require_approval"];
          approval && !(approval.IsScalar() &&
                        (approval.Scalar() == "always" || approval.Scalar() == "never"))) {
        problems.Add(path + ".mcp.require_approval", "must be always or never");
      }
    }
    if (type == "uc_function") {
      std::string name = inner["name"] ? inner["name"].Scalar() : "";
      if (!name.empty() && std::count(name.begin(), name.end(), '.') != 2) {
        problems.Add(path + ".uc_function.name",
                     absl::StrCat("'", name, "' must be catalog.schema.function"));
      }
    }
  }
  profile.tools.push_back(ToolSpec{type, json::serialize(tool)});
}

// Client-side function tools next to hosted ones: refused unless the profile allows the mix.
void CheckMixedTools(const Profile& p, const std::string& where, Problems& problems) {
  std::size_t functions = 0, hosted = 0;
  for (const ToolSpec& tool : p.tools) ++(tool.type == "function" ? functions : hosted);
  if (functions != 0 && hosted != 0 && !p.allow_mixed_tools) {
    problems.Add(where,
                 absl::StrCat("mixes ", functions, " client-side function tool(s) with ", hosted,
                              " hosted tool(s), which the Supervisor API documents as "
                              "unsupported; split them into two profiles, or set "
                              "mixed_tools: allow to send them together"));
  }
}

// `mcp_approvals: {approve: [server | server/tool, ...], deny: [...], max_rounds: N}`. Every
// server named must be an MCP tool (uc_connection or app) of the profile: a typo would
// otherwise silently leave the approval to the caller.
void ParseApprovals(const YAML::Node& node, const std::string& path, Profile& p,
                    Problems& problems) {
  if (!node || node.IsNull()) return;
  if (!node.IsMap()) {
    problems.Add(path, "must be a mapping with approve and/or deny lists");
    return;
  }
  RejectUnknownKeys(node, path, {"approve", "deny", "max_rounds"}, problems);
  std::set<std::string> servers;
  for (const ToolSpec& tool : p.tools) {
    if (tool.type != "uc_connection" && tool.type != "app") continue;
    boost::system::error_code ec;
    json::value v = json::parse(tool.json, ec);
    if (ec || !v.is_object()) continue;
    const json::value* inner = v.as_object().if_contains(tool.type);
    const json::value* name = inner && inner->is_object() ? inner->as_object().if_contains("name")
                                                          : nullptr;
    if (name && name->is_string()) servers.insert(std::string(name->as_string()));
  }
  for (const char* key : {"approve", "deny"}) {
    std::vector<std::string> entries = StringList(node, key, path, problems);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string& entry = entries[i];
      std::size_t slash = entry.find('/');
      ApprovalRule rule{entry.substr(0, slash),
                        slash == std::string::npos ? "" : entry.substr(slash + 1)};
      std::string where = absl::StrCat(path, ".", key, "[", i, "]");
      if (rule.server.empty() || (slash != std::string::npos && rule.tool.empty())) {
        problems.Add(where, absl::StrCat("'", entry, "' must be SERVER or SERVER/TOOL"));
        continue;
      }
      if (!servers.count(rule.server)) {
        problems.Add(where, absl::StrCat("'", rule.server,
                                         "' is not the name of a uc_connection or app tool of "
                                         "this profile (",
                                         servers.empty() ? "it has none"
                                                         : absl::StrJoin(servers, ", "),
                                         ")"));
        continue;
      }
      (std::string_view(key) == "approve" ? p.mcp_approvals.approve : p.mcp_approvals.deny)
          .push_back(std::move(rule));
    }
  }
  if (YAML::Node rounds = node["max_rounds"]; rounds) {
    std::size_t n = Count(node, "max_rounds", path, problems, 8, "never answer by policy");
    if (n > 100) problems.Add(path + ".max_rounds", "must be at most 100");
    p.mcp_approvals.max_rounds = static_cast<int>(std::min<std::size_t>(n, 100));
  }
}

void ParseProfile(const std::string& name, const YAML::Node& node, Problems& problems,
                  Config& config) {
  std::string path = "profiles." + name;
  if (!node.IsMap()) {
    problems.Add(path, "must be a mapping");
    return;
  }
  static const std::set<std::string> kKnown = {
      "model",        "instructions",      "engine",      "auth",          "tools",
      "allowed_models", "pass_through",    "trace_destination", "mixed_tools", "mcp_approvals",
      "limits",       "agent_from_request"};
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!kKnown.count(key)) problems.Add(path + "." + key, "unknown key");
  }
  Profile p;
  p.name = name;
  if (YAML::Node from_request = node["agent_from_request"]; from_request) {
    if (!from_request.IsScalar() || (from_request.Scalar() != "true" &&
                                     from_request.Scalar() != "false")) {
      problems.Add(path + ".agent_from_request", "must be true or false");
    } else {
      p.agent_from_request = from_request.Scalar() == "true";
    }
  }
  p.model = OptionalString(node, "model", path, problems);
  if (p.model.empty() && !p.agent_from_request) {
    problems.Add(path + ".model", "required (the upstream model name)");
  }
  p.instructions = OptionalString(node, "instructions", path, problems);
  p.engine = OptionalString(node, "engine", path, problems, "supervisor");
  if (p.engine != "supervisor" && p.engine != "local") {
    problems.Add(path + ".engine", absl::StrCat("unknown engine '", p.engine,
                                                "'; this build supports: supervisor, local"));
  }
  p.auth = OptionalString(node, "auth", path, problems, "app");
  if (p.auth != "app" && p.auth != "user") {
    problems.Add(path + ".auth", absl::StrCat("must be app or user, not '", p.auth, "'"));
  }
  p.allowed_models = StringList(node, "allowed_models", path, problems);
  p.pass_through = StringList(node, "pass_through", path, problems);
  if (YAML::Node td = node["trace_destination"]; td && !td.IsNull()) {
    if (!td.IsMap() || !td["catalog_name"] || !td["schema_name"]) {
      problems.Add(path + ".trace_destination",
                   "must be a mapping with catalog_name and schema_name");
    } else {
      p.trace_destination_json = json::serialize(YamlToJson(td));
    }
  }
  if (YAML::Node tools = node["tools"]; tools && !tools.IsNull()) {
    if (!tools.IsSequence()) {
      problems.Add(path + ".tools", "must be a list");
    } else {
      for (std::size_t i = 0; i < tools.size(); ++i) {
        ParseTool(tools[i], absl::StrCat(path, ".tools[", i, "]"), p, problems);
      }
    }
  }
  std::string mixed = OptionalString(node, "mixed_tools", path, problems, "refuse");
  if (mixed != "refuse" && mixed != "allow") {
    problems.Add(path + ".mixed_tools", absl::StrCat("must be refuse or allow, not '", mixed, "'"));
  } else {
    p.allow_mixed_tools = mixed == "allow";
  }
  CheckMixedTools(p, path + ".tools", problems);
  ParseApprovals(node["mcp_approvals"], path + ".mcp_approvals", p, problems);
  if (p.agent_from_request) {
    if (p.engine != "local") {
      problems.Add(path + ".agent_from_request",
                   "needs engine: local (the drop-in route runs Supervisor API requests on the "
                   "gateway's own agent loop)");
    }
    if (!p.tools.empty() || !p.instructions.empty()) {
      problems.Add(path + ".agent_from_request",
                   "each request brings its own instructions and tools: leave this profile's "
                   "`instructions` and `tools` out");
    }
  }
  if (YAML::Node limits = node["limits"]; limits && !limits.IsNull()) {
    if (!limits.IsMap()) {
      problems.Add(path + ".limits", "must be a mapping");
    } else {
      RejectUnknownKeys(limits, path + ".limits", {"max_concurrent_calls", "timeout_ms"}, problems);
      p.limits.max_concurrent_calls =
          Count(limits, "max_concurrent_calls", path + ".limits", problems, 0,
                "only limits.max_concurrent_calls applies");
      p.limits.timeout = Millis(limits, "timeout_ms", path + ".limits", problems,
                                std::chrono::milliseconds(0), "no limit");
    }
  }
  config.profiles.emplace(name, std::move(p));
}

void ParseUpstream(const YAML::Node& node, Problems& problems, UpstreamConfig& up) {
  if (!node) return;
  if (!node.IsMap()) {
    problems.Add("upstream", "must be a mapping");
    return;
  }
  RejectUnknownKeys(node, "upstream",
                    {"base_url", "ca_file", "max_connections", "max_queued_requests", "threads",
                     "connect_timeout_ms", "tls_handshake_timeout_ms", "response_timeout_ms",
                     "read_idle_timeout_ms", "call_timeout_ms"},
                    problems);
  up.base_url = OptionalString(node, "base_url", "upstream", problems, up.base_url);
  up.ca_file = OptionalString(node, "ca_file", "upstream", problems);
  if (node["max_connections"]) up.max_connections = node["max_connections"].as<std::size_t>(64);
  if (node["threads"]) up.threads = node["threads"].as<std::size_t>(1);
  up.max_queued_requests = Count(node, "max_queued_requests", "upstream", problems,
                                 up.max_queued_requests, "no cap");
  up.connect_timeout = Millis(node, "connect_timeout_ms", "upstream", problems, up.connect_timeout);
  up.tls_handshake_timeout =
      Millis(node, "tls_handshake_timeout_ms", "upstream", problems, up.tls_handshake_timeout);
  up.response_timeout =
      Millis(node, "response_timeout_ms", "upstream", problems, up.response_timeout);
  up.read_idle_timeout =
      Millis(node, "read_idle_timeout_ms", "upstream", problems, up.read_idle_timeout);
  up.call_timeout =
      Millis(node, "call_timeout_ms", "upstream", problems, up.call_timeout, "no overall limit");
  if (!up.base_url.empty() && up.base_url.rfind("http://", 0) != 0 &&
      up.base_url.rfind("https://", 0) != 0) {
    problems.Add("upstream.base_url",
                 absl::StrCat("'", up.base_url, "' must start with http:// or https://"));
  }
}

void ParseIdentity(const YAML::Node& node, Problems& problems, IdentityConfig& id) {
  if (!node) return;
  if (!node.IsMap()) {
    problems.Add("identity", "must be a mapping");
    return;
  }
  static const std::set<std::string> kKnown = {"trusted_proxy", "user_api_scopes", "tool_scopes",
                                               "request_scopes"};
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!kKnown.count(key)) problems.Add("identity." + key, "unknown key");
  }
  if (YAML::Node tp = node["trusted_proxy"]; tp && !tp.IsNull()) {
    if (!tp.IsScalar() || (tp.Scalar() != "true" && tp.Scalar() != "false")) {
      problems.Add("identity.trusted_proxy", "must be true or false");
    } else {
      id.trusted_proxy = tp.Scalar() == "true";
    }
  }
  id.user_api_scopes = StringList(node, "user_api_scopes", "identity", problems);
  id.request_scopes = StringList(node, "request_scopes", "identity", problems);
  if (YAML::Node table = node["tool_scopes"]; table && !table.IsNull()) {
    if (!table.IsMap()) {
      problems.Add("identity.tool_scopes", "must map a tool type to a list of scopes");
      return;
    }
    for (const auto& kv : table) {
      std::string type = kv.first.as<std::string>();
      std::vector<std::string> scopes =
          StringList(table, type.c_str(), "identity.tool_scopes", problems);
      if (scopes.empty()) {
        problems.Add("identity.tool_scopes." + type, "must list at least one scope");
      }
      id.tool_scopes[type] = std::move(scopes);
    }
  }
}

ListenerTls ParseListenerTls(const YAML::Node& node, const std::string& path, Problems& problems) {
  ListenerTls tls;
  tls.cert_file = OptionalString(node, "tls_cert", path, problems);
  tls.key_file = OptionalString(node, "tls_key", path, problems);
  tls.client_ca_file = OptionalString(node, "client_ca", path, problems);
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    problems.Add(path, "tls_cert and tls_key go together");
  }
  if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
    problems.Add(path + ".client_ca", "mutual TLS needs tls_cert and tls_key too");
  }
  return tls;
}

void ParseListen(const YAML::Node& node, Problems& problems, ListenConfig& listen) {
  if (!node) return;
  if (!node.IsMap()) {
    problems.Add("listen", "must be a mapping with http and/or grpc");
    return;
  }
  for (const char* door : {"http", "grpc"}) {
    YAML::Node d = node[door];
    if (!d) continue;
    std::string path = std::string("listen.") + door;
    if (!d.IsMap()) {
      problems.Add(path, "must be a mapping (address, tls_cert, tls_key, client_ca)");
      continue;
    }
    std::string address = OptionalString(d, "address", path, problems);
    ListenerTls tls = ParseListenerTls(d, path, problems);
    auto millis = [&](const char* key, std::chrono::milliseconds fallback) {
      YAML::Node n = d[key];
      if (!n) return fallback;
      try {
        long long v = n.as<long long>();
        if (v >= 0) return std::chrono::milliseconds(v);
      } catch (const YAML::Exception&) {
      }
      problems.Add(path + "." + key, "must be a number of milliseconds (0: off)");
      return fallback;
    };
    if (std::string(door) == "http") {
      listen.http_address = address;
      listen.http_tls = tls;
      listen.sse_heartbeat = millis("sse_heartbeat_ms", listen.sse_heartbeat);
    } else {
      listen.grpc_address = address;
      listen.grpc_tls = tls;
      listen.grpc_keepalive = millis("keepalive_ms", listen.grpc_keepalive);
    }
  }
}

}  // namespace

ApprovalDecision ApprovalPolicy::Decide(std::string_view server_label,
                                        std::string_view tool_name) const {
  auto matches = [&](const ApprovalRule& rule) { return rule.Matches(server_label, tool_name); };
  if (std::any_of(deny.begin(), deny.end(), matches)) return ApprovalDecision::kDeny;
  if (std::any_of(approve.begin(), approve.end(), matches)) return ApprovalDecision::kApprove;
  return ApprovalDecision::kAsk;
}

const Profile* Config::FindProfile(std::string_view name) const {
  auto it = profiles.find(std::string(name.empty() ? std::string_view(default_profile) : name));
  return it == profiles.end() ? nullptr : &it->second;
}

std::string BaseUrlFromDatabricksHost(std::string_view host) {
  std::string h(host);
  while (!h.empty() && h.back() == '/') h.pop_back();
  if (h.rfind("http://", 0) != 0 && h.rfind("https://", 0) != 0) h = "https://" + h;
  return h + "/ai-gateway/mlflow/v1";
}

absl::StatusOr<Config> ParseConfig(std::string_view yaml_text, std::string_view source) {
  Problems problems(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  }
  Config config;
  config.source = std::string(source);
  if (!root.IsMap()) {
    problems.Add("(top level)", "must be a mapping with `profiles`");
    return problems.ToStatus();
  }
  static const std::set<std::string> kKnown = {"upstream", "default_profile", "profiles",
                                               "identity", "listen", "limits", "local_engine"};
  try {
    for (const auto& kv : root) {
      // A key that is not a plain string (e.g. `[a]: 1`) throws here: caught below.
      std::string key = kv.first.as<std::string>();
      if (!kKnown.count(key)) {
        problems.Add(key, "unknown key (expected upstream, identity, listen, limits, "
                          "local_engine, default_profile, profiles)");
      }
    }
    ParseUpstream(root["upstream"], problems, config.upstream);
    ParseIdentity(root["identity"], problems, config.identity);
    ParseListen(root["listen"], problems, config.listen);
    if (YAML::Node limits = root["limits"]; limits) {
      if (!limits.IsMap()) {
        problems.Add("limits", "must be a mapping");
      } else {
        RejectUnknownKeys(limits, "limits", {"max_concurrent_calls", "drain_grace_ms"}, problems);
        config.limits.max_concurrent_calls =
            Count(limits, "max_concurrent_calls", "limits", problems,
                  config.limits.max_concurrent_calls, "no limit");
        config.limits.drain_grace = Millis(limits, "drain_grace_ms", "limits", problems,
                                           config.limits.drain_grace, "end calls at once");
      }
    }
    if (YAML::Node local = root["local_engine"]; local) {
      if (!local.IsMap()) {
        problems.Add("local_engine", "must be a mapping");
      } else {
        LocalEngineConfig& le = config.local_engine;
        RejectUnknownKeys(local, "local_engine",
                          {"model_base_url", "workspace_url", "max_steps", "tool_timeout_ms",
                           "app_urls"},
                          problems);
        if (YAML::Node apps = local["app_urls"]; apps && !apps.IsNull()) {
          if (!apps.IsMap()) {
            problems.Add("local_engine.app_urls", "must be a mapping of App name -> URL");
          } else {
            for (const auto& kv : apps) {
              const std::string name = kv.first.as<std::string>();
              const std::string url = kv.second.IsScalar() ? kv.second.Scalar() : "";
              if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
                problems.Add(absl::StrCat("local_engine.app_urls.", name),
                             "must be the App's URL, starting with https://");
              } else {
                le.app_urls[name] = url;
              }
            }
          }
        }
        le.model_base_url = OptionalString(local, "model_base_url", "local_engine", problems);
        le.workspace_url = OptionalString(local, "workspace_url", "local_engine", problems);
        for (const auto& [key, url] : {std::pair{"model_base_url", &le.model_base_url},
                                       std::pair{"workspace_url", &le.workspace_url}}) {
          if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
            problems.Add(absl::StrCat("local_engine.", key),
                         absl::StrCat("'", *url, "' must start with http:// or https://"));
          }
        }
        const std::size_t steps = Count(local, "max_steps", "local_engine", problems,
                                        static_cast<std::size_t>(le.max_steps), "refused");
        if (steps < 1 || steps > 1000) {
          problems.Add("local_engine.max_steps", "must be between 1 and 1000");
        } else {
          le.max_steps = static_cast<int>(steps);
        }
        le.tool_timeout = Millis(local, "tool_timeout_ms", "local_engine", problems,
                                 le.tool_timeout);
      }
    }
    YAML::Node profiles = root["profiles"];
    if (!profiles || !profiles.IsMap() || profiles.size() == 0) {
      problems.Add("profiles", "required: a mapping of profile name -> profile");
    } else {
      for (const auto& kv : profiles) {
        ParseProfile(kv.first.as<std::string>(), kv.second, problems, config);
      }
    }
    config.default_profile = OptionalString(root, "default_profile", "", problems);
    for (const auto& [name, profile] : config.profiles) {
      if (!profile.agent_from_request) continue;
      if (!config.dropin_profile.empty()) {
        problems.Add(absl::StrCat("profiles.", name, ".agent_from_request"),
                     absl::StrCat("profile '", config.dropin_profile,
                                  "' already serves the drop-in route; only one profile may"));
        continue;
      }
      config.dropin_profile = name;
    }
  } catch (const YAML::Exception& e) {
    problems.Add(absl::StrCat("line ", e.mark.line + 1), e.msg);
  }
  if (config.default_profile.empty() && config.profiles.size() == 1) {
    config.default_profile = config.profiles.begin()->first;
  } else if (config.default_profile.empty() && !config.profiles.empty()) {
    config.default_profile = config.profiles.count("default") ? "default" : "";
    if (config.default_profile.empty()) {
      problems.Add("default_profile", "required when there are several profiles and none is "
                                      "named `default`");
    }
  } else if (!config.default_profile.empty() && !config.profiles.empty() &&
             !config.profiles.count(config.default_profile)) {
    problems.Add("default_profile",
                 absl::StrCat("'", config.default_profile, "' is not a profile"));
  }
  if (!problems.empty()) return problems.ToStatus();
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the config file"));
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseConfig(buf.str(), path);
}

absl::StatusOr<Profile> AgentFromRequest(const Profile& base, std::string_view model,
                                         std::string_view extra_json) {
  Problems problems("request");
  Profile p = base;  // agent_from_request stays set: the request's fields are in the profile
  if (!model.empty()) p.model = std::string(model);
  if (p.model.empty()) problems.Add("model", "required (the model endpoint the agent runs on)");
  if (!base.allowed_models.empty() && !model.empty() &&
      std::find(base.allowed_models.begin(), base.allowed_models.end(), p.model) ==
          base.allowed_models.end()) {
    problems.Add("model", absl::StrCat("'", p.model, "' is not allowed here (allowed: ",
                                       absl::StrJoin(base.allowed_models, ", "), ")"));
  }
  p.allowed_models.clear();  // the model is decided
  if (!extra_json.empty()) {
    boost::system::error_code ec;
    json::value extra = json::parse(extra_json, ec);
    if (ec || !extra.is_object()) return absl::InvalidArgumentError("request: not a JSON object");
    if (const json::value* v = extra.as_object().if_contains("instructions")) {
      if (v->is_string()) {
        p.instructions = std::string(v->as_string());
      } else if (!v->is_null()) {
        problems.Add("instructions", "must be a string");
      }
    }
    if (const json::value* v = extra.as_object().if_contains("trace_destination");
        v && !v->is_null()) {
      const json::object* td = v->if_object();
      if (td == nullptr || !td->contains("catalog_name") || !td->contains("schema_name")) {
        problems.Add("trace_destination", "must be an object with catalog_name and schema_name");
      } else {
        p.trace_destination_json = json::serialize(*v);
      }
    }
    if (const json::value* v = extra.as_object().if_contains("tools"); v && !v->is_null()) {
      if (!v->is_array()) {
        problems.Add("tools", "must be an array of tool objects");
      } else {
        for (std::size_t i = 0; i < v->as_array().size(); ++i) {
          const json::value& tool = v->as_array()[i];
          const std::string path = absl::StrCat("tools[", i, "]");
          const json::value* type = tool.is_object() ? tool.as_object().if_contains("type") : nullptr;
          if (type != nullptr && type->is_string() && type->as_string() == "mcp") {
            // The gateway would call whatever URL a caller names; the Supervisor API had no
            // such tool either.
            problems.Add(path + ".type",
                         "a generic mcp tool is configured in a profile, not sent in a request");
            continue;
          }
          try {
            ParseTool(YAML::Load(json::serialize(tool)), path, p, problems, &tool);
          } catch (const YAML::Exception& e) {
            problems.Add(path, e.msg);
          }
        }
        CheckMixedTools(p, "tools", problems);
      }
    }
  }
  if (!problems.empty()) return problems.ToStatus();
  return p;
}

Config EmbeddedDefaultConfig() {
  static constexpr std::string_view kYaml = R"yaml(
default_profile: default
profiles:
  default:
    model: databricks-claude-sonnet-4-5
    instructions: You are a helpful data assistant. Use the tools when the question needs them.
    tools:
      - type: genie_space
        genie_space: {id: sales, description: "Sales figures by region and quarter"}
      - type: uc_function
        uc_function: {name: system.ai.python_exec, description: "Runs Python code"}
      - type: knowledge_assistant
        knowledge_assistant: {knowledge_assistant_id: handbook, description: "The employee handbook"}
      - type: uc_connection
        uc_connection: {name: github, description: "GitHub through a UC connection"}
)yaml";
  auto config = ParseConfig(kYaml, "<embedded default>");
  return *std::move(config);  // the embedded text is a constant checked by config_test
}

}  // namespace agentgateway
