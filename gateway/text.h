// String building for the gateway's own code. This abseil's absl::string_view is not
// std::string_view, so absl::StrCat does not take std::string_view; these helpers take both.
#ifndef AGENTGATEWAY_GATEWAY_TEXT_H_
#define AGENTGATEWAY_GATEWAY_TEXT_H_

#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace agentgateway::gateway {

inline std::string_view Sv(absl::string_view s) { return {s.data(), s.size()}; }
inline absl::string_view Av(std::string_view s) { return {s.data(), s.size()}; }

namespace text_internal {
inline void AppendOne(std::string& out, std::string_view s) { out.append(s); }
inline void AppendOne(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void AppendOne(std::string& out, const std::string& s) { out.append(s); }
inline void AppendOne(std::string& out, const char* s) { out.append(s); }
inline void AppendOne(std::string& out, char c) { out.push_back(c); }
template <std::integral T>
  requires(!std::same_as<T, char> && !std::same_as<T, bool>)
void AppendOne(std::string& out, T value) {
  out.append(std::to_string(value));
}
}  // namespace text_internal

template <typename... Args>
void Append(std::string* out, const Args&... args) {
  (text_internal::AppendOne(*out, args), ...);
}

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  Append(&out, args...);
  return out;
}

template <typename Range>
std::string Join(const Range& range, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& item : range) {
    if (!first) out.append(separator);
    first = false;
    text_internal::AppendOne(out, item);
  }
  return out;
}

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_TEXT_H_
