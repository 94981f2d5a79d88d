#include "duration.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace livepoll::cli {

Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + text + "' is not a duration (use 200ms, 2s or 1m)");
  };
  size_t unit = text.find_first_not_of("0123456789.");
  if (text.empty() || unit == 0 || unit == std::string::npos) return bad();
  const std::string number = text.substr(0, unit), suffix = text.substr(unit);
  char* end = nullptr;
  const double n = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(n)) return bad();
  double ms;
  if (suffix == "ms") {
    ms = n;
  } else if (suffix == "s") {
    ms = n * 1000;
  } else if (suffix == "m") {
    ms = n * 60'000;
  } else {
    return bad();
  }
  if (ms > 1e12) return bad();
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms % 60'000 == 0 && ms > 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0 && ms > 0) return std::to_string(ms / 1000) + "s";
  if (ms >= 1000 && ms % 100 == 0) {
    return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
  }
  return std::to_string(ms) + "ms";
}

std::string HumanizeDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  char buf[64];
  const auto n = [](int64_t v) { return static_cast<long long>(v); };
  if (ms < 10'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000);
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%llds", n(ms / 1000));
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%llds", n(ms / 60'000), n(ms / 1000 % 60));
  } else if (ms < 86'400'000) {
    std::snprintf(buf, sizeof buf, "%lldh%lldm", n(ms / 3'600'000), n(ms / 60'000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%lldh", n(ms / 86'400'000), n(ms / 3'600'000 % 24));
  }
  return buf;
}

std::string HumanizeAgo(int64_t ms) { return HumanizeDuration(ms) + " ago"; }

}  // namespace livepoll::cli
