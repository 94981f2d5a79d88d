// Change detection for pollers: a stable hash of a result, and the keyed row diff between two
// results of the same query.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "livepoll/status.h"
#include "livepoll/value.h"
#include "proto/messages.h"

namespace livepoll::core {

// A 64-bit hash of columns and rows, value types included (integer 1 != real 1.0 != text "1").
// Stable across runs and processes (no std::hash), so two nodes hash the same result alike.
uint64_t HashResult(const ResultSet& r);

// The positions of `key_columns` in `columns`; NotFound names a key column the result lacks.
Result<std::vector<size_t>> KeyIndexes(const std::vector<std::string>& columns,
                                       const std::vector<std::string>& key_columns);

// The changes that turn `before` into `after`, rows matched by the values at `key`:
// deletes for keys gone, updates for keys whose row changed, inserts for new keys, in the order
// deletes (before's order), then updates and inserts (after's order).
// Returns nullopt when a diff cannot describe the change — the columns differ, or a key repeats
// within one result — and the caller sends a snapshot instead.
std::optional<std::vector<proto::Change>> DiffRows(const ResultSet& before, const ResultSet& after,
                                                   const std::vector<size_t>& key);

// What a new result is compared with: a poller's last result (issue 15 §3: a poll worker digests
// the result it fetched, so the event loop does no work in proportion to a result's size).
struct ResultBase {
  std::shared_ptr<const ResultSet> last;  // null: nothing to compare with (a snapshot follows)
  uint64_t last_hash = 0;                 // HashResult(*last)
  std::vector<std::string> key;           // the query's key columns; empty: never a diff
};

// A new result's change detection against a ResultBase.
struct ResultDigest {
  std::shared_ptr<const ResultSet> base;  // ResultBase::last, as given
  uint64_t hash = 0;                      // HashResult of the new result
  // When the result changed: the keyed diff from `base` (DiffRows), if a diff can describe it.
  std::optional<std::vector<proto::Change>> changes;
};

// HashResult, and DiffRows when the hash differs from `base`'s and a key is given. Pure: safe on
// any thread while nobody mutates `rs` (`base.last` is immutable).
ResultDigest DigestResult(const ResultSet& rs, const ResultBase& base);

// Applies `changes` to `rows` (the client side of DiffRows; used by tests and the node's cache).
// InvalidArgument when a change's key is missing (update/delete) or already present (insert).
Status ApplyChanges(std::vector<Row>& rows, const std::vector<proto::Change>& changes,
                    const std::vector<size_t>& key);

}  // namespace livepoll::core
