#include "server/local/serving_tool.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/json.hpp"
#include "server/upstream/error_mapping.h"

namespace agentgateway::local {
namespace json = boost::json;
namespace {

constexpr std::size_t kMaxBody = 16u << 20;

// The question the model asked: `question` when it is a string, else the arguments as given.
std::string Question(const std::string& arguments_json) {
  boost::system::error_code ec;
  json::value args = json::parse(arguments_json, ec);
  if (!ec && args.is_object()) {
    if (const json::value* q = args.get_object().if_contains("question"); q && q->is_string()) {
      return std::string(q->get_string());
    }
  }
  return arguments_json;
}

// Held by the pool until OnComplete; touched only on the call's strand.
class ServingHandler : public upstream::ResponseHandler {
 public:
  ServingHandler(std::string tool, McpClient::OutcomeCallback done)
      : tool_(std::move(tool)), done_(std::move(done)) {}

  void OnHead(const upstream::HttpResponseHead& head) override { status_ = head.status; }

  bool OnBody(std::string_view bytes) override {
    if (body_.size() + bytes.size() > kMaxBody) {
      too_large_ = true;
      return true;  // drain; the outcome is decided
    }
    body_.append(bytes);
    return true;
  }

  void OnComplete(absl::Status status) override {
    McpClient::OutcomeCallback done = std::move(done_);
    bool ok_status = status_ >= 200 && status_ < 300;
    if (!status.ok() && (ok_status || body_.empty())) return done(ToolFailure(tool_, status));
    if (!ok_status) return done(ToolFailure(tool_, upstream::StatusFromHttpError(status_, body_)));
    if (too_large_) {
      return done(ToolFailure(tool_, absl::InternalError("the answer exceeds the size limit")));
    }
    absl::StatusOr<std::string> text = ResponsesAnswerText(body_);
    if (!text.ok()) return done(ToolFailure(tool_, text.status()));
    done(ToolOutcome{*std::move(text)});
  }

 private:
  const std::string tool_;
  McpClient::OutcomeCallback done_;
  int status_ = 0;
  bool too_large_ = false;
  std::string body_;
};

}  // namespace

absl::StatusOr<std::string> ResponsesAnswerText(std::string_view body) {
  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(body.data(), body.size()), ec);
  const json::object* response = ec ? nullptr : parsed.if_object();
  const json::value* output = response ? response->if_contains("output") : nullptr;
  if (output == nullptr || !output->is_array()) {
    return absl::InternalError("the serving endpoint's answer is not a Responses object");
  }
  std::vector<std::string> texts;
  for (const json::value& item : output->get_array()) {
    const json::object* o = item.if_object();
    const json::value* type = o ? o->if_contains("type") : nullptr;
    const json::value* content = o ? o->if_contains("content") : nullptr;
    if (type == nullptr || !type->is_string() || type->get_string() != "message") continue;
    if (content != nullptr && content->is_string()) texts.emplace_back(content->get_string());
    if (content == nullptr || !content->is_array()) continue;
    for (const json::value& part : content->get_array()) {
      const json::value* text = part.is_object() ? part.get_object().if_contains("text") : nullptr;
      if (text != nullptr && text->is_string()) texts.emplace_back(text->get_string());
    }
  }
  if (texts.empty()) return std::string("The serving endpoint answered with no text.");
  return absl::StrJoin(texts, "\n");
}

std::shared_ptr<upstream::Call> CallServingEndpoint(upstream::HttpPool& pool, ServingCall call,
                                                    McpClient::OutcomeCallback done) {
  absl::StatusOr<upstream::Url> url = upstream::Url::Parse(call.url);
  absl::Status refused;
  if (call.bearer_token.empty()) {
    refused = absl::InvalidArgumentError(absl::StrCat("call to ", call.url, " without a token"));
  } else if (!url.ok()) {
    refused = absl::InvalidArgumentError(
        absl::StrCat("serving endpoint URL '", call.url, "': ", url.status().message()));
  }
  if (!refused.ok()) {
    pool.RunAfter(std::chrono::milliseconds(0),
                  [done = std::move(done), o = ToolFailure(call.tool, refused)] { done(o); });
    return nullptr;
  }
  json::object body{
      {"input", json::array{json::object{{"role", "user"},
                                         {"content", Question(call.arguments_json)}}}}};
  upstream::HttpRequest http;
  http.method = "POST";
  http.url = *std::move(url);
  http.headers = {{"Authorization", absl::StrCat("Bearer ", call.bearer_token)},
                  {"Content-Type", "application/json"},
                  {"Accept", "application/json"}};
  http.body = json::serialize(body);
  http.deadline = call.deadline;
  http.deadline_reason = absl::StrCat("the ", call.tool, " tool call's timeout");
  return pool.Start(std::move(http),
                    std::make_shared<ServingHandler>(call.tool, std::move(done)));
}

}  // namespace agentgateway::local
