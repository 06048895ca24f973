#include "tests/bench/soak_check.h"

#include <set>

#include "boost/json.hpp"

namespace agentgateway::soak {
namespace {

namespace json = boost::json;

std::string UnFault(std::string_view text, std::string_view fault) {
  std::string out(text);
  if (fault.empty()) return out;
  const std::string marker = "[[fault:" + std::string(fault) + "]]";
  for (std::size_t at = out.find(marker); at != std::string::npos;
       at = out.find(marker, at + 1)) {
    out.replace(at, marker.size(), "[[fault:none]]");
  }
  return out;
}

void Scrub(json::value& v) {
  static const std::set<std::string_view> kVarying = {"id", "call_id", "item_id", "created_at",
                                                      "completed_at"};
  if (json::object* o = v.if_object()) {
    for (auto& member : *o) {
      if (kVarying.count(std::string_view(member.key().data(), member.key().size()))) {
        member.value() = "<varies>";
      } else {
        Scrub(member.value());
      }
    }
  } else if (json::array* a = v.if_array()) {
    for (json::value& item : *a) Scrub(item);
  }
}

}  // namespace

std::string Normalize(std::string_view text, std::string_view fault) {
  std::string plain = UnFault(text, fault);
  boost::system::error_code ec;
  json::value v = json::parse(plain, ec);
  if (ec) return plain;
  Scrub(v);
  return json::serialize(v);
}

SeenEvent ToSeenEvent(std::string_view text, std::string_view fault) {
  SeenEvent seen;
  std::string plain = UnFault(text, fault);
  boost::system::error_code ec;
  json::value v = json::parse(plain, ec);
  if (ec || !v.is_object()) {
    seen.normalized = plain;
    return seen;
  }
  const json::object& o = v.get_object();
  const json::value* type = o.if_contains("type");
  seen.upstream_error = type == nullptr || (type->is_string() && type->get_string() == "error");
  if (const json::value* seq = o.if_contains("sequence_number"); seq && seq->is_int64()) {
    seen.upstream_seq = seq->get_int64();
  }
  Scrub(v);
  seen.normalized = json::serialize(v);
  return seen;
}

// Every reference event carries its own sequence_number, so each normalized event is unique
// and alignment is a walk: an event found further on means the ones skipped were lost; an
// event seen before means a duplicate; one not in the reference at all counts as lost.
StreamCheck CheckStream(const std::vector<SeenEvent>& seen,
                        const std::vector<std::string>& reference,
                        const std::vector<int64_t>& gateway_seq, bool clean_end) {
  StreamCheck check;
  int64_t expected = 1;
  for (int64_t s : gateway_seq) {
    if (s < expected) {
      ++check.duplicated;
    } else {
      check.lost += s - expected;
      expected = s + 1;
    }
  }
  std::set<int64_t> upstream_seqs;
  for (const SeenEvent& e : seen) {
    if (e.upstream_seq && !upstream_seqs.insert(*e.upstream_seq).second) ++check.duplicated;
  }
  std::size_t next = 0;
  for (const SeenEvent& e : seen) {
    if (e.upstream_error) {
      check.upstream_error = true;
      break;  // what follows an upstream error is not part of the reference
    }
    if (next < reference.size() && e.normalized == reference[next]) {
      ++next;
      continue;
    }
    std::size_t found = next;
    while (found < reference.size() && reference[found] != e.normalized) ++found;
    if (found < reference.size()) {
      check.lost += static_cast<int64_t>(found - next);
      next = found + 1;
      continue;
    }
    bool earlier = false;
    for (std::size_t i = 0; i < next && !earlier; ++i) earlier = reference[i] == e.normalized;
    if (!earlier) ++check.lost;  // a repeat is already counted by its sequence number
  }
  check.complete = next == reference.size();
  if (clean_end && !check.upstream_error && !check.complete) {
    check.lost += static_cast<int64_t>(reference.size() - next);
  }
  return check;
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kGrpcStream:
      return "grpc_stream";
    case Kind::kGrpcInvoke:
      return "grpc_invoke";
    case Kind::kRestJson:
      return "rest_json";
    case Kind::kRestSse:
      return "rest_sse";
  }
  return "?";
}

void Tally::Merge(const Tally& other) {
  for (const auto& [k, v] : other.requests) requests[k] += v;
  for (const auto& [k, v] : other.faults) faults[k] += v;
  for (const auto& [k, v] : other.outcomes) outcomes[k] += v;
  cancels += other.cancels;
  events += other.events;
  lost += other.lost;
  duplicated += other.duplicated;
  mismatched += other.mismatched;
  silent_ends += other.silent_ends;
  unexpected_ok += other.unexpected_ok;
  unexpected_error += other.unexpected_error;
}

}  // namespace agentgateway::soak
