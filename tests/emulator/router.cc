// Router: routes, inspection endpoints and background polls. The responses route itself is
// in responses_route.cc.
#include "tests/emulator/router.h"

#include <charconv>
#include <ctime>

#include "tests/emulator/str_util.h"
#include "boost/json/serialize.hpp"

namespace agentgateway::emulator {
namespace {

constexpr std::string_view kResponsesPath = "/ai-gateway/mlflow/v1/responses";
constexpr std::string_view kTokenPath = "/oidc/v1/token";
constexpr std::string_view kChatPath = "/serving-endpoints/chat/completions";
constexpr std::string_view kOpenAiChatPath = "/v1/chat/completions";
constexpr std::string_view kServingPrefix = "/serving-endpoints/";
constexpr std::string_view kInvocations = "/invocations";
constexpr std::chrono::milliseconds kDefaultWaitTimeout{10'000};
constexpr int64_t kDefaultRecentRequests = 100;

Action MethodNotAllowed(const HttpRequestData& request, std::string_view allow) {
  Reply reply = ErrorReply(405, "BAD_REQUEST",
                           Cat("Method ", request.method, " not allowed for ",
                                        request.target));
  reply.headers.emplace_back("Allow", std::string(allow));
  return ReplyAction(std::move(reply));
}

}  // namespace

Reply ErrorReply(int status, std::string_view code, std::string_view message) {
  Reply reply;
  reply.status = status;
  reply.body = boost::json::serialize(boost::json::object{{"error_code", code},
                                                          {"message", message}});
  return reply;
}

Action ReplyAction(Reply reply) {
  Action action;
  action.reply = std::move(reply);
  return action;
}

int AnsweredStatus(const Action& action) {
  switch (action.kind) {
    case Action::Kind::kStream:
      return 200;  // the head goes out first, whatever the fault
    case Action::Kind::kReset:
    case Action::Kind::kHang:
      return 0;
    default:
      return action.reply.status;
  }
}

std::string_view HttpRequestData::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

Action Router::Handle(const HttpRequestData& request) {
  std::string_view target = request.target;
  std::size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  bool get = request.method == "GET";

  if (path.substr(0, 10) == "/emulator/") {
    if (path == "/emulator/stats") {
      return get ? ReplyAction(WaitReply(true)) : MethodNotAllowed(request, "GET");
    }
    if (path == "/emulator/requests/last") {
      return get ? ReplyAction(LastRequestReply()) : MethodNotAllowed(request, "GET");
    }
    if (path == "/emulator/requests") {
      return get ? ReplyAction(RecentRequestsReply(query)) : MethodNotAllowed(request, "GET");
    }
    if (path == "/emulator/calls") {
      return get ? ReplyAction(RecentCallsReply(query)) : MethodNotAllowed(request, "GET");
    }
    if (path == "/emulator/wait") {
      return get ? HandleWait(query) : MethodNotAllowed(request, "GET");
    }
    bool post = request.method == "POST";
    if (path == "/emulator/token-endpoint") {
      return post ? ReplyAction(TokenControlReply(query)) : MethodNotAllowed(request, "POST");
    }
    if (path == "/emulator/users/token") {
      return post ? ReplyAction(MintUserTokenReply(request)) : MethodNotAllowed(request, "POST");
    }
    if (path == "/emulator/reset") {
      if (!post) return MethodNotAllowed(request, "POST");
      stats_.Reset();
      identity_.ResetControls();
      request_log_.Clear();
      call_log_.Clear();
      {
        absl::MutexLock lock(&mu_);
        chat_fault_uses_.clear();
      }
      return ReplyAction(WaitReply(true));
    }
  }
  stats_.Inc(Stats::kRequestsTotal);
  if (path == kTokenPath) {
    return request.method == "POST" ? HandleTokenEndpoint(request)
                                    : MethodNotAllowed(request, "POST");
  }
  if (path == kResponsesPath) {
    if (request.method != "POST") return MethodNotAllowed(request, "POST");
    return bench_.deltas > 0 ? HandleBench(request) : HandleResponses(request);
  }
  if (path.size() > kResponsesPath.size() + 1 && path.substr(0, kResponsesPath.size()) ==
                                                     kResponsesPath &&
      path[kResponsesPath.size()] == '/') {
    return get ? HandleBackgroundPoll(request, path.substr(kResponsesPath.size() + 1))
               : MethodNotAllowed(request, "GET");
  }
  if (path == kChatPath || path == kOpenAiChatPath) {
    return request.method == "POST" ? HandleChat(request, path)
                                    : MethodNotAllowed(request, "POST");
  }
  if (path.substr(0, kServingPrefix.size()) == kServingPrefix &&
      path.size() > kServingPrefix.size() + kInvocations.size() &&
      path.substr(path.size() - kInvocations.size()) == kInvocations) {
    std::string_view endpoint = path.substr(
        kServingPrefix.size(), path.size() - kServingPrefix.size() - kInvocations.size());
    if (endpoint.find('/') == std::string_view::npos) {
      return request.method == "POST" ? HandleKnowledgeAssistant(request, path, endpoint)
                                      : MethodNotAllowed(request, "POST");
    }
  }
  if (path.substr(0, kMcpPrefix.size()) == kMcpPrefix) {
    return HandleMcp(request, path, path.substr(kMcpPrefix.size()));
  }
  return ReplyAction(ErrorReply(404, "ENDPOINT_NOT_FOUND",
                                Cat("No API found for '", request.method, " ",
                                             path, "'")));
}

Action Router::HandleBench(const HttpRequestData& request) {
  stats_.Inc(Stats::kResponsesRequests);
  absl::StatusOr<BenchRequest> parsed = ParseBenchRequest(request.body);
  if (!parsed.ok()) {
    absl::string_view message = parsed.status().message();
    return ReplyAction(ErrorReply(400, "INVALID_PARAMETER_VALUE",
                                  std::string_view(message.data(), message.size())));
  }
  uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  int64_t created_at = static_cast<int64_t>(std::time(nullptr));
  Action action;
  action.delay = std::chrono::milliseconds(parsed->drip_ms);
  if (parsed->stream) {
    action.kind = Action::Kind::kBenchStream;
    action.bench = std::make_shared<BenchStream>(bench_, seq, *parsed, created_at);
  } else {
    action.reply.body = BenchResponseBody(bench_, seq, *parsed, created_at, SteadyNowNs());
  }
  return action;
}

Reply Router::WaitReply(bool reached) const {
  Reply reply;
  reply.status = reached ? 200 : 408;
  reply.body = boost::json::serialize(stats_.ToJson());
  return reply;
}

Reply Router::LastRequestReply() const {
  boost::json::object out;
  {
    absl::MutexLock lock(&mu_);
    boost::json::object headers;
    for (const auto& [name, value] : last_request_.headers) headers[name] = value;
    out = {{"method", last_request_.method},
           {"target", last_request_.target},
           {"headers", std::move(headers)},
           {"body", last_request_.body},
           {"identity", last_identity_}};
  }
  Reply reply;
  reply.body = boost::json::serialize(out);
  return reply;
}

Reply Router::RecentRequestsReply(std::string_view query) const {
  int64_t limit = kDefaultRecentRequests;
  std::string_view limit_text = QueryParam(query, "limit");
  if (!limit_text.empty() && (!ParseInt(limit_text, limit) || limit < 0)) {
    return ErrorReply(400, "INVALID_PARAMETER_VALUE", "'limit' must be a non-negative integer");
  }
  boost::json::object out;
  out["total"] = request_log_.total();
  out["requests"] = request_log_.Recent(static_cast<std::size_t>(limit));
  Reply reply;
  reply.body = boost::json::serialize(out);
  return reply;
}

Reply Router::RecentCallsReply(std::string_view query) const {
  int64_t limit = kDefaultRecentRequests;
  std::string_view limit_text = QueryParam(query, "limit");
  if (!limit_text.empty() && (!ParseInt(limit_text, limit) || limit < 0)) {
    return ErrorReply(400, "INVALID_PARAMETER_VALUE", "'limit' must be a non-negative integer");
  }
  boost::json::object out;
  out["total"] = call_log_.total();
  out["calls"] = call_log_.RecentJson(static_cast<std::size_t>(limit));
  Reply reply;
  reply.body = boost::json::serialize(out);
  return reply;
}

Action Router::HandleWait(std::string_view query) {
  Action action;
  action.counter = std::string(QueryParam(query, "counter"));
  if (!stats_.Get(action.counter).has_value()) {
    return ReplyAction(ErrorReply(400, "INVALID_PARAMETER_VALUE",
                                  Cat("Unknown counter '", action.counter, "'")));
  }
  int64_t timeout_ms = kDefaultWaitTimeout.count();
  std::string_view timeout_text = QueryParam(query, "timeout_ms");
  if (!ParseInt(QueryParam(query, "value"), action.value) ||
      (!timeout_text.empty() && !ParseInt(timeout_text, timeout_ms))) {
    return ReplyAction(ErrorReply(400, "INVALID_PARAMETER_VALUE",
                                  "'value' and 'timeout_ms' must be integers"));
  }
  action.kind = Action::Kind::kWait;
  action.delay = std::chrono::milliseconds(timeout_ms);
  return action;
}

}  // namespace agentgateway::emulator
