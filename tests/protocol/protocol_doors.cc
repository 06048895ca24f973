#include "tests/protocol/protocol_doors.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;

void CopyTrailers(const grpc::ClientContext& ctx, GrpcOutcome& outcome) {
  for (const auto& [key, value] : ctx.GetServerTrailingMetadata()) {
    outcome.trailers.emplace(std::string(key.data(), key.size()),
                             std::string(value.data(), value.size()));
  }
}

// Every call gets a deadline: a gateway that never answered must fail the test, not hang it.
void Prepare(grpc::ClientContext& ctx, const GrpcMetadata& metadata) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  for (const auto& [key, value] : metadata) ctx.AddMetadata(key, value);
}

}  // namespace

std::string GrpcOutcome::Trailer(const std::string& key) const {
  auto it = trailers.find(key);
  return it == trailers.end() ? std::string() : it->second;
}

GrpcOutcome GrpcInvoke(Stack& stack, const v1::InvokeRequest& request,
                       const GrpcMetadata& metadata) {
  GrpcOutcome outcome;
  grpc::ClientContext ctx;
  Prepare(ctx, metadata);
  outcome.status = stack.grpc().Invoke(&ctx, request, &outcome.response);
  CopyTrailers(ctx, outcome);
  return outcome;
}

GrpcOutcome GrpcStream(Stack& stack, const v1::InvokeRequest& request,
                       const GrpcMetadata& metadata) {
  GrpcOutcome outcome;
  grpc::ClientContext ctx;
  Prepare(ctx, metadata);
  auto reader = stack.grpc().Stream(&ctx, request);
  v1::StreamEvent event;
  while (reader->Read(&event)) outcome.events.push_back(event);
  outcome.status = reader->Finish();
  CopyTrailers(ctx, outcome);
  return outcome;
}

v1::InvokeRequest JsonRequest(const std::string& profile, const std::vector<std::string>& items) {
  v1::InvokeRequest request;
  request.set_profile(profile);
  for (const std::string& item : items) request.add_input()->set_json(item);
  return request;
}

std::string RestBody(const std::string& items, const std::string& extra) {
  return R"({"input":)" + items + (extra.empty() ? "" : "," + extra) + "}";
}

json::value Json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return ec ? json::value() : v;
}

std::string RestErrorMessage(const std::string& body) {
  json::value v = Json(body);
  if (!v.is_object()) return {};
  const json::object& obj = v.as_object();
  if (const json::value* detail = obj.if_contains("detail"); detail && detail->is_string()) {
    return std::string(detail->as_string());
  }
  if (const json::value* error = obj.if_contains("error"); error && error->is_object()) {
    if (const json::value* m = error->as_object().if_contains("message"); m && m->is_string()) {
      return std::string(m->as_string());
    }
  }
  return {};
}

std::string UpstreamRefusal(Stack& stack, const std::string& body) {
  upstream::HttpRequest request;
  request.method = "POST";
  auto url = upstream::Url::Parse(stack.emulator_base_url() + "/ai-gateway/mlflow/v1/responses");
  EXPECT_TRUE(url.ok()) << url.status();
  request.url = *url;
  request.headers = {{"Authorization", "Bearer t"}, {"Content-Type", "application/json"}};
  request.body = body;
  auto answer = stack.client_pool().Fetch(std::move(request));
  EXPECT_TRUE(answer.ok()) << answer.status();
  if (!answer.ok()) return {};
  EXPECT_EQ(answer->head.status, 400) << answer->body;
  json::value v = Json(answer->body);
  const json::value* message = v.is_object() ? v.as_object().if_contains("message") : nullptr;
  return message && message->is_string() ? std::string(message->as_string()) : std::string();
}

std::vector<json::object> EventData(const std::vector<v1::StreamEvent>& events) {
  std::vector<json::object> out;
  for (const v1::StreamEvent& e : events) {
    json::value v = Json(e.json());
    if (v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

std::vector<json::object> EventData(const std::string& sse_body) {
  std::vector<json::object> out;
  for (const Frame& f : ParseSse(sse_body)) {
    if (f.data == "[DONE]") continue;
    json::value v = Json(f.data);
    if (v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

std::vector<json::object> DoneItems(const std::vector<json::object>& events) {
  std::vector<json::object> items;
  for (const json::object& e : events) {
    const json::value* type = e.if_contains("type");
    if (type && type->is_string() && type->as_string() == "response.output_item.done") {
      items.push_back(e.at("item").as_object());
    }
  }
  return items;
}

}  // namespace agentgateway::testing
