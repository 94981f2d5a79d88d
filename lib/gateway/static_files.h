// The files the gateway serves over plain HTTP GET (the live page at "/"), compiled into the
// daemon so that it needs nothing installed beside it.
#pragma once

#include <string_view>

namespace livepoll::gateway {

struct StaticFile {
  std::string_view path;          // the request path, e.g. "/" or "/app.js"
  std::string_view content_type;  // the Content-Type header's value
  std::string_view body;
};

// The file served at PATH (the request target without its query string), or nullptr.
// Thread-safe: the files are constants.
const StaticFile* FindStaticFile(std::string_view path);

}  // namespace livepoll::gateway
