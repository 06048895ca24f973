#include "tests/bench/load_stats.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace agentgateway::bench {

std::int64_t NearestRank(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // ceil(p * n) in floating point can land one above the exact rank (0.29 * 100 is
  // 28.999999999999996 but 0.57 * 100 is 57.00000000000001): take off a relative epsilon first.
  const double exact = p * static_cast<double>(sorted.size());
  auto rank = static_cast<std::size_t>(std::ceil(exact - exact * 1e-12));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

double PercentileMs(const std::vector<std::int64_t>& sorted_ns, double p) {
  return static_cast<double>(NearestRank(sorted_ns, p)) / 1e6;
}

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void AppendJsonEscaped(std::string_view text, std::string& out) {
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

}  // namespace agentgateway::bench
