// SetSink: the lp_sink one parameter set streams into when a plugin runs a batch
// (query_batch) set by set: the columns pass through once (the first set's), and every row is
// tagged with the set it belongs to. Shared by the plugins (header only).
#pragma once

#include <cstddef>

#include "livepoll/source.h"

namespace livepoll::plugin_sql {

struct SetSink {
  const lp_batch_sink* batch;
  size_t set = 0;
  bool columns_sent = false;

  static int Columns(void* ctx, const lp_str* names, size_t count) {
    auto* self = static_cast<SetSink*>(ctx);
    if (self->columns_sent) return 0;
    self->columns_sent = true;
    return self->batch->columns(self->batch->ctx, names, count);
  }
  static int Row(void* ctx, const lp_value* values, size_t count) {
    auto* self = static_cast<SetSink*>(ctx);
    return self->batch->row(self->batch->ctx, self->set, values, count);
  }
};

}  // namespace livepoll::plugin_sql
