// The host's side of a query's lp_sink: collects what a plugin streams into a ResultSet, refusing
// anything that breaks the sink contract (livepoll-source(7), THE SINK).
//
// The sink's callbacks run inside the plugin's C frames, where an exception is undefined
// behaviour, so none leaves them. Every failure becomes the sink's non-zero "stop" return and is
// kept for Failure(): a broken contract (a row of the wrong width, a length no string can hold,
// ...) or the host's own (out of memory). The first failure is kept, as it says more than the
// error the plugin then returns; after it, every callback returns non-zero at once.
//
// Thread safety: one query on one thread. The Collector must outlive the `query` call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "livepoll/source.h"
#include "livepoll/status.h"
#include "livepoll/value.h"

namespace livepoll::source {

// The most one query's result may hold (max_result_rows, max_result_bytes): the Collector stops
// the plugin at the first row past either, so a huge result is never held whole. Bytes count at
// least the rows' msgpack encoding: a text or blob value's length plus 5, any other value 9, and 5
// a row.
struct ResultLimits {
  size_t max_rows = SIZE_MAX;
  size_t max_bytes = SIZE_MAX;
};

// Whether `s` is a Collector's "result too large" failure (for the counter results_too_large).
bool IsResultTooLarge(const Status& s);

class Collector {
 public:
  explicit Collector(ResultLimits limits = {}) : limits_(limits) {}
  Collector(const Collector&) = delete;  // the sink points at this object
  Collector& operator=(const Collector&) = delete;

  // The sink to pass to the plugin's `query`.
  lp_sink sink() { return lp_sink{this, &Collector::OnColumns, &Collector::OnRow}; }

  // After the query: Ok when nothing failed; otherwise Malformed for a broken contract, Unavailable
  // when the host ran out of memory, Internal for anything else, with "<plugin>: " before the text;
  // Unavailable "result too large (1001 rows > max_result_rows 1000)" (no plugin name: the
  // data, not the plugin, is at fault) past a limit.
  Status Failure(const std::string& plugin) const;
  // Whether the plugin sent its columns, which the contract requires even for no rows.
  bool have_columns() const { return have_columns_; }
  // The result. REQUIRES: Failure() is Ok; called once.
  ResultSet Take() { return std::move(result_); }

 private:
  enum class Failed { kNo, kContract, kTooLong, kOutOfMemory, kUnexpected, kTooLarge };

  static int OnColumns(void* ctx, const lp_str* names, size_t count) noexcept;
  static int OnRow(void* ctx, const lp_value* values, size_t count) noexcept;
  // Runs `collect` (which may throw), turning any exception into a failure.
  template <typename Fn>
  int Guard(Fn&& collect) noexcept;
  int Columns(const lp_str* names, size_t count);
  int AddRow(const lp_value* values, size_t count);
  std::string Copy(const char* what, const char* data, size_t len);
  int Fail(std::string why);
  int TooLarge(std::string why);

  ResultLimits limits_;
  size_t bytes_ = 0;       // of the values collected so far, as ResultLimits counts them
  std::string too_large_;  // kTooLarge: which limit, in words
  ResultSet result_;
  bool have_columns_ = false;
  Failed failed_ = Failed::kNo;
  std::string contract_;  // kContract: what the plugin did wrong
  // What was being copied when a copy failed: recorded without allocating, so that kTooLong and
  // kOutOfMemory are put into words later, by Failure(), outside the plugin's frames.
  const char* copying_ = nullptr;  // "column name", "text value", "blob value"
  size_t copying_len_ = 0;
};

}  // namespace livepoll::source
