// The one formatter every command prints its table through, so that all commands behave alike in
// a terminal, in a pipeline and for machines (STYLE.md, "Scripting-friendly CLI").
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "livepoll/value.h"

namespace livepoll::cli {

enum class OutputMode {
  kTable,  // a terminal: aligned columns under an upper-case header, numbers right-aligned
  kTsv,    // piped: one line per row, cells separated by tabs, a header line only if asked for
  kJson,   // --json: one JSON object per row and line, {"column": value, ...}
};

// Terminal -> table, else TSV; --json wins over both.
OutputMode ChooseOutputMode(bool json, bool stdout_is_terminal);

// A value as text for a table or TSV cell: null "" (table: "-"), integers and doubles in decimal
// (shortest round-trip form), text as is, blobs in base64, bools true/false.
std::string CellText(const Value& v, OutputMode mode);

// Escapes `\` as \\, tab as \t, newline as \n and carriage return as \r, so a TSV row stays one
// line with a fixed number of fields whatever the data holds (`cut -f` keeps working), and every
// other control character as in Printable.
std::string EscapeTsv(std::string_view text);

// `text` safe for a terminal: the other C0 control bytes (ESC among them), DEL and the C1 controls
// (U+0080-U+009F, which some terminals obey like ESC [) as \xHH (the C1 ones as their two UTF-8
// bytes). Data and names from the network may hold any bytes; printed raw, ESC sequences could
// rewrite the screen, retitle the window or forge earlier output. Tab, newline and carriage return
// are kept (EscapeTsv handles them for cells). Nothing else changes: UTF-8 stays UTF-8.
std::string Printable(std::string_view text);

// Writes `rows` under `columns`. `header` applies to kTsv and kTable (JSON has the names in
// every object). Rows shorter than `columns` are padded with nulls. Flushes `out` at the end.
void WriteRows(std::ostream& out, const std::vector<std::string>& columns,
               const std::vector<Row>& rows, OutputMode mode, bool header);

}  // namespace livepoll::cli
