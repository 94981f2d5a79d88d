#include "core/catalog.h"

namespace livepoll::core {

bool PollsDiffer(const CatalogQuery& a, const CatalogQuery& b) {
  return a.source != b.source || a.params != b.params || a.key != b.key ||
         a.interval != b.interval || a.jitter != b.jitter || a.digest != b.digest;
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
