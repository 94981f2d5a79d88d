// SimNetwork: the links of the simulated cluster. It decides, for one message from node `from` to
// node `to`, whether it arrives and after which delays: a partition drops it, loss drops it at
// random, duplication sends it twice, and every copy gets its own random delay, so messages are
// reordered. All randomness comes from the cluster's one generator (replay needs one stream).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "livepoll/time.h"

namespace livepoll::sim {

struct LinkFaults {
  double loss = 0;       // chance that a message is dropped
  double duplicate = 0;  // chance that a message arrives twice
  Duration min_delay = std::chrono::microseconds(100);
  Duration max_delay = std::chrono::milliseconds(5);
};

class SimNetwork {
 public:
  explicit SimNetwork(std::mt19937_64& rng) : rng_(rng) {}

  // Nodes in different groups cannot talk; `group_of[i]` is node i's group.
  void Partition(std::vector<int> group_of) { group_of_ = std::move(group_of); }
  void Heal() { group_of_.clear(); }
  bool partitioned() const { return !group_of_.empty(); }
  bool CanTalk(size_t a, size_t b) const;

  // The delays after which copies of one message from `from` to `to` arrive: none (lost or cut),
  // one, or two (duplicated).
  std::vector<Duration> Transit(size_t from, size_t to);

  LinkFaults faults;

 private:
  std::mt19937_64& rng_;
  std::vector<int> group_of_;
};

}  // namespace livepoll::sim
