#include "server/local/fold_sink.h"

#include <string>
#include <string_view>
#include <utility>

#include "boost/json.hpp"
#include "server/local/json_fields.h"

namespace agentgateway::local {
namespace json = boost::json;
namespace {

// Folds a run's events into one Responses object for Invoke: the first response's id and
// model, every item of every round in order, usage summed.
class FoldSink final : public EventSink {
 public:
  explicit FoldSink(Engine::InvokeDone done) : done_(std::move(done)) {}

  bool OnEvent(EngineEvent event) override {
    if (event.type != "response.created" && event.type != "response.output_item.done" &&
        event.type != "response.completed") {
      return true;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(event.json, ec);
    if (ec || !parsed.is_object()) return true;  // the run's own events: cannot happen
    json::object& data = parsed.as_object();
    if (event.type == "response.output_item.done") {
      output_.push_back(data.at("item"));
    } else if (event.type == "response.created" && first_.empty()) {
      first_ = data.at("response").as_object();
    } else if (const json::value* usage = data.at("response").as_object().if_contains("usage")) {
      for (const char* key : {"input_tokens", "output_tokens", "total_tokens"}) {
        usage_[key] = usage_[key].to_number<int64_t>() + usage->at(key).to_number<int64_t>();
      }
    }
    return true;
  }

  void OnFinish(absl::Status status) override {
    if (!status.ok()) return done_(std::move(status));
    InvokeResult result;
    result.id = Str(first_, "id");
    result.status = "completed";
    for (const json::value& item : output_) {
      const json::object& obj = item.as_object();
      if (Str(obj, "type") != "message") continue;
      for (const json::value& part : obj.at("content").as_array()) {
        result.output_text += Str(part.as_object(), "text");
      }
    }
    json::object response = first_;
    response["status"] = "completed";
    response["output"] = std::move(output_);
    response["usage"] = usage_;
    result.response_json = json::serialize(response);
    done_(std::move(result));
  }

 private:
  Engine::InvokeDone done_;
  json::object first_;
  json::array output_;
  json::object usage_{{"input_tokens", 0}, {"output_tokens", 0}, {"total_tokens", 0}};
};

}  // namespace

std::shared_ptr<EventSink> MakeFoldSink(Engine::InvokeDone done) {
  return std::make_shared<FoldSink>(std::move(done));
}

}  // namespace agentgateway::local
