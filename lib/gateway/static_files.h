// The files the gateway serves itself over HTTP GET (the live web page and its assets), compiled
// into the daemon so that it needs no install folder to show a page. Each is a path of the URL
// ("/" is the page), its Content-Type and its bytes.
#pragma once

#include <string_view>

namespace livepoll::gateway {

struct StaticFile {
  std::string_view path, content_type, body;
};

// The file served at `path` (the URL's path, without its query string); null: none.
const StaticFile* FindStaticFile(std::string_view path);

}  // namespace livepoll::gateway
