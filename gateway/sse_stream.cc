#include "gateway/sse_stream.h"

#include <utility>

namespace agentgateway::gateway {

SseStream::SseStream(RpcTracker* tracker, RpcPlan plan, std::shared_ptr<StreamSink> sink)
    : tracker_(tracker), plan_(std::move(plan)), sink_(std::move(sink)), framer_(plan_.Framer()) {}

std::shared_ptr<grpc::ClientContext> SseStream::Start(agentgateway::v1::AgentService::Stub* stub,
                                                      RpcTracker* tracker, RpcPlan plan,
                                                      std::shared_ptr<StreamSink> sink) {
  auto stream = std::make_shared<SseStream>(tracker, std::move(plan), std::move(sink));
  PrepareContext(stream->plan_, stream->context_.get());
  if (!tracker->Add(stream->context_)) {
    constexpr std::string_view kShuttingDown = "the gateway is shutting down";
    stream->sink_->Fail(
        ErrorResponseFromStatus(stream->plan_.flavor,
                                grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                             std::string(kShuttingDown))),
        stream->ErrorFrames(grpc::StatusCode::UNAVAILABLE, kShuttingDown));
    return nullptr;
  }
  std::shared_ptr<grpc::ClientContext> context = stream->context_;
  // Kept alive by itself until OnDone: the reactor contract forbids freeing it earlier.
  stream->self_ = stream;
  stub->async()->Stream(stream->context_.get(), &stream->plan_.request, stream.get());
  // Released when the reads are over (OnReadDone(false) or a failed sink write), so that
  // OnDone never runs while a sink write is in flight.
  stream->AddHold();
  stream->StartRead(&stream->event_);
  stream->StartCall();
  return context;
}

void SseStream::OnReadDone(bool ok) {
  if (!ok) {
    RemoveHold();  // no more events: let OnDone come with the status
    return;
  }
  std::string frames = framer_.Event(event_);
  if (frames.empty()) {  // held back or folded away by the framer: nothing to write yet
    StartRead(&event_);
    return;
  }
  started_writing_ = true;
  std::weak_ptr<SseStream> weak = weak_from_this();
  // `ready` runs only while no read is pending and the hold keeps OnDone away; the weak_ptr is
  // a guard, not a lifetime.
  const bool more = sink_->Write(std::move(frames), [weak](bool written) {
    if (auto stream = weak.lock()) stream->OnSinkWriteDone(written);
  });
  if (more) StartRead(&event_);
}

void SseStream::OnSinkWriteDone(bool ok) {
  if (!ok) {
    sink_failed_ = true;
    context_->TryCancel();  // the client is gone: stop the upstream promptly
    RemoveHold();
    return;
  }
  StartRead(&event_);
}

void SseStream::OnDone(const grpc::Status& status) {
  // The sink holds the session's executor: it must be gone before Remove lets the server
  // destroy the io_context.
  std::shared_ptr<StreamSink> sink = std::move(sink_);
  if (sink_failed_) {
    sink->Abort();
  } else if (status.ok()) {
    sink->End(framer_.Done());
  } else if (!started_writing_) {
    sink->Fail(ErrorResponseFromStatus(plan_.flavor, status, RetryAfter(*context_)),
               ErrorFrames(status.error_code(), status.error_message()));
  } else {
    sink->End(ErrorFrames(status.error_code(), status.error_message()));
  }
  sink.reset();
  // As for unary calls (rpc_calls.cc): drop our reference to the context first, so it dies
  // inside Remove, before a waiting Stop can drop the channel.
  grpc::ClientContext* key = context_.get();
  context_.reset();
  tracker_->Remove(key);
  // May free this object (when the session has let go already): nothing may follow.
  auto self = std::move(self_);
}

std::string SseStream::ErrorFrames(grpc::StatusCode code, std::string_view message) {
  return framer_.Failed(GrpcCodeName(code), message);
}

}  // namespace agentgateway::gateway
