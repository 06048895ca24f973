// SSE framing of StreamEvents for the two front doors (protocol.md sections 3 and 4):
//   kMlflow: `data: <json>\n\n` only; errors `data: {"error": "..."}`; optional trace id frame;
//            ends `data: [DONE]\n\n`.
//   kOpenAi: `event: <type>\ndata: <json>\n\n`, every data carrying `type` and a
//            `sequence_number` that rises by one per frame (the first frame keeps upstream's
//            number, or takes the gateway's when upstream has none; later ones are set or
//            inserted so the client sees no gap); errors as `event: error`; ends
//            `data: [DONE]\n\n`.
//            One response per stream (protocol.md §4): when upstream sends one
//            created/completed pair per tool round, the client sees the first round's
//            `response.created` and `response.in_progress` only, `output_index` continued
//            across rounds, and one `response.completed` at the end, with the first round's
//            id and every round's items. So a `response.completed` is held back until the next
//            event shows whether another round follows: a `response.created` folds it in, any
//            other event or Done() sends it first. Error() drops it: a failed stream does not
//            claim completion. Memory: the items of the rounds folded so far (what the final
//            completed event must carry anyway).
// Pure string building; one framer per stream, used from one thread at a time.
#ifndef AGENTGATEWAY_GATEWAY_SSE_FRAMING_H_
#define AGENTGATEWAY_GATEWAY_SSE_FRAMING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

  // The frames for `event`; empty when the event is held back or folded away (OpenAI framing).
  std::string Event(const agentgateway::v1::StreamEvent& event);
  // The frame reporting a failure after the stream started (not including [DONE]).
  std::string Error(std::string_view code, std::string_view message);
  // The closing frames: a held-back response.completed, the trace id (if asked), `data: [DONE]`.
  std::string Done();
  // A failed stream's last frames: Error(), then Done() (in that order: Error() drops a
  // held-back response.completed, since a failed stream does not claim completion).
  std::string Failed(std::string_view code, std::string_view message) {
    std::string frames = Error(code, message);
    return frames + Done();
  }

 private:
  std::string OpenAiEvent(const agentgateway::v1::StreamEvent& event);
  // `event: type` + data, with type and the next sequence_number set in an object's data.
  std::string Frame(std::string_view type, std::string data, int64_t upstream_sequence);
  // The held completed event as the stream's one completed event, framed; empty when none.
  std::string FlushCompleted();
  // Folds the held completed event's items into items_ and starts the next round.
  void FoldCompleted();

  SseFraming framing_;
  std::optional<std::string> trace_id_;
  int64_t last_sequence_number_ = 0;
  bool numbered_ = false;  // a frame carrying a sequence_number went out

  // OpenAI framing: presenting several upstream rounds as one response.
  std::optional<std::string> held_completed_;  // the data of a response.completed
  std::string first_response_id_;              // JSON text of the first response's id
  std::vector<std::string> items_;             // the items of folded rounds, exact text
  int64_t index_offset_ = 0;      // added to output_index in the current round
  int64_t round_index_end_ = 0;   // one past the highest output_index seen in this round
  bool drop_in_progress_ = false;  // right after a folded round's response.created
};

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_SSE_FRAMING_H_
