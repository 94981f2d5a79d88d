// The fields of one topic update as JSON (RFC 8259), shared by every place that shows an update
// to a reader rather than to a livepoll program: `livepoll watch`'s lines (cmd/update_json.h) and
// the WebSocket gateway's pushes (lib/gateway/phoenix_frame.h). Rows are objects keyed by column
// name, so a script or a web page reads `row.revenue` without the column list.
#pragma once

#include <string>

#include "proto/messages.h"

namespace livepoll::proto {

// Appends, without braces, `"owner": N, "epoch": E, "seq": S` and what the kind carries:
//   snapshot: `, "columns": [...], "rows": [{col: value, ...}, ...]`
//   diff:     `, "changes": [{"op": "insert", "row": {col: value, ...}}, ...]`
//   error:    `, "error": "why the poll failed"`
void AppendUpdateFields(std::string& out, const Update& u);

}  // namespace livepoll::proto
