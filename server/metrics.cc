#include "server/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace agentgateway {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Latency buckets from 0.1 ms to 10 min: relay lags sit at the low end, agent runs at the top.
Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,     1,      2.5,   5,      10,    30,   60,    120,  300, 600};
}

}  // namespace

struct Metrics::Impl {
  prometheus::Registry registry;
  Family<Counter>& calls = prometheus::BuildCounter()
                               .Name("agentgateway_calls_total")
                               .Help("Finished calls by RPC, profile and gRPC code (REST calls "
                                     "included: they are in-process RPCs)")
                               .Register(registry);
  Family<Histogram>& call_seconds =
      prometheus::BuildHistogram()
          .Name("agentgateway_call_duration_seconds")
          .Help("Whole call time, by RPC and profile")
          .Register(registry);
  Family<Gauge>& active = prometheus::BuildGauge()
                              .Name("agentgateway_active_calls")
                              .Help("Calls running now, by RPC (Stream: open streams)")
                              .Register(registry);
  Family<Counter>& http = prometheus::BuildCounter()
                              .Name("agentgateway_http_requests_total")
                              .Help("REST requests by route template and HTTP status")
                              .Register(registry);
  Family<Counter>& denials = prometheus::BuildCounter()
                                 .Name("agentgateway_denials_total")
                                 .Help("Calls refused before anything went upstream, by reason")
                                 .Register(registry);
  Family<Histogram>& upstream_first_byte =
      prometheus::BuildHistogram()
          .Name("agentgateway_upstream_first_byte_seconds")
          .Help("Upstream request sent to response head")
          .Register(registry);
  Family<Histogram>& first_event = prometheus::BuildHistogram()
                                       .Name("agentgateway_first_event_seconds")
                                       .Help("Stream call admitted to its first event written")
                                       .Register(registry);
  Family<Histogram>& gateway_added =
      prometheus::BuildHistogram()
          .Name("agentgateway_gateway_added_first_event_seconds")
          .Help("The gateway's own part of the time to first event (admission and token before "
                "the upstream call, queueing before the write)")
          .Register(registry);
  Family<Histogram>& relay_lag =
      prometheus::BuildHistogram()
          .Name("agentgateway_event_relay_lag_seconds")
          .Help("Per event: arrival from upstream to the start of its write to the caller")
          .Register(registry);
  Family<Counter>& retries = prometheus::BuildCounter()
                                 .Name("agentgateway_upstream_retries_total")
                                 .Help("Upstream attempts after the first (safe retries only)")
                                 .Register(registry);
  Family<Counter>& truncations =
      prometheus::BuildCounter()
          .Name("agentgateway_upstream_truncated_streams_total")
          .Help("Upstream streams that ended without a terminal event or broke midway")
          .Register(registry);
  Family<Counter>& cancellations = prometheus::BuildCounter()
                                       .Name("agentgateway_cancellations_total")
                                       .Help("Calls ended early, by who ended them")
                                       .Register(registry);
  Family<Counter>& approvals = prometheus::BuildCounter()
                                   .Name("agentgateway_mcp_approvals_answered_total")
                                   .Help("MCP approval requests answered by a profile policy")
                                   .Register(registry);
  Family<Counter>& connections_opened =
      prometheus::BuildCounter()
          .Name("agentgateway_upstream_connections_opened_total")
          .Help("Upstream connections opened (TCP + TLS)")
          .Register(registry);
  Family<Counter>& connections_reused =
      prometheus::BuildCounter()
          .Name("agentgateway_upstream_connection_reuses_total")
          .Help("Upstream requests sent on a kept-alive connection")
          .Register(registry);
  Family<Gauge>& connections = prometheus::BuildGauge()
                                   .Name("agentgateway_upstream_connections")
                                   .Help("Upstream connections now, by state (open includes idle)")
                                   .Register(registry);
  Family<Gauge>& waiting = prometheus::BuildGauge()
                               .Name("agentgateway_upstream_waiting_requests")
                               .Help("Upstream requests waiting for a connection")
                               .Register(registry);
  Family<Counter>& token_refreshes = prometheus::BuildCounter()
                                         .Name("agentgateway_token_refreshes_total")
                                         .Help("App token requests that succeeded")
                                         .Register(registry);
  Family<Counter>& token_failures = prometheus::BuildCounter()
                                        .Name("agentgateway_token_failures_total")
                                        .Help("App token requests that failed")
                                        .Register(registry);
  Family<Gauge>& token_valid = prometheus::BuildGauge()
                                   .Name("agentgateway_token_valid")
                                   .Help("1 while the app holds a valid upstream token")
                                   .Register(registry);

  // Hot-path series, added once.
  Histogram& relay_lag_all = relay_lag.Add({}, LatencyBuckets());
  Histogram& upstream_first_byte_all = upstream_first_byte.Add({}, LatencyBuckets());
  Histogram& first_event_all = first_event.Add({}, LatencyBuckets());
  Histogram& gateway_added_all = gateway_added.Add({}, LatencyBuckets());
  Counter& retries_all = retries.Add({});
  Counter& truncations_all = truncations.Add({});

  std::mutex sources_mu;
  std::function<PoolSnapshot()> pool_source;
  std::function<TokenSnapshot()> token_source;
  PoolSnapshot last_pool;
  TokenSnapshot last_token;
};

Metrics& Metrics::Get() {
  static Metrics* metrics = new Metrics();  // never destroyed: used until the process ends
  return *metrics;
}

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::CallEnded(std::string_view rpc, std::string_view profile, std::string_view code,
                        std::chrono::steady_clock::duration duration) {
  impl_->calls
      .Add({{"rpc", std::string(rpc)}, {"profile", std::string(profile)},
            {"code", std::string(code)}})
      .Increment();
  impl_->call_seconds
      .Add({{"rpc", std::string(rpc)}, {"profile", std::string(profile)}}, LatencyBuckets())
      .Observe(Seconds(duration));
  impl_->active.Add({{"rpc", std::string(rpc)}}).Decrement();
}

void Metrics::CallStarted(std::string_view rpc) {
  impl_->active.Add({{"rpc", std::string(rpc)}}).Increment();
}

void Metrics::HttpRequest(std::string_view route, int status) {
  impl_->http.Add({{"route", std::string(route)}, {"status", std::to_string(status)}}).Increment();
}

void Metrics::Denial(std::string_view reason) {
  impl_->denials.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::UpstreamFirstByte(std::chrono::steady_clock::duration d) {
  impl_->upstream_first_byte_all.Observe(Seconds(d));
}

void Metrics::FirstEvent(std::chrono::steady_clock::duration total,
                         std::chrono::steady_clock::duration gateway_added) {
  impl_->first_event_all.Observe(Seconds(total));
  impl_->gateway_added_all.Observe(Seconds(gateway_added));
}

void Metrics::RelayLag(std::chrono::steady_clock::duration d) {
  impl_->relay_lag_all.Observe(Seconds(d));
}

void Metrics::UpstreamRetry() { impl_->retries_all.Increment(); }
void Metrics::UpstreamTruncated() { impl_->truncations_all.Increment(); }

void Metrics::Cancellation(std::string_view by, std::uint64_t count) {
  impl_->cancellations.Add({{"by", std::string(by)}}).Increment(static_cast<double>(count));
}

void Metrics::ApprovalAnswered(bool approve) {
  impl_->approvals.Add({{"decision", approve ? "approve" : "deny"}}).Increment();
}

void Metrics::SetPoolSource(std::function<PoolSnapshot()> source) {
  std::lock_guard<std::mutex> lock(impl_->sources_mu);
  impl_->pool_source = std::move(source);
}

void Metrics::SetTokenSource(std::function<TokenSnapshot()> source) {
  std::lock_guard<std::mutex> lock(impl_->sources_mu);
  impl_->token_source = std::move(source);
}

std::string Metrics::Text() {
  {
    // Cumulative counts kept elsewhere become counter increments since the last scrape.
    std::lock_guard<std::mutex> lock(impl_->sources_mu);
    if (impl_->pool_source) {
      PoolSnapshot now = impl_->pool_source();
      PoolSnapshot& last = impl_->last_pool;
      impl_->connections_opened.Add({}).Increment(
          static_cast<double>(now.connections_opened - std::min(now.connections_opened,
                                                                last.connections_opened)));
      impl_->connections_reused.Add({}).Increment(
          static_cast<double>(now.connections_reused - std::min(now.connections_reused,
                                                                last.connections_reused)));
      impl_->connections.Add({{"state", "open"}}).Set(static_cast<double>(now.open));
      impl_->connections.Add({{"state", "idle"}}).Set(static_cast<double>(now.idle));
      impl_->waiting.Add({}).Set(static_cast<double>(now.waiting));
      last = now;
    }
    if (impl_->token_source) {
      TokenSnapshot now = impl_->token_source();
      TokenSnapshot& last = impl_->last_token;
      impl_->token_refreshes.Add({}).Increment(
          static_cast<double>(now.refreshes - std::min(now.refreshes, last.refreshes)));
      impl_->token_failures.Add({}).Increment(
          static_cast<double>(now.failures - std::min(now.failures, last.failures)));
      impl_->token_valid.Add({}).Set(now.has_valid_token ? 1 : 0);
      last = now;
    }
  }
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace agentgateway
