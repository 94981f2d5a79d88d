// Issue 13, §3: a heal sets off an epoch storm. Property tests of what one heal of a real
// partition may cost, under the simulator's holding partition (sim_cluster.h, HoldingPartition:
// connections stay, frames wait and arrive late in a burst at the heal, no disconnect is seen,
// so both sides declare the other dead by heartbeats and take over its topics).
//
// The scenario, per seed: 5 nodes with skewed clocks; every node has a client on each of 6 topics
// (so both sides of any split have subscribers of every topic, and each side takes over the
// topics the other owned); then two rounds of a 2-vs-3 holding partition of 2.5-3.5 s and its
// heal, 5 s apart. Polls are answered after 1-20 ms with a result that never changes, so a
// client sees a new snapshot only when its stream's epoch changes.
//
// Properties, in the 5 s after each heal:
//  (1) epochs: at most one registration per topic (the clash winner's new epoch; none when the
//      winner needs none), counted from every node's kRegistered events (re-epochs included);
//  (2) subscribers: each client's stream changes epoch at most once;
//  (3) the database: at most one extra poll per topic: the polls of the topic, cluster-wide, are
//      at most what one poller makes in 5 s at the shortest jittered interval, plus one (the
//      winner's first poll of its new epoch) and one more (the loser's last, if it fell between
//      the heal and its release);
//  (4) at the window's end every running node sees one visible claim per topic, the same one,
//      and only that owner polls it, at that epoch.
// See sim_cluster.h for running and replaying a seed (LIVEPOLL_SIM_SEED=N, LIVEPOLL_SIM_SEEDS=N).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "sim_cluster.h"
#include "sim_seeds.h"

namespace livepoll::sim {
namespace {

using namespace std::chrono_literals;
using core::Claim;
using core::RegistryEvent;

constexpr size_t kNodes = 5;
constexpr Duration kWindow = 5s;  // after each heal
constexpr Duration kInterval = 1s;
constexpr double kJitter = 0.1;  // ModelledCatalog's
constexpr int kRounds = 2;

struct Poll {
  Duration at;
  size_t node;
};
struct Seen {  // one update delivered to one client
  Duration at;
  uint64_t epoch;
};

struct StormRun {
  explicit StormRun(uint64_t seed) : cluster(Options(seed), seed) {}
  static SimOptions Options(uint64_t seed) {
    SimOptions o;
    o.nodes = kNodes;
    o.registry.placement = seed % 4 == 3 ? core::Placement::kLocal : core::Placement::kHashed;
    o.registry.clash_policy =
        seed % 5 == 4 ? core::ClashPolicy::kHashed : core::ClashPolicy::kOldest;
    o.catalog = ModelledCatalog(Topics());
    return o;
  }
  static std::vector<std::string> Topics() { return {"q0", "q1", "q2", "q3", "q4", "q5"}; }

  void Go();
  void CheckWindow(Duration heal);
  void CheckOneOwner(Duration heal);
  void V(const std::string& what) { violations.push_back(what); }
  const core::Registry& R(size_t i) const { return cluster.node(i).core->cluster()->registry(); }
  std::string Me(size_t i) const { return cluster.node(i).core->cluster()->self().ToString(); }

  SimCluster cluster;
  std::vector<Duration> heals;
  std::map<std::string, std::vector<Poll>> polls;  // by topic
  // By (node, incarnation, client, topic): what the client got, in order.
  std::map<std::tuple<size_t, uint64_t, uint64_t, std::string>, std::vector<Seen>> streams;
  std::vector<std::string> violations;
  // For the report: the most registrations of one topic after one heal.
  size_t worst_registrations = 0;
};

void StormRun::Go() {
  std::mt19937_64& r = cluster.rng();
  const std::vector<std::string> topics = Topics();
  cluster.on_poll = [this, topics](size_t i, const core::PollRequest& p) {
    polls[p.topic].push_back({cluster.now(), i});
    const uint64_t incarnation = cluster.node(i).incarnation;
    const auto k =
        static_cast<int64_t>(std::find(topics.begin(), topics.end(), p.topic) - topics.begin());
    const ResultSet rs{{"v"}, {{Value(k)}}};
    cluster.At(cluster.now() + Uniform(cluster.rng(), 1ms, 20ms),
               [this, i, incarnation, p, rs] { cluster.PollDone(i, incarnation, p.poll_id, rs); });
  };
  cluster.on_delivery = [this](size_t i, const core::Delivery& d) {
    const proto::Update* u = std::get_if<proto::Update>(&d.message);
    if (u == nullptr) return;
    for (core::ClientId c : d.clients)
      streams[{i, cluster.node(i).incarnation, c, u->topic}].push_back({cluster.now(), u->epoch});
  };
  std::vector<size_t> all;
  for (size_t i = 0; i < kNodes; ++i) {
    all.push_back(i);
    cluster.SetClock(i, Uniform(r, 0.95, 1.05), Uniform(r, 0s, Duration(100s)));
  }
  cluster.At(0s, [this] { cluster.Start(0, {}); });
  for (size_t i = 1; i < kNodes; ++i)
    cluster.At(Uniform(r, 0ms, 300ms), [this, i, all] { cluster.Start(i, all); });
  for (size_t i = 0; i < kNodes; ++i)
    for (const std::string& t : topics)
      cluster.At(Uniform(r, 400ms, 700ms), [this, i, t] {
        cluster.PresenceJoin(i, core::PresenceEntry{t, 1});
      });

  Duration at = 2s;
  for (int round = 0; round < kRounds; ++round) {
    // Two nodes, at random, on one side; the other three on the other.
    std::vector<int> groups(kNodes, 0);
    const size_t a = Pick(r, kNodes);
    size_t b = Pick(r, kNodes - 1);
    if (b >= a) ++b;
    groups[a] = groups[b] = 1;
    const Duration heal = at + Uniform(r, 2500ms, 3500ms);
    heals.push_back(heal);
    cluster.At(at, [this, groups] { cluster.HoldingPartition(groups); });
    cluster.At(heal, [this] {
      cluster.Heal();
      cluster.Log("---- healed ----");
    });
    at = heal + kWindow;
  }
  for (Duration heal : heals) {
    cluster.RunUntil(heal + kWindow - 1ms);
    CheckOneOwner(heal);
  }
  for (Duration heal : heals) CheckWindow(heal);
}

void StormRun::CheckWindow(Duration heal) {
  const Duration end = heal + kWindow;
  auto in = [&](Duration t) { return t >= heal && t < end; };
  const std::string when = "after the heal at " + std::to_string(heal / 1ms) + " ms: ";
  // (1) registrations per topic.
  std::map<std::string, std::vector<std::string>> registered;
  for (const SimRegistryRecord& rec : cluster.registry_events())
    if (in(rec.at) && rec.event.kind == RegistryEvent::Kind::kRegistered)
      registered[rec.event.topic].push_back("n" + std::to_string(rec.observer) + " " +
                                            rec.event.detail);
  for (const auto& [topic, what] : registered) {
    worst_registrations = std::max(worst_registrations, what.size());
    if (what.size() <= 1) continue;
    std::string list;
    for (size_t k = 0; k < what.size() && k < 6; ++k) list += (k ? "; " : "") + what[k];
    V("(1) " + when + topic + " registered " + std::to_string(what.size()) + " times: " + list +
      (what.size() > 6 ? "; ..." : ""));
  }
  // (2) epoch changes per client.
  for (const auto& [key, seen] : streams) {
    size_t changes = 0;
    uint64_t last = 0;
    std::string epochs;
    for (const Seen& s : seen) {
      if (s.at >= end) break;
      if (in(s.at) && last != 0 && s.epoch != last) {
        ++changes;
        epochs += " " + std::to_string(last) + "->" + std::to_string(s.epoch);
      }
      last = s.epoch;
    }
    if (changes > 1)
      V("(2) " + when + "client " + std::to_string(std::get<2>(key)) + " of n" +
        std::to_string(std::get<0>(key)) + " saw the epoch of " + std::get<3>(key) + " change " +
        std::to_string(changes) + " times:" + epochs);
  }
  // (3) polls per topic.
  const auto one_poller =
      static_cast<size_t>(std::ceil(std::chrono::duration<double>(kWindow) /
                                    std::chrono::duration<double>(kInterval * (1 - kJitter))));
  for (const auto& [topic, list] : polls) {
    size_t n = 0;
    for (const Poll& p : list) n += in(p.at) ? 1 : 0;
    if (n > one_poller + 2)
      V("(3) " + when + topic + " was polled " + std::to_string(n) + " times in " +
        std::to_string(kWindow / 1s) + " s (one poller: at most " + std::to_string(one_poller) +
        ")");
  }
}

void StormRun::CheckOneOwner(Duration heal) {
  const std::string when = "(4) at heal " + std::to_string(heal / 1ms) + " ms + 5 s: ";
  for (const std::string& topic : Topics()) {
    std::optional<Claim> agreed;
    for (size_t i = 0; i < kNodes; ++i) {
      std::vector<Claim> claims = R(i).Claims(topic);
      std::erase_if(claims, [](const Claim& c) { return !c.visible; });
      if (claims.size() != 1) {
        V(when + Me(i) + " sees " + std::to_string(claims.size()) + " visible claims of " + topic);
        continue;
      }
      if (!agreed) agreed = claims[0];
      if (claims[0] != *agreed)
        V(when + Me(i) + " and another node disagree on the owner of " + topic);
    }
    for (size_t i = 0; i < kNodes; ++i) {
      auto p = cluster.node(i).pollers.find(topic);
      if (p == cluster.node(i).pollers.end()) continue;
      if (!agreed || agreed->owner != cluster.node(i).core->cluster()->self() ||
          agreed->epoch != p->second)
        V(when + Me(i) + " polls " + topic + " at epoch " + std::to_string(p->second) +
          " but is not its owner at that epoch");
    }
  }
}

TEST(HealStormSim, AHealCostsAtMostOneEpochOneSnapshotAndOnePollPerTopic) {
  size_t failed = 0, worst = 0;
  for (uint64_t seed : Seeds(200)) {
    StormRun run(seed);
    run.Go();
    worst = std::max(worst, run.worst_registrations);
    if (run.violations.empty()) continue;
    std::string s = "seed=" + std::to_string(seed) +
                    " (replay: LIVEPOLL_SIM_SEED=" + std::to_string(seed) + ")\n";
    for (size_t k = 0; k < run.violations.size() && k < 12; ++k)
      s += "  " + run.violations[k] + "\n";
    s += "trace:\n" + run.cluster.Trace(FullTrace() ? SIZE_MAX : 60);
    ADD_FAILURE() << s;
    if (++failed >= 3) break;
  }
  std::printf("most registrations of one topic after one heal: %zu\n", worst);
}

}  // namespace
}  // namespace livepoll::sim
