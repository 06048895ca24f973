// Turns a scripted Turn into what goes on the wire: the Responses object (non-stream and
// background) or the SSE frames of a stream (`event: <type>\ndata: <json>\n\n`), built once
// per request so the session only copies bytes.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_EVENTS_H_
#define AGENTGATEWAY_TESTS_EMULATOR_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "boost/json/object.hpp"
#include "tests/emulator/responses_model.h"

namespace agentgateway::emulator {

struct ResponseMeta {
  std::string id;     // "resp_<seq>"; later rounds of a stream get "resp_<seq>_r<k>"
  std::string model;
  int64_t created_at = 0;
  // The request's metadata plus "emulator_identity"; copied into every Responses object (once
  // per response, never per event).
  boost::json::object metadata;
};

// The Responses object with every item of every round. `status` "completed" or "in_progress"
// (in_progress objects carry an empty output).
boost::json::object BuildResponse(const Turn& turn, const ResponseMeta& meta,
                                  std::string_view status);

// Error events a stream may carry instead of (or before) its normal end.
enum class StreamError {
  kNone,
  kErrorThenCompleted,  // `error` event (with type) then response.completed
  kErrorEvent,          // `event: error` whose data is only {"message": ...}
  kOauth,               // `event: error` with {"code":"oauth","message":"... login ... URL"}
  kErrorEventFirst,     // `event: error` with only {"message": ...} as the very first frame
};

struct StreamOptions {
  bool empty_completed = false;  // final response.completed carries "output": []
  bool done_marker = false;      // append `data: [DONE]`
  StreamError error = StreamError::kNone;
};

std::vector<std::string> BuildStreamFrames(const Turn& turn, const ResponseMeta& meta,
                                           const StreamOptions& options);

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_EVENTS_H_
