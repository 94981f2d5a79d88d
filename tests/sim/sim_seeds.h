// What every simulator property test shares: which seeds to run, and the random draws of a
// scenario (from the run's one generator, so that a seed replays exactly).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "livepoll/time.h"

namespace livepoll::sim {

// The seeds to run: LIVEPOLL_SIM_SEED alone, else 1..LIVEPOLL_SIM_SEEDS (default `fallback`).
inline std::vector<uint64_t> Seeds(uint64_t fallback) {
  if (const char* one = std::getenv("LIVEPOLL_SIM_SEED")) return {std::strtoull(one, nullptr, 10)};
  uint64_t n = fallback;
  if (const char* many = std::getenv("LIVEPOLL_SIM_SEEDS")) n = std::strtoull(many, nullptr, 10);
  std::vector<uint64_t> v;
  for (uint64_t s = 1; s <= n; ++s) v.push_back(s);
  return v;
}
inline bool FullTrace() { return std::getenv("LIVEPOLL_SIM_TRACE") != nullptr; }

inline Duration Uniform(std::mt19937_64& rng, Duration lo, Duration hi) {
  return Duration(std::uniform_int_distribution<int64_t>(lo.count(), hi.count())(rng));
}
inline double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
inline size_t Pick(std::mt19937_64& rng, size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}

}  // namespace livepoll::sim
