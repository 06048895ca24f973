#include "tests/load/slow_readers.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace agentgateway::load {

constexpr std::size_t kKeptFailures = 8;

void ReaderBoard::FirstEvent() {
  absl::MutexLock lock(&mu_);
  ++counts_.first_events;
}

void ReaderBoard::Completed() {
  absl::MutexLock lock(&mu_);
  ++counts_.completed;
}

void ReaderBoard::Failed(std::string reason) {
  absl::MutexLock lock(&mu_);
  ++counts_.failed;
  if (counts_.failures.size() < kKeptFailures) counts_.failures.push_back(std::move(reason));
}

void ReaderBoard::Cancelled() {
  absl::MutexLock lock(&mu_);
  ++counts_.cancelled;
}

void ReaderBoard::GrpcDone() {
  absl::MutexLock lock(&mu_);
  ++counts_.grpc_done;
}

void ReaderBoard::Heartbeat() {
  absl::MutexLock lock(&mu_);
  ++counts_.heartbeats;
}

BoardCounts ReaderBoard::Counts() {
  absl::MutexLock lock(&mu_);
  return counts_;
}

bool ReaderBoard::WaitFor(const std::function<bool(const BoardCounts&)>& done,
                          absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done(counts_); };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

GrpcSlowReader::GrpcSlowReader(int stream_id, ScriptShape shape, ReaderBoard* board)
    : stream_id_(stream_id), script_(stream_id, shape.deltas, shape.delta_bytes), board_(board) {
  v1::InputItem* item = request_.add_input();
  item->set_type(v1::ITEM_TYPE_MESSAGE);
  item->set_role("user");
  item->set_text(absl::StrCat(kStreamMarker, stream_id));
}

void GrpcSlowReader::Start(v1::AgentService::Stub* stub) {
  stub->async()->Stream(&context_, &request_, this);
  StartRead(&event_);
  StartCall();
}

void GrpcSlowReader::Resume() {
  bool read;
  {
    absl::MutexLock lock(&mu_);
    resumed_ = true;
    read = std::exchange(holding_, false);
  }
  if (read) StartRead(&event_);
}

void GrpcSlowReader::Cancel() {
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  context_.TryCancel();
}

void GrpcSlowReader::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended: OnDone follows with the status
  const int index = received_++;
  if (mismatch_.empty()) {
    if (index >= script_.size()) {
      mismatch_ = absl::StrCat("stream ", stream_id_, ": extra event #", index);
    } else if (event_.sequence_number() != index + 1 || event_.type() != script_.Type(index) ||
               event_.json() != script_.Delivered(index)) {
      mismatch_ = absl::StrCat("stream ", stream_id_, ": event #", index, " is (",
                               event_.sequence_number(), ", ", event_.type(), ", ",
                               event_.json().substr(0, 120), ")");
    }
  }
  if (index == 0) {
    board_->FirstEvent();
    absl::MutexLock lock(&mu_);
    if (!resumed_) {
      holding_ = true;  // a slow reader: no read until Resume()
      return;
    }
  }
  StartRead(&event_);
}

void GrpcSlowReader::OnDone(const grpc::Status& status) {
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = cancelled_;
  }
  if (cancelled && status.error_code() == grpc::StatusCode::CANCELLED && mismatch_.empty()) {
    board_->Cancelled();
  } else if (!status.ok()) {
    board_->Failed(absl::StrCat("stream ", stream_id_, ": status ", status.error_code(), " ",
                                status.error_message(), " after ", received_, " events"));
  } else if (!mismatch_.empty()) {
    board_->Failed(mismatch_);
  } else if (received_ != script_.size()) {
    board_->Failed(absl::StrCat("stream ", stream_id_, ": clean end after ", received_, " of ",
                                script_.size(), " events"));
  } else {
    board_->Completed();
  }
  board_->GrpcDone();  // last: the test may free this reader from now on
}

}  // namespace agentgateway::load
