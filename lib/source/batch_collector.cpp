#include "source/batch_collector.h"

namespace livepoll::source {

BatchCollector::BatchCollector(size_t sets, ResultLimits limits) : too_large_(sets, false) {
  sets_.reserve(sets);
  for (size_t i = 0; i < sets; ++i) sets_.push_back(std::make_unique<Collector>(limits));
}

int BatchCollector::OnColumns(void* ctx, const lp_str* names, size_t count) noexcept {
  auto* self = static_cast<BatchCollector*>(ctx);
  if (self->failed_set_ != SIZE_MAX || self->bad_index_ != SIZE_MAX) return 1;
  self->have_columns_ = true;
  for (size_t i = 0; i < self->sets_.size(); ++i) {
    lp_sink s = self->sets_[i]->sink();
    if (s.columns(s.ctx, names, count) != 0) {  // a second call, or out of memory: all fail
      self->failed_set_ = i;
      return 1;
    }
  }
  return 0;
}

int BatchCollector::OnRow(void* ctx, size_t set, const lp_value* values, size_t count) noexcept {
  auto* self = static_cast<BatchCollector*>(ctx);
  if (self->failed_set_ != SIZE_MAX || self->bad_index_ != SIZE_MAX) return 1;
  if (set >= self->sets_.size()) {
    self->bad_index_ = set;
    return 1;
  }
  if (self->too_large_[set]) return 0;
  lp_sink s = self->sets_[set]->sink();
  if (s.row(s.ctx, values, count) == 0) return 0;
  // Failure() builds a Status (it may allocate): guarded, as nothing may leave the plugin's frames.
  try {
    if (IsResultTooLarge(self->sets_[set]->Failure(""))) {
      self->too_large_[set] = true;
      return 0;
    }
  } catch (...) {
  }
  self->failed_set_ = set;
  return 1;
}

Status BatchCollector::Failure(const std::string& plugin) const {
  if (bad_index_ != SIZE_MAX) {
    return Status::Malformed(plugin + ": row for parameter set " + std::to_string(bad_index_) +
                             " of " + std::to_string(sets_.size()));
  }
  if (failed_set_ != SIZE_MAX) return sets_[failed_set_]->Failure(plugin);
  return Status::Ok();
}

std::vector<Result<ResultSet>> BatchCollector::Take(const std::string& plugin) {
  std::vector<Result<ResultSet>> out;
  out.reserve(sets_.size());
  for (size_t i = 0; i < sets_.size(); ++i) {
    if (too_large_[i])
      out.emplace_back(sets_[i]->Failure(plugin));
    else
      out.emplace_back(sets_[i]->Take());
  }
  return out;
}

}  // namespace livepoll::source
