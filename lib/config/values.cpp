#include "config/values.h"

#include <cctype>
#include <charconv>
#include <sstream>

#include "livepoll/duration.h"

namespace livepoll::config {
namespace {

bool IsIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

Result<int> ParseInt(const std::string& text, int lo, int hi) {
  int v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || v < lo || v > hi) {
    return Status::InvalidArgument("'" + text + "' is not a whole number from " +
                                   std::to_string(lo) + " to " + std::to_string(hi));
  }
  return v;
}

Result<std::vector<std::string>> ParseList(const std::string& text, bool identifiers) {
  std::vector<std::string> out;
  if (Trim(text).empty()) return out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    item = Trim(item);
    if (item.empty()) return Status::InvalidArgument("empty item in list '" + text + "'");
    if (identifiers && !IsIdentifier(item)) {
      return Status::InvalidArgument("'" + item + "' is not a name (letters, digits, _)");
    }
    for (const auto& seen : out) {
      if (seen == item) return Status::InvalidArgument("'" + item + "' is listed twice");
    }
    out.push_back(std::move(item));
  }
  if (text.back() == ',') return Status::InvalidArgument("empty item in list '" + text + "'");
  return out;
}

bool IsName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

Status CheckEndpoint(const std::string& v) {
  if (v.find("://") == std::string::npos || v.size() < 7) {
    return Status::InvalidArgument("'" + v + "' is not an endpoint (e.g. tcp://127.0.0.1:7470)");
  }
  return Status::Ok();
}

Status SetDuration(std::chrono::milliseconds& out, const std::string& v) {
  auto d = ParseDuration(v);
  if (!d.ok()) return d.status();
  out = *d;
  return Status::Ok();
}

Status SetPositiveDuration(std::chrono::milliseconds& out, const std::string& v) {
  auto d = ParseDuration(v);
  if (!d.ok()) return d.status();
  if (d->count() <= 0) return Status::InvalidArgument("'" + v + "' must be longer than 0");
  out = *d;
  return Status::Ok();
}

Result<uint64_t> ParseSize(const std::string& text, uint64_t lo, uint64_t hi) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + text + "' is not a size from " + std::to_string(lo) +
                                   " to " + std::to_string(hi) + " bytes (e.g. 4096, 4KiB, 16MiB)");
  };
  uint64_t n = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc()) return bad();
  const std::string unit(p, end);
  int shift = 0;
  if (unit.empty() || unit == "B")
    shift = 0;
  else if (unit == "K" || unit == "KiB")
    shift = 10;
  else if (unit == "M" || unit == "MiB")
    shift = 20;
  else if (unit == "G" || unit == "GiB")
    shift = 30;
  else
    return bad();
  if (n > (hi >> shift)) return bad();
  n <<= shift;
  if (n < lo || n > hi) return bad();
  return n;
}

}  // namespace livepoll::config
