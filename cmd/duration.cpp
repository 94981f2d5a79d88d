#include "duration.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace livepoll::cli {

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
