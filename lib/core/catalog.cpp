#include "core/catalog.h"

namespace livepoll::core {

bool PollsDiffer(const CatalogQuery& a, const CatalogQuery& b) {
  return a.source != b.source || a.params != b.params || a.key != b.key ||
         a.interval != b.interval || a.jitter != b.jitter || a.digest != b.digest;
}

uint64_t CatalogDigest(const Catalog& catalog) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a over (name, 0, digest bytes) per query
  auto mix = [&h](unsigned char b) { h = (h ^ b) * 1099511628211ull; };
  for (const auto& [name, q] : catalog.queries) {
    for (char c : name) mix(static_cast<unsigned char>(c));
    mix(0);
    for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(q.digest >> (8 * i)));
  }
  return h;
}

std::string DigestText(uint64_t digest) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, digest >>= 4) s[static_cast<size_t>(i)] = kHex[digest & 15];
  return s;
}

CatalogChanges DiffCatalogs(const Catalog& from, const Catalog& to) {
  CatalogChanges c;
  for (const auto& [name, q] : from.queries) {
    auto it = to.queries.find(name);
    if (it == to.queries.end()) {
      c.removed.insert(name);
    } else if (PollsDiffer(q, it->second)) {
      c.changed.insert(name);
    }
  }
  for (const auto& [name, q] : to.queries)
    if (!from.queries.count(name)) c.added.insert(name);
  return c;
}

}  // namespace livepoll::core
