#include "server/local/local_plan.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "server/local/plan_history.h"
#include "server/request_builder.h"
#include "server/local/json_fields.h"

namespace agentgateway::local {
namespace json = boost::json;
namespace {

// The top-level fields a profile may pass through, as Chat parameters.
absl::Status ApplyPassThrough(std::string_view key, const json::value& v,
                              LocalEngine::Plan& plan) {
  if (key == "temperature" && v.is_number()) {
    plan.temperature = v.to_number<double>();
  } else if (key == "max_output_tokens" && v.is_number()) {
    plan.max_tokens = v.to_number<int64_t>();
  } else if (key == "parallel_tool_calls" && v.is_bool()) {
    plan.parallel_tool_calls = v.as_bool();
  } else if (key == "metadata" || key == "store" || key == "user" || v.is_null()) {
    // Describe the Responses object, not the model call.
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("field `", std::string(key), "` is not supported by the local engine"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const LocalEngine::Plan>> LocalEngine::MakePlan(
    const Profile& profile, const v1::InvokeRequest& request) const {
  // The Supervisor engine's body builder holds every request check (history consistency, id
  // hygiene, the pass-through allow-list, the model allow-list): the loop starts from its body.
  absl::StatusOr<std::string> body = BuildUpstreamBody(request, profile, /*stream=*/false);
  if (!body.ok()) return body.status();
  json::object obj = json::parse(*body).as_object();
  auto plan = std::make_shared<Plan>();
  for (const auto& member : obj) {
    std::string_view key = member.key();
    const json::value& v = member.value();
    if (key == "model") {
      plan->model = std::string(v.as_string());
    } else if (key == "instructions") {
      plan->messages.insert(plan->messages.begin(), ChatMessage::System(std::string(v.as_string())));
    } else if (key == "input") {
      PlanHistory history(*plan);
      const json::array& items = v.as_array();
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (absl::Status s = history.Add(items[i].as_object(), i); !s.ok()) return s;
      }
      history.Finish();
    } else if (key == "tools") {
      for (const json::value& tool : v.as_array()) {
        const json::object& t = tool.as_object();
        if (Str(t, "type") == "function") {
          const json::value* params = t.if_contains("parameters");
          plan->functions.push_back(FunctionTool{Str(t, "name"), Str(t, "description"),
                                                 params ? json::serialize(*params) : ""});
          continue;
        }
        absl::StatusOr<ToolEndpoint> endpoint = ResolveHostedTool(json::serialize(tool), options_.tools);
        if (!endpoint.ok()) return endpoint.status();
        plan->endpoints.push_back(*std::move(endpoint));
      }
    } else if (key == "trace_destination") {
      // Tracing to Unity Catalog is the Supervisor API's; the local loop writes no traces.
    } else if (key == "background" && v.is_bool() && v.as_bool()) {
      return absl::InvalidArgumentError("the local engine has no background runs");
    } else if (key != "background") {
      if (absl::Status s = ApplyPassThrough(key, v, *plan); !s.ok()) return s;
    }
  }
  return plan;
}

}  // namespace agentgateway::local
