// How PostgreSQL's text output becomes livepoll values: the column kinds by type OID, the ISO 8601
// form of dates and times, parameter text, and error messages made one line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "livepoll/source.h"

namespace livepoll::postgres_plugin {

// What a column's values become, chosen once per column from its type OID (pg_type.oid).
enum class Kind {
  kInt,       // int2, int4, int8, oid -> LP_INT
  kReal,      // float4, float8, numeric -> LP_REAL
  kBool,      // bool -> LP_BOOL
  kBlob,      // bytea -> LP_BLOB (unescaped)
  kDateTime,  // timestamp, timestamptz, date, time, timetz -> LP_TEXT in ISO 8601
  kText,      // everything else (text, varchar, json, uuid, ...) -> LP_TEXT as PostgreSQL prints it
};

Kind KindOf(uint32_t type_oid);

// PostgreSQL's ISO output (DateStyle ISO) as ISO 8601: the space between date and time becomes
// 'T' and a zone of hours only gains minutes ("2024-01-02 03:04:05+00" ->
// "2024-01-02T03:04:05+00:00"). Dates, "infinity" and a " BC" suffix are left as they are.
std::string IsoDateTime(std::string_view pg);

// Parses PostgreSQL's text of an integer / a float or numeric ("NaN", "Infinity" included).
bool ParseInt(std::string_view text, int64_t& out);
bool ParseReal(std::string_view text, double& out);

// A parameter value as the text PostgreSQL reads for it (bool: true/false; blob: bytea hex
// "\x..."). Not for LP_NULL. Sets `why` and returns false when the value cannot be sent as text.
bool ParamText(const lp_value& v, size_t index, std::string& out, std::string& why);

// A server or libpq message as one line: "ERROR:  " dropped, the "LINE n:" excerpt and its caret
// dropped, the other lines (DETAIL, HINT, libpq's second line) joined with "; ".
std::string OneLine(std::string_view message);

}  // namespace livepoll::postgres_plugin
