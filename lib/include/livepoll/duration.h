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

}  // namespace livepoll
