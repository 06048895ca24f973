#include "tests/integration/fault_doors.h"

#include <filesystem>
#include <iterator>

#include <boost/json.hpp>

namespace agentgateway::testing {
namespace {

namespace json = boost::json;

// Far above any cell's run time (the slowest, 429, waits 2 s for Retry-After), so a call
// still running at this bound is a hang, reported as `finished == false`.
constexpr std::chrono::seconds kCallBound{20};

std::string InvocationBody(const std::string& question, bool stream) {
  json::object body{{"input", json::array{json::object{{"role", "user"}, {"content", question}}}}};
  if (stream) body["stream"] = true;
  return json::serialize(body);
}

upstream::Headers RestHeaders(std::optional<std::chrono::milliseconds> timeout) {
  upstream::Headers headers;
  if (timeout.has_value()) {
    // X-Request-Timeout is in seconds (fractions allowed; gateway/router.cc).
    headers.emplace_back("X-Request-Timeout", std::to_string(timeout->count() / 1000.0));
  }
  return headers;
}

// The string member `key` of a JSON object text; `fallback` when it is not one.
std::string StringMember(std::string_view text, std::string_view key, std::string fallback) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return fallback;
  const json::value* member = v.as_object().if_contains(key);
  return member != nullptr && member->is_string() ? std::string(member->as_string())
                                                   : fallback;
}

bool HasErrorMember(std::string_view data) {
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  return !ec && v.is_object() && v.as_object().contains("error");
}

std::string Trailer(const grpc::ClientContext& ctx, const std::string& key) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(key);
  return it == trailers.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

DoorOutcome GrpcInvoke(Stack& stack, const std::string& question,
                       std::optional<std::chrono::milliseconds> timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout.value_or(kCallBound));
  v1::InvokeResponse response;
  grpc::Status status = stack.grpc().Invoke(&ctx, TextRequest(question), &response);
  DoorOutcome out;
  out.retry_after = Trailer(ctx, "retry-after");
  out.finished = true;
  out.code = status.error_code();
  out.message = status.error_message();
  out.answer = response.output_text();
  return out;
}

DoorOutcome GrpcStream(Stack& stack, const std::string& question,
                       std::optional<std::chrono::milliseconds> timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout.value_or(kCallBound));
  auto reader = stack.grpc().Stream(&ctx, TextRequest(question));
  DoorOutcome out;
  v1::StreamEvent event;
  while (reader->Read(&event)) {
    ++out.events;
    out.last_event = event.type();
  }
  grpc::Status status = reader->Finish();
  out.retry_after = Trailer(ctx, "retry-after");
  out.finished = true;
  out.code = status.error_code();
  out.message = status.error_message();
  return out;
}

DoorOutcome RestJson(Stack& stack, const std::string& question,
                     std::optional<std::chrono::milliseconds> timeout) {
  upstream::HttpPool::FetchResult result =
      stack.Post("/invocations", InvocationBody(question, false), RestHeaders(timeout));
  DoorOutcome out;
  out.finished = result.head.status != 0;
  out.http_status = result.head.status;
  out.retry_after = std::string(result.head.Header("retry-after"));
  if (out.http_status == 200) {
    out.answer = result.body;
  } else {
    out.message = StringMember(result.body, "detail", "(no detail in: " + result.body + ")");
  }
  return out;
}

// Reads an SSE body: relayed frames, then an optional {"error": ...} frame, then [DONE].
void ReadSseEnding(const std::string& body, DoorOutcome& out) {
  std::vector<Frame> frames = ParseSse(body);
  auto end = frames.end();
  out.done_marker = !frames.empty() && frames.back().data == "[DONE]";
  if (out.done_marker) --end;
  if (end != frames.begin() && HasErrorMember(std::prev(end)->data)) {
    out.error_frame = true;
    out.message = StringMember(std::prev(end)->data, "error", "(error is not a string)");
    --end;
  }
  for (auto it = frames.begin(); it != end; ++it) {
    if (it->data == "[DONE]" || HasErrorMember(it->data)) {
      out.problem = "a [DONE] or error frame before the end: " + it->data;
    }
  }
  out.events = static_cast<int>(end - frames.begin());
  if (end != frames.begin()) out.last_event = std::prev(end)->data;
}

DoorOutcome RestSse(Stack& stack, const std::string& question,
                    std::optional<std::chrono::milliseconds> timeout) {
  auto url = upstream::Url::Parse(stack.gateway_url() + "/invocations");
  DoorOutcome out;
  if (!url.ok()) {
    out.problem = std::string(url.status().message());
    return out;
  }
  upstream::HttpRequest request;
  request.method = "POST";
  request.url = *std::move(url);
  request.headers = RestHeaders(timeout);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = InvocationBody(question, true);
  auto handler = std::make_shared<CollectingHandler>();
  std::shared_ptr<upstream::Call> call = stack.client_pool().Start(std::move(request), handler);
  out.finished = handler->Wait(kCallBound);
  if (!out.finished) {
    call->Cancel();
    handler->Wait(kCallBound);
    return out;
  }
  if (!handler->status().ok()) {
    out.problem = "the response did not end cleanly: " + handler->status().ToString();
  }
  out.http_status = handler->status_code();
  out.retry_after = handler->header("retry-after");
  if (out.http_status != 200) {
    out.message = StringMember(handler->body(), "detail", "(no detail in: " + handler->body() + ")");
    return out;
  }
  ReadSseEnding(handler->body(), out);
  return out;
}

}  // namespace

std::string_view DoorName(Door door) {
  switch (door) {
    case Door::kGrpcInvoke: return "GrpcInvoke";
    case Door::kGrpcStream: return "GrpcStream";
    case Door::kRestJson: return "RestJson";
    case Door::kRestSse: return "RestSse";
  }
  return "?";
}

void PrintTo(Door door, std::ostream* os) { *os << DoorName(door); }

bool StreamsUpstream(Door door) { return door == Door::kGrpcStream || door == Door::kRestSse; }

DoorOutcome CallThroughDoor(Stack& stack, Door door, const std::string& question,
                            std::optional<std::chrono::milliseconds> timeout) {
  switch (door) {
    case Door::kGrpcInvoke: return GrpcInvoke(stack, question, timeout);
    case Door::kGrpcStream: return GrpcStream(stack, question, timeout);
    case Door::kRestJson: return RestJson(stack, question, timeout);
    case Door::kRestSse: return RestSse(stack, question, timeout);
  }
  return {};
}

int OpenFds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return -1;
  // The iterator's own descriptor is counted every time, so comparisons are unaffected.
  return static_cast<int>(std::distance(it, std::filesystem::directory_iterator()));
}

long long AwaitEmulatorGauge(Stack& stack, const std::string& name, long long expected,
                             std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  long long value = stack.EmulatorCounter(name);
  while (value != expected && std::chrono::steady_clock::now() < deadline) {
    value = stack.EmulatorCounter(name);
  }
  return value;
}

}  // namespace agentgateway::testing
