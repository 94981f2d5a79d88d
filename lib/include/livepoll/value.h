// Typed values as they come out of a data source and travel to subscribers:
// null, integer, real, text, blob, boolean (the plugin ABI's six types).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace livepoll {

struct Null {
  bool operator==(const Null&) const = default;
};
// A blob is kept apart from text so that the codec and JSON output can tell them apart.
struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};

// The alternatives' order is part of hashing (HashValue) and must not change.
using Value = std::variant<Null, int64_t, double, std::string, Blob, bool>;
using Row = std::vector<Value>;

// A query's result: column names and rows, each row as long as `columns`.
struct ResultSet {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  bool operator==(const ResultSet&) const = default;
};

// "null", "integer", "real", "text", "blob", "boolean".
const char* ValueTypeName(const Value& v);

}  // namespace livepoll
