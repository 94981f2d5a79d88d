// The soci data-source plugin: the ABI boundary (plugins/include/livepoll/source.h).
//
// DSN: `<backend>://<SOCI connection string>`, e.g. `sqlite3://db=/var/lib/app.db timeout=5`
// or `postgresql://host=db dbname=app`. sqlite3 is linked in; any other backend is loaded by SOCI
// from libsoci_<backend>.so.4.0. For sqlite3, a DSN without `timeout=` gets `timeout=2` (seconds):
// a locked database then fails the query after a bounded wait instead of hanging the poller.
//
// For sqlite3, SOCI only opens the connection (which applies `timeout=` as the busy timeout);
// queries run on its native handle through SQLite's C API so each value keeps SQLite's own type
// (see sqlite_query.h). Other backends run through SOCI's generic rows (fetch.h).
//
// Multiplexed queries (query_batch, ABI 1.1): over sqlite3, the prepared statement runs once per
// parameter set inside one read transaction, so every set reads the same snapshot. Not one SQL
// statement as on PostgreSQL: SQLite has no LATERAL and cannot correlate a subquery in FROM (3.40:
// "no such column"), so joining a VALUES list or json_each to the query would mean rewriting the
// query's own SQL, which changes what it means (an aggregate without GROUP BY returns a row even
// for a set that matches nothing); and SQLite runs in this process, so there is no round trip or
// server-side parse to save: the statement is prepared once and only stepped per set. Other SOCI
// backends run the sets one query each (no shared snapshot).
//
// Every callback catches every exception: none may cross the C boundary.
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "fetch.h"
#include "livepoll/source.h"
#include "set_sink.h"
#include "sql_params.h"
#include "sqlite_query.h"

struct lp_connection {
  soci::session session;
  sqlite_api::sqlite3* sqlite = nullptr;  // the session's own handle when the backend is sqlite3
};

struct lp_statement {
  lp_connection* conn;
  std::string sql;
  std::vector<std::string> names;
  // sqlite3 only: the SQLite statement, prepared on first use and kept across queries.
  std::unique_ptr<livepoll::soci_plugin::SqliteQuery> sqlite;
};

namespace livepoll::soci_plugin {
namespace {

using plugin_sql::CheckParams;

constexpr char kDefaultSqliteTimeout[] = " timeout=2";

int Fail(char* err, size_t err_cap, const std::string& why) {
  if (err != nullptr && err_cap > 0) std::snprintf(err, err_cap, "%s", why.c_str());
  return 1;
}

// Runs `fn`, turning any exception into an error return with its text.
template <typename Fn>
int Guard(char* err, size_t err_cap, const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Fail(err, err_cap, std::string(what) + ": " + e.what());
  } catch (...) {
    return Fail(err, err_cap, std::string(what) + ": unknown exception");
  }
}

int Open(const lp_host* /*host*/, const char* dsn, lp_connection** out, char* err, size_t err_cap) {
  return Guard(err, err_cap, "cannot connect", [&] {
    std::string text(dsn == nullptr ? "" : dsn);
    size_t sep = text.find("://");
    if (sep == std::string::npos || sep == 0) {
      // Not the DSN itself: the host names it, with its password masked.
      return Fail(err, err_cap,
                  "the DSN names no SOCI backend: write <backend>://<connection string>, "
                  "e.g. sqlite3://db=/path/file.db");
    }
    std::string backend = text.substr(0, sep);
    auto conn = std::make_unique<lp_connection>();
    if (backend == "sqlite3") {
      std::string params = text.substr(sep + 3);
      if (params.find("timeout=") == std::string::npos) params += kDefaultSqliteTimeout;
      conn->session.open(soci::sqlite3, params);
      // The handle SOCI opened, busy timeout set; it stays SOCI's to close. A static_cast, not
      // dynamic_cast: Debian's libsoci_sqlite3.so exports no typeinfo for its backend classes
      // (dynamic_cast leaves an undefined symbol and dlopen fails). The session was opened with
      // the sqlite3 factory just above, so its backend is a sqlite3_session_backend; the name
      // check guards that reasoning.
      soci::details::session_backend* backend = conn->session.get_backend();
      if (backend == nullptr || backend->get_backend_name() != "sqlite3") {
        return Fail(err, err_cap, "SOCI's sqlite3 session has no sqlite3 backend");
      }
      sqlite_api::sqlite3* handle = static_cast<soci::sqlite3_session_backend*>(backend)->conn_;
      if (handle == nullptr) return Fail(err, err_cap, "SOCI's sqlite3 session has no handle");
      conn->sqlite = handle;
    } else {
      conn->session.open(text);  // SOCI loads libsoci_<backend>.so by name
    }
    *out = conn.release();
    return 0;
  });
}

// Nothing to catch: SOCI closes the session in its destructor, and destructors do not throw. The
// host finalizes a connection's statements before closing it, so no SQLite statement is left open
// (sqlite3_close would refuse, and leak the handle).
void Close(lp_connection* conn) { delete conn; }

int Prepare(lp_connection* conn, const char* sql, const lp_str* param_names, size_t param_count,
            lp_statement** out, char* err, size_t err_cap) {
  return Guard(err, err_cap, "cannot prepare", [&] {
    auto stmt = std::make_unique<lp_statement>();
    stmt->conn = conn;
    stmt->sql = sql == nullptr ? "" : sql;
    for (size_t i = 0; i < param_count; ++i) {
      stmt->names.emplace_back(param_names[i].data, param_names[i].len);
    }
    if (std::string why = CheckParams(stmt->sql, stmt->names); !why.empty()) {
      return Fail(err, err_cap, why);
    }
    if (conn->sqlite != nullptr) {
      stmt->sqlite = std::make_unique<SqliteQuery>(conn->sqlite, stmt->sql, stmt->names);
    }
    *out = stmt.release();
    return 0;
  });
}

int Query(lp_statement* stmt, const lp_value* params, size_t param_count, const lp_sink* sink,
          char* err, size_t err_cap) {
  return Guard(err, err_cap, "query failed", [&] {
    if (param_count != stmt->names.size()) {
      return Fail(err, err_cap,
                  "expected " + std::to_string(stmt->names.size()) + " parameters, got " +
                      std::to_string(param_count));
    }
    std::string why = stmt->sqlite != nullptr
                          ? stmt->sqlite->Run(params, sink)
                          : RunSociQuery(stmt->conn->session, stmt->sql, stmt->names, params, sink);
    return why.empty() ? 0 : Fail(err, err_cap, why);
  });
}

// A read transaction around a batch on SQLite, so every set sees one snapshot: BEGIN (DEFERRED:
// the read lock is taken by the first step and held to the end), ended by COMMIT, which for a
// read releases the lock. Nothing is opened when the connection is already in a transaction.
class ReadTransaction {
 public:
  explicit ReadTransaction(sqlite_api::sqlite3* db) : db_(db) {
    if (sqlite_api::sqlite3_get_autocommit(db_) == 0) return;
    char* msg = nullptr;
    if (sqlite_api::sqlite3_exec(db_, "BEGIN", nullptr, nullptr, &msg) != 0) {
      error_ = msg != nullptr ? msg : "cannot begin a transaction";
      sqlite_api::sqlite3_free(msg);
      return;
    }
    open_ = true;
  }
  ~ReadTransaction() {
    if (open_) sqlite_api::sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  const std::string& error() const { return error_; }

 private:
  sqlite_api::sqlite3* db_;
  bool open_ = false;
  std::string error_;
};

int QueryBatch(lp_statement* stmt, const lp_value* params, size_t param_count, size_t set_count,
               const lp_batch_sink* sink, char* err, size_t err_cap) {
  return Guard(err, err_cap, "query failed", [&] {
    if (param_count != stmt->names.size()) {
      return Fail(err, err_cap,
                  "expected " + std::to_string(stmt->names.size()) + " parameters, got " +
                      std::to_string(param_count));
    }
    plugin_sql::SetSink set_sink{sink};
    lp_sink one{&set_sink, &plugin_sql::SetSink::Columns, &plugin_sql::SetSink::Row};
    std::unique_ptr<ReadTransaction> tx;
    if (stmt->sqlite != nullptr) {
      tx = std::make_unique<ReadTransaction>(stmt->conn->sqlite);
      if (!tx->error().empty()) return Fail(err, err_cap, tx->error());
    }
    for (; set_sink.set < set_count; ++set_sink.set) {
      const lp_value* set = params + set_sink.set * param_count;
      std::string why = stmt->sqlite != nullptr
                            ? stmt->sqlite->Run(set, &one)
                            : RunSociQuery(stmt->conn->session, stmt->sql, stmt->names, set, &one);
      if (!why.empty()) return Fail(err, err_cap, why);
    }
    return 0;
  });
}

void Finalize(lp_statement* stmt) { delete stmt; }

const lp_source_plugin kPlugin = {sizeof(lp_source_plugin),
                                  LIVEPOLL_SOURCE_ABI_MAJOR,
                                  LIVEPOLL_SOURCE_ABI_MINOR,
                                  0,
                                  "soci",
                                  "1.0 (SOCI 4.0)",
                                  Open,
                                  Close,
                                  Prepare,
                                  Query,
                                  Finalize,
                                  QueryBatch};

}  // namespace
}  // namespace livepoll::soci_plugin

LIVEPOLL_SOURCE_EXPORT const lp_source_plugin* livepoll_source_entry(void) {
  return &livepoll::soci_plugin::kPlugin;
}
