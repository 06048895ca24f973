#include "server/call_registry.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace agentgateway {
namespace {

TEST(CallRegistry, SlotsCountCallsAndFreeThemWhenDropped) {
  auto registry = CallRegistry::Create();
  std::size_t active = 0;
  CallRegistry::Slot a = registry->Add(nullptr, &active);
  EXPECT_EQ(active, 1u);
  CallRegistry::Slot b = registry->Add(nullptr, &active);
  EXPECT_EQ(active, 2u);
  a.reset();
  EXPECT_EQ(registry->size(), 1u);
  b.reset();
  EXPECT_EQ(registry->size(), 0u);
  EXPECT_TRUE(registry->WaitEmpty(absl::ZeroDuration()));
}

TEST(CallRegistry, AbortAllCallsEachCallOnceWithTheStatus) {
  auto registry = CallRegistry::Create();
  std::vector<std::string> seen;
  CallRegistry::Slot a = registry->Add([&](const absl::Status& s) {
    seen.push_back("a:" + std::string(s.message()));
  });
  CallRegistry::Slot b = registry->Add([&](const absl::Status& s) {
    seen.push_back("b:" + std::string(s.message()));
  });
  EXPECT_EQ(registry->AbortAll(absl::UnavailableError("bye")), 2u);
  EXPECT_EQ(registry->AbortAll(absl::UnavailableError("again")), 0u);  // once per call
  EXPECT_EQ(seen, (std::vector<std::string>{"a:bye", "b:bye"}));
  EXPECT_EQ(registry->size(), 2u);  // aborting asks; the calls leave when they end
}

TEST(CallRegistry, WaitEmptyReturnsWhenTheLastCallEnds) {
  auto registry = CallRegistry::Create();
  CallRegistry::Slot slot = registry->Add(nullptr);
  EXPECT_FALSE(registry->WaitEmpty(absl::Milliseconds(1)));
  std::thread ender([&] { slot.reset(); });
  EXPECT_TRUE(registry->WaitEmpty(absl::Seconds(20)));
  ender.join();
}

TEST(CallRegistry, ASlotMayOutliveItsRegistryHandle) {
  auto registry = CallRegistry::Create();
  CallRegistry::Slot slot = registry->Add(nullptr);
  registry.reset();
  slot.reset();  // must not touch freed memory (ASan checks this)
}

}  // namespace
}  // namespace agentgateway

namespace agentgateway {
namespace {

TEST(CallRegistry, TrackedCallsAreDoneOnlyWhenEveryTrackerIsDropped) {
  auto registry = CallRegistry::Create();
  CallRegistry::Slot slot = registry->Add(nullptr);
  CallRegistry::Slot life = registry->Track();
  slot.reset();  // the call's end was decided: it no longer counts for load shedding...
  EXPECT_EQ(registry->size(), 0u);
  EXPECT_FALSE(registry->WaitAllDone(absl::Milliseconds(1)));  // ...but gRPC is not done yet
  std::thread done([&] { life.reset(); });
  EXPECT_TRUE(registry->WaitAllDone(absl::Seconds(20)));
  done.join();
}

}  // namespace
}  // namespace agentgateway
