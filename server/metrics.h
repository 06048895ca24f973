// The process's Prometheus metrics (prometheus-cpp core, served as text at GET /metrics).
//
// One registry per process (Metrics::Get()), fed from the few places that know each fact: the
// per-call log line (calls, durations), admission (denials), the stream reactor (time to first
// event, relay lag), the upstream pool (time to first byte), the engine (retries, truncated
// streams), and scrape-time hooks for what other parts already count (pool connections, token
// refreshes). Every name starts with `agentgateway_`. Label values come from bounded sets:
// configured profile names, gRPC code names, route templates, fixed reasons.
//
// Thread-safe. This header stays light (no prometheus-cpp types) because it is included on the
// request path.
#ifndef AGENTGATEWAY_SERVER_METRICS_H_
#define AGENTGATEWAY_SERVER_METRICS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace agentgateway {

class Metrics {
 public:
  static Metrics& Get();

  // One finished RPC (both doors: REST calls are in-process RPCs).
  void CallEnded(std::string_view rpc, std::string_view profile, std::string_view code,
                 std::chrono::steady_clock::duration duration);
  void CallStarted(std::string_view rpc);  // active calls, until CallEnded
  // One REST request by route template (`/invocations`, `/agents/{name}/invocations`, ...).
  void HttpRequest(std::string_view route, int status);
  // A call refused before anything was sent upstream. Reasons: draining, max_concurrent_calls,
  // profile_limit, unknown_profile, unauthenticated, permission_denied, invalid_request.
  void Denial(std::string_view reason);
  // Upstream request sent -> response head.
  void UpstreamFirstByte(std::chrono::steady_clock::duration d);
  // Call admitted -> first event handed to the caller's transport, and the part of it the
  // gateway added (admission and token before the upstream call, queueing before the write).
  void FirstEvent(std::chrono::steady_clock::duration total,
                  std::chrono::steady_clock::duration gateway_added);
  // An event's wait between arriving from the engine and its write to the caller starting.
  void RelayLag(std::chrono::steady_clock::duration d);
  void UpstreamRetry();
  // An upstream stream that ended without its terminal event, or broke after some events.
  void UpstreamTruncated();
  // A call ended early: by = caller | deadline | drain.
  void Cancellation(std::string_view by, std::uint64_t count = 1);
  void ApprovalAnswered(bool approve);

  // Cumulative counts read at scrape time from parts that keep their own.
  struct PoolSnapshot {
    std::uint64_t connections_opened = 0;
    std::uint64_t connections_reused = 0;
    std::size_t open = 0;
    std::size_t idle = 0;
    std::size_t waiting = 0;
  };
  struct TokenSnapshot {
    std::uint64_t refreshes = 0;
    std::uint64_t failures = 0;
    bool has_valid_token = false;
  };
  void SetPoolSource(std::function<PoolSnapshot()> source);
  void SetTokenSource(std::function<TokenSnapshot()> source);

  // The exposition (text format 0.0.4), after running the scrape-time sources.
  std::string Text();

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

 private:
  Metrics();
  ~Metrics();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The Prometheus exposition's content type.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_METRICS_H_
