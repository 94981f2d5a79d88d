#include "sql_params.h"

#include <algorithm>
#include <cctype>

namespace livepoll::soci_plugin {
namespace {

bool IdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The index just past a run that starts at `i` and ends with `close` (or the end of the text).
size_t SkipPast(const std::string& sql, size_t i, const std::string& close) {
  size_t end = sql.find(close, i);
  return end == std::string::npos ? sql.size() : end + close.size();
}

}  // namespace

std::vector<std::string> SqlParamNames(const std::string& sql) {
  std::vector<std::string> names;
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
      std::string name = sql.substr(i + 1, end - i - 1);
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      i = end;
    } else if (IdentChar(c)) {
      // Skip whole words so "a:b" style text inside identifiers is not half-read.
      while (i < sql.size() && IdentChar(sql[i])) ++i;
    } else {
      ++i;
    }
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

}  // namespace livepoll::soci_plugin
