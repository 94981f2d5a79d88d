#include "gateway/static_files.h"

#include <array>
#include <vector>

#include "gateway/www_files.h"

namespace livepoll::gateway {
namespace {

// The page's files are few and known (lib/gateway/www); an extension outside this table is served
// as bytes, never guessed as HTML. Text types say their charset so that a browser does not sniff.
std::string_view ContentType(std::string_view path) {
  struct Type {
    std::string_view suffix, type;
  };
  static constexpr std::array<Type, 6> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".png", "image/png"},
  }};
  for (const Type& t : kTypes) {
    if (path.size() >= t.suffix.size() && path.substr(path.size() - t.suffix.size()) == t.suffix) {
      return t.type;
    }
  }
  return "application/octet-stream";
}

// Each embedded file at its path, and index.html at "/" too. Built once, on first use; it points
// to the embedded constants and owns no bytes.
std::vector<StaticFile> BuildTable() {
  std::vector<StaticFile> table;
  for (std::size_t i = 0; i < kWwwFileCount; ++i) {
    const WwwFile& f = kWwwFiles[i];
    table.push_back({f.path, ContentType(f.path), f.bytes});
    if (f.path == "/index.html") table.push_back({"/", ContentType(f.path), f.bytes});
  }
  return table;
}

}  // namespace

const StaticFile* FindStaticFile(std::string_view path) {
  static const std::vector<StaticFile> table = BuildTable();  // thread-safe initialisation
  for (const StaticFile& f : table) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

}  // namespace livepoll::gateway
