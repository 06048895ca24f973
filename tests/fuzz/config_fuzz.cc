// Fuzzes agentgateway::ParseConfig (the YAML configuration file).
//
// Invariants: never crashes, never lets an exception escape (yaml-cpp throws on malformed
// YAML; ParseConfig must turn that into a Status), rejections are INVALID_ARGUMENT, and an
// accepted config has a default profile that FindProfile("") returns.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "server/config.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "config_fuzz: invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // No try/catch here on purpose: an escaping exception is a finding (std::terminate).
  auto config = agentgateway::ParseConfig(text, "fuzz.yaml");
  if (!config.ok()) {
    if (config.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("rejection is not INVALID_ARGUMENT");
    }
    return 0;
  }
  if (config->profiles.find(config->default_profile) == config->profiles.end()) {
    Fail("default_profile names no profile");
  }
  const agentgateway::Profile* profile = config->FindProfile("");
  if (profile == nullptr) Fail("FindProfile(\"\") found no default profile");
  if (profile->name != config->default_profile) Fail("FindProfile(\"\") is not the default");
  return 0;
}
