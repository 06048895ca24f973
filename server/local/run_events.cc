// LocalRun's events: each model turn is one response (`response.created`,
// `response.in_progress`, its items, `response.completed`), shaped as the Supervisor API
// streams them.
#include <chrono>
#include <utility>

#include "server/local/local_run.h"

namespace agentgateway::local {
namespace json = boost::json;
namespace {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

json::object LocalRun::Response(std::string_view status, json::array output) const {
  std::string id = round_ == 0 ? base_id_ : absl::StrCat(base_id_, "_r", round_);
  json::object response{{"id", id},          {"object", "response"},
                        {"created_at", UnixNow()}, {"status", status},
                        {"model", plan_->model}, {"output", std::move(output)}};
  if (status == "completed" && round_usage_) {
    response["usage"] = {{"input_tokens", round_usage_->prompt_tokens},
                         {"output_tokens", round_usage_->completion_tokens},
                         {"total_tokens", round_usage_->total_tokens}};
  }
  return response;
}

void LocalRun::OpenRound() {
  if (round_open_) return;
  round_open_ = true;
  ++round_;
  round_items_.clear();
  emitter_.Emit("response.created", {{"response", Response("in_progress", {})}});
  emitter_.Emit("response.in_progress", {{"response", Response("in_progress", {})}});
}

void LocalRun::CompleteRound() {
  OpenRound();
  emitter_.Emit("response.completed", {{"response", Response("completed", round_items_)}});
  round_open_ = false;
}

void LocalRun::OpenMessage() {
  if (!message_id_.empty()) return;
  OpenRound();
  message_id_ = NextId("msg_local");
  message_text_.clear();
  json::object item{{"type", "message"}, {"id", message_id_}, {"role", "assistant"},
                    {"status", "in_progress"}, {"content", json::array()}};
  std::size_t index = round_items_.size();
  emitter_.Emit("response.output_item.added", {{"output_index", index}, {"item", item}});
  emitter_.Emit("response.content_part.added",
                {{"item_id", message_id_}, {"output_index", index}, {"content_index", 0},
                 {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
}

void LocalRun::CloseMessage() {
  if (message_id_.empty()) return;
  std::size_t index = round_items_.size();
  json::object part{{"type", "output_text"}, {"text", message_text_},
                    {"annotations", json::array()}};
  emitter_.Emit("response.output_text.done", {{"item_id", message_id_},
                                              {"output_index", index},
                                              {"content_index", 0},
                                              {"text", message_text_}});
  emitter_.Emit("response.content_part.done", {{"item_id", message_id_},
                                               {"output_index", index},
                                               {"content_index", 0},
                                               {"part", part}});
  json::object item{{"type", "message"}, {"id", message_id_}, {"role", "assistant"},
                    {"status", "completed"}, {"content", json::array{part}}};
  emitter_.Emit("response.output_item.done", {{"output_index", index}, {"item", item}});
  round_items_.push_back(std::move(item));
  message_id_.clear();
}

void LocalRun::EmitFunctionCall(const ToolCall& call) {
  EmitItem(json::object{{"type", "function_call"},
                        {"id", NextId("fc_local")},
                        {"call_id", call.id},
                        {"name", call.name},
                        {"arguments", call.arguments.empty() ? "{}" : call.arguments},
                        {"status", "completed"}},
           true);
}

void LocalRun::EmitItem(json::object item, bool function_call) {
  OpenRound();
  std::size_t index = round_items_.size();
  json::object added = item;
  if (function_call) {
    added["status"] = "in_progress";
    added["arguments"] = "";
  }
  emitter_.Emit("response.output_item.added", {{"output_index", index}, {"item", added}});
  if (function_call) {
    emitter_.Emit("response.function_call_arguments.done", {{"item_id", item.at("id")},
                                                             {"output_index", index},
                                                             {"arguments", item.at("arguments")}});
  }
  emitter_.Emit("response.output_item.done", {{"output_index", index}, {"item", item}});
  round_items_.push_back(std::move(item));
}
}  // namespace agentgateway::local
