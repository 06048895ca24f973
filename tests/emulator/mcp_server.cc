#include "tests/emulator/mcp_server.h"

#include <algorithm>
#include <array>

#include "absl/status/status.h"
#include "tests/emulator/codec.h"
#include "tests/emulator/str_util.h"

namespace agentgateway::emulator {
namespace {

namespace json = boost::json;

// The functions every emulated schema holds (a per-function URL serves any name).
constexpr std::array<std::string_view, 3> kSchemaFunctions = {"lookup", "python_exec", "echo"};
constexpr std::size_t kSessionRandomBytes = 16;

json::object Schema(std::initializer_list<std::string_view> required_strings) {
  json::object properties;
  json::array required;
  for (std::string_view name : required_strings) {
    properties[name] = json::object{{"type", "string"}};
    required.emplace_back(name);
  }
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

bool ValidSegment(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (true) {
    std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

absl::Status NotFound(std::string_view what) {
  return absl::NotFoundError(Cat(what, " does not exist or is not accessible."));
}

McpTool FunctionTool(std::string_view c, std::string_view s, std::string_view f) {
  return {Cat(c, "__", s, "__", f), Cat("Unity Catalog function ", c, ".", s, ".", f, " (emulated)"),
          Schema({"question"})};
}

// What a tool "found": one sentence per tool kind.
std::string Outcome(const McpServerSpec& server, std::string_view tool) {
  std::string_view name = std::string_view(server.label).substr(server.label.rfind(' ') + 1);
  if (server.kind == "genie") {
    return tool.substr(0, 12) == "query_space_" ? Cat("Genie space ", name, " found 3 rows.")
                                                : Cat("Genie space ", name, ": the answer is ready.");
  }
  if (server.kind == "external") {
    return tool == "search" ? Cat("Connection ", name, " found 2 results.")
                            : Cat("Connection ", name, " fetched the document.");
  }
  std::string dotted(tool);
  for (std::size_t at; (at = dotted.find("__")) != std::string::npos;) dotted.replace(at, 2, ".");
  return Cat("Function ", dotted, " returned 42.");
}

}  // namespace

absl::StatusOr<McpServerSpec> ResolveMcpServer(std::string_view path) {
  std::vector<std::string_view> seg = Segments(path);
  for (std::string_view s : seg) {
    if (!ValidSegment(s)) return absl::NotFoundError(Cat("No MCP server at '", path, "'."));
    if (s.substr(0, 7) == "missing") return NotFound(Cat("'", s, "'"));
  }
  McpServerSpec server;
  server.key = std::string(path);
  if (seg[0] == "genie" && seg.size() == 2) {
    std::string_view id = seg[1];
    server.kind = "genie";
    server.label = Cat("Genie space ", id);
    server.scope = "genie";
    server.alternative_scope = "dashboards.genie";
    server.sse_default = true;
    server.tools.push_back({Cat("query_space_", id),
                            Cat("Ask the Genie space ", id, " a question in natural language (emulated)."),
                            Schema({"query"})});
    server.tools.push_back({Cat("poll_response_", id),
                            Cat("Poll a long-running answer of the Genie space ", id, " (emulated)."),
                            Schema({"conversation_id", "message_id"})});
    return server;
  }
  if (seg[0] == "functions" && (seg.size() == 3 || seg.size() == 4)) {
    server.scope = "unity-catalog";
    server.alternative_scope = "mcp.functions";
    if (seg.size() == 3) {
      server.kind = "functions";
      server.label = Cat("UC functions ", seg[1], ".", seg[2]);
      for (std::string_view f : kSchemaFunctions) server.tools.push_back(FunctionTool(seg[1], seg[2], f));
    } else {
      server.kind = "function";
      server.label = Cat("UC function ", seg[1], ".", seg[2], ".", seg[3]);
      server.tools.push_back(FunctionTool(seg[1], seg[2], seg[3]));
    }
    return server;
  }
  if (seg[0] == "external" && seg.size() == 2) {
    server.kind = "external";
    server.label = Cat("external connection ", seg[1]);
    server.scope = "catalog.connections";
    server.tools.push_back({"search", Cat("Search through the connection ", seg[1], " (emulated)."),
                            Schema({"query"})});
    server.tools.push_back({"fetch", Cat("Fetch a document through the connection ", seg[1], " (emulated)."),
                            Schema({"id"})});
    return server;
  }
  return absl::NotFoundError(Cat("No MCP server at '", path, "'."));
}

McpToolResult RunMcpTool(const McpServerSpec& server, std::string_view tool,
                         std::string_view arguments_json, std::string_view identity) {
  if (arguments_json.find("[[tool-error]]") != std::string_view::npos) {
    return {Cat(server.label, ": tool ", tool, " failed for ", identity,
                ": the emulated tool reported an error (arguments ", arguments_json, ")."),
            true};
  }
  return {Cat(server.label, ": tool ", tool, " ran as ", identity, " with arguments ",
              arguments_json, ". ", Outcome(server, tool)),
          false};
}

std::string McpSessionTable::Create(McpSession session) {
  absl::MutexLock lock(&mu_);
  std::string id = Cat("mcp-", next_++, "-", RandomHex(kSessionRandomBytes));
  if (sessions_.size() >= kMaxSessions) sessions_.clear();  // a test run this long moved on
  sessions_.emplace(id, std::move(session));
  return id;
}

std::optional<McpSession> McpSessionTable::Find(std::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(std::string(id));
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

bool McpSessionTable::Erase(std::string_view id) {
  absl::MutexLock lock(&mu_);
  return sessions_.erase(std::string(id)) > 0;
}

}  // namespace agentgateway::emulator
