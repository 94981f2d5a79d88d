// Running a query on the sqlite3 backend through SQLite's own C API, on the connection SOCI opened.
//
// Why not SOCI's statements: SOCI 4.0.3 types an SQLite column once, from its declared type, so an
// expression column (COUNT(*), SUM(x), ROUND(...), a || b) has none and comes back as text ("2"),
// and it reads INTEGER columns as 32-bit. SQLite types each *value*, so this reads each cell with
// sqlite3_column_type:
//   SQLITE_INTEGER -> LP_INT (all 64 bits)    SQLITE_TEXT -> LP_TEXT
//   SQLITE_FLOAT   -> LP_REAL                 SQLITE_BLOB -> LP_BLOB
//   SQLITE_NULL    -> LP_NULL
// A column whose values differ in type from row to row (SQLite allows it) gives each row its own.
// SQLite has no boolean, so LP_BOOL is never sent.
//
// SOCI still opens the connection (DSN parsing, `timeout=` as sqlite3_busy_timeout), so a locked
// database still fails a step with SQLITE_BUSY after that bounded wait.
#pragma once

#include <soci/sqlite3/soci-sqlite3.h>

#include <string>
#include <vector>

#include "livepoll/source.h"

namespace livepoll::soci_plugin {

// One catalog query on one SQLite connection. Prepared on its first run (not at construction, so
// `prepare` keeps refusing only what the catalog check can know without the database: a table
// created after livepolld starts, or a database locked at that moment, does not fail the load),
// then kept prepared and reset between runs. Not thread-safe, like the connection it belongs to;
// must be destroyed before that connection is closed (the host finalizes statements first).
class SqliteQuery {
 public:
  SqliteQuery(sqlite_api::sqlite3* db, std::string sql, std::vector<std::string> names);
  ~SqliteQuery();
  SqliteQuery(const SqliteQuery&) = delete;
  SqliteQuery& operator=(const SqliteQuery&) = delete;

  // Binds `params[i]` to `:names[i]` and streams the columns and rows into `sink`. Returns "" or
  // why it failed (SQLite's message for a database error). Throws only std::bad_alloc.
  std::string Run(const lp_value* params, const lp_sink* sink);

 private:
  std::string PrepareOnce();
  std::string Bind(const lp_value* params);
  std::string Stream(const lp_sink* sink);

  sqlite_api::sqlite3* db_;
  std::string sql_;
  std::vector<std::string> names_;
  std::vector<int> indexes_;  // SQLite's index of `:names_[i]`, once prepared
  sqlite_api::sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace livepoll::soci_plugin
