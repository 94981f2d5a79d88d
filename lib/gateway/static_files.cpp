// A placeholder page until the web page (lib/gateway/www/) replaces this file.
#include "gateway/static_files.h"

namespace livepoll::gateway {

namespace {

constexpr StaticFile kIndex{"/", "text/html; charset=utf-8",
                            "<!doctype html><html><head><meta charset=\"utf-8\">"
                            "<title>livepoll</title></head><body><h1>livepoll</h1>"
                            "<p>The WebSocket gateway speaks Phoenix Channels V2 at "
                            "<code>/socket/websocket?vsn=2.0.0</code>.</p></body></html>\n"};

}  // namespace

const StaticFile* FindStaticFile(std::string_view path) {
  if (path == kIndex.path || path == "/index.html") return &kIndex;
  return nullptr;
}

}  // namespace livepoll::gateway
