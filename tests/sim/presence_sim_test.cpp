// Property test of presence with a key and meta (Phoenix Presence; core/presence_feed.h) under the
// simulator: 3 nodes running core::Node, clients joining and leaving one topic on every node with
// presence (and some without), a crash and restart and a partition and heal, then a clean
// network.
//
// Properties, per seed:
//  (1) every follower's stream is consistent: after its state, a diff never joins a presence it
//      holds nor leaves one it does not hold;
//  (2) convergence: 3 s after the heal and the last join or leave, every follower on a running
//      node holds exactly the presences (key and meta) of the clients subscribed with presence
//      on every running node.
// See sim_cluster.h for replaying a seed (LIVEPOLL_SIM_SEED=N) and more seeds (LIVEPOLL_SIM_SEEDS).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "sim_cluster.h"
#include "sim_seeds.h"

namespace livepoll::sim {
namespace {

using namespace std::chrono_literals;
using core::ClientId;

constexpr size_t kNodes = 3;
constexpr ClientId kClients = 4;  // per node
const std::string kTopic = "q0";

struct PresenceRun {
  explicit PresenceRun(uint64_t seed) : cluster(Options(), seed) {}
  static SimOptions Options() {
    SimOptions o;
    o.nodes = kNodes;
    o.catalog = ModelledCatalog({kTopic});
    return o;
  }

  using Key = std::pair<std::string, std::string>;  // key, meta
  struct Follower {
    std::map<std::string, Key> held;  // by ref
  };

  void Told(size_t i, const core::PresenceDelivery& d) {
    for (ClientId c : d.clients) {
      auto f = followers.find({i, c});
      if (f == followers.end()) {
        violations.push_back("node " + std::to_string(i) + " told client " + std::to_string(c) +
                             ", which does not follow");
        continue;
      }
      std::map<std::string, Key>& held = f->second.held;
      if (d.state) held.clear();
      for (const core::PresenceItem& item : d.joins)
        if (!held.emplace(item.ref, Key{item.key, item.meta}).second && !d.state)
          violations.push_back("a diff joins " + item.ref + ", held already");
      for (const core::PresenceItem& item : d.leaves)
        if (held.erase(item.ref) == 0)
          violations.push_back("a diff leaves " + item.ref + ", not held");
    }
  }

  void Churn(Duration at) {
    cluster.At(at, [this] {
      std::mt19937_64& r = cluster.rng();
      const size_t i = Pick(r, kNodes);
      const ClientId c = 1 + Pick(r, kClients);
      if (!cluster.node(i).running) return;
      auto sub = subscribed.find({i, c});
      if (sub != subscribed.end()) {
        if (cluster.Leave(i, c, kTopic).ok()) {
          subscribed.erase(sub);
          followers.erase({i, c});
        }
        return;
      }
      std::optional<core::PresenceMeta> p;
      if (c != kClients)  // the last client of each node joins without presence
        p = core::PresenceMeta{"n" + std::to_string(i) + "c" + std::to_string(c),
                               "{\"join\":" + std::to_string(++joins) + "}"};
      if (p) followers[{i, c}];  // it follows from its join: the state comes in the call
      if (cluster.Join(i, c, kTopic, {}, std::nullopt, p).ok()) {
        subscribed[{i, c}] = p;
      } else {
        followers.erase({i, c});
      }
    });
  }

  void Forget(size_t i) {  // node i is gone, and its clients' subscriptions with it
    for (auto it = subscribed.begin(); it != subscribed.end();)
      it = it->first.first == i ? subscribed.erase(it) : std::next(it);
    for (auto it = followers.begin(); it != followers.end();)
      it = it->first.first == i ? followers.erase(it) : std::next(it);
  }

  void Go() {
    cluster.on_presence = [this](size_t i, const core::PresenceDelivery& d) { Told(i, d); };
    std::mt19937_64& r = cluster.rng();
    for (size_t i = 0; i < kNodes; ++i)
      cluster.At(0s, [this, i] {
        std::vector<size_t> seeds;
        for (size_t j = 0; j < kNodes; ++j)
          if (j != i) seeds.push_back(j);
        cluster.Start(i, seeds);
      });
    for (int k = 0; k < 60; ++k) Churn(Uniform(r, 2s, 10s));
    const size_t crashed = Pick(r, kNodes);
    const Duration crash_at = Uniform(r, 3s, 6s);
    cluster.At(crash_at, [this, crashed] {
      cluster.Crash(crashed);
      Forget(crashed);
    });
    cluster.At(crash_at + Uniform(r, 500ms, 2s), [this, crashed] {
      std::vector<size_t> seeds;
      for (size_t j = 0; j < kNodes; ++j)
        if (j != crashed) seeds.push_back(j);
      cluster.Start(crashed, seeds);
    });
    const size_t alone = Pick(r, kNodes);
    const Duration cut_at = Uniform(r, 5s, 8s);
    cluster.At(cut_at, [this, alone] {
      std::vector<int> group(kNodes, 0);
      group[alone] = 1;
      cluster.Partition(group);
    });
    cluster.At(cut_at + Uniform(r, 300ms, 2s), [this] { cluster.Heal(); });
    cluster.At(10s, [this] { cluster.Heal(); });
    cluster.RunUntil(13s);

    std::set<Key> expected;
    for (const auto& [who, p] : subscribed)
      if (p && cluster.node(who.first).running) expected.insert({p->key, p->meta});
    for (const auto& [who, f] : followers) {
      if (!cluster.node(who.first).running) continue;
      std::set<Key> held;
      for (const auto& [ref, key] : f.held) held.insert(key);
      if (held != expected) {
        std::ostringstream o;
        o << "node " << who.first << " client " << who.second << " holds " << held.size()
          << " presences, expected " << expected.size() << ":";
        for (const Key& k : held)
          if (!expected.count(k)) o << " extra " << k.first << k.second;
        for (const Key& k : expected)
          if (!held.count(k)) o << " missing " << k.first << k.second;
        violations.push_back(o.str());
      }
    }
  }

  SimCluster cluster;
  std::map<std::pair<size_t, ClientId>, std::optional<core::PresenceMeta>> subscribed;
  std::map<std::pair<size_t, ClientId>, Follower> followers;
  std::vector<std::string> violations;
  int joins = 0;
};

TEST(PresenceSim, FollowersSeeWhoWatchesOnEveryNodeThroughCrashesAndPartitions) {
  size_t followers = 0;
  for (uint64_t seed : Seeds(40)) {
    PresenceRun run(seed);
    run.Go();
    followers += run.followers.size();
    EXPECT_TRUE(run.violations.empty()) << "seed " << seed << ": " << run.violations.front() << " ("
                                        << run.violations.size() << " in all)";
    if (!run.violations.empty()) break;
  }
  EXPECT_GT(followers, 40u);  // the scenario did make followers to check
}

}  // namespace
}  // namespace livepoll::sim
