// The soci data-source plugin: the ABI boundary (plugins/include/livepoll/source.h).
//
// DSN: `<backend>://<SOCI connection string>`, e.g. `sqlite3://db=/var/lib/app.db timeout=5`
// or `postgresql://host=db dbname=app`. sqlite3 is linked in; any other backend is loaded by SOCI
// from libsoci_<backend>.so.4.0. For sqlite3, a DSN without `timeout=` gets `timeout=2` (seconds):
// a locked database then fails the query after a bounded wait instead of hanging the poller.
//
// Every callback catches every exception: none may cross the C boundary.
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "fetch.h"
#include "livepoll/source.h"
#include "sql_params.h"

struct lp_connection {
  soci::session session;
  bool sqlite3 = false;
};

struct lp_statement {
  lp_connection* conn;
  std::string sql;
  std::vector<std::string> names;
};

namespace livepoll::soci_plugin {
namespace {

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
      return Fail(err, err_cap,
                  "DSN '" + text +
                      "' names no SOCI backend: write <backend>://<connection string>, "
                      "e.g. sqlite3://db=/path/file.db");
    }
    std::string backend = text.substr(0, sep);
    auto conn = std::make_unique<lp_connection>();
    if (backend == "sqlite3") {
      std::string params = text.substr(sep + 3);
      if (params.find("timeout=") == std::string::npos) params += kDefaultSqliteTimeout;
      conn->session.open(soci::sqlite3, params);
      conn->sqlite3 = true;
    } else {
      conn->session.open(text);  // SOCI loads libsoci_<backend>.so by name
    }
    *out = conn.release();
    return 0;
  });
}

// Nothing to catch: SOCI closes the session in its destructor, and destructors do not throw.
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
    std::string why =
        RunQuery(stmt->conn->session, stmt->conn->sqlite3, stmt->sql, stmt->names, params, sink);
    return why.empty() ? 0 : Fail(err, err_cap, why);
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
                                  Finalize};

}  // namespace
}  // namespace livepoll::soci_plugin

LIVEPOLL_SOURCE_EXPORT const lp_source_plugin* livepoll_source_entry(void) {
  return &livepoll::soci_plugin::kPlugin;
}
