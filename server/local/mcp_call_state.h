// McpCallState: the state of one McpClient::CallTool, shared by the handle the caller holds
// (McpCallHandle) and the call's steps (session set-up, the tools/call exchange). Internal to
// McpClient.
//
// The outcome callback is taken exactly once, by the reply (Complete) or by Cancel; the
// exchange in flight is kept only until then. Thread-safe: both under `mu_`; callbacks and
// Call::Cancel() run without it.
#ifndef AGENTGATEWAY_SERVER_LOCAL_MCP_CALL_STATE_H_
#define AGENTGATEWAY_SERVER_LOCAL_MCP_CALL_STATE_H_

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/local/mcp_client.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::local {

class McpCallState final : public McpCallHandle {
 public:
  McpCallState(upstream::HttpPool* pool, std::string tool, McpClient::OutcomeCallback done)
      : pool_(pool), tool_(std::move(tool)), done_(std::move(done)) {}

  void Cancel() override {
    McpClient::OutcomeCallback done;
    std::shared_ptr<upstream::Call> http;
    {
      absl::MutexLock lock(&mu_);
      if (!done_) return;  // delivered already
      cancelled_ = true;
      done = std::move(done_);
      done_ = nullptr;
      http = std::move(http_);
    }
    if (http) http->Cancel();  // its reply then finds the outcome taken
    // Posted: Cancel() may be called under the caller's lock or from inside a callback.
    pool_->RunAfter(std::chrono::milliseconds(0),
                    [done = std::move(done),
                     outcome = ToolFailure(tool_, absl::CancelledError(
                                                      "the tool call was cancelled"))] {
                      done(outcome);
                    });
  }

  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  // Keeps the exchange just started for Cancel(); closes it at once when the call was
  // cancelled while it was being started.
  void Attach(std::shared_ptr<upstream::Call> http) {
    {
      absl::MutexLock lock(&mu_);
      if (!cancelled_) {
        if (done_) http_ = std::move(http);  // else: answered already
        return;
      }
    }
    if (http) http->Cancel();
  }

  void Complete(ToolOutcome outcome) {
    McpClient::OutcomeCallback done;
    {
      absl::MutexLock lock(&mu_);
      done = std::move(done_);
      done_ = nullptr;
      http_.reset();
    }
    if (done) done(std::move(outcome));
  }

 private:
  upstream::HttpPool* const pool_;
  const std::string tool_;
  absl::Mutex mu_;
  McpClient::OutcomeCallback done_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<upstream::Call> http_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_MCP_CALL_STATE_H_
