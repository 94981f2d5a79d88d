#include "fetch.h"

#include <cstdio>
#include <ctime>
#include <limits>

namespace livepoll::soci_plugin {

std::string ParamText(const lp_value& v) {
  switch (v.type) {
    case LP_INT:
      return std::to_string(v.u.i);
    case LP_BOOL:
      return v.u.i != 0 ? "1" : "0";
    case LP_REAL: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", v.u.r);
      return buf;
    }
    case LP_TEXT:
    case LP_BLOB:
      return std::string(v.u.s.data == nullptr ? "" : v.u.s.data, v.u.s.len);
    default:
      return "";
  }
}

int SendColumns(const lp_sink* sink, const std::vector<std::string>& columns) {
  std::vector<lp_str> names;
  for (const auto& c : columns) names.push_back(lp_str{c.data(), c.size()});
  return sink->columns(sink->ctx, names.data(), names.size());
}

namespace {

std::string DateText(const std::tm& t) {
  char buf[80];  // room for any int in every field, so nothing is cut
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
  return buf;
}

// One column's value as fetched, whichever way it was fetched, before it becomes an lp_value.
struct Cell {
  soci::data_type type = soci::dt_string;
  soci::indicator ind = soci::i_ok;
  long long i = 0;
  unsigned long long u = 0;
  double r = 0;
  std::string s;
  std::tm tm{};
};

// Fills `out` from `cell`; `out` may point into `cell.s`, so `cell` must outlive the sink call.
lp_value ToLp(Cell& cell) {
  lp_value v{};
  if (cell.ind == soci::i_null) {
    v.type = LP_NULL;
    return v;
  }
  switch (cell.type) {
    case soci::dt_integer:
    case soci::dt_long_long:
      v.type = LP_INT;
      v.u.i = cell.i;
      return v;
    case soci::dt_unsigned_long_long:
      if (cell.u <= static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) {
        v.type = LP_INT;
        v.u.i = static_cast<int64_t>(cell.u);
        return v;
      }
      cell.s = std::to_string(cell.u);
      break;
    case soci::dt_double:
      v.type = LP_REAL;
      v.u.r = cell.r;
      return v;
    case soci::dt_date:
      cell.s = DateText(cell.tm);
      break;
    default:
      break;
  }
  v.type = cell.type == soci::dt_blob ? LP_BLOB : LP_TEXT;
  v.u.s.data = cell.s.data();
  v.u.s.len = cell.s.size();
  return v;
}

void BindParams(soci::statement& st, const std::vector<std::string>& names, const lp_value* params,
                std::vector<std::string>& texts, std::vector<soci::indicator>& inds) {
  for (size_t i = 0; i < names.size(); ++i) {
    texts[i] = ParamText(params[i]);
    inds[i] = params[i].type == LP_NULL ? soci::i_null : soci::i_ok;
    st.exchange(soci::use(texts[i], inds[i], names[i]));
  }
}

int SendRow(const lp_sink* sink, std::vector<Cell>& cells) {
  std::vector<lp_value> row;
  row.reserve(cells.size());
  for (auto& c : cells) row.push_back(ToLp(c));
  return sink->row(sink->ctx, row.data(), row.size());
}

}  // namespace

// SOCI's own dynamic row, which describes the result as the backend knows how.
std::string RunSociQuery(soci::session& session, const std::string& sql,
                         const std::vector<std::string>& names, const lp_value* params,
                         const lp_sink* sink) {
  std::vector<std::string> texts(names.size());
  std::vector<soci::indicator> inds(names.size());
  soci::row row;
  soci::statement st(session);
  st.alloc();
  BindParams(st, names, params, texts, inds);
  st.exchange(soci::into(row));
  st.prepare(sql);
  st.define_and_bind();
  bool got = st.execute(true);
  std::vector<std::string> columns;
  for (size_t i = 0; i < row.size(); ++i) columns.push_back(row.get_properties(i).get_name());
  // A statement without a result (or with no rows) still reports its columns, as the sink asks.
  if (SendColumns(sink, columns) != 0) return kSinkStopped;
  std::vector<Cell> cells(row.size());
  while (got) {
    for (size_t i = 0; i < row.size(); ++i) {
      Cell& cell = cells[i];
      cell.type = row.get_properties(i).get_data_type();
      cell.ind = row.get_indicator(i);
      if (cell.ind == soci::i_null) continue;
      switch (cell.type) {
        case soci::dt_integer:
          cell.i = row.get<int>(i);
          break;
        case soci::dt_long_long:
          cell.i = row.get<long long>(i);
          break;
        case soci::dt_unsigned_long_long:
          cell.u = row.get<unsigned long long>(i);
          break;
        case soci::dt_double:
          cell.r = row.get<double>(i);
          break;
        case soci::dt_date:
          cell.tm = row.get<std::tm>(i);
          break;
        default:
          cell.s = row.get<std::string>(i);
          break;
      }
    }
    if (SendRow(sink, cells) != 0) return kSinkStopped;
    got = st.fetch();
  }
  return "";
}

}  // namespace livepoll::soci_plugin
