#include "server/upstream/error_mapping.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cctype>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace agentgateway::upstream {
namespace {

// Enough of an HTML page to recognise it ("502 Bad Gateway") without flooding logs.
constexpr std::size_t kExcerptBytes = 200;

std::string StringField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string());
}

// Text of a non-JSON body with tags removed and whitespace collapsed, cut at a UTF-8
// character boundary.
std::string Excerpt(std::string_view body) {
  std::string out;
  bool in_tag = false;
  bool pending_space = false;
  for (char c : body) {
    if (c == '<') {
      in_tag = true;
      pending_space = true;
      continue;
    }
    if (in_tag) {
      if (c == '>') in_tag = false;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
    if (out.size() >= kExcerptBytes) break;
  }
  // Do not end inside a multi-byte sequence.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) out.pop_back();
  return out;
}

// The machine-readable upstream error code, if any ("INVALID_PARAMETER_VALUE", "oauth",
// "rate_limit_exceeded"), so callers and logs can tell kinds of failure apart.
std::string ErrorCodeFromJson(const boost::json::value& root) {
  const boost::json::object* object = root.if_object();
  if (object == nullptr) return {};
  if (std::string code = StringField(*object, "error_code"); !code.empty()) return code;
  if (const boost::json::value* error = object->if_contains("error");
      error != nullptr && error->is_object()) {
    if (std::string code = StringField(error->get_object(), "code"); !code.empty()) return code;
    return StringField(error->get_object(), "type");
  }
  return StringField(*object, "code");
}

std::string MessageFromValue(const boost::json::value& root) {
  const boost::json::object* object = root.if_object();
  if (object == nullptr) return {};
  if (const boost::json::value* error = object->if_contains("error"); error != nullptr) {
    if (error->is_string()) return std::string(error->get_string());  // {"error": "text"}
    if (error->is_object()) {
      if (std::string m = StringField(error->get_object(), "message"); !m.empty()) return m;
    }
  }
  if (std::string m = StringField(*object, "message"); !m.empty()) return m;
  return StringField(*object, "detail");  // FastAPI/MLflow-style {"detail": "..."}
}

}  // namespace

absl::StatusCode CodeForHttpStatus(int http_status) {
  if (http_status >= 200 && http_status < 300) return absl::StatusCode::kOk;
  switch (http_status) {
    case 400:
    case 413:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAborted;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      break;
  }
  if (http_status >= 500 && http_status < 600) return absl::StatusCode::kUnavailable;
  return absl::StatusCode::kUnknown;
}

std::string ErrorMessageFromJson(std::string_view json_text) {
  boost::json::error_code ec;
  boost::json::value root = boost::json::parse(
      boost::json::string_view(json_text.data(), json_text.size()), ec);
  if (ec) return {};
  return MessageFromValue(root);
}

absl::Status StatusFromHttpError(int http_status, std::string_view body) {
  absl::StatusCode code = CodeForHttpStatus(http_status);
  if (code == absl::StatusCode::kOk) code = absl::StatusCode::kUnknown;
  std::string prefix = absl::StrCat("upstream returned HTTP ", http_status);

  boost::json::error_code ec;
  boost::json::value root =
      boost::json::parse(boost::json::string_view(body.data(), body.size()), ec);
  if (!ec) {
    std::string upstream_code = ErrorCodeFromJson(root);
    std::string message = MessageFromValue(root);
    // A connection the user must sign in to: the same code whether it arrives as an HTTP
    // error or as a stream's error event (StatusFromErrorEvent), so callers handle it once.
    if (upstream_code == "oauth") code = absl::StatusCode::kUnauthenticated;
    if (!upstream_code.empty()) absl::StrAppend(&prefix, " (", upstream_code, ")");
    if (!message.empty()) return absl::Status(code, absl::StrCat(prefix, ": ", message));
    return absl::Status(code, prefix);
  }
  std::string excerpt = Excerpt(body);
  if (excerpt.empty()) return absl::Status(code, prefix);
  return absl::Status(code, absl::StrCat(prefix, ": ", excerpt));
}

namespace {
constexpr char kPhasePayload[] = "agentgateway.dev/upstream-phase";
}  // namespace

absl::Status ConnectFailure(std::string message) {
  absl::Status status = absl::UnavailableError(std::move(message));
  status.SetPayload(kPhasePayload, absl::Cord("connect"));
  return status;
}

bool IsConnectFailure(const absl::Status& status) {
  auto phase = status.GetPayload(kPhasePayload);
  return status.code() == absl::StatusCode::kUnavailable && phase.has_value() && *phase == "connect";
}

}  // namespace agentgateway::upstream
