// SimNetwork: the links of the simulated cluster. It decides, for one message from node `from` to
// node `to`, whether it arrives and after which delays: a partition drops it, loss drops it at
// random, duplication sends it twice, and every copy gets its own random delay, so messages are
// reordered. All randomness comes from the cluster's one generator (replay needs one stream).
// A partition either cuts (frames across it are lost, as `livepoll fault cut` does) or holds
// (frames wait in the sender's queue and arrive late, as TCP does across a real partition: the
// connections stay, the kernel retransmits once the path is back); SimCluster keeps held frames.
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

  // Nodes in different groups cannot talk; `group_of[i]` is node i's group. `hold`: what they
  // send each other is held, not lost (see above).
  void Partition(std::vector<int> group_of, bool hold = false) {
    group_of_ = std::move(group_of);
    hold_ = hold;
  }
  void Heal() {
    group_of_.clear();
    hold_ = false;
  }
  bool partitioned() const { return !group_of_.empty(); }
  bool holding() const { return hold_ && partitioned(); }
  bool CanTalk(size_t a, size_t b) const;

  // The delays after which copies of one message from `from` to `to` arrive: none (lost or cut),
  // one, or two (duplicated).
  std::vector<Duration> Transit(size_t from, size_t to);

  LinkFaults faults;

 private:
  std::mt19937_64& rng_;
  std::vector<int> group_of_;
  bool hold_ = false;
};

}  // namespace livepoll::sim
