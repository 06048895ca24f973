#include "gateway/chat_page.h"

namespace agentgateway::gateway {

std::string_view ChatPageHtml() { return chat_internal::kPage; }

std::optional<ChatAsset> FindChatAsset(std::string_view path) {
  for (std::size_t i = 0; i < chat_internal::kAssetCount; ++i) {
    if (chat_internal::kAssets[i].path == path) return chat_internal::kAssets[i];
  }
  return std::nullopt;
}

}  // namespace agentgateway::gateway
