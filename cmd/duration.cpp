#include "duration.h"

#include <chrono>

namespace livepoll::cli {

std::string HumanizeAgo(int64_t ms) {
  return HumanDuration(std::chrono::milliseconds(ms)) + " ago";
}

}  // namespace livepoll::cli
