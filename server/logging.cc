#include "server/logging.h"

#include "server/identity/secret.h"

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace agentgateway {
namespace {

namespace json = boost::json;

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_sink_mu;
std::function<void(std::string_view)> g_sink;  // guarded by g_sink_mu

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[80];  // fits any int fields, so no truncation warning
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

// Reads AGENT_GATEWAY_LOG_LEVEL once, at first use.
void InitLevelFromEnv() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* v = std::getenv("AGENT_GATEWAY_LOG_LEVEL");
    if (!v) return;
    std::string s(v);
    if (s == "debug") g_level = static_cast<int>(LogLevel::kDebug);
    if (s == "warning") g_level = static_cast<int>(LogLevel::kWarning);
    if (s == "error") g_level = static_cast<int>(LogLevel::kError);
  });
}

std::string ScrubForLog(std::string_view text) { return identity::ScrubSecrets(text); }

void AppendNumber(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  out += buf;
}

// A W3C trace id is an identifier shared with every tracing backend, not a secret, though its
// 32 hex digits look like a token to the scrubber: the `trace_id` field keeps it when it is
// exactly that shape.
bool IsTraceIdField(std::string_view key, std::string_view value) {
  return key == "trace_id" && value.size() == 32 &&
         value.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

void Log(LogLevel level, std::string_view message, const LogFields& fields) {
  InitLevelFromEnv();
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  // Written by hand (keys are trusted, values quoted and scrubbed) so numbers keep a readable
  // fixed form, e.g. "duration_ms":12.345.
  std::string text = "{\"ts\":\"" + Timestamp() + "\",\"level\":\"" + LevelName(level) +
                     "\",\"msg\":" + json::serialize(json::string(ScrubForLog(message)));
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in the lambda.
  for (const auto& field : fields) {
    const std::string& key = field.first;
    const LogValue& value = field.second;
    text += ",\"" + key + "\":";
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            text += json::serialize(json::string(IsTraceIdField(key, v) ? v : ScrubForLog(v)));
          } else if constexpr (std::is_same_v<T, bool>) {
            text += v ? "true" : "false";
          } else if constexpr (std::is_same_v<T, double>) {
            AppendNumber(text, v);
          } else {
            text += std::to_string(v);
          }
        },
        value);
  }
  text.push_back('}');
  std::lock_guard<std::mutex> lock(g_sink_mu);
  if (g_sink) {
    g_sink(text);
  } else {
    text.push_back('\n');
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

void SetLogSinkForTesting(std::function<void(std::string_view line)> sink) {
  std::lock_guard<std::mutex> lock(g_sink_mu);
  g_sink = std::move(sink);
}

}  // namespace agentgateway
