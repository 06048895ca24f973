// ServingWatcher (server/serving_watcher.h): reports only changes of a readiness check, the
// first at once, and nothing after Stop(). Waits on the watcher's own calls, never on time.
#include "server/serving_watcher.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace agentgateway {
namespace {

// The readiness answer the watcher reads, and what it reported, behind one lock.
class Probe {
 public:
  void SetProblem(std::string why) {
    absl::MutexLock lock(&mu_);
    problem_ = std::move(why);
  }
  std::string Check() {
    absl::MutexLock lock(&mu_);
    ++checks_;
    return problem_;
  }
  void Report(bool serving, const std::string& why) {
    absl::MutexLock lock(&mu_);
    reports_.emplace_back(serving, why);
  }
  // Blocks until the watcher has made `n` reports in all (bounded, so a bug fails the test).
  bool AwaitReports(std::size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return reports_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }
  // Blocks until the watcher has checked `more` further times.
  bool AwaitMoreChecks(int more) {
    absl::MutexLock lock(&mu_);
    const int target = checks_ + more;
    auto enough = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return checks_ >= target; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }
  std::vector<std::pair<bool, std::string>> Reports() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }

 private:
  absl::Mutex mu_;
  std::string problem_ ABSL_GUARDED_BY(mu_);
  int checks_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<bool, std::string>> reports_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<ServingWatcher> Watch(Probe& probe) {
  return std::make_unique<ServingWatcher>([&probe] { return probe.Check(); },
                                          [&probe](bool serving, const std::string& why) {
                                            probe.Report(serving, why);
                                          },
                                          std::chrono::milliseconds(2));
}

TEST(ServingWatcherTest, ReportsTheFirstStateAtOnceThenOnlyChanges) {
  Probe probe;
  probe.SetProblem("no token");
  auto watcher = Watch(probe);
  ASSERT_TRUE(probe.AwaitReports(1));
  // Unchanged for several checks: nothing more is reported.
  ASSERT_TRUE(probe.AwaitMoreChecks(5));
  EXPECT_EQ(probe.Reports().size(), 1u);

  probe.SetProblem("");
  ASSERT_TRUE(probe.AwaitReports(2));
  probe.SetProblem("token endpoint answers 503");
  ASSERT_TRUE(probe.AwaitReports(3));
  ASSERT_TRUE(probe.AwaitMoreChecks(5));
  const std::vector<std::pair<bool, std::string>> expected = {
      {false, "no token"}, {true, ""}, {false, "token endpoint answers 503"}};
  EXPECT_EQ(probe.Reports(), expected);
}

TEST(ServingWatcherTest, NothingIsReportedAfterStop) {
  Probe probe;
  auto watcher = Watch(probe);
  ASSERT_TRUE(probe.AwaitReports(1));
  EXPECT_EQ(probe.Reports().front(), std::make_pair(true, std::string()));
  watcher->Stop();
  probe.SetProblem("draining");
  watcher->Stop();  // idempotent
  watcher.reset();
  EXPECT_EQ(probe.Reports().size(), 1u);
}

}  // namespace
}  // namespace agentgateway
