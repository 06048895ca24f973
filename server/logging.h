// Structured logs: one JSON object per line ({"ts","level","msg",...fields}) on stderr.
//
// Thread-safe. String values are passed through the secret scrubber before they are written,
// so a token that slipped into a message still never reaches a log line. Tests replace the
// output with SetLogSinkForTesting to scan what was logged.
#ifndef AGENTGATEWAY_SERVER_LOGGING_H_
#define AGENTGATEWAY_SERVER_LOGGING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace agentgateway {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogValue = std::variant<std::string, std::int64_t, double, bool>;
using LogFields = std::vector<std::pair<std::string, LogValue>>;

void Log(LogLevel level, std::string_view message, const LogFields& fields = {});

// Lines below `level` are dropped (default kInfo; AGENT_GATEWAY_LOG_LEVEL=debug|info|warning|error).
void SetLogLevel(LogLevel level);

// Receives every line instead of stderr; nullptr restores stderr.
void SetLogSinkForTesting(std::function<void(std::string_view line)> sink);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_LOGGING_H_
