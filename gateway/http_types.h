// Plain HTTP request/response values exchanged between the Beast session and the socket-free
// router, mapping and SSE code. Header names are lowercase.
#ifndef AGENTGATEWAY_GATEWAY_HTTP_TYPES_H_
#define AGENTGATEWAY_GATEWAY_HTTP_TYPES_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentgateway::gateway {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form, may carry a query
  HeaderList headers;  // lowercase names, in arrival order
  std::string body;

  // First value of header `name` (lowercase), if present.
  std::optional<std::string_view> Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return std::string_view(v);
    }
    return std::nullopt;
  }
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;  // content-type included; content-length is set by the session
  std::string body;

  void SetHeader(std::string name, std::string value) {
    for (auto& [k, v] : headers) {
      if (k == name) {
        v = std::move(value);
        return;
      }
    }
    headers.emplace_back(std::move(name), std::move(value));
  }
};

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_HTTP_TYPES_H_
