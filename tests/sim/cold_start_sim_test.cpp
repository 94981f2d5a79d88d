// Cold start under the simulator (issue 13): nodes whose seed lists connect them, started in any
// order — at the same instant, one by one, or with some never coming up — form one cluster within
// 2 s of the last start, and each topic subscribed meanwhile ends with one owner and one poller.
// Production timings for what the bound depends on (join_retry 1 s, gossip 100 ms), the
// simulator's delays (up to 5 ms), loss-free links and clock skew up to 5 %.
// See sim_cluster.h for running and replaying a seed (LIVEPOLL_SIM_SEED=N, LIVEPOLL_SIM_SEEDS=N).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <sstream>

#include "sim_cluster.h"
#include "sim_seeds.h"

namespace livepoll::sim {
namespace {

using namespace std::chrono_literals;
using core::NodeId;

enum class Order { kAllAtOnce, kOneByOne, kSomeNeverUp };

struct ColdStartRun {
  explicit ColdStartRun(uint64_t seed) : cluster(Options(seed), seed), order(OrderOf(seed)) {}
  static Order OrderOf(uint64_t seed) { return static_cast<Order>(seed % 3); }
  static SimOptions Options(uint64_t seed) {
    SimOptions o;
    o.nodes = 2 + seed % 6;  // 2 to 7 nodes
    o.membership.join_retry = 1s;
    o.catalog = ModelledCatalog({"q0", "q1", "q2"});
    return o;
  }

  // Who starts when, with which seeds; then the checks. The violated properties, one a line.
  std::vector<std::string> Go();

  SimCluster cluster;
  Order order;
  std::vector<std::string> violations;
  std::string plan;  // for the report
};

std::vector<std::string> ColdStartRun::Go() {
  std::mt19937_64& r = cluster.rng();
  const size_t n = cluster.size();
  for (size_t i = 0; i < n; ++i) cluster.SetClock(i, Uniform(r, 0.95, 1.05), Uniform(r, 0s, 100s));

  // Seed lists: every other node (mutual, the operators' habit), or a random connected graph:
  // each node in a random order names one node before it and maybe more, so the seed lists
  // connect them without any node naming all (nor being named by all).
  std::vector<size_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), r);
  std::vector<bool> up(n, true);
  if (order == Order::kSomeNeverUp && n > 2) {
    const size_t never = 1 + Pick(r, n / 2);  // keep at least two nodes
    for (size_t k = 0; k < never; ++k) up[perm[k]] = false;
  }
  const bool mutual = order == Order::kSomeNeverUp || Pick(r, 2) == 0;
  std::vector<std::vector<size_t>> seeds(n);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = perm[k];
    for (size_t m = 0; m < n; ++m) {
      const size_t j = perm[m];
      if (j == i) continue;
      if (mutual || (m + 1 == k) || (m < k && Pick(r, 3) == 0)) seeds[i].push_back(j);
    }
  }
  Duration last_start{};
  std::ostringstream p;
  p << (order == Order::kAllAtOnce  ? "all at once"
        : order == Order::kOneByOne ? "one by one"
                                    : "some never up")
    << (mutual ? ", mutual seeds:" : ", a connected seed graph:");
  for (size_t i = 0; i < n; ++i) {
    if (!up[i]) {
      p << " n" << i << " never up;";
      continue;
    }
    const Duration at = order == Order::kAllAtOnce ? 0s : Uniform(r, 0ms, 1500ms);
    last_start = std::max(last_start, at);
    p << " n" << i << "@" << std::chrono::duration<double>(at).count() << "s seeds";
    for (size_t s : seeds[i]) p << " n" << s;
    p << ";";
    cluster.At(at, [this, i, s = seeds[i]] { cluster.Start(i, s); });
  }
  plan = p.str();
  // Subscribers arrive on random nodes while they start: each may register its topic alone.
  for (Duration t = 0ms; t < last_start + 500ms; t += Uniform(r, 20ms, 200ms)) {
    const size_t i = Pick(r, n);
    core::PresenceEntry e{"q" + std::to_string(Pick(r, 3)), 1 + Pick(r, 4)};
    cluster.At(t, [this, i, e] {
      if (cluster.node(i).running) cluster.PresenceJoin(i, e);
    });
  }

  std::vector<NodeId> running;
  auto check_cluster = [&](const char* when) {
    running.clear();
    for (size_t i = 0; i < n; ++i)
      if (cluster.node(i).running) running.push_back(cluster.node(i).core->cluster()->self());
    std::sort(running.begin(), running.end());
    for (size_t i = 0; i < n; ++i) {
      const auto& node = cluster.node(i);
      if (!node.running) continue;
      const core::Membership& m = node.core->cluster()->membership();
      if (m.refused()) violations.push_back(std::string(when) + ": " + node.name + " refused");
      if (m.Alive() != running)
        violations.push_back(std::string(when) + ": " + node.name + " sees " +
                             std::to_string(m.Alive().size()) + " alive of " +
                             std::to_string(running.size()) + " running");
    }
  };
  cluster.RunUntil(last_start + 2s);
  check_cluster("last start + 2 s");
  // One owner per subscribed topic: the clashes of the halves that registered alone resolved
  // (one claims transfer and one release after membership agrees).
  cluster.RunUntil(last_start + 4s);
  std::set<std::string> subscribed;
  for (size_t i = 0; i < n; ++i)
    for (const core::PresenceEntry& e : cluster.node(i).entries) subscribed.insert(e.topic);
  for (const std::string& topic : subscribed) {
    size_t pollers = 0;
    for (size_t i = 0; i < n; ++i)
      pollers += cluster.node(i).running && cluster.node(i).pollers.count(topic);
    if (pollers != 1)
      violations.push_back("last start + 4 s: " + topic + " has " + std::to_string(pollers) +
                           " pollers");
    std::set<std::string> owners;
    for (size_t i = 0; i < n; ++i) {
      if (!cluster.node(i).running) continue;
      std::optional<core::Claim> o = cluster.node(i).core->cluster()->registry().Owner(topic);
      owners.insert(o ? o->owner.ToString() : "none");
    }
    if (owners.size() != 1 || owners.count("none"))
      violations.push_back("last start + 4 s: " + topic + " has owners " +
                           std::to_string(owners.size()) + " (or none) across the nodes");
  }
  return violations;
}

TEST(ColdStartSim, NodesStartedInAnyOrderFormOneClusterWithinTwoSecondsOfTheLastStart) {
  size_t failed = 0;
  for (uint64_t seed : Seeds(600)) {
    ColdStartRun run(seed);
    run.Go();
    if (run.violations.empty()) continue;
    std::string report = "seed=" + std::to_string(seed) +
                         " (replay: LIVEPOLL_SIM_SEED=" + std::to_string(seed) + ")\n  " +
                         run.plan + "\n";
    for (const std::string& v : run.violations) report += "  " + v + "\n";
    ADD_FAILURE() << report << "trace:\n" << run.cluster.Trace(FullTrace() ? SIZE_MAX : 60);
    if (++failed >= 3) break;
  }
}

}  // namespace
}  // namespace livepoll::sim
