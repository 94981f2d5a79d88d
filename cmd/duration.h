// Durations as an operator types and reads them.
// (The daemon's config::ParseDuration accepts the same forms; this copy keeps the CLI free of the
// daemon's configuration layer until that one is shared from lib/base.)
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "livepoll/status.h"

namespace livepoll::cli {

// "200ms", "2s", "1.5s", "1m"; a number without a unit, a negative one or another unit is
// InvalidArgument naming the text.
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

// "200ms", "2s", "1.5s", "3m": the shortest form that ParseDuration reads back.
std::string FormatDuration(std::chrono::milliseconds d);

// For people: "0.4s", "12s", "3m12s", "2h5m", "3d4h".
std::string HumanizeDuration(int64_t ms);

// HumanizeDuration(ms) + " ago".
std::string HumanizeAgo(int64_t ms);

}  // namespace livepoll::cli
