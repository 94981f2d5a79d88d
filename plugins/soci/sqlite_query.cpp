#include "sqlite_query.h"

#include <algorithm>
#include <limits>
#include <new>
#include <utility>

#include "fetch.h"

namespace livepoll::soci_plugin {

// SOCI's header includes <sqlite3.h> inside namespace sqlite_api, and its include guard keeps the
// global copy out; SQLite's macros (SQLITE_TRANSIENT names sqlite3_destructor_type) then need the
// names unqualified.
using namespace sqlite_api;

namespace {

// Resets the statement when a run ends, however it ends: a statement left mid-result would keep
// its read transaction (and the locks that come with it) open until the next poll.
struct ResetOnExit {
  sqlite3_stmt* stmt;
  ~ResetOnExit() {
    sqlite3_reset(stmt);  // its return repeats the step's error, already reported
    sqlite3_clear_bindings(stmt);
  }
};

// The value of column `i` of the current row; pointers stay valid until the next step or reset.
// False only when SQLite ran out of memory converting the value.
bool ReadCell(sqlite3* db, sqlite3_stmt* stmt, int i, lp_value& v) {
  v = lp_value{};
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      v.type = LP_INT;
      v.u.i = sqlite3_column_int64(stmt, i);
      return true;
    case SQLITE_FLOAT:
      v.type = LP_REAL;
      v.u.r = sqlite3_column_double(stmt, i);
      return true;
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
      const bool text = sqlite3_column_type(stmt, i) == SQLITE_TEXT;
      // The pointer first, then the length: that order keeps SQLite from converting twice.
      const void* p = text ? static_cast<const void*>(sqlite3_column_text(stmt, i))
                           : sqlite3_column_blob(stmt, i);
      const int len = sqlite3_column_bytes(stmt, i);
      // An empty BLOB comes back as a null pointer; any other null pointer is an allocation
      // failure.
      if (p == nullptr && sqlite3_errcode(db) == SQLITE_NOMEM) return false;
      v.type = text ? LP_TEXT : LP_BLOB;
      v.u.s.data = p == nullptr ? "" : static_cast<const char*>(p);
      v.u.s.len = p == nullptr ? 0 : static_cast<size_t>(len);
      return true;
    }
    default:  // SQLITE_NULL
      v.type = LP_NULL;
      return true;
  }
}

}  // namespace

SqliteQuery::SqliteQuery(sqlite3* db, std::string sql, std::vector<std::string> names)
    : db_(db), sql_(std::move(sql)), names_(std::move(names)) {}

SqliteQuery::~SqliteQuery() { sqlite3_finalize(stmt_); }  // a no-op on nullptr

std::string SqliteQuery::Run(const lp_value* params, const lp_sink* sink) {
  if (std::string why = PrepareOnce(); !why.empty()) return why;
  ResetOnExit reset{stmt_};
  if (std::string why = Bind(params); !why.empty()) return why;
  return Stream(sink);
}

std::string SqliteQuery::PrepareOnce() {
  if (stmt_ != nullptr) return "";
  if (sql_.size() >= static_cast<size_t>(std::numeric_limits<int>::max())) return "SQL too long";
  // PERSISTENT: the statement is kept for the life of the catalog query, not run once.
  // The length includes the terminating NUL, which saves SQLite a copy.
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql_.c_str(), static_cast<int>(sql_.size() + 1),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite3_errmsg(db_);
  }
  if (stmt == nullptr) return "the SQL holds no statement";  // only blanks or comments
  // prepare already checked the `:name` list against our own reading of the SQL; SQLite's parser
  // has the last word (it also knows `?`, `@name` and `$name`), and any parameter left unbound
  // would silently be NULL, so both directions are checked again here.
  std::vector<int> indexes;
  std::string why;
  for (const auto& name : names_) {
    int index = sqlite3_bind_parameter_index(stmt, (":" + name).c_str());
    if (index == 0) {
      why = "SQLite finds no parameter :" + name + " in the SQL";
      break;
    }
    indexes.push_back(index);
  }
  for (int i = 1; why.empty() && i <= sqlite3_bind_parameter_count(stmt); ++i) {
    if (std::find(indexes.begin(), indexes.end(), i) == indexes.end()) {
      const char* name = sqlite3_bind_parameter_name(stmt, i);
      why = std::string("the SQL has a parameter ") + (name == nullptr ? "?" : name) +
            " that is not among the query's parameters (write parameters as :name)";
    }
  }
  if (!why.empty()) {
    sqlite3_finalize(stmt);
    return why;
  }
  stmt_ = stmt;
  indexes_ = std::move(indexes);
  return "";
}

std::string SqliteQuery::Bind(const lp_value* params) {
  for (size_t i = 0; i < names_.size(); ++i) {
    int rc;
    if (params[i].type == LP_NULL) {
      rc = sqlite3_bind_null(stmt_, indexes_[i]);
    } else {
      // As text, as on the other backends; SQLite's column affinity makes `WHERE id = :id` match
      // '1' with 1. TRANSIENT: SQLite copies, so `text` may go at the end of this iteration.
      std::string text = ParamText(params[i]);
      rc = sqlite3_bind_text64(stmt_, indexes_[i], text.data(), text.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) return "cannot bind :" + names_[i] + ": " + sqlite3_errmsg(db_);
  }
  return "";
}

std::string SqliteQuery::Stream(const lp_sink* sink) {
  const int count = sqlite3_column_count(stmt_);
  std::vector<std::string> columns;
  for (int i = 0; i < count; ++i) {
    const char* name = sqlite3_column_name(stmt_, i);
    if (name == nullptr) throw std::bad_alloc();  // SQLite's only reason for no name
    columns.emplace_back(name);
  }
  // Sent before the first step, so a statement without rows (or without a result) has them too.
  if (SendColumns(sink, columns) != 0) return kSinkStopped;
  std::vector<lp_value> row(static_cast<size_t>(count));
  for (;;) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_DONE) return "";
    // SQLITE_BUSY after the busy timeout reads "database is locked".
    if (rc != SQLITE_ROW) return sqlite3_errmsg(db_);
    for (int i = 0; i < count; ++i) {
      if (!ReadCell(db_, stmt_, i, row[static_cast<size_t>(i)])) {
        return "out of memory reading column '" + columns[static_cast<size_t>(i)] + "'";
      }
    }
    if (sink->row(sink->ctx, row.data(), row.size()) != 0) return kSinkStopped;
  }
}

}  // namespace livepoll::soci_plugin
