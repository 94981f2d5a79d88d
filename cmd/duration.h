// Durations for people reading a table (parsing and the exact form: livepoll/duration.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "livepoll/duration.h"

namespace livepoll::cli {

// For people: "0.4s", "12s", "3m12s", "2h5m", "3d4h".
std::string HumanizeDuration(int64_t ms);

// HumanizeDuration(ms) + " ago".
std::string HumanizeAgo(int64_t ms);

}  // namespace livepoll::cli
