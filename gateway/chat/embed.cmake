# Generates the C++ source that holds the chat page's files (run at build time by
# gateway/CMakeLists.txt; inputs: SRC_DIR, OUT). Each asset becomes a raw string literal; the
# page's references to the scripts and the stylesheet get a content hash (`chat.js?v=...`), so
# the assets can be cached for good while the page itself is revalidated on every load.
cmake_minimum_required(VERSION 3.20)

set(assets chat.css markdown.js chat.js)
set(delimiter "CHAT_ASSET")

function(asset_literal name content out_var)
  # -Wpedantic warns about string literals beyond the 65,536 characters C++ promises to support.
  string(LENGTH "${content}" length)
  if(length GREATER 65000)
    message(FATAL_ERROR "${name} is ${length} bytes: split it (each asset is one string literal)")
  endif()
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${name} contains the raw string delimiter )${delimiter}\"")
  endif()
  set(${out_var} "R\"${delimiter}(${content})${delimiter}\"" PARENT_SCOPE)
endfunction()

file(READ "${SRC_DIR}/index.html" page)
set(table "")
foreach(asset IN LISTS assets)
  file(READ "${SRC_DIR}/${asset}" content)
  string(SHA256 hash "${content}")
  string(SUBSTRING "${hash}" 0 16 hash)
  string(FIND "${page}" "{{${asset}}}" used)
  if(used EQUAL -1)
    message(FATAL_ERROR "index.html does not reference {{${asset}}}")
  endif()
  string(REPLACE "{{${asset}}}" "${asset}?v=${hash}" page "${page}")
  if(asset MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  else()
    set(type "text/javascript; charset=utf-8")
  endif()
  asset_literal(${asset} "${content}" literal)
  string(APPEND table "    {\"/${asset}\", \"${type}\",\n     ${literal}},\n")
endforeach()
asset_literal(index.html "${page}" page_literal)

set(source "// Generated from gateway/chat/ by gateway/chat/embed.cmake: do not edit.
#include \"gateway/chat_page.h\"

namespace agentgateway::gateway::chat_internal {

const std::string_view kPage = ${page_literal};

const ChatAsset kAssets[] = {
${table}};

const std::size_t kAssetCount = sizeof(kAssets) / sizeof(kAssets[0]);

}  // namespace agentgateway::gateway::chat_internal
")

file(WRITE "${OUT}" "${source}")
