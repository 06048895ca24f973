// gMock matchers for absl::Status / StatusOr (this abseil ships none):
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("reset")));
#ifndef AGENTGATEWAY_TESTS_TESTING_STATUS_MATCHERS_H_
#define AGENTGATEWAY_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace agentgateway::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P2(StatusIs, code, message_matcher,
           "status code " + std::string(absl::StatusCodeToString(code))) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()),
                                       result_listener);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.ok();
}

}  // namespace agentgateway::testing

#endif  // AGENTGATEWAY_TESTS_TESTING_STATUS_MATCHERS_H_
