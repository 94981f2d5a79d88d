// A small JSON encoder for livepoll's values (RFC 8259): the CLI's --json and `watch` output and
// the daemon's JSON log lines.
// Output is deterministic: the same input always gives the same bytes, so scripts can diff it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "livepoll/value.h"

namespace livepoll {

// Appends `text` as a JSON string. `"`, `\` and control characters are escaped (\n, \t, \r, \b,
// \f, else \u00XX, DEL too); valid UTF-8 passes through; each byte that is not part of a valid
// UTF-8 sequence (stray continuation, overlong form, surrogate, above U+10FFFF, truncated) becomes
// U+FFFD, so the output is always valid UTF-8.
void AppendJsonString(std::string& out, std::string_view text);

// Appends a value: null, integer as a number, double as the shortest text that reads back as the
// same double (NaN and infinities, which JSON lacks, as null), text as a string, blob as a
// base64 string (RFC 4648, padded), bool as true/false.
void AppendJsonValue(std::string& out, const Value& v);

// Appends {"col": value, ...} pairing columns with row cells; cells beyond the columns are
// dropped and missing cells are null, so a short row still gives every column.
void AppendJsonObject(std::string& out, const std::vector<std::string>& columns, const Row& row);

// RFC 4648 base64 with padding.
std::string Base64(std::string_view bytes);

// The shortest decimal text that reads back as `d` ("0.1", "1e+20", "nan", "inf").
std::string FormatDouble(double d);

}  // namespace livepoll
