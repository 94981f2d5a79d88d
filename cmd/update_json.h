// One topic update as one JSON line, the output of `livepoll watch` (man/livepoll.1, OUTPUT):
//   {"topic": T, "kind": "snapshot", "owner": N, "epoch": E, "seq": S,
//    "columns": [...], "rows": [{col: value, ...}, ...]}
//   {"topic": T, "kind": "diff", ..., "changes": [{"op": "insert", "row": {col: value}}, ...]}
//   {"topic": T, "kind": "error", ..., "error": "why the poll failed"}
// Rows are objects keyed by column name so `jq .rows[].revenue` reads them without the column list.
#pragma once

#include <string>

#include "proto/messages.h"

namespace livepoll::cli {

// The line without its trailing newline.
std::string UpdateToJson(const proto::Update& u);

}  // namespace livepoll::cli
