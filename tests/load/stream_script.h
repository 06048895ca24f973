// StreamScript: the exact Responses-API events of one load-test stream, built on demand from
// (stream id, event index) so neither the generator nor a checking client ever holds a whole
// stream. The generator sends them as SSE; clients compare what they receive with them.
//
// Order: response.created, response.in_progress, response.output_item.added,
// response.content_part.added, `deltas` x response.output_text.delta (each delta's text starts
// with "s<stream> e<index> " and is padded to delta_bytes), response.completed. The completed
// response carries an empty `output` although text streamed, a shape the Supervisor API is
// known to send (protocol.md section 1); it keeps the generator from buffering the whole text.
// The gateway repairs that event (server/response_assembler.h) when the round fits the
// assembler's budget: clients compare what they receive with Delivered().
#ifndef AGENTGATEWAY_TESTS_LOAD_STREAM_SCRIPT_H_
#define AGENTGATEWAY_TESTS_LOAD_STREAM_SCRIPT_H_

#include <cstddef>
#include <string>

namespace agentgateway::load {

// The text a request carries to name its stream; the generator finds the id in the body.
inline constexpr char kStreamMarker[] = "load-stream-";

class StreamScript {
 public:
  StreamScript(int stream_id, int deltas, std::size_t delta_bytes)
      : stream_id_(stream_id), deltas_(deltas), delta_bytes_(delta_bytes) {}

  int size() const { return deltas_ + 5; }
  std::string Type(int index) const;
  // The event's JSON object text (compact, one line).
  std::string Json(int index) const;
  // The SSE frame: `event: <type>\ndata: <json>\n\n`.
  std::string Frame(int index) const;
  // The event's JSON as the gateway relays it: Json(index), except that the completed event's
  // empty output holds the message the deltas built, when the text fits the assembler's
  // per-round budget (ResponseAssembler::kMaxRoundBytes).
  std::string Delivered(int index) const;

 private:
  std::string DeltaText(int delta) const;
  std::string Completed(const std::string& output) const;

  int stream_id_;
  int deltas_;
  std::size_t delta_bytes_;
};

}  // namespace agentgateway::load

#endif  // AGENTGATEWAY_TESTS_LOAD_STREAM_SCRIPT_H_
