// The INI syntax of livepoll.conf(5), read without knowing what the sections and keys mean: that is
// config_file.h's business. The rules, each one what Boost.Program_options' reader (used before
// this one) accepted, so that every file that read before reads the same:
//
//   * Lines end at '\n'; a '\r' just before it is dropped (CRLF files). The last line needs no
//     '\n'. Any other byte below 0x20 except tab (NUL, a lone '\r', ...) is refused, even in a
//     comment. Other bytes (UTF-8 or not) are text.
//   * Blanks are spaces and tabs. A blank line, or one whose first non-blank is '#', is a comment.
//   * `[NAME]` starts a section; NAME is the text between the brackets as written (untrimmed, so
//     `[ node ]` names " node "). On a line that starts with '[', the first '#' starts a comment:
//     a header has no quotes.
//   * `KEY = VALUE` sets a key of the latest section. The line splits at its first '='; KEY and
//     VALUE are trimmed, VALUE may be empty and may contain '='. A key before any section belongs
//     to the section "".
//   * On a key line a '#' starts a comment unless it is inside quotes: a ' or " opens a quote
//     that the same character closes, on the same line (the key counts too); an unpaired quote
//     runs to the end of the line. The quotes stay in the value: `sql = WHERE a <> '#'` reads
//     as "WHERE a <> '#'".
//   * No escapes, no continuation lines: a '\' is text, and a value ends with its line.
//   * Any other line is an error.
//
// Repeated sections and keys are reported as they come, in file order; refusing them is the
// caller's choice.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "livepoll/status.h"

namespace livepoll::config::ini {

// A `[NAME]` line.
struct Section {
  std::string name;
  int line = 0;  // from 1
};

// A `KEY = VALUE` line.
struct Entry {
  std::string section;  // the latest section's name; "" before the first
  std::string key;
  std::string value;  // without its comment; quotes kept
  int line = 0;
};

struct Document {
  std::vector<Section> sections;  // in file order
  std::vector<Entry> entries;     // in file order
};

// Reads `text`. An error is InvalidArgument naming `file` and the line, one of
//   "FILE: line N: control character in the file"
//   "FILE: line N: empty section name"                    ([])
//   "FILE: line N: not a [section], a key = value or a # comment"
Result<Document> Read(const std::string& file, std::string_view text);

}  // namespace livepoll::config::ini
