#include "server/local/mcp_exchange.h"

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "server/upstream/error_mapping.h"
#include "server/upstream/sse_decoder.h"

namespace agentgateway::local::mcp {
namespace json = boost::json;
namespace {

constexpr std::size_t kMaxBody = 16u << 20;

std::string BuildBody(const RpcRequest& r) {
  json::object message{{"jsonrpc", "2.0"}, {"method", r.method}};
  if (r.id) message["id"] = *r.id;
  if (!r.params_json.empty()) {
    boost::system::error_code ec;
    json::value params = json::parse(r.params_json, ec);
    message["params"] = ec ? json::value(json::object()) : std::move(params);
  }
  return json::serialize(message);
}

// The JSON-RPC response in `message` for request `id`; false when `message` is something else
// (a notification, a server request, another id).
bool TakeResponse(const json::value& message, int64_t id, RpcReply& reply) {
  const json::object* o = message.if_object();
  if (o == nullptr) return false;
  const json::value* got = o->if_contains("id");
  if (got == nullptr || !got->is_int64() || got->get_int64() != id) return false;
  if (const json::value* error = o->if_contains("error"); error && error->is_object()) {
    const json::object& e = error->get_object();
    const json::value* code = e.if_contains("code");
    reply.error_code = code != nullptr && code->is_int64() ? code->get_int64() : -32603;
    const json::value* text = e.if_contains("message");
    reply.error_message = text != nullptr && text->is_string()
                              ? std::string(text->get_string())
                              : json::serialize(*error);
    return true;
  }
  if (const json::value* result = o->if_contains("result"); result != nullptr) {
    reply.result_json = json::serialize(*result);
    return true;
  }
  return false;
}

// Held by the pool until OnComplete; touched only on the call's strand.
class RpcHandler : public upstream::ResponseHandler {
 public:
  RpcHandler(RpcRequest request, RpcDone done)
      : request_(std::move(request)), done_(std::move(done)) {}

  void OnHead(const upstream::HttpResponseHead& head) override {
    reply_.http_status = head.status;
    reply_.session_id = std::string(head.Header("Mcp-Session-Id"));
    std::string type = absl::AsciiStrToLower(std::string(head.Header("Content-Type")));
    reply_.sse = Ok() && absl::StrContains(type, "text/event-stream");
  }

  bool OnBody(std::string_view bytes) override {
    if (!done_) return true;  // answered already: drain the rest of the stream
    if (reply_.sse) {
      decoder_.Feed(bytes, [this](upstream::SseEvent&& event) { OnEvent(event); });
      return true;
    }
    if (body_.size() + bytes.size() <= kMaxBody) body_.append(bytes);
    return true;
  }

  void OnComplete(absl::Status status) override {
    if (!done_) return;
    if (!status.ok() && (Ok() || body_.empty())) return Finish(std::move(status));
    if (!Ok()) return Finish(upstream::StatusFromHttpError(reply_.http_status, body_));
    if (!request_.id) return Finish(absl::OkStatus());  // a notification: 202, no body
    if (reply_.sse) {
      return Finish(absl::UnavailableError(absl::StrCat(
          "MCP server ", request_.url.host, " ended its stream without answering ",
          request_.method)));
    }
    boost::system::error_code ec;
    json::value message = json::parse(body_, ec);
    if (ec || !TakeResponse(message, *request_.id, reply_)) {
      return Finish(absl::InternalError(absl::StrCat(
          "MCP server ", request_.url.host, " answered ", request_.method,
          " with no JSON-RPC response for it")));
    }
    Finish(absl::OkStatus());
  }

 private:
  bool Ok() const { return reply_.http_status >= 200 && reply_.http_status < 300; }

  void OnEvent(const upstream::SseEvent& event) {
    if (!done_ || !request_.id || event.data.empty()) return;
    boost::system::error_code ec;
    json::value message = json::parse(event.data, ec);
    if (ec) return;  // not JSON: not the response we wait for
    if (TakeResponse(message, *request_.id, reply_)) Finish(absl::OkStatus());
  }

  void Finish(absl::Status status) {
    reply_.status = std::move(status);
    RpcDone done = std::move(done_);
    done_ = nullptr;
    done(std::move(reply_));
  }

  RpcRequest request_;
  RpcDone done_;
  RpcReply reply_;
  upstream::SseDecoder decoder_;
  std::string body_;
};

}  // namespace

std::shared_ptr<upstream::Call> PostRpc(upstream::HttpPool& pool, RpcRequest request,
                                        RpcDone done) {
  upstream::HttpRequest http;
  http.method = "POST";
  http.url = request.url;
  http.headers = {{"Content-Type", "application/json"},
                  {"Accept", "application/json, text/event-stream"}};
  if (!request.bearer_token.empty()) {
    http.headers.emplace_back("Authorization", absl::StrCat("Bearer ", request.bearer_token));
  }
  if (!request.session_id.empty()) http.headers.emplace_back("Mcp-Session-Id", request.session_id);
  if (!request.protocol_version.empty()) {
    http.headers.emplace_back("MCP-Protocol-Version", request.protocol_version);
  }
  http.body = BuildBody(request);
  http.deadline = request.deadline;
  http.deadline_reason = absl::StrCat("the MCP ", request.method, " call's timeout");
  return pool.Start(std::move(http),
                    std::make_shared<RpcHandler>(std::move(request), std::move(done)));
}

}  // namespace agentgateway::local::mcp
