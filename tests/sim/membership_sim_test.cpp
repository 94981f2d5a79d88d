// Property tests of Membership and Presence under the simulator (each node a core::Node, so
// the Registry runs too; its properties are in registry_sim_test.cpp): random clusters of 3-5
// nodes, random faults for a while (partitions, pauses, crashes, restarts, leaves, loss,
// duplication, clock skew), then a healed network, and properties checked on what every node
// believes. See sim_cluster.h for running, replaying a seed and raising the seed count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "sim_cluster.h"
#include "sim_seeds.h"

namespace livepoll::sim {
namespace {

using namespace std::chrono_literals;
using core::MembershipEvent;
using core::MemberState;
using core::NodeId;
using core::PresenceEntry;

std::string Ids(const std::vector<NodeId>& ids) {
  std::string s = "{";
  for (const NodeId& id : ids) {
    if (s.size() > 1) s += ',';  // not "," + ToString(): GCC 12 -O3 warns (-Wrestrict) on that
    s += id.ToString();
  }
  return s + "}";
}

// One random run: faults from 0.6 s until `heal`, then a healed network with no loss.
struct SimRun {
  explicit SimRun(uint64_t seed) : cluster(Options(seed), seed) {}
  static SimOptions Options(uint64_t seed) {
    SimOptions o;
    o.nodes = 3 + seed % 3;  // 3, 4 or 5 nodes
    o.catalog = ModelledCatalog({"t0", "t1", "t2"});
    return o;
  }

  // The violated properties, one line each; empty when all hold.
  std::vector<std::string> Go();

  void Check(bool ok, const std::string& what) {
    if (!ok) violations.push_back(what);
  }
  std::vector<NodeId> Running() const {
    std::vector<NodeId> v;
    for (size_t i = 0; i < cluster.size(); ++i)
      if (cluster.node(i).running)
        v.push_back(cluster.node(i).core->cluster()->membership().self());
    std::sort(v.begin(), v.end());
    return v;
  }
  void CheckMembership(const char* when, bool forgotten_too);
  void CheckPresence(const char* when);
  void CheckNoFalseDeath();
  void CheckLeaves();

  SimCluster cluster;
  Duration heal{};
  std::vector<std::string> violations;
  struct LeaveRecord {
    NodeId id;
    Duration at;
  };
  std::vector<LeaveRecord> leaves;
  std::vector<std::pair<Duration, Duration>> partitions;  // [from, to]
  std::vector<std::pair<Duration, Duration>> lossy;
  struct BlipRecord {
    size_t observer, peer;
    Duration at;
  };
  std::vector<BlipRecord> blips;
  // The healthy-window for "no false death": the longest a healthy node may look silent.
  const Duration window = 1500ms;
};

std::vector<std::string> SimRun::Go() {
  std::mt19937_64& r = cluster.rng();
  const size_t n = cluster.size();

  for (size_t i = 0; i < n; ++i)
    cluster.SetClock(i, Uniform(r, 0.95, 1.05), Uniform(r, 0s, Duration(100s)));
  std::vector<size_t> all;
  for (size_t i = 0; i < n; ++i) all.push_back(i);
  cluster.At(0s, [this] { cluster.Start(0, {}); });
  for (size_t i = 1; i < n; ++i)
    cluster.At(Uniform(r, 0ms, 300ms), [this, i, all] { cluster.Start(i, all); });

  const Duration faults_from = 600ms;
  heal = faults_from + Uniform(r, 500ms, 2500ms);
  size_t removals = 0;  // crashes without restart and leaves: keep two nodes
  // One node never crashes or leaves, so that the faults leave a cluster to check. (A cluster
  // whose every member went down re-forms from its seeds: cold_start_sim_test.cpp.)
  const size_t anchor = Pick(r, n);
  size_t fault_count = 1 + Pick(r, 5);
  for (size_t f = 0; f < fault_count; ++f) {
    Duration at = Uniform(r, faults_from, heal);
    Duration until = Uniform(r, at, heal);
    size_t victim = Pick(r, n);
    size_t kind = Pick(r, 7);
    if (victim == anchor && (kind == 2 || kind == 3)) kind = 1;  // pause it instead
    switch (kind) {
      case 0: {  // partition
        std::vector<int> groups(n);
        for (int& g : groups) g = static_cast<int>(Pick(r, 2));
        groups[0] = 0;
        groups[1 + Pick(r, n - 1)] = 1;
        partitions.push_back({at, until});
        cluster.At(at, [this, groups] { cluster.Partition(groups); });
        cluster.At(until, [this] { cluster.Heal(); });
        break;
      }
      case 1:  // pause
        cluster.At(at, [this, victim] { cluster.Pause(victim); });
        cluster.At(until, [this, victim] { cluster.Resume(victim); });
        break;
      case 2: {  // crash, often restarted
        bool restart = Pick(r, 10) < 6;
        if (!restart && removals + 2 >= n) restart = true;
        if (!restart) ++removals;
        Duration back = std::min(heal, at + Uniform(r, 100ms, 1000ms));
        cluster.At(at, [this, victim] { cluster.Crash(victim); });
        if (restart) cluster.At(back, [this, victim, all] { cluster.Start(victim, all); });
        break;
      }
      case 3:  // leave
        if (removals + 2 >= n) break;
        ++removals;
        cluster.At(at, [this, victim] {
          const auto& v = cluster.node(victim);
          if (!v.running || v.paused || !v.joined_at) return;
          leaves.push_back(
              {cluster.node(victim).core->cluster()->membership().self(), cluster.now()});
          cluster.Leave(victim);
        });
        break;
      case 4: {  // loss
        double loss = Uniform(r, 0.0, 0.4);
        lossy.push_back({at, until});
        cluster.At(at, [this, loss] { cluster.SetLoss(loss); });
        cluster.At(until, [this] { cluster.SetLoss(0); });
        break;
      }
      case 6: {  // link blips: a disconnect notification while all is well
        size_t peer = Pick(r, n);
        blips.push_back({victim, peer, at});
        cluster.At(at, [this, victim, peer] { cluster.Blip(victim, peer); });
        break;
      }
      case 5: {  // duplication
        double dup = Uniform(r, 0.0, 0.3);
        cluster.At(at, [this, dup] { cluster.SetDuplicate(dup); });
        cluster.At(until, [this] { cluster.SetDuplicate(0); });
        break;
      }
    }
  }
  // Subscribers come and go everywhere until the heal.
  for (Duration t = 100ms; t < heal; t += Uniform(r, 10ms, 150ms)) {
    size_t i = Pick(r, n);
    PresenceEntry e{"t" + std::to_string(Pick(r, 3)), Pick(r, 6)};
    bool join = Pick(r, 3) != 0;
    cluster.At(t, [this, i, e, join] {
      if (join)
        cluster.PresenceJoin(i, e);
      else
        cluster.PresenceLeave(i, e);
    });
  }
  cluster.At(heal, [this, n] {
    cluster.Heal();
    cluster.SetLoss(0);
    cluster.SetDuplicate(0);
    for (size_t i = 0; i < n; ++i) cluster.Resume(i);
    cluster.Log("---- healed ----");
  });

  // (1) + (3): within dead_after + join_retry + a few gossip intervals (and clock skew), every
  // running node has joined and believes exactly the running nodes alive.
  const Duration bound = 1700ms;
  cluster.RunUntil(heal + bound);
  CheckMembership("heal+bound", false);
  CheckLeaves();
  // (4): presence follows within a few more gossip intervals (a transfer after a gap).
  cluster.RunUntil(heal + bound + 500ms);
  CheckPresence("heal+bound+500ms");
  // After permdown: the dead are forgotten everywhere, their presence dropped.
  cluster.RunUntil(heal + bound + 500ms + 2500ms);
  CheckMembership("after permdown", true);
  CheckPresence("after permdown");
  // (2)
  CheckNoFalseDeath();
  return violations;
}

void SimRun::CheckMembership(const char* when, bool forgotten_too) {
  const std::vector<NodeId> running = Running();
  for (size_t i = 0; i < cluster.size(); ++i) {
    const auto& node = cluster.node(i);
    if (!node.running) continue;
    const std::string me = node.core->cluster()->membership().self().ToString();
    if (node.core->cluster()->membership().refused()) {
      Check(false, "(3) " + std::string(when) + ": " + me + " was refused at join");
      continue;
    }
    Check(node.core->cluster()->membership().joined(),
          "(3) " + std::string(when) + ": " + me + " never joined");
    std::vector<NodeId> alive = node.core->cluster()->membership().Alive();
    Check(alive == running, "(1) " + std::string(when) + ": " + me + " believes alive " +
                                Ids(alive) + ", running are " + Ids(running));
    if (forgotten_too) {
      std::vector<NodeId> known;
      for (const auto& m : node.core->cluster()->membership().Members())
        known.push_back(m.claim.id);
      std::sort(known.begin(), known.end());
      Check(known == running,
            "(1) " + std::string(when) + ": " + me + " still knows " + Ids(known));
    }
  }
}

// (3) A leave made while no partition could hide it (for permdown, while the ones who know
// gossip it) and no loss could drop its notice is seen as a leave (or already forgotten), not as
// a death, by every running node. (Under loss, the notice may reach only nodes that crash next.)
void SimRun::CheckLeaves() {
  for (const LeaveRecord& l : leaves) {
    bool hidden = false;
    for (auto [from, to] : partitions)
      if (from <= l.at + 2s && to >= l.at) hidden = true;
    for (auto [from, to] : lossy)
      if (from <= l.at + 10ms && to >= l.at) hidden = true;
    if (hidden) continue;
    for (size_t i = 0; i < cluster.size(); ++i) {
      const auto& node = cluster.node(i);
      if (!node.running || !node.joined_at || *node.joined_at > l.at) continue;
      auto m = node.core->cluster()->membership().Find(l.id.name);
      if (!m || m->claim.id != l.id) continue;
      Check(m->claim.state == MemberState::kLeft,
            "(3) " + node.core->cluster()->membership().self().ToString() + " sees " +
                l.id.ToString() + " as " + core::MemberStateName(m->claim.state) +
                " after its leave");
    }
  }
}

void SimRun::CheckPresence(const char* when) {
  std::set<std::string> topics;
  for (size_t i = 0; i < cluster.size(); ++i)
    for (const PresenceEntry& e : cluster.node(i).entries) topics.insert(e.topic);
  for (size_t i = 0; i < cluster.size(); ++i) {
    const auto& viewer = cluster.node(i);
    if (!viewer.running) continue;
    const std::string me = viewer.core->cluster()->membership().self().ToString();
    for (size_t j = 0; j < cluster.size(); ++j) {
      const auto& origin = cluster.node(j);
      if (!origin.running || j == i) continue;
      std::vector<PresenceEntry> want(origin.entries.begin(), origin.entries.end());
      std::vector<PresenceEntry> got =
          viewer.core->cluster()->presence().EntriesOf(origin.core->cluster()->membership().self());
      std::sort(got.begin(), got.end());
      Check(got == want, "(4) " + std::string(when) + ": " + me + " holds " +
                             std::to_string(got.size()) + " entries of " +
                             origin.core->cluster()->membership().self().ToString() + ", it has " +
                             std::to_string(want.size()));
    }
    for (const std::string& topic : topics) {
      std::map<std::string, size_t> want;
      for (size_t j = 0; j < cluster.size(); ++j) {
        if (!cluster.node(j).running) continue;
        size_t c = 0;
        for (const PresenceEntry& e : cluster.node(j).entries) c += e.topic == topic;
        if (c) want[cluster.node(j).name] = c;
      }
      std::map<std::string, size_t> got =
          viewer.core->cluster()->presence().SubscribersByNode(topic);
      std::erase_if(got, [](const auto& kv) { return kv.second == 0; });
      Check(got == want,
            "(4) " + std::string(when) + ": " + me + " counts topic " + topic + " wrong");
    }
  }
}

// (2) Nobody declares a node dead while it and its network were healthy for the whole window
// before (running and joined, not paused, no partition, loss at most 10%).
void SimRun::CheckNoFalseDeath() {
  for (const SimEventRecord& r : cluster.events()) {
    if (r.event.kind != MembershipEvent::Kind::kDown || r.event.detail != "dead") continue;
    std::optional<size_t> x;
    for (size_t i = 0; i < cluster.size(); ++i)
      if (cluster.node(i).name == r.event.node.name) x = i;
    if (!x || r.at < window) continue;
    const Duration from = r.at - window;
    if (!cluster.Healthy(*x, r.event.node.incarnation, from, r.at)) continue;
    // After a link blip the observer needs a member to vouch for the peer: excused when some
    // node was not healthy in the window (it may have been the only one to ask), or when another
    // link to the peer blipped too (a helper that lost its link does not vouch: by the probe
    // rule, two links to one node lost within a gossip interval look like its crash).
    bool blipped = false, blipped_elsewhere = false;
    for (const BlipRecord& b : blips) {
      if (b.peer != *x || b.at < from || b.at > r.at) continue;
      (b.observer == r.observer ? blipped : blipped_elsewhere) = true;
    }
    if (blipped && blipped_elsewhere) continue;
    if (blipped) {
      bool all_healthy = true;
      for (size_t k = 0; k < cluster.size(); ++k) {
        const auto& node = cluster.node(k);
        if (!node.running || !cluster.Healthy(k, node.incarnation, from, r.at)) all_healthy = false;
      }
      if (!all_healthy) continue;
    }
    {
      std::ostringstream s;
      s << "(2) " << r.observer_id.ToString() << " declared healthy " << r.event.node.ToString()
        << " dead at " << std::chrono::duration<double>(r.at).count() << " s";
      Check(false, s.str());
    }
  }
}

std::string Report(uint64_t seed, SimRun& run) {
  std::string s = "seed=" + std::to_string(seed) +
                  " (replay: LIVEPOLL_SIM_SEED=" + std::to_string(seed) + ")\n";
  for (const std::string& v : run.violations) s += "  " + v + "\n";
  s += "trace:\n" + run.cluster.Trace(FullTrace() ? SIZE_MAX : 60);
  return s;
}

TEST(MembershipSim, FaultyClustersAgreeAfterHealWithoutFalseDeathsOrLostJoinsAndLeaves) {
  size_t failed = 0;
  for (uint64_t seed : Seeds(2000)) {
    SimRun run(seed);
    run.Go();
    if (!run.violations.empty()) {
      ADD_FAILURE() << Report(seed, run);
      if (++failed >= 3) break;  // enough to start from
    } else if (FullTrace()) {
      std::printf("%s", Report(seed, run).c_str());
    }
  }
}

// The DESIGN's detection targets, on a quiet network: a crash (the transport sees it) in
// milliseconds, a hang (SIGSTOP: nothing but silence) within dead_after.
TEST(MembershipSim, ACrashIsSeenEverywhereInMillisecondsAndAHangWithinDeadAfter) {
  for (uint64_t seed : Seeds(50)) {
    SimOptions options;
    options.nodes = 5;
    SimCluster c(options, seed);
    std::vector<size_t> all = {0, 1, 2, 3, 4};
    c.At(0s, [&] { c.Start(0, {}); });
    for (size_t i = 1; i < 5; ++i) c.At(10ms * i, [&, i] { c.Start(i, all); });
    c.At(1s, [&] { c.Crash(1); });
    c.At(2s, [&] { c.Pause(2); });
    c.RunUntil(4s);
    std::map<std::string, Duration> crash_seen, hang_seen;
    for (const SimEventRecord& r : c.events()) {
      if (r.event.kind != MembershipEvent::Kind::kDown) continue;
      auto& seen = r.event.node.name == "n1" ? crash_seen : hang_seen;
      if (!seen.count(r.observer_id.name)) seen[r.observer_id.name] = r.at;
    }
    for (const char* o : {"n0", "n2", "n3", "n4"}) {
      ASSERT_TRUE(crash_seen.count(o)) << "seed=" << seed << " " << o << "\n" << c.Trace();
      // The disconnect (after the longest delay, 5 ms, + 1 ms) and one probe round trip (2 x 5
      // ms): the simulator's delays are far above loopback's, where this is well under 1 ms.
      EXPECT_LE(crash_seen[o] - 1s, Duration(16ms)) << "seed=" << seed << " " << o;
    }
    for (const char* o : {"n0", "n3", "n4"}) {
      ASSERT_TRUE(hang_seen.count(o)) << "seed=" << seed << " " << o << "\n" << c.Trace();
      // dead_after after its last heartbeat, which was at most one gossip interval before
      EXPECT_LT(hang_seen[o] - 2s, Duration(1100ms)) << "seed=" << seed << " " << o;
    }
  }
}

TEST(MembershipSim, ASeedReplaysExactly) {
  for (uint64_t seed : {7u, 42u}) {
    SimRun a(seed), b(seed);
    a.Go();
    b.Go();
    EXPECT_EQ(a.cluster.Trace(SIZE_MAX), b.cluster.Trace(SIZE_MAX)) << "seed=" << seed;
    EXPECT_GT(a.cluster.events().size(), 0u);
  }
}

}  // namespace
}  // namespace livepoll::sim
