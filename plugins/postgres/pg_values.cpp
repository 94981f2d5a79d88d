#include "pg_values.h"

#include <charconv>
#include <cstdio>
#include <vector>

namespace livepoll::postgres_plugin {
namespace {

// Type OIDs fixed by PostgreSQL (src/include/catalog/pg_type.dat).
enum : uint32_t {
  kBoolOid = 16,
  kByteaOid = 17,
  kInt8Oid = 20,
  kInt2Oid = 21,
  kInt4Oid = 23,
  kOidOid = 26,
  kFloat4Oid = 700,
  kFloat8Oid = 701,
  kDateOid = 1082,
  kTimeOid = 1083,
  kTimestampOid = 1114,
  kTimestampTzOid = 1184,
  kTimeTzOid = 1266,
  kNumericOid = 1700,
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A time of day "hh:mm:ss[.frac][zone]" with its zone (if any) written +hh:mm[:ss].
std::string IsoTime(std::string_view t) {
  size_t zone = t.find_first_of("+-");
  if (zone == std::string_view::npos) return std::string(t);
  std::string out(t);
  // "+05" -> "+05:00"; "+05:30" and "+05:30:12" (historical offsets) are already ISO-like.
  if (t.size() - zone == 3 && IsDigit(t[zone + 1]) && IsDigit(t[zone + 2])) out += ":00";
  return out;
}

}  // namespace

Kind KindOf(uint32_t type_oid) {
  switch (type_oid) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
      return Kind::kInt;
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return Kind::kReal;
    case kBoolOid:
      return Kind::kBool;
    case kByteaOid:
      return Kind::kBlob;
    case kDateOid:
    case kTimeOid:
    case kTimeTzOid:
    case kTimestampOid:
    case kTimestampTzOid:
      return Kind::kDateTime;
    default:
      return Kind::kText;
  }
}

std::string IsoDateTime(std::string_view pg) {
  std::string_view era;
  if (pg.size() > 3 && pg.substr(pg.size() - 3) == " BC") {
    era = pg.substr(pg.size() - 3);
    pg.remove_suffix(3);
  }
  // "date time": the date is everything before the first space (years may have more than 4
  // digits). Without a space the value is a date, a time, or infinity.
  size_t space = pg.find(' ');
  std::string out;
  if (space == std::string_view::npos) {
    bool is_time = pg.size() >= 3 && pg[2] == ':';
    out = is_time ? IsoTime(pg) : std::string(pg);
  } else {
    out = std::string(pg.substr(0, space)) + "T" + IsoTime(pg.substr(space + 1));
  }
  out += era;
  return out;
}

bool ParseInt(std::string_view text, int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseReal(std::string_view text, double& out) {
  // from_chars reads "NaN", "Infinity" and "-Infinity" as PostgreSQL prints them, and does not
  // depend on the locale. A numeric beyond double's range is out of range: kept as text.
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParamText(const lp_value& v, size_t index, std::string& out, std::string& why) {
  switch (v.type) {
    case LP_INT:
      out = std::to_string(v.u.i);
      return true;
    case LP_BOOL:
      out = v.u.i != 0 ? "true" : "false";
      return true;
    case LP_REAL: {
      char buf[40];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.u.r);  // shortest exact form
      if (ec != std::errc()) {
        why = "parameter " + std::to_string(index + 1) + ": cannot format the number";
        return false;
      }
      out.assign(buf, end);
      // PostgreSQL spells the special values its own way.
      if (out == "inf") out = "Infinity";
      if (out == "-inf") out = "-Infinity";
      if (out == "nan" || out == "-nan") out = "NaN";
      return true;
    }
    case LP_TEXT:
      out.assign(v.u.s.data == nullptr ? "" : v.u.s.data, v.u.s.len);
      if (out.find('\0') != std::string::npos) {
        why = "parameter " + std::to_string(index + 1) +
              ": text contains a NUL byte, which PostgreSQL text cannot hold";
        return false;
      }
      return true;
    case LP_BLOB: {
      static constexpr char kHex[] = "0123456789abcdef";
      out = "\\x";
      out.reserve(2 + 2 * v.u.s.len);
      for (size_t i = 0; i < v.u.s.len; ++i) {
        auto b = static_cast<unsigned char>(v.u.s.data[i]);
        out += kHex[b >> 4];
        out += kHex[b & 15];
      }
      return true;
    }
    default:
      why = "parameter " + std::to_string(index + 1) + ": unknown value type " +
            std::to_string(v.type);
      return false;
  }
}

std::string OneLine(std::string_view message) {
  std::vector<std::string_view> parts;
  bool excerpt = false;  // inside a "LINE n: ..." excerpt, whose next line is the caret
  while (!message.empty()) {
    size_t nl = message.find('\n');
    std::string_view line = message.substr(0, nl);
    message = nl == std::string_view::npos ? std::string_view() : message.substr(nl + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line.substr(0, 5) == "LINE " && line.find(':') != std::string_view::npos) {
      excerpt = true;
      continue;
    }
    if (excerpt && line.find_first_not_of('^') == std::string_view::npos) {
      excerpt = false;
      continue;
    }
    excerpt = false;
    if (line.substr(0, 6) == "ERROR:") {
      line.remove_prefix(6);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    }
    if (!line.empty()) parts.push_back(line);
  }
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return out.empty() ? "no message" : out;
}

}  // namespace livepoll::postgres_plugin
