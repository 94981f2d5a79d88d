// The query catalog as the live page reads it (GET /api/queries on the WebSocket gateway):
//   [{"name": "stock", "params": ["min"], "key": [], "interval_ms": 100,
//     "token_required": false, "bound": []}, ...]
// in the catalog's order (by name). What a browser needs to build a join and nothing more: no
// SQL, no source, no claim a token must carry. `bound` lists the parameters a token's claim sets
// (core/access.h), which the page does not ask for.
#pragma once

#include <string>

#include "core/catalog.h"

namespace livepoll::net {

std::string CatalogJson(const core::Catalog& catalog);

}  // namespace livepoll::net
