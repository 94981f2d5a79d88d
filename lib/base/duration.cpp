#include "livepoll/duration.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace livepoll {

Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  const Status bad =
      Status::InvalidArgument("'" + text + "' is not a duration (use 500ms, 2s or 1m)");
  // from_chars accepts no sign but '-', which is refused below; it also accepts "inf"/"nan".
  size_t unit = text.find_first_not_of("0123456789.");
  if (unit == 0 || unit == std::string::npos) return bad;
  double number = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + unit, number);
  if (ec != std::errc() || p != text.data() + unit) return bad;
  const std::string suffix = text.substr(unit);
  double ms;
  if (suffix == "ms")
    ms = number;
  else if (suffix == "s")
    ms = number * 1000;
  else if (suffix == "m")
    ms = number * 60'000;
  else
    return bad;
  // A cap keeps the conversion below from overflowing; no livepoll timer wants more than a day.
  if (ms > 86'400'000) {
    return Status::InvalidArgument("'" + text + "' is longer than a day");
  }
  if (ms != std::floor(ms)) {
    return Status::InvalidArgument("'" + text + "' is not a whole number of milliseconds");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
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

std::string HumanDuration(std::chrono::milliseconds d) {
  const int64_t ms = std::max<int64_t>(0, d.count());
  auto n = [](int64_t v) { return std::to_string(v); };
  if (ms < 10'000) return n(ms / 1000) + "." + n(ms % 1000 / 100) + "s";
  if (ms < 60'000) return n(ms / 1000) + "s";
  if (ms < 3'600'000) return n(ms / 60'000) + "m" + n(ms / 1000 % 60) + "s";
  if (ms < 86'400'000) return n(ms / 3'600'000) + "h" + n(ms / 60'000 % 60) + "m";
  return n(ms / 86'400'000) + "d" + n(ms / 3'600'000 % 24) + "h";
}

}  // namespace livepoll
