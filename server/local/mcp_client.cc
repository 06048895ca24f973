#include "server/local/mcp_client.h"

#include <openssl/evp.h>

#include <atomic>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/json.hpp"
#include "server/local/mcp_call_state.h"
#include "server/local/mcp_exchange.h"

namespace agentgateway::local {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kMaxListPages = 100;

// One (server, identity) session. Guarded by Shared::mu.
struct Session {
  using Waiter = std::function<void(absl::Status, std::string id, std::string version)>;
  bool ready = false;  // false: initialize in flight (the entry exists only then or when ready)
  std::string id;
  std::string version;
  std::vector<Waiter> waiters;
};

// Where one operation goes and as whom, with its deadline.
struct Target {
  upstream::Url url;
  std::string token;
  std::string key;  // server URL + identity key: the session table and cache key
  Clock::time_point deadline;
};

absl::Status RpcErrorStatus(const mcp::RpcReply& reply, std::string_view method) {
  std::string message = absl::StrCat("MCP ", std::string(method), " failed: JSON-RPC error ",
                                     *reply.error_code, ": ", reply.error_message);
  switch (*reply.error_code) {
    case -32600:
    case -32602:
      return absl::InvalidArgumentError(message);
    case -32601:
      return absl::UnimplementedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

std::string_view Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return {v->get_string().data(), v->get_string().size()};
}

}  // namespace

struct McpClient::Shared : std::enable_shared_from_this<McpClient::Shared> {
  upstream::HttpPool* pool = nullptr;
  McpClientOptions options;
  std::atomic<int64_t> next_id{1};
  absl::Mutex mu;
  std::map<std::string, std::shared_ptr<Session>> sessions ABSL_GUARDED_BY(mu);
  std::map<std::string, std::vector<McpTool>> tools ABSL_GUARDED_BY(mu);

  mcp::RpcRequest Rpc(const Target& t, std::string method, std::string params, bool request) {
    mcp::RpcRequest r;
    r.url = t.url;
    r.bearer_token = t.token;
    if (request) r.id = next_id.fetch_add(1);
    r.method = std::move(method);
    r.params_json = std::move(params);
    r.deadline = t.deadline;
    return r;
  }

  // Later: runs `fn` on a pool thread (callbacks never run on the caller's thread).
  void Post(std::function<void()> fn) { pool->RunAfter(std::chrono::milliseconds(0), std::move(fn)); }

  void EnsureSession(const Target& t, Session::Waiter waiter);
  void Initialize(const Target& t, std::shared_ptr<Session> session);
  void EndInitialize(const std::string& key, const std::shared_ptr<Session>& session,
                     absl::Status status, std::string id, std::string version);
  // A request within the session; re-initializes once when the session expired (404).
  // `call` (may be null): the tool call this request serves, told of each exchange started
  // so it can close it; a cancelled call sends nothing more.
  void Request(const Target& t, std::string method, std::string params, bool retried,
               mcp::RpcDone done, std::shared_ptr<McpCallState> call = nullptr);
  void ListPage(const Target& t, std::string cursor, int page,
                std::shared_ptr<std::vector<McpTool>> acc, ToolsCallback done);
};

void McpClient::Shared::EnsureSession(const Target& t, Session::Waiter waiter) {
  std::shared_ptr<Session> start;
  std::string id, version;
  {
    absl::MutexLock lock(&mu);
    std::shared_ptr<Session>& s = sessions[t.key];
    if (s == nullptr) {
      s = std::make_shared<Session>();
      start = s;
    }
    if (!s->ready) {
      s->waiters.push_back(std::move(waiter));
    } else {
      id = s->id;
      version = s->version;
    }
  }
  if (start != nullptr) return Initialize(t, std::move(start));
  if (waiter) waiter(absl::OkStatus(), std::move(id), std::move(version));
}

void McpClient::Shared::Initialize(const Target& t, std::shared_ptr<Session> session) {
  json::object params{
      {"protocolVersion", kMcpProtocolVersion},
      {"capabilities", json::object()},
      {"clientInfo", json::object{{"name", options.client_name},
                                  {"version", options.client_version}}}};
  auto self = shared_from_this();
  mcp::PostRpc(*pool, Rpc(t, "initialize", json::serialize(params), true),
               [self, t, session](mcp::RpcReply reply) {
    if (reply.status.ok() && reply.error_code) reply.status = RpcErrorStatus(reply, "initialize");
    if (!reply.status.ok()) return self->EndInitialize(t.key, session, reply.status, "", "");
    std::string version = kMcpProtocolVersion;
    boost::system::error_code ec;
    json::value result = json::parse(reply.result_json, ec);
    if (!ec && result.is_object()) {
      if (std::string_view v = Str(result.get_object(), "protocolVersion"); !v.empty()) version = v;
    }
    mcp::RpcRequest note = self->Rpc(t, "notifications/initialized", "", false);
    note.session_id = reply.session_id;
    note.protocol_version = version;
    mcp::PostRpc(*self->pool, std::move(note),
                 [self, t, session, id = reply.session_id, version](mcp::RpcReply note_reply) {
      self->EndInitialize(t.key, session, note_reply.status, id, version);
    });
  });
}

void McpClient::Shared::EndInitialize(const std::string& key,
                                      const std::shared_ptr<Session>& session, absl::Status status,
                                      std::string id, std::string version) {
  std::vector<Session::Waiter> waiters;
  {
    absl::MutexLock lock(&mu);
    waiters.swap(session->waiters);
    if (status.ok()) {
      session->ready = true;
      session->id = id;
      session->version = version;
    } else if (auto it = sessions.find(key); it != sessions.end() && it->second == session) {
      sessions.erase(it);  // the next call tries again
    }
  }
  for (auto& waiter : waiters) waiter(status, id, version);
}

void McpClient::Shared::Request(const Target& t, std::string method, std::string params,
                                bool retried, mcp::RpcDone done,
                                std::shared_ptr<McpCallState> call) {
  auto self = shared_from_this();
  EnsureSession(t, [self, t, method, params, retried, call, done = std::move(done)](
                       absl::Status status, std::string id, std::string version) mutable {
    if (call != nullptr && call->cancelled()) return;  // its outcome went out with the cancel
    if (!status.ok()) {
      mcp::RpcReply reply;
      reply.status = std::move(status);
      return done(std::move(reply));
    }
    mcp::RpcRequest request = self->Rpc(t, method, params, true);
    request.session_id = id;
    request.protocol_version = version;
    auto http = mcp::PostRpc(*self->pool, std::move(request),
                 [self, t, method, params, retried, id, call, done = std::move(done)](
                     mcp::RpcReply reply) mutable {
      if (reply.http_status == 404 && !id.empty() && !retried) {
        {
          absl::MutexLock lock(&self->mu);
          auto it = self->sessions.find(t.key);
          if (it != self->sessions.end() && it->second->ready && it->second->id == id) {
            self->sessions.erase(it);  // expired; a newer session is left alone
          }
        }
        return self->Request(t, std::move(method), std::move(params), true, std::move(done),
                             std::move(call));
      }
      done(std::move(reply));
    });
    if (call != nullptr) call->Attach(std::move(http));
  });
}

void McpClient::Shared::ListPage(const Target& t, std::string cursor, int page,
                                 std::shared_ptr<std::vector<McpTool>> acc, ToolsCallback done) {
  json::object params;
  if (!cursor.empty()) params["cursor"] = cursor;
  auto self = shared_from_this();
  Request(t, "tools/list", params.empty() ? "" : json::serialize(params), false,
          [self, t, page, acc, done = std::move(done)](mcp::RpcReply reply) mutable {
    if (reply.status.ok() && reply.error_code) reply.status = RpcErrorStatus(reply, "tools/list");
    if (!reply.status.ok()) return done(reply.status);
    boost::system::error_code ec;
    json::value result = json::parse(reply.result_json, ec);
    const json::value* tools = ec || !result.is_object() ? nullptr
                                                         : result.get_object().if_contains("tools");
    if (tools == nullptr || !tools->is_array()) {
      return done(absl::InternalError("MCP tools/list answer has no `tools` array"));
    }
    for (const json::value& v : tools->get_array()) {
      const json::object* o = v.if_object();
      if (o == nullptr || Str(*o, "name").empty()) continue;
      const json::value* schema = o->if_contains("inputSchema");
      acc->push_back(McpTool{std::string(Str(*o, "name")), std::string(Str(*o, "description")),
                             schema != nullptr ? json::serialize(*schema) : "{}"});
    }
    std::string next(Str(result.get_object(), "nextCursor"));
    if (!next.empty() && page + 1 < kMaxListPages) {
      return self->ListPage(t, std::move(next), page + 1, acc, std::move(done));
    }
    {
      absl::MutexLock lock(&self->mu);
      self->tools[t.key] = *acc;
    }
    done(std::move(*acc));
  });
}

absl::StatusOr<std::unique_ptr<McpClient>> McpClient::Create(upstream::HttpPool* pool,
                                                             McpClientOptions options) {
  if (pool == nullptr) return absl::InvalidArgumentError("McpClient needs an HttpPool");
  auto shared = std::make_shared<Shared>();
  shared->pool = pool;
  shared->options = std::move(options);
  return std::unique_ptr<McpClient>(new McpClient(std::move(shared)));
}

McpClient::~McpClient() = default;

std::string McpClient::IdentityKey(const McpIdentity& identity) {
  if (!identity.key.empty()) return absl::StrCat("id:", identity.key);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(identity.bearer_token.data(), identity.bearer_token.size(), digest, &size,
             EVP_sha256(), nullptr);
  return absl::StrCat("sha256:", absl::BytesToHexString(absl::string_view(
                                     reinterpret_cast<const char*>(digest), size)));
}

void McpClient::ClearToolCache() {
  absl::MutexLock lock(&shared_->mu);
  shared_->tools.clear();
}

namespace {

absl::StatusOr<Target> MakeTarget(const std::string& server_url, const McpIdentity& identity,
                                  Clock::duration timeout) {
  if (identity.bearer_token.empty() && !identity.anonymous()) {
    return absl::InvalidArgumentError(absl::StrCat("MCP call to ", server_url, " without a token"));
  }
  absl::StatusOr<upstream::Url> url = upstream::Url::Parse(server_url);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("MCP server URL '", server_url, "': ", url.status().message()));
  }
  return Target{*std::move(url), identity.bearer_token,
                absl::StrCat(server_url, "\n", McpClient::IdentityKey(identity)),
                Clock::now() + timeout};
}

}  // namespace

void McpClient::ListTools(const std::string& server_url, const McpIdentity& identity,
                          ToolsCallback done) {
  absl::StatusOr<Target> target = MakeTarget(server_url, identity, shared_->options.call_timeout);
  if (!target.ok()) return shared_->Post([done, s = target.status()] { done(s); });
  {
    absl::MutexLock lock(&shared_->mu);
    if (auto it = shared_->tools.find(target->key); it != shared_->tools.end()) {
      return shared_->Post([done, tools = it->second] { done(tools); });
    }
  }
  shared_->ListPage(*target, "", 0, std::make_shared<std::vector<McpTool>>(), std::move(done));
}

std::shared_ptr<McpCallHandle> McpClient::CallTool(
    const std::string& server_url, const McpIdentity& identity, const std::string& tool,
    const std::string& arguments_json, OutcomeCallback done,
    std::optional<std::chrono::milliseconds> timeout) {
  auto call = std::make_shared<McpCallState>(shared_->pool, tool, std::move(done));
  auto failed = [tool](absl::Status status) { return ToolFailure(tool, status); };
  absl::StatusOr<Target> target =
      MakeTarget(server_url, identity, timeout.value_or(shared_->options.call_timeout));
  boost::system::error_code ec;
  json::value arguments = arguments_json.empty() ? json::value(json::object())
                                                 : json::parse(arguments_json, ec);
  if (target.ok() && (ec || !arguments.is_object())) {
    target = absl::InvalidArgumentError(
        absl::StrCat("arguments of tool ", tool, " are not a JSON object"));
  }
  if (!target.ok()) {
    shared_->Post([call, o = failed(target.status())] { call->Complete(o); });
    return call;
  }
  json::object params{{"name", tool}, {"arguments", std::move(arguments)}};
  // The reply keeps `call` alive; `call` holds the exchange only until the outcome is out, so
  // the two never keep each other alive past the call.
  shared_->Request(*target, "tools/call", json::serialize(params), false,
                   [tool, failed, call](mcp::RpcReply reply) {
    if (!reply.status.ok()) return call->Complete(failed(reply.status));
    if (reply.error_code) {
      return call->Complete(ToolOutcome{absl::StrCat("Tool ", tool, " failed: JSON-RPC error ",
                                                     *reply.error_code, ": ", reply.error_message),
                                        true, reply.error_code, absl::OkStatus()});
    }
    ToolOutcome outcome;
    outcome.text = ToolResultText(reply.result_json, &outcome.is_error);
    call->Complete(std::move(outcome));
  }, call);
  return call;
}

}  // namespace agentgateway::local
