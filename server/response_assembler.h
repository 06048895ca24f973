// ResponseAssembler: repairs one stream's `response.completed` events when the Supervisor API
// sends them with an empty `response.output` although the round streamed items or text deltas
// (protocol.md §1, streaming quirks). A round runs from `response.created` to
// `response.completed`; within it the assembler keeps each `response.output_item.done` item
// (its exact text) and the text of `response.output_text.delta` events per item id and content
// index. When the round's completed event has `"output": []`, that array is replaced by the
// round's items in output_index order; a message that never got its output_item.done is built
// from its deltas under the item id the deltas carried, so ids stay stable. Every other event,
// and a completed event that needs no repair, is left byte for byte as it came.
//
// Memory: at most kMaxRoundBytes of item and text bytes per round, kept small because every
// open stream pays it (with 1,000 slow readers, 64 KiB each is 64 MiB). A round beyond it is no
// longer assembled: its completed event passes unchanged, and the stream logs that once.
//
// Owned by one stream; not thread-safe (the engine delivers a run's events one at a time).
// Holds no gRPC or Asio types.
#ifndef AGENTGATEWAY_SERVER_RESPONSE_ASSEMBLER_H_
#define AGENTGATEWAY_SERVER_RESPONSE_ASSEMBLER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace agentgateway {

class ResponseAssembler {
 public:
  static constexpr std::size_t kMaxRoundBytes = 64 << 10;

  explicit ResponseAssembler(std::size_t max_round_bytes = kMaxRoundBytes)
      : max_round_bytes_(max_round_bytes) {}

  // Watches one event (`type` as the engine reported it, `json` its data). Returns true when it
  // rewrote `json` (a repaired response.completed); otherwise `json` is untouched.
  bool Process(std::string_view type, std::string& json);

 private:
  struct Item {
    std::string id;
    std::int64_t output_index = -1;  // -1: not known
    std::string added;               // the item of output_item.added (exact text)
    std::string done;                // the item of output_item.done (exact text)
    std::map<std::int64_t, std::string> parts;  // content_index -> text
  };

  Item& Find(std::string_view id, std::int64_t output_index);
  void OnItemEvent(std::string_view json, bool done);
  void OnText(std::string_view json, bool done);
  bool Repair(std::string& json);
  static std::string MessageFromDeltas(const Item& item);
  // Counts `bytes` against the round's budget; false (and the round given up) beyond it.
  bool Charge(std::size_t bytes);
  void StartRound();

  std::size_t max_round_bytes_;
  std::vector<Item> items_;  // this round's, in order of first sight
  std::size_t round_bytes_ = 0;
  bool round_given_up_ = false;
  bool logged_limit_ = false;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_RESPONSE_ASSEMBLER_H_
