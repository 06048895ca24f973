// Cat/Append: string concatenation over std::string_view and integers. (absl::StrCat takes
// absl::string_view, a distinct type from std::string_view in this abseil build.)
#ifndef AGENTGATEWAY_TESTS_EMULATOR_STR_UTIL_H_
#define AGENTGATEWAY_TESTS_EMULATOR_STR_UTIL_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace agentgateway::emulator {

inline void AppendPiece(std::string& out, std::string_view piece) { out.append(piece); }
inline void AppendPiece(std::string& out, const char* piece) { out.append(piece); }
inline void AppendPiece(std::string& out, const std::string& piece) { out.append(piece); }
inline void AppendPiece(std::string& out, absl::string_view piece) {
  out.append(piece.data(), piece.size());
}
template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
void AppendPiece(std::string& out, T value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, end);
}

template <class... Pieces>
void Append(std::string& out, const Pieces&... pieces) {
  (AppendPiece(out, pieces), ...);
}

template <class... Pieces>
std::string Cat(const Pieces&... pieces) {
  std::string out;
  Append(out, pieces...);
  return out;
}

// The NAME of the first `[[fault:NAME]]` marker in `text` ("" when none is complete).
inline std::string FaultMarker(std::string_view text) {
  constexpr std::string_view kOpen = "[[fault:";
  std::size_t start = text.find(kOpen);
  if (start == std::string_view::npos) return {};
  start += kOpen.size();
  const std::size_t end = text.find("]]", start);
  return end == std::string_view::npos ? std::string() : std::string(text.substr(start, end - start));
}

inline std::string Hex(std::size_t value) {
  char digits[20];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value, 16);
  return std::string(digits, end);
}

// Value of `name` in a query string `a=1&b=2` (not %-decoded); empty when absent.
inline std::string_view QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

// The whole of `text` as a decimal integer.
inline bool ParseInt(std::string_view text, int64_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

inline std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_STR_UTIL_H_
