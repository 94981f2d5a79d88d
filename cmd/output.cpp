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
    for (size_t c = 0; c < columns.size(); ++c) width[c] = DisplayWidth(Upper(columns[c]));
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
    line([&](size_t c) { return Upper(columns[c]); }, [](size_t) { return false; });
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

std::string EscapeTsv(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

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
