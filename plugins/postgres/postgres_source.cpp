// The postgres data-source plugin: PostgreSQL through libpqxx 6.4, at the ABI boundary
// (plugins/include/livepoll/source.h).
//
// DSN: a libpq connection string, `host=db port=5432 dbname=app user=app password=...` or a
// `postgresql://` URI, given to libpq as it is.
//
// One plugin connection is one PostgreSQL session (pqxx::connection). The host opens at most
// `max_concurrent` of them per source, one per poll worker, so that is the pool; after a failed
// query it closes the connection and opens a new one, so a broken session is never reused.
// A session that worked before but is found broken when a query starts (the server restarted or
// the link dropped while it was idle) is opened again once, at once, and the query retried on the
// new session: otherwise the first poll on each idle pooled session after a server restart would
// fail although the server is up (found by the chaos soak, tests/chaos/soak.sh --seed 103: a
// takeover's first poll, long after a restart, published an error to every subscriber). Polls
// are reads, so running one again after a break is harmless.
// libpqxx's own silent reconnect ("reactivation") is turned off: it would lose the session
// settings below and the server-side prepared statements without anyone noticing.
//
// On open the session gets: client_encoding UTF8 (the ABI's text is UTF-8), DateStyle ISO (the
// date/time text this plugin rewrites as ISO 8601), and statement_timeout 30s unless the
// connection itself set it (`options='-c statement_timeout=5s'` in the DSN, or PGOPTIONS): the
// setting then has source "client" in pg_settings.
//
// prepare checks the `:name` parameters against the list and rewrites them as $1..$n without
// talking to the server (so a catalog check does not fail just because the server is down). The
// first query of a statement prepares it on the server (a named prepared statement, one per
// statement on its session); every query runs it with the values bound as text, outside any
// transaction block (autocommit, each poll sees the latest committed data).
//
// Multiplexed queries (query_batch, ABI 1.1) run as one statement, as Hasura does: each parameter
// becomes an array of the sets' values, unnested WITH ORDINALITY into a table of sets, and the
// query, reading its parameters as that table's columns, is joined to it with LEFT JOIN LATERAL:
//   SELECT _lp_subs._lp_set, _lp_q.*
//   FROM unnest($1::T1[], ...) WITH ORDINALITY AS _lp_subs(_lp_p1, ..., _lp_set)
//   LEFT JOIN LATERAL (SELECT _lp_r.*, row_number() OVER () AS _lp_row
//                      FROM (<the query, :name -> _lp_subs._lp_pN>) _lp_r) _lp_q ON true
//   ORDER BY _lp_subs._lp_set, _lp_q._lp_row
// The LATERAL subquery is the query itself, so it means what it means alone (an aggregate without
// GROUP BY still gives its one row per set); LEFT JOIN keeps a set with no rows as one row whose
// _lp_row is NULL, which is how an empty set is told from the rest; _lp_row keeps each set's rows
// in the query's own order. Each T is the type the server gave that parameter when it prepared the
// single query (pg_prepared_statements.parameter_types), so a value is read as it would be alone
// (text sent, converted by the server). A query without parameters, or with an array-typed one
// (an array of arrays is not a column of sets), runs set by set instead.
//
// Every callback catches every exception: none may cross the C boundary.
#include <cctype>
#include <cstdio>
#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "livepoll/source.h"
#include "pg_values.h"
#include "set_sink.h"
#include "sql_params.h"

namespace livepoll::postgres_plugin {
namespace {

constexpr char kDefaultStatementTimeout[] = "30s";
constexpr char kSinkStopped[] = "the host stopped reading the result";
constexpr char kQueryCanceled[] = "57014";  // SQLSTATE query_canceled (timeouts, cancels)
constexpr char kConnecting[] = "cannot connect";

int Fail(char* err, size_t err_cap, const std::string& why) {
  if (err != nullptr && err_cap > 0) std::snprintf(err, err_cap, "%s", why.c_str());
  return 1;
}

// Server notices (RAISE NOTICE, "table does not exist, skipping", ...) go to the host's log
// instead of libpqxx's default, stderr.
class NoticeToHost : public pqxx::errorhandler {
 public:
  NoticeToHost(pqxx::connection_base& conn, const lp_host* host)
      : pqxx::errorhandler(conn), host_(host) {}
  bool operator()(const char msg[]) noexcept override {
    try {
      if (host_ != nullptr && host_->log != nullptr && msg != nullptr) {
        std::string text = OneLine(msg);
        int level = text.rfind("WARNING:", 0) == 0 ? LP_LOG_WARN : LP_LOG_INFO;
        host_->log(host_->ctx, level, text.data(), text.size());
      }
    } catch (...) {
      // A notice is not worth an exception through libpq's callback.
    }
    return false;  // handled: not to stderr
  }

 private:
  const lp_host* host_;
};

}  // namespace
}  // namespace livepoll::postgres_plugin

struct lp_connection {
  std::unique_ptr<pqxx::connection> db;
  std::unique_ptr<livepoll::postgres_plugin::NoticeToHost> notices;  // reset before `db` closes
  uint64_t next_statement = 0;
  std::string dsn;  // to open the session again
  const lp_host* host = nullptr;
  uint64_t session = 1;  // grows when the session is opened again
  bool worked = false;   // a query succeeded on this session
  ~lp_connection() {
    notices.reset();
    if (db) db->disconnect();  // noexcept
  }
};

struct lp_statement {
  lp_connection* conn;
  std::string name;  // the server-side prepared statement's name, unique on its connection
  std::string sql;   // with $1..$n
  size_t param_count = 0;
  uint64_t prepared_session = 0;  // the session it is prepared on (0: none)
  bool prepared() const { return prepared_session == conn->session; }
  // The multiplexed form (query_batch): built and prepared on first use on each session.
  std::string text;                // the SQL as written, with :name
  std::vector<std::string> names;  // the parameters, in the order of their values
  std::string batch_name;          // its server-side prepared statement
  uint64_t batch_session = 0;      // the session it is prepared on (0: none)
  bool batch_per_set = false;      // cannot be multiplexed: runs set by set
  bool batch_prepared() const { return batch_session == conn->session; }
};

namespace livepoll::postgres_plugin {
namespace {

// The text of a failure while `doing` something with the server ("" for running the query: the
// host already says "query failed"). A timeout says so first.
std::string ErrorText(const std::string& doing, const std::exception& e) {
  std::string what;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    std::string msg = OneLine(sql->what());
    if (sql->sqlstate() == kQueryCanceled) {
      bool timeout = msg.find("statement timeout") != std::string::npos;
      return std::string(timeout ? "statement timeout" : "query canceled") + " (" + msg + ")";
    }
    what = msg;
    if (!sql->sqlstate().empty()) what += " (SQLSTATE " + sql->sqlstate() + ")";
  } else if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr && doing != kConnecting) {
    what = "connection to the server lost: " + OneLine(e.what());
  } else {
    what = OneLine(e.what());
  }
  return doing.empty() ? what : doing + ": " + what;
}

// Runs `fn`, turning any exception into an error return with its text.
template <typename Fn>
int Guard(char* err, size_t err_cap, const std::string& doing, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Fail(err, err_cap, ErrorText(doing, e));
  } catch (...) {
    return Fail(err, err_cap, (doing.empty() ? "" : doing + ": ") + "unknown exception");
  }
}

// The session settings the rest of the plugin relies on (see the top of the file).
void SetUpSession(pqxx::connection& db) {
  db.set_client_encoding("UTF8");
  pqxx::nontransaction tx(db);
  tx.exec0("SET DateStyle = 'ISO, MDY'");
  pqxx::row source =
      tx.exec1("SELECT source FROM pg_catalog.pg_settings WHERE name = 'statement_timeout'");
  if (source[0].as<std::string>() != "client") {
    tx.exec0(std::string("SET statement_timeout = '") + kDefaultStatementTimeout + "'");
  }
  tx.commit();
}

// The session's settings and notice handler, on a connection just opened.
void SetUp(lp_connection& conn) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn.db->inhibit_reactivation(true);  // deprecated in 6.x, still what disables it
#pragma GCC diagnostic pop
  conn.notices = std::make_unique<NoticeToHost>(*conn.db, conn.host);
  SetUpSession(*conn.db);
}

int Open(const lp_host* host, const char* dsn, lp_connection** out, char* err, size_t err_cap) {
  if (out == nullptr) return Fail(err, err_cap, "no place for the connection");
  auto conn = std::make_unique<lp_connection>();
  conn->dsn = dsn == nullptr ? "" : dsn;
  conn->host = host;
  int rc = Guard(err, err_cap, kConnecting, [&] {
    conn->db = std::make_unique<pqxx::connection>(conn->dsn);
    return 0;
  });
  if (rc != 0) return rc;
  return Guard(err, err_cap, "cannot set up the session", [&] {
    SetUp(*conn);
    *out = conn.release();
    return 0;
  });
}

// Opens the session of `conn` again (its prepared statements are gone with the old one: each is
// prepared again on first use). Throws on failure; `conn` then holds no usable session.
void Reopen(lp_connection& conn) {
  conn.notices.reset();
  conn.db->disconnect();  // noexcept
  ++conn.session;
  conn.worked = false;
  conn.db = std::make_unique<pqxx::connection>(conn.dsn);
  SetUp(conn);
}

// Closing drops the session, and with it its prepared statements. Nothing here throws.
void Close(lp_connection* conn) { delete conn; }

int Prepare(lp_connection* conn, const char* sql, const lp_str* param_names, size_t param_count,
            lp_statement** out, char* err, size_t err_cap) {
  return Guard(err, err_cap, "cannot prepare", [&] {
    if (conn == nullptr || out == nullptr) return Fail(err, err_cap, "no connection");
    std::string text = sql == nullptr ? "" : sql;
    std::vector<std::string> names;
    for (size_t i = 0; i < param_count; ++i)
      names.emplace_back(param_names[i].data, param_names[i].len);
    if (std::string why = plugin_sql::CheckParams(text, names); !why.empty()) {
      return Fail(err, err_cap, why);
    }
    auto stmt = std::make_unique<lp_statement>();
    stmt->conn = conn;
    stmt->name = "livepoll_" + std::to_string(++conn->next_statement);
    stmt->sql = plugin_sql::ToPositional(text, names);
    stmt->param_count = param_count;
    stmt->batch_name = stmt->name + "_batch";
    stmt->text = text;
    stmt->names = names;
    *out = stmt.release();
    return 0;
  });
}

int SendColumns(const lp_sink* sink, const pqxx::result& r) {
  std::vector<lp_str> names;
  names.reserve(r.columns());
  for (pqxx::row::size_type c = 0; c < r.columns(); ++c) {
    const char* name = r.column_name(c);
    names.push_back(lp_str{name, std::char_traits<char>::length(name)});
  }
  return sink->columns(sink->ctx, names.data(), names.size());
}

// One field as an lp_value; `scratch` holds converted bytes the value may point into.
lp_value ToLp(const pqxx::field& f, Kind kind, std::string& scratch) {
  lp_value v{};
  if (f.is_null()) {
    v.type = LP_NULL;
    return v;
  }
  std::string_view text(f.c_str(), f.size());
  switch (kind) {
    case Kind::kInt:
      if (ParseInt(text, v.u.i)) {
        v.type = LP_INT;
        return v;
      }
      break;  // an oid beyond int64 cannot happen; anything odd stays text
    case Kind::kReal:
      if (ParseReal(text, v.u.r)) {
        v.type = LP_REAL;
        return v;
      }
      break;  // a numeric beyond double's range: its digits, as text
    case Kind::kBool:
      v.type = LP_BOOL;
      v.u.i = text == "t" ? 1 : 0;
      return v;
    case Kind::kBlob: {
      pqxx::binarystring bytes(f);  // PQunescapeBytea: hex or escape format
      scratch.assign(bytes.get(), bytes.size());
      v.type = LP_BLOB;
      v.u.s.data = scratch.data();
      v.u.s.len = scratch.size();
      return v;
    }
    case Kind::kDateTime:
      scratch = IsoDateTime(text);
      v.type = LP_TEXT;
      v.u.s.data = scratch.data();
      v.u.s.len = scratch.size();
      return v;
    case Kind::kText:
      break;
  }
  v.type = LP_TEXT;
  v.u.s.data = text.data();
  v.u.s.len = text.size();
  return v;
}

// Runs `prepare` (when `stmt` is not prepared on the session, in the form `run` needs), then
// `run`, into `r`. A session that worked before and is found broken now broke while idle: it is
// opened again once and both steps retried. Returns 0, or 1 with `err` set.
template <typename Prepare, typename Run>
int Execute(lp_statement* stmt, Prepare&& prepare, Run&& run, pqxx::result& r, char* err,
            size_t err_cap) {
  lp_connection& conn = *stmt->conn;
  for (bool retried = false;; retried = true) {
    auto retry = [&](const std::exception& e) {
      if (retried || !conn.worked || dynamic_cast<const pqxx::broken_connection*>(&e) == nullptr)
        return false;
      try {
        Reopen(conn);
        return true;
      } catch (...) {
        return false;  // the server is really away: the original failure is the one to report
      }
    };
    try {
      prepare();
    } catch (const std::exception& e) {
      if (retry(e)) continue;
      return Fail(err, err_cap, ErrorText("cannot prepare on the server", e));
    } catch (...) {
      return Fail(err, err_cap, "cannot prepare on the server: unknown exception");
    }
    try {
      pqxx::nontransaction tx(*conn.db);
      r = run(tx);
      tx.commit();
      conn.worked = true;
      return 0;
    } catch (const std::exception& e) {
      if (retry(e)) continue;
      return Fail(err, err_cap, ErrorText("", e));
    } catch (...) {
      return Fail(err, err_cap, "unknown exception");
    }
  }
}

// Prepares the single query on the server unless it is already. Throws as libpqxx does.
void PrepareSingle(lp_statement& stmt) {
  if (stmt.prepared()) return;
  stmt.conn->db->prepare(stmt.name, stmt.sql);  // the same definition again is allowed (a retry)
  stmt.conn->db->prepare_now(stmt.name);
  stmt.prepared_session = stmt.conn->session;
}

// The kinds of columns [first, first + count) of `r`.
std::vector<Kind> Kinds(const pqxx::result& r, pqxx::row::size_type first,
                        pqxx::row::size_type count) {
  std::vector<Kind> kinds(count);
  for (pqxx::row::size_type c = 0; c < count; ++c) kinds[c] = KindOf(r.column_type(first + c));
  return kinds;
}

int Query(lp_statement* stmt, const lp_value* params, size_t param_count, const lp_sink* sink,
          char* err, size_t err_cap) {
  if (stmt == nullptr || sink == nullptr) return Fail(err, err_cap, "no statement or sink");
  if (param_count != stmt->param_count) {
    return Fail(err, err_cap,
                "expected " + std::to_string(stmt->param_count) + " parameters, got " +
                    std::to_string(param_count));
  }
  // Values as text (NULL as a null pointer), all built before anything is sent.
  std::vector<std::string> texts(param_count);
  std::vector<const char*> values(param_count, nullptr);
  for (size_t i = 0; i < param_count; ++i) {
    if (params[i].type == LP_NULL) continue;
    std::string why;
    if (!ParamText(params[i], i, texts[i], why)) return Fail(err, err_cap, why);
    values[i] = texts[i].c_str();
  }
  pqxx::result r;
  int rc = Execute(
      stmt, [&] { PrepareSingle(*stmt); },
      [&](pqxx::nontransaction& tx) {
        return tx.exec_prepared(stmt->name, pqxx::prepare::make_dynamic_params(values));
      },
      r, err, err_cap);
  if (rc != 0) return rc;
  return Guard(err, err_cap, "cannot read the result", [&] {
    if (SendColumns(sink, r) != 0) return Fail(err, err_cap, kSinkStopped);
    const auto columns = r.columns();
    const std::vector<Kind> kinds = Kinds(r, 0, columns);
    std::vector<std::string> scratch(columns);
    std::vector<lp_value> row(columns);
    for (const auto& tuple : r) {
      for (pqxx::row::size_type c = 0; c < columns; ++c)
        row[c] = ToLp(tuple[c], kinds[c], scratch[c]);
      if (sink->row(sink->ctx, row.data(), row.size()) != 0)
        return Fail(err, err_cap, kSinkStopped);
    }
    return 0;
  });
}

// ---- multiplexed queries (see the top of the file) ----

// `text` as one element of an array literal: quoted, with '\' and '"' escaped.
void AppendArrayElement(std::string& array, const std::string& text) {
  array += '"';
  for (char c : text) {
    if (c == '\\' || c == '"') array += '\\';
    array += c;
  }
  array += '"';
}

// The types the server gave the single query's parameters, as SQL type names, in order.
std::vector<std::string> ParameterTypes(lp_statement& stmt) {
  pqxx::nontransaction tx(*stmt.conn->db);
  pqxx::result r = tx.exec_params(
      "SELECT t::text FROM pg_catalog.pg_prepared_statements, "
      "unnest(parameter_types) WITH ORDINALITY AS u(t, n) WHERE name = $1 ORDER BY n",
      stmt.name);
  tx.commit();
  std::vector<std::string> types;
  for (const auto& row : r) types.push_back(row[0].as<std::string>());
  return types;
}

// The multiplexed SQL for a query whose parameters have `types`.
std::string BatchSql(const lp_statement& stmt, const std::vector<std::string>& types) {
  std::string arrays, columns;
  for (size_t i = 0; i < types.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    arrays += (i == 0 ? "$" : ", $") + n + "::" + types[i] + "[]";
    columns += "_lp_p" + n + ", ";
  }
  std::string query = plugin_sql::ToNumbered(stmt.text, stmt.names, "_lp_subs._lp_p");
  // A trailing ';' would end the statement inside the parentheses.
  while (!query.empty() &&
         (query.back() == ';' || std::isspace(static_cast<unsigned char>(query.back())) != 0))
    query.pop_back();
  return "SELECT _lp_subs._lp_set, _lp_q.* FROM unnest(" + arrays +
         ") WITH ORDINALITY AS _lp_subs(" + columns +
         "_lp_set) LEFT JOIN LATERAL (SELECT _lp_r.*, row_number() OVER () AS _lp_row FROM (\n" +
         query + "\n) _lp_r) _lp_q ON true ORDER BY _lp_subs._lp_set, _lp_q._lp_row";
}

// Prepares the multiplexed form unless it is already (or cannot be: batch_per_set). Throws.
void PrepareBatch(lp_statement& stmt) {
  if (stmt.batch_per_set || stmt.batch_prepared()) return;
  PrepareSingle(stmt);
  std::vector<std::string> types = ParameterTypes(stmt);
  bool arrays = false;
  for (const auto& t : types) arrays = arrays || t.ends_with("]");
  if (types.empty() || types.size() != stmt.param_count || arrays) {
    stmt.batch_per_set = true;
    return;
  }
  stmt.conn->db->prepare(stmt.batch_name, BatchSql(stmt, types));
  stmt.conn->db->prepare_now(stmt.batch_name);
  stmt.batch_session = stmt.conn->session;
}

int QueryPerSet(lp_statement* stmt, const lp_value* params, size_t set_count,
                const lp_batch_sink* sink, char* err, size_t err_cap) {
  plugin_sql::SetSink set_sink{sink};
  lp_sink one{&set_sink, &plugin_sql::SetSink::Columns, &plugin_sql::SetSink::Row};
  for (; set_sink.set < set_count; ++set_sink.set) {
    int rc = Query(stmt, params + set_sink.set * stmt->param_count, stmt->param_count, &one, err,
                   err_cap);
    if (rc != 0) return rc;
  }
  return 0;
}

int QueryBatch(lp_statement* stmt, const lp_value* params, size_t param_count, size_t set_count,
               const lp_batch_sink* sink, char* err, size_t err_cap) {
  if (stmt == nullptr || sink == nullptr) return Fail(err, err_cap, "no statement or sink");
  if (param_count != stmt->param_count) {
    return Fail(err, err_cap,
                "expected " + std::to_string(stmt->param_count) + " parameters, got " +
                    std::to_string(param_count));
  }
  if (set_count == 0) return Fail(err, err_cap, "a batch of no parameter sets");
  if (param_count == 0) return QueryPerSet(stmt, params, set_count, sink, err, err_cap);
  // One array literal per parameter, built before anything is sent.
  std::vector<std::string> arrays(param_count, "{");
  int rc = Guard(err, err_cap, "", [&] {
    for (size_t set = 0; set < set_count; ++set) {
      for (size_t i = 0; i < param_count; ++i) {
        const lp_value& v = params[set * param_count + i];
        if (set > 0) arrays[i] += ',';
        if (v.type == LP_NULL) {
          arrays[i] += "NULL";
          continue;
        }
        std::string text, why;
        if (!ParamText(v, i, text, why)) return Fail(err, err_cap, why);
        AppendArrayElement(arrays[i], text);
      }
    }
    for (auto& a : arrays) a += '}';
    return 0;
  });
  if (rc != 0) return rc;
  std::vector<const char*> values;
  for (const auto& a : arrays) values.push_back(a.c_str());
  pqxx::result r;
  bool per_set = false;
  rc = Execute(
      stmt,
      [&] {
        PrepareBatch(*stmt);
        per_set = stmt->batch_per_set;
      },
      [&](pqxx::nontransaction& tx) {
        if (per_set) return pqxx::result();
        return tx.exec_prepared(stmt->batch_name, pqxx::prepare::make_dynamic_params(values));
      },
      r, err, err_cap);
  if (rc != 0) return rc;
  if (per_set) return QueryPerSet(stmt, params, set_count, sink, err, err_cap);
  return Guard(err, err_cap, "cannot read the result", [&] {
    // Columns: _lp_set, the query's own, _lp_row.
    if (r.columns() < 2) return Fail(err, err_cap, "the multiplexed result has no set column");
    const auto columns = r.columns() - 2;
    std::vector<lp_str> names;
    for (pqxx::row::size_type c = 1; c <= columns; ++c) {
      const char* name = r.column_name(c);
      names.push_back(lp_str{name, std::char_traits<char>::length(name)});
    }
    if (sink->columns(sink->ctx, names.data(), names.size()) != 0)
      return Fail(err, err_cap, kSinkStopped);
    const std::vector<Kind> kinds = Kinds(r, 1, columns);
    std::vector<std::string> scratch(columns);
    std::vector<lp_value> row(columns);
    for (const auto& tuple : r) {
      if (tuple[columns + 1].is_null()) continue;  // a set with no rows
      int64_t ordinal = 0;
      if (!ParseInt(std::string_view(tuple[0].c_str(), tuple[0].size()), ordinal) || ordinal < 1 ||
          static_cast<uint64_t>(ordinal) > set_count)
        return Fail(err, err_cap, "the multiplexed result names no set of the batch");
      for (pqxx::row::size_type c = 0; c < columns; ++c)
        row[c] = ToLp(tuple[c + 1], kinds[c], scratch[c]);
      if (sink->row(sink->ctx, static_cast<size_t>(ordinal - 1), row.data(), row.size()) != 0)
        return Fail(err, err_cap, kSinkStopped);
    }
    return 0;
  });
}

void Finalize(lp_statement* stmt) {
  if (stmt == nullptr) return;
  if (stmt->prepared()) {
    try {
      // DEALLOCATE, so a long-lived session does not collect statements across catalog reloads.
      if (stmt->conn->db->is_open()) stmt->conn->db->unprepare(stmt->name);
      if (stmt->batch_prepared() && stmt->conn->db->is_open())
        stmt->conn->db->unprepare(stmt->batch_name);
    } catch (...) {
      // The session is gone or going: its statements go with it.
    }
  }
  delete stmt;
}

const lp_source_plugin kPlugin = {sizeof(lp_source_plugin),
                                  LIVEPOLL_SOURCE_ABI_MAJOR,
                                  LIVEPOLL_SOURCE_ABI_MINOR,
                                  0,
                                  "postgres",
                                  "1.0 (libpqxx " PQXX_VERSION ")",
                                  Open,
                                  Close,
                                  Prepare,
                                  Query,
                                  Finalize,
                                  QueryBatch};

}  // namespace
}  // namespace livepoll::postgres_plugin

LIVEPOLL_SOURCE_EXPORT const lp_source_plugin* livepoll_source_entry(void) {
  return &livepoll::postgres_plugin::kPlugin;
}
