// Fixture of the LocalEngine tests: the emulator and pool of LocalTest, a LocalEngine whose
// model is the emulator's scripted Chat model and whose workspace host is the emulator, a
// profile to add tools to, and helpers to ask, run and read the emulator's call records.
#ifndef AGENTGATEWAY_TESTS_LOCAL_ENGINE_FIXTURE_H_
#define AGENTGATEWAY_TESTS_LOCAL_ENGINE_FIXTURE_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "boost/json.hpp"
#include "server/local/local_engine.h"
#include "tests/local/local_fixture.h"
#include "tests/local/recording_sink.h"

namespace agentgateway::local::testing {

inline std::string Str(const boost::json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

class LocalEngineTest : public LocalTest {
 protected:
  void SetUp() override {
    LocalTest::SetUp();
    MakeEngine(10);
    profile_.name = "local";
    profile_.model = "databricks-claude-sonnet-4-5";
    profile_.engine = "local";
    profile_.instructions = "Answer briefly.";
  }
  void TearDown() override {
    engine_.reset();
    LocalTest::TearDown();
  }

  // The engine's options against the emulator; tests change some and call MakeEngine.
  LocalEngineOptions Options(int max_steps = 10) {
    LocalEngineOptions options;
    options.pool = pool_.get();
    options.model_base_url = Url("/serving-endpoints");
    options.tools.host = emulator_->BaseUrl();
    options.max_steps = max_steps;
    options.tool_timeout = std::chrono::seconds(5);
    return options;
  }
  void MakeEngine(int max_steps) { MakeEngine(Options(max_steps)); }
  void MakeEngine(LocalEngineOptions options) {
    engine_.reset();
    auto engine = LocalEngine::Create(std::move(options));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }

  void AddTool(std::string type, std::string tool_json) {
    profile_.tools.push_back(ToolSpec{std::move(type), std::move(tool_json)});
  }

  static v1::InvokeRequest Ask(std::string_view question) {
    v1::InvokeRequest request;
    request.add_input()->set_json(
        boost::json::serialize(boost::json::object{{"role", "user"}, {"content", question}}));
    return request;
  }

  RunContext Context(std::string token = "dev-token") {
    RunContext context;
    context.bearer_token = identity::Secret(std::move(token));
    return context;
  }

  // Runs a request to its end; the sink holds the events.
  absl::Status Run(const v1::InvokeRequest& request, std::shared_ptr<RecordingSink> sink,
                   RunContext context) {
    auto handle = engine_->Stream(profile_, request, std::move(context), sink);
    if (!handle.ok()) return handle.status();
    return sink->Wait();
  }
  absl::Status Run(const v1::InvokeRequest& request, std::shared_ptr<RecordingSink> sink) {
    return Run(request, std::move(sink), Context());
  }

  std::vector<emulator::CallRecord> Calls(std::string_view kind, std::string_view rpc = "") {
    std::vector<emulator::CallRecord> out;
    for (auto& c : emulator_->Calls()) {
      if (c.kind == kind && (rpc.empty() || c.rpc_method == rpc)) out.push_back(c);
    }
    return out;
  }

  Profile profile_;
  std::unique_ptr<LocalEngine> engine_;
};

}  // namespace agentgateway::local::testing

#endif  // AGENTGATEWAY_TESTS_LOCAL_ENGINE_FIXTURE_H_
