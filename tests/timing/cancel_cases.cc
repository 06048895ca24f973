#include "tests/timing/cancel_cases.h"

#include <grpcpp/grpcpp.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "tests/timing/loopback_client.h"

namespace agentgateway::timing {
namespace {

namespace json = boost::json;

// No hosted tool is mentioned: the answer is one message round.
std::string Question(std::string_view fault) {
  return absl::StrCat("Hello there [[fault:", std::string(fault), "]]");
}

v1::InvokeRequest TextRequest(std::string_view fault) {
  v1::InvokeRequest request;
  v1::InputItem* item = request.add_input();
  item->set_type(v1::ITEM_TYPE_MESSAGE);
  item->set_role("user");
  item->set_text(Question(fault));
  return request;
}

std::string InvocationsBody(std::string_view fault, bool stream) {
  json::object body{{"input", json::array{json::object{{"role", "user"},
                                                       {"content", Question(fault)}}}}};
  if (stream) body["stream"] = true;
  return json::serialize(body);
}

absl::Status Expect(const grpc::Status& status, grpc::StatusCode code, std::string_view what) {
  if (status.error_code() == code) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(std::string(what), ": the caller got gRPC code ",
                                          static_cast<int>(status.error_code()), " (",
                                          status.error_message(), "), expected ",
                                          static_cast<int>(code)));
}

// The state shared by the steps of one run.
class Run {
 public:
  explicit Run(const CancelTarget& target)
      : t_(target), close_index_(target.closes->count()) {}

  // Call before starting the call: the emulator's request count so far.
  absl::Status NoteRequests() {
    absl::StatusOr<int64_t> n = t_.emulator->Counter("responses_requests");
    if (!n.ok()) return n.status();
    requests_before_ = *n;
    return absl::OkStatus();
  }
  absl::Status WaitUpstreamRequest() {
    return t_.emulator->WaitCounter("responses_requests", requests_before_ + 1, t_.timeout);
  }
  absl::StatusOr<Clock::duration> SinceLeft(Clock::time_point left) {
    std::optional<Clock::time_point> closed = t_.closes->WaitFor(close_index_, t_.timeout);
    if (!closed) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the emulator did not see the upstream request close within ", t_.timeout.count(),
          " ms of the caller leaving"));
    }
    return *closed - left;
  }
  const CancelTarget& target() const { return t_; }

 private:
  const CancelTarget& t_;
  std::size_t close_index_;
  int64_t requests_before_ = 0;
};

absl::StatusOr<Clock::duration> GrpcStream(Run& run, std::string_view fault, bool mid_stream,
                                           bool deadline) {
  grpc::ClientContext ctx;
  Clock::time_point left;
  if (deadline) {
    left = Clock::now() + run.target().deadline;
    ctx.set_deadline(std::chrono::system_clock::now() + run.target().deadline);
  } else {
    ctx.set_deadline(std::chrono::system_clock::now() + 2 * run.target().timeout);
  }
  if (absl::Status s = run.NoteRequests(); !s.ok()) return s;
  v1::InvokeRequest request = TextRequest(fault);
  std::unique_ptr<grpc::ClientReader<v1::StreamEvent>> reader =
      run.target().grpc->Stream(&ctx, request);
  v1::StreamEvent event;
  if (mid_stream) {
    if (!reader->Read(&event)) {
      grpc::Status status = reader->Finish();
      return absl::InternalError(absl::StrCat("the stream ended before its first event: code ",
                                              static_cast<int>(status.error_code()), " (",
                                              status.error_message(), ")"));
    }
  } else if (absl::Status s = run.WaitUpstreamRequest(); !s.ok()) {
    ctx.TryCancel();
    reader->Finish();
    return s;
  }
  if (!deadline) {
    left = Clock::now();
    ctx.TryCancel();
  }
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  if (absl::Status s = Expect(status, deadline ? grpc::StatusCode::DEADLINE_EXCEEDED
                                               : grpc::StatusCode::CANCELLED,
                              "Stream");
      !s.ok()) {
    return s;
  }
  return run.SinceLeft(left);
}

absl::StatusOr<Clock::duration> GrpcInvoke(Run& run) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 2 * run.target().timeout);
  if (absl::Status s = run.NoteRequests(); !s.ok()) return s;
  v1::InvokeRequest request = TextRequest("hang");
  v1::InvokeResponse response;
  std::promise<grpc::Status> done;
  run.target().grpc->async()->Invoke(&ctx, &request, &response,
                                     [&done](grpc::Status status) { done.set_value(status); });
  absl::Status arrived = run.WaitUpstreamRequest();
  Clock::time_point left = Clock::now();
  ctx.TryCancel();
  grpc::Status status = done.get_future().get();  // TryCancel ends the call client-side at once
  if (!arrived.ok()) return arrived;
  if (absl::Status s = Expect(status, grpc::StatusCode::CANCELLED, "Invoke"); !s.ok()) return s;
  return run.SinceLeft(left);
}

absl::StatusOr<Clock::duration> RestClose(Run& run, bool stream) {
  absl::StatusOr<std::unique_ptr<LoopbackClient>> client =
      LoopbackClient::Connect(run.target().rest_port);
  if (!client.ok()) return client.status();
  if (absl::Status s = run.NoteRequests(); !s.ok()) return s;
  absl::Status sent = (*client)->Send(
      JsonPost("/invocations", InvocationsBody(stream ? "hang-mid" : "hang", stream)));
  if (!sent.ok()) return sent;
  if (stream) {
    // The first event's frame (after the head and a chunk-size line).
    absl::Status s = (*client)->ReadUntil("\ndata: ", run.target().timeout);
    if (!s.ok() || (*client)->received().rfind("HTTP/1.1 200", 0) != 0) {
      return absl::InternalError(absl::StrCat("no SSE event (", s.message(), "); got: ",
                                              (*client)->received().substr(0, 400)));
    }
  } else if (absl::Status s = run.WaitUpstreamRequest(); !s.ok()) {
    return s;
  }
  Clock::time_point left = Clock::now();
  (*client)->Close();
  return run.SinceLeft(left);
}

}  // namespace

std::string_view CaseName(CancelCase c) {
  switch (c) {
    case CancelCase::kGrpcStreamBeforeAnswer:
      return "grpc_stream_before_answer";
    case CancelCase::kGrpcStreamMidStream:
      return "grpc_stream_mid_stream";
    case CancelCase::kGrpcStreamDeadline:
      return "grpc_stream_deadline";
    case CancelCase::kGrpcInvokeCancel:
      return "grpc_invoke_cancel";
    case CancelCase::kRestSseClose:
      return "rest_sse_close";
    case CancelCase::kRestJsonClose:
      return "rest_json_close";
  }
  return "?";
}

absl::StatusOr<int64_t> EmulatorProbe::Counter(std::string_view name) {
  upstream::HttpRequest request;
  request.method = "GET";
  absl::StatusOr<upstream::Url> url = upstream::Url::Parse(base_url_ + "/emulator/stats");
  if (!url.ok()) return url.status();
  request.url = *url;
  absl::StatusOr<upstream::HttpPool::FetchResult> result = pool_->Fetch(std::move(request));
  if (!result.ok()) return result.status();
  boost::system::error_code ec;
  json::value stats = json::parse(result->body, ec);
  const json::value* v = ec || !stats.is_object()
                             ? nullptr
                             : stats.as_object().if_contains(json::string_view(name.data(),
                                                                               name.size()));
  if (v == nullptr || !v->is_number()) {
    return absl::InternalError(absl::StrCat("no counter '", std::string(name),
                                            "' in the emulator's stats: ", result->body));
  }
  return v->to_number<int64_t>();
}

absl::Status EmulatorProbe::WaitCounter(std::string_view name, int64_t value,
                                        std::chrono::milliseconds timeout) {
  upstream::HttpRequest request;
  request.method = "GET";
  absl::StatusOr<upstream::Url> url = upstream::Url::Parse(
      absl::StrCat(base_url_, "/emulator/wait?counter=", std::string(name), "&value=", value,
                   "&timeout_ms=", timeout.count()));
  if (!url.ok()) return url.status();
  request.url = *url;
  absl::StatusOr<upstream::HttpPool::FetchResult> result = pool_->Fetch(std::move(request));
  if (!result.ok()) return result.status();
  if (result->head.status == 200) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat("the emulator's ", std::string(name),
                                                  " did not reach ", value, " within ",
                                                  timeout.count(), " ms: ", result->body));
}

absl::StatusOr<Clock::duration> RunCancelCase(CancelCase c, const CancelTarget& target) {
  Run run(target);
  switch (c) {
    case CancelCase::kGrpcStreamBeforeAnswer:
      return GrpcStream(run, "hang", /*mid_stream=*/false, /*deadline=*/false);
    case CancelCase::kGrpcStreamMidStream:
      return GrpcStream(run, "hang-mid", /*mid_stream=*/true, /*deadline=*/false);
    case CancelCase::kGrpcStreamDeadline:
      return GrpcStream(run, "hang", /*mid_stream=*/false, /*deadline=*/true);
    case CancelCase::kGrpcInvokeCancel:
      return GrpcInvoke(run);
    case CancelCase::kRestSseClose:
      return RestClose(run, /*stream=*/true);
    case CancelCase::kRestJsonClose:
      return RestClose(run, /*stream=*/false);
  }
  return absl::InvalidArgumentError("unknown case");
}

}  // namespace agentgateway::timing
