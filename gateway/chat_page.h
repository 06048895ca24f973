// The chat page served at GET / and the static files it loads (GET /chat.css, /chat.js,
// /markdown.js). The files live in gateway/chat/ and are compiled into the binary at build
// time (gateway/chat/embed.cmake): nothing is read from disk or fetched at run time.
// Immutable after static initialisation; safe from any thread.
#ifndef AGENTGATEWAY_GATEWAY_CHAT_PAGE_H_
#define AGENTGATEWAY_GATEWAY_CHAT_PAGE_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace agentgateway::gateway {

struct ChatAsset {
  std::string_view path;          // "/chat.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// The page's HTML. Its references to the assets carry a content hash (`chat.js?v=HASH`).
std::string_view ChatPageHtml();

// The asset served at `path` (query already removed), if any.
std::optional<ChatAsset> FindChatAsset(std::string_view path);

// Content-Security-Policy of the page: scripts, styles and fetches from this origin only, no
// inline script or style, no frames, no plugins.
inline constexpr std::string_view kChatPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Cache-Control of the assets: their URLs change with their content, so they never go stale.
inline constexpr std::string_view kChatAssetCacheControl = "public, max-age=31536000, immutable";

namespace chat_internal {
// Defined in the generated chat_assets.cc.
extern const std::string_view kPage;
extern const ChatAsset kAssets[];
extern const std::size_t kAssetCount;
}  // namespace chat_internal

}  // namespace agentgateway::gateway

#endif  // AGENTGATEWAY_GATEWAY_CHAT_PAGE_H_
