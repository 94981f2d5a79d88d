#include "sql_params.h"

#include <algorithm>
#include <cctype>

namespace livepoll::plugin_sql {
namespace {

bool IdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The index just past a run that starts at `i` and ends with `close` (or the end of the text).
size_t SkipPast(const std::string& sql, size_t i, const std::string& close) {
  size_t end = sql.find(close, i);
  return end == std::string::npos ? sql.size() : end + close.size();
}

// The index just past an E'...' literal whose body starts at `i`: a backslash escapes the next
// character, so E'it\'s' is one literal.
size_t SkipEscapeString(const std::string& sql, size_t i) {
  while (i < sql.size()) {
    if (sql[i] == '\\') {
      i += 2;
    } else if (sql[i] == '\'') {
      return i + 1;
    } else {
      ++i;
    }
  }
  return sql.size();
}

}  // namespace

std::vector<ParamUse> FindParams(const std::string& sql) {
  std::vector<ParamUse> uses;
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    if (c == '\'' || c == '"') {
      // A doubled quote inside is an escaped quote: skipping to the next quote and going on from
      // there reads it as two adjacent literals, which is just as good for finding parameters.
      i = SkipPast(sql, i + 1, std::string(1, c));
    } else if (c == '-' && next == '-') {
      i = SkipPast(sql, i + 2, "\n");
    } else if (c == '/' && next == '*') {
      i = SkipPast(sql, i + 2, "*/");
    } else if (c == '$' && (next == '$' || IdentStart(next))) {
      size_t tag_end = i + 1;
      while (tag_end < sql.size() && IdentChar(sql[tag_end])) ++tag_end;
      if (tag_end < sql.size() && sql[tag_end] == '$') {
        std::string tag = sql.substr(i, tag_end - i + 1);
        i = SkipPast(sql, tag_end + 1, tag);
      } else {
        i = tag_end;
      }
    } else if (c == ':' && next == ':') {
      i += 2;  // a cast; the type name after it is an identifier, not a parameter
      while (i < sql.size() && IdentChar(sql[i])) ++i;
    } else if (c == ':' && IdentStart(next)) {
      size_t end = i + 1;
      while (end < sql.size() && IdentChar(sql[end])) ++end;
      uses.push_back({sql.substr(i + 1, end - i - 1), i, end - i});
      i = end;
    } else if ((c == 'E' || c == 'e') && next == '\'') {
      // Reached only at the start of a word (words are skipped whole below): an escape string.
      i = SkipEscapeString(sql, i + 2);
    } else if (IdentChar(c)) {
      // Skip whole words so "a:b" style text inside identifiers is not half-read.
      while (i < sql.size() && IdentChar(sql[i])) ++i;
    } else {
      ++i;
    }
  }
  return uses;
}

std::vector<std::string> SqlParamNames(const std::string& sql) {
  std::vector<std::string> names;
  for (const auto& use : FindParams(sql)) {
    if (std::find(names.begin(), names.end(), use.name) == names.end()) names.push_back(use.name);
  }
  return names;
}

std::string CheckParams(const std::string& sql, const std::vector<std::string>& declared) {
  for (size_t i = 0; i < declared.size(); ++i) {
    if (std::find(declared.begin(), declared.begin() + static_cast<long>(i), declared[i]) !=
        declared.begin() + static_cast<long>(i)) {
      return "parameter '" + declared[i] + "' is listed twice";
    }
  }
  std::vector<std::string> used = SqlParamNames(sql);
  for (const auto& name : used) {
    if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
      return "the SQL uses :" + name + " but it is not among the query's parameters";
    }
  }
  for (const auto& name : declared) {
    if (std::find(used.begin(), used.end(), name) == used.end()) {
      return "parameter '" + name + "' is not used by the SQL (write it as :" + name + ")";
    }
  }
  return "";
}

std::string ToPositional(const std::string& sql, const std::vector<std::string>& declared) {
  return ToNumbered(sql, declared, "$");
}

std::string ToNumbered(const std::string& sql, const std::vector<std::string>& declared,
                       const std::string& prefix) {
  std::string out;
  out.reserve(sql.size());
  size_t copied = 0;
  for (const auto& use : FindParams(sql)) {
    auto it = std::find(declared.begin(), declared.end(), use.name);
    if (it == declared.end()) continue;
    out.append(sql, copied, use.pos - copied);
    out += prefix;  // two appends, not prefix + to_string(): GCC 12 -O3 warns (-Wrestrict) on that
    out += std::to_string(it - declared.begin() + 1);
    copied = use.pos + use.len;
  }
  out.append(sql, copied, std::string::npos);
  return out;
}

}  // namespace livepoll::plugin_sql
