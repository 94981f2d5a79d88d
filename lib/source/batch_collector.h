// The host's side of a multiplexed query's lp_batch_sink (ABI 1.1, query_batch): one Collector
// per parameter set, so each set's result is checked and limited exactly as a single query's
// would be (collector.h), and the whole batch is refused when the plugin breaks the contract.
//
// A set past the result limits (max_result_rows, max_result_bytes) fails alone, "result too
// large" as for a single query: its further rows are dropped and the plugin is told to go on, so
// one large topic does not fail the other topics of its batch. Any other failure (a broken
// contract, a set index out of range, the host out of memory) stops the plugin and fails the batch.
//
// Thread safety: one batch on one thread. The BatchCollector must outlive the `query_batch` call.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "livepoll/source.h"
#include "livepoll/status.h"
#include "livepoll/value.h"
#include "source/collector.h"

namespace livepoll::source {

class BatchCollector {
 public:
  BatchCollector(size_t sets, ResultLimits limits);
  BatchCollector(const BatchCollector&) = delete;  // the sink points at this object
  BatchCollector& operator=(const BatchCollector&) = delete;

  lp_batch_sink sink() { return lp_batch_sink{this, &BatchCollector::OnColumns, &OnRow}; }

  // After the call: Ok, or the failure that stops the whole batch (as Collector::Failure words it,
  // or Malformed "<plugin>: row for parameter set 7 of 5").
  Status Failure(const std::string& plugin) const;
  bool have_columns() const { return have_columns_; }
  // Each set's result, in order: its rows, or "result too large". REQUIRES: Failure() is Ok.
  std::vector<Result<ResultSet>> Take(const std::string& plugin);

 private:
  static int OnColumns(void* ctx, const lp_str* names, size_t count) noexcept;
  static int OnRow(void* ctx, size_t set, const lp_value* values, size_t count) noexcept;

  std::vector<std::unique_ptr<Collector>> sets_;
  std::vector<bool> too_large_;  // sets that passed the limits: their rows are dropped
  bool have_columns_ = false;
  size_t failed_set_ = SIZE_MAX;  // the set whose collector failed the batch
  size_t bad_index_ = SIZE_MAX;   // a row for a set out of range
};

}  // namespace livepoll::source
