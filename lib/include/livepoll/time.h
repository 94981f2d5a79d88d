// Time as livepoll reasons about it. Apart from env.h (which brings threads and libraries) so that
// the sans-I/O core can speak of time without reaching for anything else the Env offers.
#pragma once

#include <chrono>

namespace livepoll {

using Duration = std::chrono::nanoseconds;
// Monotonic time. Ordering and timeouts use only this; wall time is for display.
using Time = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

}  // namespace livepoll
