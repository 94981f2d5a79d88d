#include "output.h"

#include <algorithm>
#include <ostream>

#include "livepoll/json.h"

namespace livepoll::cli {
namespace {

// Terminal columns a UTF-8 text takes, counted as code points: good enough for the names and
// numbers a catalog holds (wide CJK characters would take two, and then misalign a little).
size_t DisplayWidth(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool IsNumber(const Value& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == '_') c = ' ';
  }
  return s;
}

const Value& CellAt(const Row& row, size_t i) {
  static const Value kNull = Null{};
  return i < row.size() ? row[i] : kNull;
}

void WriteTable(std::ostream& out, const std::vector<std::string>& columns,
                const std::vector<Row>& rows, bool header) {
  std::vector<std::vector<std::string>> cells(rows.size());
  std::vector<size_t> width(columns.size(), 0);
  if (header) {
    for (size_t c = 0; c < columns.size(); ++c)
      width[c] = DisplayWidth(EscapeTsv(Upper(columns[c])));
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < columns.size(); ++c) {
      cells[r].push_back(EscapeTsv(CellText(CellAt(rows[r], c), OutputMode::kTable)));
      width[c] = std::max(width[c], DisplayWidth(cells[r].back()));
    }
  }
  auto line = [&](auto cell_text, auto right_aligned) {
    std::string text;
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string cell = cell_text(c);
      const std::string pad(width[c] - DisplayWidth(cell), ' ');
      if (c > 0) text += "  ";
      if (right_aligned(c)) {
        text += pad + cell;
      } else {
        text += cell;
        if (c + 1 < columns.size()) text += pad;  // no trailing blanks at the end of a line
      }
    }
    // An empty last cell would leave blanks at the end of the line.
    text.erase(text.find_last_not_of(' ') + 1);
    out << text << '\n';
  };
  if (header) {
    line([&](size_t c) { return EscapeTsv(Upper(columns[c])); }, [](size_t) { return false; });
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    line([&](size_t c) { return cells[r][c]; },
         [&](size_t c) { return IsNumber(CellAt(rows[r], c)); });
  }
}

}  // namespace

OutputMode ChooseOutputMode(bool json, bool stdout_is_terminal) {
  if (json) return OutputMode::kJson;
  return stdout_is_terminal ? OutputMode::kTable : OutputMode::kTsv;
}

std::string CellText(const Value& v, OutputMode mode) {
  struct Visitor {
    OutputMode mode;
    std::string operator()(const Null&) const { return mode == OutputMode::kTable ? "-" : ""; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return FormatDouble(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const Blob& b) const { return Base64(b.bytes); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
  };
  return std::visit(Visitor{mode}, v);
}

namespace {

void AppendHex(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xf]);
}

// `text` with control characters escaped; `cells` also escapes \\, \t, \n, \r.
std::string Escape(std::string_view text, bool cells) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (cells) {
      switch (c) {
        case '\\':
          out += "\\\\";
          continue;
        case '\t':
          out += "\\t";
          continue;
        case '\n':
          out += "\\n";
          continue;
        case '\r':
          out += "\\r";
          continue;
      }
    } else if (c == '\t' || c == '\n' || c == '\r') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      AppendHex(out, c);
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      AppendHex(out, c);  // a C1 control in UTF-8
      AppendHex(out, static_cast<unsigned char>(text[++i]));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

std::string EscapeTsv(std::string_view text) { return Escape(text, true); }

std::string Printable(std::string_view text) { return Escape(text, false); }

void WriteRows(std::ostream& out, const std::vector<std::string>& columns,
               const std::vector<Row>& rows, OutputMode mode, bool header) {
  switch (mode) {
    case OutputMode::kTable:
      WriteTable(out, columns, rows, header);
      break;
    case OutputMode::kTsv: {
      auto write_line = [&](auto cell) {
        std::string text;
        for (size_t c = 0; c < columns.size(); ++c) {
          if (c > 0) text.push_back('\t');
          text += EscapeTsv(cell(c));
        }
        out << text << '\n';
      };
      if (header) write_line([&](size_t c) { return columns[c]; });
      for (const Row& row : rows) {
        write_line([&](size_t c) { return CellText(CellAt(row, c), OutputMode::kTsv); });
      }
      break;
    }
    case OutputMode::kJson:
      for (const Row& row : rows) {
        std::string text;
        AppendJsonObject(text, columns, row);
        out << text << '\n';
      }
      break;
  }
  out.flush();
}

}  // namespace livepoll::cli
