// Fuzzes gateway::ParseInvocationBody (the /invocations body, protocol.md section 3).
//
// Invariants checked when the body is accepted (a violation aborts):
//  * InvokeRequestToJson of the result is valid JSON (Boost.JSON, non-throwing parse);
//  * every item's `json`, `custom_inputs_json` and the context's `json` are byte-exact
//    substrings of the input (the mapping keeps spans; it never re-serialises);
//  * the rebuilt body parses again, to the same items, custom inputs and context.
// A rejected body must come back as INVALID_ARGUMENT.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "boost/json/parse.hpp"
#include "gateway/invocations_mapping.h"

namespace {

using agentgateway::gateway::InvokeRequestToJson;
using agentgateway::gateway::ParseInvocationBody;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "invocations_mapping_fuzz: invariant violated: %s\n", what);
  std::abort();
}

bool IsSpanOf(const std::string& part, std::string_view whole) {
  return part.empty() || whole.find(part) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseInvocationBody(body, "fuzz");
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("rejection is not INVALID_ARGUMENT");
    }
    return 0;
  }
  const auto& request = parsed->request;
  for (const auto& item : request.input()) {
    if (!IsSpanOf(item.json(), body)) Fail("item json is not a span of the input");
  }
  if (!IsSpanOf(request.custom_inputs_json(), body)) Fail("custom_inputs is not a span");
  if (!IsSpanOf(request.context().json(), body)) Fail("context is not a span");

  const std::string rebuilt = InvokeRequestToJson(request, parsed->stream);
  boost::system::error_code ec;
  (void)boost::json::parse(rebuilt, ec);
  if (ec) Fail("InvokeRequestToJson produced invalid JSON");

  auto again = ParseInvocationBody(rebuilt, "fuzz");
  if (!again.ok()) Fail("the rebuilt body is rejected");
  if (again->stream != parsed->stream) Fail("stream flag lost in the round trip");
  if (again->request.input_size() != request.input_size()) Fail("item count changed");
  for (int i = 0; i < request.input_size(); ++i) {
    if (again->request.input(i).json() != request.input(i).json()) Fail("item json changed");
  }
  if (again->request.custom_inputs_json() != request.custom_inputs_json()) {
    Fail("custom_inputs changed in the round trip");
  }
  if (again->request.context().json() != request.context().json()) {
    Fail("context changed in the round trip");
  }
  return 0;
}
