// EngineRouter (server/engine_router.h): each request goes to the engine its profile names.
#include "server/engine_router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace agentgateway {
namespace {

using ::agentgateway::testing::StatusIs;
using ::testing::HasSubstr;

// Refuses every request with its own name, so the test sees which engine was asked.
class NamedEngine final : public Engine {
 public:
  explicit NamedEngine(std::string name) : name_(std::move(name)) {}
  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile&, const v1::InvokeRequest&,
                                                    RunContext,
                                                    std::shared_ptr<EventSink>) override {
    return absl::AbortedError(name_ + " Stream");
  }
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile&, const v1::InvokeRequest&,
                                                    RunContext, InvokeDone) override {
    return absl::AbortedError(name_ + " Invoke");
  }

 private:
  std::string name_;
};

Profile ProfileOn(std::string engine) {
  Profile p;
  p.name = "p";
  p.engine = std::move(engine);
  return p;
}

TEST(EngineRouterTest, EachProfileReachesItsEngine) {
  NamedEngine supervisor("supervisor"), local("local");
  EngineRouter router(&supervisor, &local);
  v1::InvokeRequest request;
  EXPECT_THAT(router.Stream(ProfileOn("supervisor"), request, {}, nullptr),
              StatusIs(absl::StatusCode::kAborted, "supervisor Stream"));
  EXPECT_THAT(router.Invoke(ProfileOn("local"), request, {}, nullptr),
              StatusIs(absl::StatusCode::kAborted, "local Invoke"));
  // Only the Supervisor API has background runs: the local engine keeps the default.
  EXPECT_THAT(router.Poll(ProfileOn("local"), "resp_1", {}, nullptr),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("no background runs")));
}

TEST(EngineRouterTest, ALocalProfileWithoutTheLocalEngineIsRefused) {
  NamedEngine supervisor("supervisor");
  EngineRouter router(&supervisor, nullptr);
  EXPECT_THAT(router.Stream(ProfileOn("local"), v1::InvokeRequest(), {}, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "profile 'p' asks for the local engine, which is not running"));
}

}  // namespace
}  // namespace agentgateway
