// sse_load: an HTTP/1.1 streaming (SSE) load client for the bench (see README.md).
//
//   sse_load --target HOST:PORT --path P --body-file F [--header 'K: V']...
//            --concurrency C --seconds D --warmup W          (closed loop)
//   sse_load ... --hold N --hold-seconds S                   (N streams open at once)
//
// Closed loop: C keep-alive connections, each sending POST after POST, reading each answer
// incrementally (chunked, Content-Length or close-delimited), splitting SSE events, timing
// TTFB (request write -> first event with data), the relay lag of every `@<T>;` stamp and the
// total time. Hold: opens N streams (at most --max-connecting connects in flight), waits until
// each has its first event (or failed), prints {"phase":"held",...}, keeps them S seconds
// (still reading) and closes them. One JSON line at the end; exit 0 only with zero errors.
//
// Threads: one io_context on the main thread; every object here is touched only by it.
// Connections are owned by the Run (one unique_ptr each) and outlive io_context::run(), so
// handlers capture plain `this`.
#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/bench/http_sse_parse.h"
#include "tests/bench/load_stats.h"

namespace agentgateway::bench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string target;
  std::string path = "/invocations";
  std::string body_file;
  std::vector<std::string> headers;
  int concurrency = 16;
  double seconds = 10;
  double warmup = 1;
  int hold = 0;
  double hold_seconds = 10;
  double hold_timeout = 60;  // for every stream to see its first event
  int max_connecting = 500;
  int timeout_ms = 30000;    // closed loop: per request
};

struct Totals {
  std::int64_t requests = 0;
  std::int64_t events = 0;
  std::int64_t errors = 0;
  std::vector<std::int64_t> ttfb_ns, lag_ns, total_ns;
  std::string first_error;
};

class Run;

// One client connection: connect, write the request, read the answer, again. Owned by Run.
class Connection {
 public:
  Connection(Run& run, asio::io_context& ioc, std::size_t buffer_bytes)
      : run_(run), socket_(ioc), backoff_(ioc), buf_(buffer_bytes) {}
  void Start() { DoConnect(); }
  // Stops everything: pending handlers complete with operation_aborted, which is then quiet.
  void Close();
  // The request has run longer than `limit_ns` (or, holding, its first event is that late).
  bool Overdue(std::int64_t now_ns, std::int64_t limit_ns) const {
    return active_ && now_ns - start_ns_ > limit_ns;
  }
  void Fail(const std::string& what);
  bool opened() const { return first_event_ns_ != 0; }

 private:
  void DoConnect();
  void OnConnect(const boost::system::error_code& ec);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec);
  void DoRead();
  void OnRead(const boost::system::error_code& ec, std::size_t n);
  void OnBody(std::string_view body, std::int64_t now_ns);
  void OnResponseDone(std::int64_t now_ns);
  void Next(bool reuse);

  Run& run_;
  tcp::socket socket_;
  asio::steady_timer backoff_;
  std::vector<char> buf_;
  HttpResponseParser parser_;
  SseSplitter sse_;
  StampScanner stamps_;
  std::vector<std::int64_t> lag_ns_;  // this request's stamps, kept if it is measured
  std::int64_t start_ns_ = 0, first_event_ns_ = 0, events_ = 0;
  bool active_ = false;    // a request is in flight
  bool reused_ = false;    // the connection carried an answer before this request
  bool retried_ = false;   // this request was re-sent once after a stale keep-alive close
  bool closing_ = false;
};

// The whole run: options, the request bytes, the clock window, the totals and the mode logic.
class Run {
 public:
  Run(Options options, std::string request, tcp::endpoint endpoint)
      : options_(std::move(options)), request_(std::move(request)), endpoint_(endpoint),
        watchdog_(ioc_) {}

  int Closed();
  int Hold();

  const std::string& request() const { return request_; }
  const tcp::endpoint& endpoint() const { return endpoint_; }
  bool holding() const { return options_.hold > 0; }
  bool Running() const { return SteadyNowNs() < end_ns_; }
  bool Measured(std::int64_t start_ns) const { return start_ns >= measure_start_ns_; }

  // Closed loop: a request finished (or failed).
  void RequestDone(bool measured, std::int64_t total_ns, std::int64_t ttfb_ns,
                   std::int64_t events, std::vector<std::int64_t>& lag_ns);
  void RequestFailed(bool measured, const std::string& what);
  void ConnectionDone() { ++finished_; }
  // Hold: a stream's first event, its failure, its clean end, and events while held.
  void StreamOpened();
  void StreamFailed(bool was_open, const std::string& what);
  void StreamEnded(bool was_open);
  void HoldEvents(std::int64_t n) { totals_.events += n; }

 private:
  void Watch();
  void NoteError(const std::string& what) {
    ++totals_.errors;
    if (totals_.first_error.empty()) totals_.first_error = what;
  }
  void StartMoreStreams();
  void AfterOpenPhase();
  std::string Report(const char* mode, double seconds) const;

  Options options_;
  std::string request_;
  tcp::endpoint endpoint_;
  asio::io_context ioc_{1};
  asio::steady_timer watchdog_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::int64_t measure_start_ns_ = 0, end_ns_ = 0;
  int finished_ = 0;
  Totals totals_;
  // Hold mode.
  std::size_t next_to_start_ = 0;
  int connecting_ = 0, opened_ = 0, failed_opening_ = 0, ended_ = 0;
  bool held_ = false, closing_ = false;
  std::int64_t hold_start_ns_ = 0;
  double open_ms_ = 0;
};

void Connection::Close() {
  closing_ = true;
  active_ = false;
  boost::system::error_code ignored;  // closing a socket that is already closed is fine
  socket_.close(ignored);
  backoff_.cancel();
}

void Connection::DoConnect() {
  boost::system::error_code ignored;  // a fresh socket: nothing to close
  socket_.close(ignored);
  reused_ = false;
  socket_.async_connect(run_.endpoint(),
                        [this](const boost::system::error_code& ec) { OnConnect(ec); });
  start_ns_ = SteadyNowNs();
  active_ = true;
}

void Connection::OnConnect(const boost::system::error_code& ec) {
  if (closing_) return;
  if (ec) return Fail("connect: " + ec.message());
  socket_.set_option(tcp::no_delay(true));
  DoWrite();
}

void Connection::DoWrite() {
  parser_.Reset();
  sse_.Reset();
  stamps_.Reset();
  lag_ns_.clear();
  events_ = 0;
  first_event_ns_ = 0;
  start_ns_ = SteadyNowNs();
  active_ = true;
  asio::async_write(socket_, asio::buffer(run_.request()),
                    [this](const boost::system::error_code& ec, std::size_t) { OnWrite(ec); });
}

void Connection::OnWrite(const boost::system::error_code& ec) {
  if (closing_) return;
  if (ec) return Fail("write: " + ec.message());
  DoRead();
}

void Connection::DoRead() {
  socket_.async_read_some(asio::buffer(buf_),
                          [this](const boost::system::error_code& ec, std::size_t n) {
                            OnRead(ec, n);
                          });
}

void Connection::OnRead(const boost::system::error_code& ec, std::size_t n) {
  if (closing_) return;
  const std::int64_t now_ns = SteadyNowNs();
  if (ec == asio::error::eof) {
    if (parser_.OnEof() == HttpResponseParser::Result::kDone) return OnResponseDone(now_ns);
    // A kept-alive connection the server closed just as we sent: send again on a new one.
    if (!parser_.started() && reused_ && !retried_ && !run_.holding()) {
      retried_ = true;
      return DoConnect();
    }
    return Fail(parser_.error());
  }
  if (ec) return Fail("read: " + ec.message());
  std::size_t consumed = 0;
  auto result = parser_.Feed(std::string_view(buf_.data(), n), &consumed,
                             [&](std::string_view body) { OnBody(body, now_ns); });
  if (result == HttpResponseParser::Result::kError) return Fail(parser_.error());
  if (result == HttpResponseParser::Result::kDone) {
    if (consumed != n) return Fail("unexpected bytes after the response");
    return OnResponseDone(now_ns);
  }
  DoRead();
}

void Connection::OnBody(std::string_view body, std::int64_t now_ns) {
  if (parser_.status() != 200) return;  // an error answer: no events, no stamps
  int events = sse_.Feed(body);
  if (events > 0) {
    if (first_event_ns_ == 0) {
      first_event_ns_ = now_ns;
      if (run_.holding()) run_.StreamOpened();
    }
    events_ += events;
    if (run_.holding()) run_.HoldEvents(events);
  }
  if (!run_.holding()) {
    stamps_.Feed(body, [&](std::int64_t t) { lag_ns_.push_back(LagNs(now_ns, t)); });
  }
}

void Connection::OnResponseDone(std::int64_t now_ns) {
  retried_ = false;
  if (parser_.status() != 200) return Fail("HTTP status " + std::to_string(parser_.status()));
  if (events_ == 0) return Fail("a response with no SSE event with data");
  active_ = false;
  if (run_.holding()) {
    run_.StreamEnded(first_event_ns_ != 0);
    return Close();
  }
  run_.RequestDone(run_.Measured(start_ns_), now_ns - start_ns_, first_event_ns_ - start_ns_,
                   events_, lag_ns_);
  Next(parser_.keep_alive());
}

void Connection::Next(bool reuse) {
  if (!run_.Running()) {
    Close();
    run_.ConnectionDone();
    return;
  }
  if (reuse) {
    reused_ = true;
    return DoWrite();
  }
  DoConnect();
}

void Connection::Fail(const std::string& what) {
  if (closing_) return;
  const bool was_active = active_;
  active_ = false;
  boost::system::error_code ignored;  // the connection is given up either way
  socket_.close(ignored);
  if (run_.holding()) {
    run_.StreamFailed(first_event_ns_ != 0, what);
    closing_ = true;
    return;
  }
  run_.RequestFailed(run_.Measured(start_ns_) && was_active, what);
  if (!run_.Running()) {
    closing_ = true;
    run_.ConnectionDone();
    return;
  }
  // Do not spin on a refused port: try again shortly.
  backoff_.expires_after(std::chrono::milliseconds(50));
  backoff_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !closing_) Next(false);
  });
}

void Run::RequestDone(bool measured, std::int64_t total_ns, std::int64_t ttfb_ns,
                      std::int64_t events, std::vector<std::int64_t>& lag_ns) {
  if (!measured) return;
  ++totals_.requests;
  totals_.events += events;
  totals_.total_ns.push_back(total_ns);
  totals_.ttfb_ns.push_back(ttfb_ns);
  totals_.lag_ns.insert(totals_.lag_ns.end(), lag_ns.begin(), lag_ns.end());
}

void Run::RequestFailed(bool measured, const std::string& what) {
  if (!measured) return;
  ++totals_.requests;
  NoteError(what);
}

// Every 100 ms: fails requests past the per-request timeout, or (holding) streams that have
// not seen their first event within the open-phase timeout.
void Run::Watch() {
  watchdog_.expires_after(std::chrono::milliseconds(100));
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || closing_) return;
    const std::int64_t now = SteadyNowNs();
    if (holding()) {
      if (held_) return;
      if (now - hold_start_ns_ > static_cast<std::int64_t>(options_.hold_timeout * 1e9)) {
        // Streams never started fail first, so failing the started ones starts no more.
        const std::size_t started = next_to_start_;
        for (; next_to_start_ < connections_.size(); ++next_to_start_) {
          ++failed_opening_;
          NoteError("not started within --hold-timeout");
        }
        for (std::size_t i = 0; i < started; ++i) {
          if (!connections_[i]->opened()) connections_[i]->Fail("no first event within --hold-timeout");
        }
        AfterOpenPhase();
        return;
      }
    } else {
      const std::int64_t limit = static_cast<std::int64_t>(options_.timeout_ms) * 1000000;
      for (auto& c : connections_) {
        if (c->Overdue(now, limit)) c->Fail("request timed out (--timeout-ms)");
      }
      if (finished_ == static_cast<int>(connections_.size())) return;
    }
    Watch();
  });
}

int Run::Closed() {
  for (int i = 0; i < options_.concurrency; ++i) {
    connections_.push_back(std::make_unique<Connection>(*this, ioc_, 64 * 1024));
  }
  const std::int64_t now = SteadyNowNs();
  measure_start_ns_ = now + static_cast<std::int64_t>(options_.warmup * 1e9);
  end_ns_ = measure_start_ns_ + static_cast<std::int64_t>(options_.seconds * 1e9);
  for (auto& c : connections_) c->Start();
  Watch();
  ioc_.run();
  const double elapsed = static_cast<double>(SteadyNowNs() - measure_start_ns_) / 1e9;
  std::string line = Report("closed", elapsed);
  std::printf("%s\n", line.c_str());
  return totals_.errors == 0 && totals_.requests > 0 ? 0 : 3;
}

std::string Run::Report(const char* mode, double seconds) const {
  auto sorted = [](std::vector<std::int64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  const auto ttfb = sorted(totals_.ttfb_ns);
  const auto lag = sorted(totals_.lag_ns);
  const auto total = sorted(totals_.total_ns);
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"mode\":\"%s\",\"concurrency\":%d,\"seconds\":%.3f,\"requests\":%lld,\"rps\":%.1f,"
      "\"events\":%lld,\"events_per_s\":%.1f,\"ttfb_p50_ms\":%.4f,\"ttfb_p99_ms\":%.4f,"
      "\"ttfb_p999_ms\":%.4f,\"lag_p50_ms\":%.4f,\"lag_p99_ms\":%.4f,\"lag_p999_ms\":%.4f,"
      "\"lag_samples\":%zu,\"total_p50_ms\":%.4f,\"total_p99_ms\":%.4f,\"total_p999_ms\":%.4f,"
      "\"errors\":%lld,\"first_error\":\"",
      mode, options_.concurrency, seconds, static_cast<long long>(totals_.requests),
      static_cast<double>(totals_.requests) / seconds, static_cast<long long>(totals_.events),
      static_cast<double>(totals_.events) / seconds, PercentileMs(ttfb, 0.50),
      PercentileMs(ttfb, 0.99), PercentileMs(ttfb, 0.999), PercentileMs(lag, 0.50),
      PercentileMs(lag, 0.99), PercentileMs(lag, 0.999), lag.size(), PercentileMs(total, 0.50),
      PercentileMs(total, 0.99), PercentileMs(total, 0.999),
      static_cast<long long>(totals_.errors));
  std::string line = buf;
  AppendJsonEscaped(totals_.first_error, line);
  line += "\"}";
  return line;
}

void Run::StartMoreStreams() {
  while (!closing_ && connecting_ < options_.max_connecting &&
         next_to_start_ < connections_.size()) {
    ++connecting_;
    connections_[next_to_start_++]->Start();
  }
}

void Run::StreamOpened() {
  ++opened_;
  --connecting_;
  StartMoreStreams();
  AfterOpenPhase();
}

void Run::StreamFailed(bool was_open, const std::string& what) {
  NoteError(what);
  if (was_open) return;
  ++failed_opening_;
  --connecting_;
  StartMoreStreams();
  AfterOpenPhase();
}

void Run::StreamEnded(bool was_open) {
  // A stream the server completed while it should have been held: not a failure, but the
  // hold no longer holds it (the final line counts these as "ended").
  ++ended_;
  if (!was_open) StreamFailed(false, "stream ended before its first event");
}

// Once every stream opened or failed: the "held" line, then S seconds, then close them all.
void Run::AfterOpenPhase() {
  if (held_ || opened_ + failed_opening_ < options_.hold) return;
  held_ = true;
  open_ms_ = static_cast<double>(SteadyNowNs() - hold_start_ns_) / 1e6;
  std::printf("{\"phase\":\"held\",\"streams\":%d,\"opened\":%d,\"errors\":%lld,\"open_ms\":%.1f}\n",
              options_.hold, opened_, static_cast<long long>(totals_.errors), open_ms_);
  std::fflush(stdout);
  watchdog_.expires_after(std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.hold_seconds)));
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    closing_ = true;
    for (auto& c : connections_) c->Close();
  });
}

int Run::Hold() {
  connections_.reserve(static_cast<std::size_t>(options_.hold));
  for (int i = 0; i < options_.hold; ++i) {
    connections_.push_back(std::make_unique<Connection>(*this, ioc_, 4 * 1024));
  }
  hold_start_ns_ = SteadyNowNs();
  end_ns_ = INT64_MAX;
  StartMoreStreams();
  Watch();
  ioc_.run();
  std::string line = "{\"mode\":\"hold\",\"streams\":" + std::to_string(options_.hold) +
                     ",\"opened\":" + std::to_string(opened_) +
                     ",\"errors\":" + std::to_string(totals_.errors);
  char ms[64];
  std::snprintf(ms, sizeof ms, ",\"open_ms\":%.1f", open_ms_);
  line += ms;
  line += ",\"ended\":" + std::to_string(ended_) + ",\"events\":" +
          std::to_string(totals_.events) + ",\"first_error\":\"";
  AppendJsonEscaped(totals_.first_error, line);
  line += "\"}";
  std::printf("%s\n", line.c_str());
  return totals_.errors == 0 && opened_ == options_.hold ? 0 : 3;
}

std::string BuildRequest(const Options& o, const std::string& body) {
  bool has_type = false, has_accept = false;
  std::string extra;
  for (const std::string& h : o.headers) {
    std::string lower = h.substr(0, h.find(':'));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    has_type |= lower == "content-type";
    has_accept |= lower == "accept";
    extra += h + "\r\n";
  }
  std::string r = "POST " + o.path + " HTTP/1.1\r\nHost: " + o.target + "\r\n";
  if (!has_type) r += "Content-Type: application/json\r\n";
  if (!has_accept) r += "Accept: text/event-stream\r\n";
  r += extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

}  // namespace
}  // namespace agentgateway::bench

int main(int argc, char** argv) {
  using namespace agentgateway::bench;
  Options o;
  CLI::App app{"sse_load: HTTP/1.1 SSE load (closed loop, or N streams held open)"};
  app.add_option("--target", o.target, "HOST:PORT")->required();
  app.add_option("--path", o.path, "request path");
  app.add_option("--body-file", o.body_file, "request body (JSON)")->required();
  app.add_option("--header", o.headers, "extra request header 'K: V' (repeatable)");
  app.add_option("--concurrency,-c", o.concurrency, "connections")->check(CLI::Range(1, 100000));
  app.add_option("--seconds,-d", o.seconds, "measured seconds")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", o.warmup, "unrecorded seconds first")->check(CLI::Range(0.0, 600.0));
  app.add_option("--hold", o.hold, "hold N streams open")->check(CLI::Range(1, 1000000));
  app.add_option("--hold-seconds", o.hold_seconds, "how long to hold them")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--hold-timeout", o.hold_timeout, "seconds for all first events")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--max-connecting", o.max_connecting, "hold: streams opening at once")
      ->check(CLI::Range(1, 100000));
  app.add_option("--timeout-ms", o.timeout_ms, "closed loop: per-request timeout")
      ->check(CLI::Range(1, 3600000));
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(o.body_file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "sse_load: cannot read %s\n", o.body_file.c_str());
    return 2;
  }
  std::stringstream body;
  body << in.rdbuf();
  std::size_t colon = o.target.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "sse_load: --target must be HOST:PORT\n");
    return 2;
  }
  RaiseFileLimit();
  boost::asio::io_context resolver_ioc;
  tcp::resolver resolver(resolver_ioc);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(o.target.substr(0, colon), o.target.substr(colon + 1), ec);
  if (ec || endpoints.empty()) {
    std::fprintf(stderr, "sse_load: cannot resolve %s: %s\n", o.target.c_str(),
                 ec.message().c_str());
    return 2;
  }
  Run run(o, BuildRequest(o, body.str()), endpoints.begin()->endpoint());
  return o.hold > 0 ? run.Hold() : run.Closed();
}
