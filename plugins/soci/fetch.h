// Running one statement through SOCI's generic interface (every backend but sqlite3, which
// sqlite_query.h handles) and streaming its typed result into an lp_sink; and the pieces both
// paths share.
//
// Type mapping (SOCI 4.0 data_type -> lp_value), as the backend describes each column:
//   dt_integer, dt_long_long      -> LP_INT
//   dt_unsigned_long_long         -> LP_INT, or LP_TEXT (decimal) above INT64_MAX
//   dt_double                     -> LP_REAL
//   dt_string, dt_xml             -> LP_TEXT
//   dt_blob                       -> LP_BLOB (read as bytes; SOCI 4.0 can put a BLOB in a string)
//   dt_date                       -> LP_TEXT "YYYY-MM-DD HH:MM:SS"
//   NULL (any column)             -> LP_NULL
#pragma once

#include <soci/soci.h>

#include <string>
#include <vector>

#include "livepoll/source.h"

namespace livepoll::soci_plugin {

inline constexpr char kSinkStopped[] = "the host stopped reading the result";

// What a parameter is bound as: every value as text, so one binding type serves every backend
// and the database converts (e.g. SQLite's type affinity makes `WHERE id = :id` match '1' with 1).
std::string ParamText(const lp_value& v);

// Calls sink->columns with `columns`; returns what it returns.
int SendColumns(const lp_sink* sink, const std::vector<std::string>& columns);

// Runs `sql` with `params[i]` bound by name to `:names[i]` (as text; NULL as a null indicator)
// through SOCI's dynamic row and streams the columns and rows into `sink`. Returns "" or the
// reason it failed. SOCI exceptions propagate; the ABI boundary catches them.
std::string RunSociQuery(soci::session& session, const std::string& sql,
                         const std::vector<std::string>& names, const lp_value* params,
                         const lp_sink* sink);

}  // namespace livepoll::soci_plugin
