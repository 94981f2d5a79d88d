// Durations for people reading a table (parsing and the exact form: livepoll/duration.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "livepoll/duration.h"

namespace livepoll::cli {

// HumanDuration (livepoll/duration.h) of `ms` + " ago".
std::string HumanizeAgo(int64_t ms);

}  // namespace livepoll::cli
