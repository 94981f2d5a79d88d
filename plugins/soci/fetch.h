// Running one SOCI statement and streaming its typed result into an lp_sink.
//
// Type mapping (SOCI 4.0 data_type -> lp_value):
//   dt_integer, dt_long_long      -> LP_INT
//   dt_unsigned_long_long         -> LP_INT, or LP_TEXT (decimal) above INT64_MAX
//   dt_double                     -> LP_REAL
//   dt_string, dt_xml             -> LP_TEXT
//   dt_blob                       -> LP_BLOB (read as bytes; SOCI 4.0 can put a BLOB in a string)
//   dt_date                       -> LP_TEXT "YYYY-MM-DD HH:MM:SS"
//   NULL (any column)             -> LP_NULL
// SOCI's sqlite3 backend types a column from its declared type (sqlite3_column_decltype): INTEGER,
// INT, BIGINT... -> integer, REAL, DOUBLE, FLOAT, NUMERIC, DECIMAL -> double, BLOB -> blob,
// BOOLEAN -> integer (SQLite has no boolean, so neither has this plugin: LP_BOOL is never sent).
// A column with no declared type (an expression such as COUNT(*) or 1+1) is reported as text.
#pragma once

#include <soci/soci.h>

#include <string>
#include <vector>

#include "livepoll/source.h"

namespace livepoll::soci_plugin {

// Runs `sql` with `params[i]` bound by name to `:names[i]` (as text; NULL as a null indicator)
// and streams the columns and rows into `sink`. Returns "" or the reason it failed. SOCI
// exceptions propagate; the ABI boundary catches them.
std::string RunQuery(soci::session& session, bool sqlite3, const std::string& sql,
                     const std::vector<std::string>& names, const lp_value* params,
                     const lp_sink* sink);

}  // namespace livepoll::soci_plugin
