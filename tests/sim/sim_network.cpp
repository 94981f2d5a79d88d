#include "sim_network.h"

namespace livepoll::sim {

bool SimNetwork::CanTalk(size_t a, size_t b) const {
  if (group_of_.empty() || a >= group_of_.size() || b >= group_of_.size()) return true;
  return group_of_[a] == group_of_[b];
}

std::vector<Duration> SimNetwork::Transit(size_t from, size_t to) {
  std::vector<Duration> delays;
  if (!CanTalk(from, to)) return delays;
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  // Draw every number whatever the outcome, so one fault setting does not shift the stream.
  double lost = coin(rng_);
  double dup = coin(rng_);
  std::uniform_int_distribution<int64_t> delay(faults.min_delay.count(), faults.max_delay.count());
  Duration d1(delay(rng_));
  Duration d2(delay(rng_));
  if (lost < faults.loss) return delays;
  delays.push_back(d1);
  if (dup < faults.duplicate) delays.push_back(d2);
  return delays;
}

}  // namespace livepoll::sim
