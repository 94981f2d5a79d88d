#include "core/result_diff.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>

namespace livepoll::core {
namespace {

// -0.0 == 0.0 and every NaN is one value for change detection: a poll that returns the "same"
// number with another sign bit or NaN payload is not a change, and both nodes must agree on that
// whatever their libm produced.
uint64_t CanonicalDoubleBits(double d) {
  if (std::isnan(d)) return 0x7FF8000000000000ULL;
  if (d == 0.0) return 0;
  return std::bit_cast<uint64_t>(d);
}

// Equality as HashResult and the key encoding see it (so NaN equals NaN, unlike Row's ==, which
// would report a row holding NaN as updated on every poll).
bool SameValue(const Value& a, const Value& b) {
  if (a.index() != b.index()) return false;
  if (const double* x = std::get_if<double>(&a)) {
    return CanonicalDoubleBits(*x) == CanonicalDoubleBits(std::get<double>(b));
  }
  return a == b;
}

bool SameRow(const Row& a, const Row& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), SameValue);
}

// FNV-1a 64 over a self-delimiting byte encoding of the result: fixed-width little-endian
// integers, a type tag before every value and a length before every string, so no two different
// results feed the same bytes (["ab","c"] vs ["a","bc"], 1 vs 1.0 vs "1", null vs "").
class Fnv1a {
 public:
  void Byte(uint8_t b) {
    h_ ^= b;
    h_ *= 0x100000001B3ULL;
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) Byte(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Bytes(std::string_view s) {
    U64(s.size());
    for (char c : s) Byte(static_cast<uint8_t>(c));
  }
  void Val(const Value& v) {
    Byte(static_cast<uint8_t>(v.index()));  // value.h: the alternatives' order is fixed
    std::visit(
        [this](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, int64_t>) {
            U64(static_cast<uint64_t>(x));
          } else if constexpr (std::is_same_v<T, double>) {
            U64(CanonicalDoubleBits(x));
          } else if constexpr (std::is_same_v<T, std::string>) {
            Bytes(x);
          } else if constexpr (std::is_same_v<T, Blob>) {
            Bytes(x.bytes);
          } else if constexpr (std::is_same_v<T, bool>) {
            Byte(x ? 1 : 0);
          }  // Null: the tag says it all
        },
        v);
  }
  // FNV-1a's last bytes only reach the low bits weakly; a murmur-style finalizer spreads them so
  // the hash is also fit for bucketing, not just equality.
  uint64_t Final() const {
    uint64_t h = h_;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
  }

 private:
  uint64_t h_ = 0xCBF29CE484222325ULL;
};

// The bytes that identify a row by its key values, for hash-map lookup: the same self-delimiting
// encoding the hash uses (tag, then fixed-width or length-prefixed payload). False when the row is
// shorter than a key position.
bool EncodeKey(const Row& row, const std::vector<size_t>& key, std::string& out) {
  out.clear();
  for (size_t k : key) {
    if (k >= row.size()) return false;
    const Value& v = row[k];
    out += static_cast<char>(v.index());
    auto u64 = [&out](uint64_t x) {
      for (int i = 0; i < 8; ++i) out += static_cast<char>(x >> (8 * i));
    };
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, int64_t>) {
            u64(static_cast<uint64_t>(x));
          } else if constexpr (std::is_same_v<T, double>) {
            u64(CanonicalDoubleBits(x));
          } else if constexpr (std::is_same_v<T, std::string>) {
            u64(x.size());
            out += x;
          } else if constexpr (std::is_same_v<T, Blob>) {
            u64(x.bytes.size());
            out += x.bytes;
          } else if constexpr (std::is_same_v<T, bool>) {
            out += static_cast<char>(x ? 1 : 0);
          }
        },
        v);
  }
  return true;
}

using KeyMap = std::unordered_map<std::string, size_t>;

// Key -> row position; false on a short row or a repeated key.
bool IndexRows(const std::vector<Row>& rows, const std::vector<size_t>& key, KeyMap& map) {
  map.reserve(rows.size());
  std::string buf;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!EncodeKey(rows[i], key, buf)) return false;
    if (!map.emplace(buf, i).second) return false;
  }
  return true;
}

}  // namespace

uint64_t HashResult(const ResultSet& r) {
  Fnv1a h;
  h.U64(r.columns.size());
  for (const std::string& c : r.columns) h.Bytes(c);
  h.U64(r.rows.size());
  for (const Row& row : r.rows) {
    h.U64(row.size());  // rows should match columns, but a ragged row must not alias another
    for (const Value& v : row) h.Val(v);
  }
  return h.Final();
}

Result<std::vector<size_t>> KeyIndexes(const std::vector<std::string>& columns,
                                       const std::vector<std::string>& key_columns) {
  std::vector<size_t> out;
  out.reserve(key_columns.size());
  for (const std::string& k : key_columns) {
    auto it = std::find(columns.begin(), columns.end(), k);
    if (it == columns.end()) {
      return Status::NotFound("key column '" + k + "' is not a column of the result");
    }
    out.push_back(static_cast<size_t>(it - columns.begin()));
  }
  return out;
}

std::optional<std::vector<proto::Change>> DiffRows(const ResultSet& before, const ResultSet& after,
                                                   const std::vector<size_t>& key) {
  if (before.columns != after.columns) return std::nullopt;
  KeyMap before_at;
  KeyMap after_at;
  if (!IndexRows(before.rows, key, before_at) || !IndexRows(after.rows, key, after_at)) {
    return std::nullopt;
  }

  std::vector<proto::Change> changes;
  std::string buf;
  for (const Row& row : before.rows) {
    EncodeKey(row, key, buf);  // cannot fail: IndexRows encoded every row
    if (!after_at.contains(buf)) changes.push_back({proto::Change::Op::kDelete, row});
  }
  for (const Row& row : after.rows) {
    EncodeKey(row, key, buf);
    auto it = before_at.find(buf);
    if (it == before_at.end()) {
      changes.push_back({proto::Change::Op::kInsert, row});
    } else if (!SameRow(before.rows[it->second], row)) {
      changes.push_back({proto::Change::Op::kUpdate, row});
    }
  }
  return changes;
}

Status ApplyChanges(std::vector<Row>& rows, const std::vector<proto::Change>& changes,
                    const std::vector<size_t>& key) {
  KeyMap at;
  at.reserve(rows.size() + changes.size());
  std::string buf;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!EncodeKey(rows[i], key, buf)) return Status::InvalidArgument("row shorter than its key");
    if (!at.emplace(buf, i).second) return Status::InvalidArgument("key repeats in the rows");
  }

  // First check the whole batch against the keys alone, so that a bad batch leaves `rows` as it
  // was: the caller then falls back to waiting for a snapshot with its last good data intact.
  std::vector<std::string> change_keys(changes.size());
  std::unordered_map<std::string_view, bool> present;  // keys the batch touched: present after?
  for (size_t i = 0; i < changes.size(); ++i) {
    const proto::Change& c = changes[i];
    if (!EncodeKey(c.row, key, change_keys[i])) {
      return Status::InvalidArgument(std::string(proto::ChangeOpName(c.op)) +
                                     " of a row shorter than its key");
    }
  }
  for (size_t i = 0; i < changes.size(); ++i) {
    const proto::Change& c = changes[i];
    const std::string_view k = change_keys[i];  // change_keys no longer grows: views stay valid
    auto it = present.find(k);
    const bool here = it != present.end() ? it->second : at.contains(change_keys[i]);
    const bool wants_here = c.op != proto::Change::Op::kInsert;
    if (here != wants_here) {
      return Status::InvalidArgument(std::string(proto::ChangeOpName(c.op)) + " #" +
                                     std::to_string(i) +
                                     (here ? ": key already present" : ": key not present"));
    }
    present[k] = c.op != proto::Change::Op::kDelete;
  }

  // Then apply: updates in place, deletes marked and compacted at the end, inserts appended. So
  // surviving rows keep their order and new rows follow in the order of `changes`.
  std::vector<bool> gone(rows.size(), false);
  for (size_t i = 0; i < changes.size(); ++i) {
    const proto::Change& c = changes[i];
    switch (c.op) {
      case proto::Change::Op::kDelete: {
        auto it = at.find(change_keys[i]);
        gone[it->second] = true;
        at.erase(it);
        break;
      }
      case proto::Change::Op::kUpdate:
        rows[at.find(change_keys[i])->second] = c.row;
        break;
      case proto::Change::Op::kInsert:
        at.emplace(change_keys[i], rows.size());
        rows.push_back(c.row);
        gone.push_back(false);
        break;
    }
  }
  size_t out = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (gone[i]) continue;
    if (out != i) rows[out] = std::move(rows[i]);
    ++out;
  }
  rows.resize(out);
  return Status::Ok();
}

ResultDigest DigestResult(const ResultSet& rs, const ResultBase& base) {
  ResultDigest d;
  d.base = base.last;
  d.hash = HashResult(rs);
  if (!base.last || base.key.empty() || d.hash == base.last_hash) return d;
  Result<std::vector<size_t>> key = KeyIndexes(rs.columns, base.key);
  if (key.ok()) d.changes = DiffRows(*base.last, rs, *key);
  return d;
}

}  // namespace livepoll::core
