#include "tests/emulator/events.h"

#include "tests/emulator/str_util.h"
#include "boost/json/serialize.hpp"

namespace agentgateway::emulator {
namespace {

boost::json::object ResponseObject(std::string_view id, const ResponseMeta& meta,
                                   std::string_view status, boost::json::array output) {
  return {{"id", id},
          {"object", "response"},
          {"created_at", meta.created_at},
          {"status", status},
          {"model", meta.model},
          {"metadata", meta.metadata},
          {"output", std::move(output)}};
}

boost::json::object Usage(const Turn& turn) {
  return {{"input_tokens", turn.input_tokens},
          {"output_tokens", turn.output_tokens},
          {"total_tokens", turn.input_tokens + turn.output_tokens}};
}

// Appends frames with a rising sequence_number.
class FrameWriter {
 public:
  explicit FrameWriter(std::vector<std::string>& frames) : frames_(frames) {}

  void Emit(std::string_view type, boost::json::object fields) {
    boost::json::object data{{"type", type}, {"sequence_number", next_seq_++}};
    for (auto& field : fields) data.emplace(field.key(), std::move(field.value()));
    frames_.push_back(Cat("event: ", type, "\ndata: ", boost::json::serialize(data),
                                   "\n\n"));
  }
  void Raw(std::string_view type, const boost::json::object& data) {
    frames_.push_back(Cat("event: ", type, "\ndata: ", boost::json::serialize(data),
                                   "\n\n"));
  }
  // Deltas are most of a long stream: built by concatenation, escaping each distinct piece once.
  void Deltas(const std::vector<std::string>& deltas, std::string_view item_id, int index) {
    std::string prefix = Cat(
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
        "\"item_id\":", boost::json::serialize(boost::json::string(item_id)),
        ",\"output_index\":", index, ",\"content_index\":0,\"sequence_number\":");
    const std::string* last = nullptr;
    std::string escaped;
    for (const std::string& delta : deltas) {
      if (last == nullptr || *last != delta) {
        escaped = boost::json::serialize(boost::json::string(delta));
        last = &delta;
      }
      frames_.push_back(Cat(prefix, next_seq_++, ",\"delta\":", escaped, "}\n\n"));
    }
  }

 private:
  std::vector<std::string>& frames_;
  int64_t next_seq_ = 0;
};

void EmitMessage(FrameWriter& w, const Turn& turn, const boost::json::object& item, int index) {
  boost::json::object added = item;
  added["status"] = "in_progress";
  added["content"] = boost::json::array();
  w.Emit("response.output_item.added", {{"output_index", index}, {"item", std::move(added)}});
  const boost::json::value& part = item.at("content").get_array().at(0);
  w.Emit("response.content_part.added",
         {{"item_id", turn.message_id}, {"output_index", index}, {"content_index", 0},
          {"part",
           {{"type", "output_text"}, {"text", ""}, {"annotations", boost::json::array()}}}});
  w.Deltas(turn.deltas, turn.message_id, index);
  w.Emit("response.output_text.done", {{"item_id", turn.message_id},
                                       {"output_index", index},
                                       {"content_index", 0},
                                       {"text", part.at("text")}});
  w.Emit("response.content_part.done", {{"item_id", turn.message_id},
                                        {"output_index", index},
                                        {"content_index", 0},
                                        {"part", part}});
  w.Emit("response.output_item.done", {{"output_index", index}, {"item", item}});
}

void EmitItem(FrameWriter& w, const Turn& turn, const boost::json::object& item, int index) {
  std::string_view type = item.at("type").get_string();
  if (type == "message") return EmitMessage(w, turn, item, index);
  boost::json::object added = item;
  if (type == "function_call") {
    added["status"] = "in_progress";
    added["arguments"] = "";
  }
  w.Emit("response.output_item.added", {{"output_index", index}, {"item", std::move(added)}});
  if (type == "function_call") {
    w.Emit("response.function_call_arguments.done",
           {{"item_id", item.at("id")},
            {"output_index", index},
            {"arguments", item.at("arguments")}});
  }
  w.Emit("response.output_item.done", {{"output_index", index}, {"item", item}});
}

}  // namespace

boost::json::object BuildResponse(const Turn& turn, const ResponseMeta& meta,
                                  std::string_view status) {
  boost::json::array output;
  if (status == "completed") {
    for (const Round& round : turn.rounds) {
      for (const boost::json::value& item : round.items) output.push_back(item);
    }
  }
  boost::json::object response = ResponseObject(meta.id, meta, status, std::move(output));
  if (status == "completed") response["usage"] = Usage(turn);
  return response;
}

std::vector<std::string> BuildStreamFrames(const Turn& turn, const ResponseMeta& meta,
                                           const StreamOptions& options) {
  std::vector<std::string> frames;
  frames.reserve(turn.deltas.size() + 12 * turn.rounds.size() + 4);
  FrameWriter w(frames);
  if (options.error == StreamError::kErrorEventFirst) {
    w.Raw("error", {{"message", "The emulator failed before starting the response"}});
    if (options.done_marker) frames.push_back("data: [DONE]\n\n");
    return frames;
  }
  for (std::size_t r = 0; r < turn.rounds.size(); ++r) {
    std::string id = r == 0 ? meta.id : Cat(meta.id, "_r", r);
    w.Emit("response.created", {{"response", ResponseObject(id, meta, "in_progress", {})}});
    w.Emit("response.in_progress", {{"response", ResponseObject(id, meta, "in_progress", {})}});
    if (r == 0 && options.error != StreamError::kNone) {
      switch (options.error) {
        case StreamError::kErrorThenCompleted:
          w.Emit("error", {{"code", "INTERNAL_ERROR"},
                           {"message", "The emulator failed while generating the response"},
                           {"param", nullptr}});
          w.Emit("response.completed", {{"response", ResponseObject(id, meta, "completed", {})}});
          break;
        case StreamError::kErrorEvent:
          w.Raw("error", {{"message", "The emulator failed while running the agent"}});
          break;
        case StreamError::kOauth:
          w.Raw("error", {{"code", "oauth"},
                          {"message", "Please login to the connection to continue: "
                                      "https://emulator.invalid/explore/connections/login"}});
          break;
        case StreamError::kNone:
        case StreamError::kErrorEventFirst:
          break;
      }
      break;
    }
    const boost::json::array& items = turn.rounds[r].items;
    for (std::size_t i = 0; i < items.size(); ++i) {
      EmitItem(w, turn, items[i].get_object(), static_cast<int>(i));
    }
    bool last = r + 1 == turn.rounds.size();
    boost::json::array output = (last && options.empty_completed) ? boost::json::array() : items;
    boost::json::object done = ResponseObject(id, meta, "completed", std::move(output));
    if (last) done["usage"] = Usage(turn);
    w.Emit("response.completed", {{"response", std::move(done)}});
  }
  if (options.done_marker) frames.push_back("data: [DONE]\n\n");
  return frames;
}

}  // namespace agentgateway::emulator
