#include "tests/load/stream_script.h"

#include "server/response_assembler.h"

#include "absl/strings/str_cat.h"

namespace agentgateway::load {
namespace {

constexpr int kCreatedAt = 1767225600;
constexpr char kModel[] = "databricks-claude-sonnet-4-5";

std::string Response(int stream_id, const char* status, const std::string& output,
                     const std::string& extra) {
  return absl::StrCat("{\"id\":\"resp_load_", stream_id,
                      "\",\"object\":\"response\",\"created_at\":", kCreatedAt,
                      ",\"status\":\"", status, "\",\"model\":\"", kModel,
                      "\",\"output\":[", output, "]", extra, "}");
}

}  // namespace

std::string StreamScript::Type(int index) const {
  if (index == 0) return "response.created";
  if (index == 1) return "response.in_progress";
  if (index == 2) return "response.output_item.added";
  if (index == 3) return "response.content_part.added";
  if (index < 4 + deltas_) return "response.output_text.delta";
  return "response.completed";
}

std::string StreamScript::Json(int index) const {
  const std::string type = Type(index);
  const std::string head = absl::StrCat("{\"type\":\"", type, "\",\"sequence_number\":", index);
  const std::string item_id = absl::StrCat("msg_load_", stream_id_);
  if (index <= 1) {
    return absl::StrCat(head, ",\"response\":", Response(stream_id_, "in_progress", "", ""), "}");
  }
  if (index == 2) {
    return absl::StrCat(head, ",\"output_index\":0,\"item\":{\"id\":\"", item_id,
                        "\",\"type\":\"message\",\"role\":\"assistant\",\"status\":\"in_progress\","
                        "\"content\":[]}}");
  }
  if (index == 3) {
    return absl::StrCat(head, ",\"item_id\":\"", item_id,
                        "\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":"
                        "\"output_text\",\"text\":\"\",\"annotations\":[]}}");
  }
  if (index < 4 + deltas_) {
    return absl::StrCat(head, ",\"item_id\":\"", item_id,
                        "\",\"output_index\":0,\"content_index\":0,\"delta\":\"",
                        DeltaText(index - 4), "\"}");
  }
  return Completed("");
}

std::string StreamScript::DeltaText(int delta) const {
  std::string text = absl::StrCat("s", stream_id_, " e", delta, " ");
  if (text.size() < delta_bytes_) text.append(delta_bytes_ - text.size(), 'x');
  return text;
}

std::string StreamScript::Completed(const std::string& output) const {
  const int index = size() - 1;
  const long long output_tokens = deltas_;
  return absl::StrCat(
      "{\"type\":\"response.completed\",\"sequence_number\":", index, ",\"response\":",
      Response(stream_id_, "completed", output,
               absl::StrCat(",\"usage\":{\"input_tokens\":12,\"output_tokens\":", output_tokens,
                            ",\"total_tokens\":", output_tokens + 12, "}")),
      "}");
}

std::string StreamScript::Delivered(int index) const {
  if (index != size() - 1) return Json(index);
  // Beyond the assembler's per-round budget the completed event is relayed as it came.
  if (static_cast<std::size_t>(deltas_) * delta_bytes_ > ResponseAssembler::kMaxRoundBytes) {
    return Json(index);
  }
  std::string text;
  text.reserve(static_cast<std::size_t>(deltas_) * delta_bytes_);
  for (int i = 0; i < deltas_; ++i) text += DeltaText(i);
  return Completed(absl::StrCat(
      "{\"id\":\"msg_load_", stream_id_,
      "\",\"type\":\"message\",\"role\":\"assistant\",\"status\":\"completed\","
      "\"content\":[{\"type\":\"output_text\",\"text\":\"", text, "\",\"annotations\":[]}]}"));
}

std::string StreamScript::Frame(int index) const {
  return absl::StrCat("event: ", Type(index), "\ndata: ", Json(index), "\n\n");
}

}  // namespace agentgateway::load
