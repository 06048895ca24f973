// The self-contained chat page served at GET / (HTML + plain JS compiled into the binary).
#ifndef AGENTGATEWAY_GATEWAY_CHAT_PAGE_H_
#define AGENTGATEWAY_GATEWAY_CHAT_PAGE_H_

#include <string_view>

namespace agentgateway::gateway {

std::string_view ChatPageHtml();

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_CHAT_PAGE_H_
