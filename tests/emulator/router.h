// Router: turns one HTTP request into an Action with no socket in sight (Beast's
// handle_request idea), so every route, fault and script is decided here and the session only
// performs I/O.
//
// One Router per Emulator, shared by all sessions on all io threads: it is thread-safe.
// Counters are atomics (Stats); the last request and the background runs are guarded by `mu_`;
// the identity store and the request log have their own locks (never taken under `mu_`).
#ifndef AGENTGATEWAY_TESTS_EMULATOR_ROUTER_H_
#define AGENTGATEWAY_TESTS_EMULATOR_ROUTER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "tests/emulator/bench_answer.h"
#include "tests/emulator/call_log.h"
#include "tests/emulator/identity.h"
#include "tests/emulator/mcp_server.h"
#include "tests/emulator/request_log.h"
#include "tests/emulator/stats.h"

namespace agentgateway::emulator {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequestData {
  std::string method;
  std::string target;
  HeaderList headers;  // names lowercased
  std::string body;
  // First value of a header (name given lowercase); empty when absent.
  std::string_view Header(std::string_view lower_name) const;
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;
  std::string body;
};

struct Action {
  enum class Kind {
    kReply,         // send `reply` after `delay`
    kPartialReply,  // send `reply`'s head (full Content-Length) and half its body, then `end`
    kStream,        // SSE: head, then frames[0, stop_after) with `delay` between, then `end`
    kReset,         // reset the connection without answering
    kHang,          // answer nothing until the client goes away
    kWait,          // long-poll until stats[counter] >= value, or `delay` passes
    kBenchStream,   // SSE: head, then `bench`'s events one write each, `delay` apart
  };
  enum class End {
    kComplete,  // terminal chunk, keep-alive continues
    kReset,     // SO_LINGER 0 + close
    kTruncate,  // terminal chunk (streams) then close
    kHang,      // nothing more until the client goes away
  };
  Kind kind = Kind::kReply;
  Reply reply;
  std::chrono::milliseconds delay{0};
  std::vector<std::string> frames;
  std::size_t stop_after = 0;
  End end = End::kComplete;
  std::string counter;
  int64_t value = 0;
  // kBenchStream only. Shared so an Action stays copyable; only the session uses it.
  std::shared_ptr<BenchStream> bench;
};

// A Databricks-style error: {"error_code": code, "message": message}.
Reply ErrorReply(int status, std::string_view code, std::string_view message);
Action ReplyAction(Reply reply);
// The status a test sees; 0 when the connection is reset or left hanging before any status.
int AnsweredStatus(const Action& action);

class Router {
 public:
  // `bench.deltas` > 0: bench mode (bench_answer.h) answers the responses route.
  explicit Router(IdentityOptions identity = {}, BenchSpec bench = {})
      : bench_(bench), identity_(std::move(identity)) {}

  Action Handle(const HttpRequestData& request);

  Stats& stats() { return stats_; }
  const CallLog& calls() const { return call_log_; }
  // Reply to a /emulator/wait: the stats (200) once reached, else 408 with the stats.
  Reply WaitReply(bool reached) const;

 private:
  struct BackgroundRun {
    std::string in_progress;  // serialized Responses objects
    std::string completed;
    int polls = 0;
  };

  // The caller of a responses-route request, or the 401 that refuses it. Fills the record's
  // identity and token fingerprint.
  absl::StatusOr<std::shared_ptr<const Caller>> Identify(const HttpRequestData& request,
                                                         RequestRecord& record) const;
  Action HandleResponses(const HttpRequestData& request);
  // Bench mode: counters only, no request records.
  Action HandleBench(const HttpRequestData& request);
  Action RunResponses(const HttpRequestData& request, const Caller& caller,
                      std::string& question);
  Action HandleBackgroundPoll(const HttpRequestData& request, std::string_view id);
  Action HandleWait(std::string_view query);
  Reply LastRequestReply() const;
  Reply RecentRequestsReply(std::string_view query) const;
  Reply RecentCallsReply(std::string_view query) const;
  // Model endpoints (model_routes.cc): Chat Completions and knowledge assistants.
  Action HandleChat(const HttpRequestData& request, std::string_view path);
  Action RunChat(const HttpRequestData& request, const Caller& caller, CallRecord& call);
  Action HandleKnowledgeAssistant(const HttpRequestData& request, std::string_view path,
                                  std::string_view endpoint);
  Action RunKnowledgeAssistant(const HttpRequestData& request, const Caller& caller,
                               std::string_view endpoint, CallRecord& call);
  // Managed MCP servers (mcp_route.cc); `server_path` is the path after /api/2.0/mcp/.
  Action HandleMcp(const HttpRequestData& request, std::string_view path,
                   std::string_view server_path);
  Action RunMcp(const HttpRequestData& request, const Caller& caller,
                const McpServerSpec& server, CallRecord& call);
  Action RunMcpPost(const HttpRequestData& request, const Caller& caller,
                    const McpServerSpec& server, CallRecord& call);
  // Identity routes (token_routes.cc).
  Action HandleTokenEndpoint(const HttpRequestData& request);
  Reply TokenEndpointReply(const HttpRequestData& request);
  Reply TokenControlReply(std::string_view query);
  Reply MintUserTokenReply(const HttpRequestData& request);

  const BenchSpec bench_;
  Stats stats_;
  IdentityStore identity_;
  RequestLog request_log_;
  CallLog call_log_;
  McpSessionTable mcp_sessions_;
  std::atomic<uint64_t> next_seq_{1};
  mutable absl::Mutex mu_;
  HttpRequestData last_request_ ABSL_GUARDED_BY(mu_);
  std::string last_identity_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, BackgroundRun, std::less<>> background_ ABSL_GUARDED_BY(mu_);
  // Chat faults limited to their first N uses (`503*2`): the uses so far, per fault spec.
  std::map<std::string, int, std::less<>> chat_fault_uses_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_ROUTER_H_
