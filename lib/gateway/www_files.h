// The bytes of lib/gateway/www, as the build embedded them (www/embed.cmake generates the
// definitions into the build folder whenever a file there changes). static_files.cpp gives them
// their paths and content types; nothing else should read these.
#pragma once

#include <cstddef>
#include <string_view>

namespace livepoll::gateway {

struct WwwFile {
  std::string_view path;   // "/" and the file's name in lib/gateway/www, e.g. "/app.js"
  std::string_view bytes;  // its content, byte for byte
};

extern const WwwFile kWwwFiles[];
extern const std::size_t kWwwFileCount;

}  // namespace livepoll::gateway
