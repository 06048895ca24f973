// SSE framing of StreamEvents for the two front doors (protocol.md sections 3 and 4):
//   kMlflow: `data: <json>\n\n` only; errors `data: {"error": "..."}`; optional trace id frame;
//            ends `data: [DONE]\n\n`.
//   kOpenAi: `event: <type>\ndata: <json>\n\n`, every data carrying `type` and a rising
//            `sequence_number` (inserted when upstream lacks it); errors as `event: error`;
//            ends `data: [DONE]\n\n`.
// Pure string building; one framer per stream, used from one thread at a time.
#ifndef AGENTGATEWAY_GATEWAY_SSE_FRAMING_H_
#define AGENTGATEWAY_GATEWAY_SSE_FRAMING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agentgateway/v1/agent_service.pb.h"

namespace agentgateway::gateway {

enum class SseFraming { kMlflow, kOpenAi };

// An SSE comment frame: clients ignore it, proxies and idle timers see traffic. The same for
// both framings.
inline constexpr std::string_view kSseKeepAliveFrame = ": keep-alive\n\n";

class SseFramer {
 public:
  // `trace_id`: when set (MLflow framing only), a {"trace_id": ...} frame precedes [DONE].
  SseFramer(SseFraming framing, std::optional<std::string> trace_id);

  std::string Event(const agentgateway::v1::StreamEvent& event);
  // The frame reporting a failure after the stream started (not including [DONE]).
  std::string Error(std::string_view code, std::string_view message);
  // The closing frames: trace id (if asked) and `data: [DONE]`.
  std::string Done() const;

 private:
  SseFraming framing_;
  std::optional<std::string> trace_id_;
  int64_t last_sequence_number_ = 0;
};

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_SSE_FRAMING_H_
