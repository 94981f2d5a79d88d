#include "source/dsn_mask.h"

#include <cctype>
#include <cstring>

namespace livepoll::source {

std::string MaskDsnSecrets(const std::string& dsn) {
  std::string out = dsn;
  // key=value forms (libpq, SOCI): password=secret, password='sec ret', pass=... ; up to a space.
  for (const char* key : {"password=", "pass=", "pwd="}) {
    for (size_t at = out.find(key); at != std::string::npos; at = out.find(key, at + 1)) {
      if (at > 0 && std::isalnum(static_cast<unsigned char>(out[at - 1]))) continue;
      size_t begin = at + std::strlen(key), end = begin;
      if (end < out.size() && out[end] == '\'') {
        end = out.find('\'', end + 1);
        end = end == std::string::npos ? out.size() : end + 1;
      } else {
        while (end < out.size() && !std::isspace(static_cast<unsigned char>(out[end])) &&
               out[end] != '&')
          ++end;
      }
      out.replace(begin, end - begin, "***");
    }
  }
  // URIs: scheme://user:secret@host
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t auth_end = out.find('@', scheme + 3);
    size_t colon = out.find(':', scheme + 3);
    size_t slash = out.find('/', scheme + 3);
    if (auth_end != std::string::npos && colon != std::string::npos && colon < auth_end &&
        (slash == std::string::npos || auth_end < slash))
      out.replace(colon + 1, auth_end - colon - 1, "***");
  }
  return out;
}

}  // namespace livepoll::source
