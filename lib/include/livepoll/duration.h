// Durations as operators write them in options, config files and output: "500ms", "2s", "1.5s",
// "1m". One parser for the daemon and the CLI, so both accept the same forms.
#pragma once

#include <chrono>
#include <string>

#include "livepoll/status.h"

namespace livepoll {

// A number with a unit (ms, s, m), a whole number of milliseconds, at most a day. A number
// without a unit, a negative one or another unit is InvalidArgument naming the text.
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

// The shortest form ParseDuration reads back: 500ms, 2s, 1.5s, 3m.
std::string FormatDuration(std::chrono::milliseconds d);

// For people reading a table or a log line, to a tenth of a second below 10 s and to two units
// above: "0.4s", "12s", "3m12s", "2h5m", "3d4h". A negative duration reads as 0.
std::string HumanDuration(std::chrono::milliseconds d);
// The same for any duration, rounded down to the millisecond.
template <typename Rep, typename Period>
std::string HumanDuration(std::chrono::duration<Rep, Period> d) {
  return HumanDuration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

}  // namespace livepoll
