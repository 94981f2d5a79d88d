// Cold start of Membership alone: nodes that name each other as seeds, started at the same
// instant, on a tiny in-process network whose delivery order each test picks (every order of a
// small run, lost first requests, two halves that formed apart). The simulator checks the same
// on whole core::Nodes with delays and faults (tests/sim/membership_sim_test.cpp, ColdStart).
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <random>

#include "core/membership.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;

class ColdStartNet {
 public:
  struct InFlight {
    size_t to;
    MembershipMessage m;
  };

  explicit ColdStartNet(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      MembershipOptions o;
      o.join_retry = 1s;
      o.seed = 5 + i;
      nodes_.emplace_back(MemberClaim{{Name(i), 1}, Name(i) + ":gossip", Name(i) + ":rpc"}, o);
      subscribed_.emplace_back();
    }
  }
  static std::string Name(size_t i) {
    std::string name = "n";
    return name += std::to_string(i);
  }
  Membership& node(size_t i) { return nodes_[i]; }

  void Start(size_t i, const std::vector<size_t>& seeds) {
    std::vector<std::string> endpoints;
    for (size_t s : seeds) endpoints.push_back(Name(s) + ":rpc");
    MembershipOutputs out;
    nodes_[i].Start(now_, endpoints, out);
    Carry(i, out);
  }
  // Delivers what is in flight, `pick` choosing the next one (an index), until nothing is.
  void Drain(const std::function<size_t(size_t in_flight)>& pick) {
    for (int guard = 0; !flight_.empty() && guard < 100000; ++guard) {
      const size_t k = pick(flight_.size());
      InFlight f = std::move(flight_[k]);
      flight_.erase(flight_.begin() + static_cast<std::ptrdiff_t>(k));
      MembershipOutputs out;
      nodes_[f.to].OnMessage(now_, f.m, out);
      Carry(f.to, out);
    }
  }
  void DrainInOrder() {
    Drain([](size_t) { return 0; });
  }
  // Advances the clock by `d` in gossip-interval steps, ticking everyone and delivering in order.
  void Run(Duration d) {
    for (Time to = now_ + d; now_ < to;) {
      now_ += 50ms;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        MembershipOutputs out;
        nodes_[i].Tick(now_, out);
        Carry(i, out);
      }
      DrainInOrder();
    }
  }
  std::deque<InFlight>& in_flight() { return flight_; }
  // Every node believes every node alive.
  bool OneCluster() const {
    for (const Membership& m : nodes_)
      if (m.Alive().size() != nodes_.size()) return false;
    return true;
  }

 private:
  void Carry(size_t from, MembershipOutputs& out) {
    for (const std::string& e : out.connect) subscribed_[from].insert(e);
    for (const std::string& e : out.disconnect) subscribed_[from].erase(e);
    for (const MembershipMessage& m : out.broadcasts)
      for (size_t j = 0; j < nodes_.size(); ++j)
        if (j != from && subscribed_[j].count(Name(from) + ":gossip")) flight_.push_back({j, m});
    for (auto& [endpoint, m] : out.sends)
      for (size_t j = 0; j < nodes_.size(); ++j)
        if (Name(j) + ":rpc" == endpoint) flight_.push_back({j, m});
  }

  std::vector<Membership> nodes_;
  std::vector<std::set<std::string>> subscribed_;  // gossip endpoints each node listens to
  std::deque<InFlight> flight_;
  Time now_ = Time() + 1s;
};

// The bug of issue 13: two nodes naming each other stayed "joining" forever, each ignoring the
// other's request because it had not joined yet itself.
TEST(ColdStart, TwoNodesNamingEachOtherMergeInEveryDeliveryOrder) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    ColdStartNet net(2);
    net.Start(0, {1});
    net.Start(1, {0});
    std::mt19937_64 rng(seed);
    net.Drain([&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); });
    EXPECT_TRUE(net.OneCluster()) << "seed " << seed;  // at once: no retry needed
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(net.node(i).UnansweredSeeds(), 0u) << "seed " << seed;
      EXPECT_EQ(SeedAnswerText(net.node(i).Seeds()[0]), "joined");
    }
  }
}

TEST(ColdStart, FiveNodesStartedTogetherWithMutualSeedsFormOneCluster) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    ColdStartNet net(5);
    for (size_t i = 0; i < 5; ++i) {
      std::vector<size_t> others;
      for (size_t j = 0; j < 5; ++j)
        if (j != i) others.push_back(j);
      net.Start(i, others);
    }
    std::mt19937_64 rng(seed);
    net.Drain([&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); });
    net.Run(300ms);  // heartbeats carry each half's digest to the other
    EXPECT_TRUE(net.OneCluster()) << "seed " << seed;
  }
}

// A seed not up yet loses the request (a real DEALER queues it; a host that is down does not):
// the joiner asks again every join_retry, and whoever comes up asks too.
TEST(ColdStart, LostFirstRequestsAreAskedAgainAfterJoinRetry) {
  ColdStartNet net(2);
  net.Start(0, {1});
  net.Start(1, {0});
  net.in_flight().clear();
  EXPECT_FALSE(net.OneCluster());
  net.Run(900ms);
  EXPECT_FALSE(net.OneCluster());
  net.Run(200ms);
  EXPECT_TRUE(net.OneCluster());
}

// Two clusters that formed apart (each half's seeds were the other half's own) merge as soon as
// one node of one names one node of the other: the join reply and then heartbeats carry each
// half's members to the other, with no node waiting on another.
TEST(ColdStart, TwoHalvesThatFormedApartMerge) {
  ColdStartNet net(4);
  net.Start(0, {1});
  net.Start(1, {0});
  net.Start(2, {3});
  net.Start(3, {2, 0});
  net.in_flight().erase(
      std::remove_if(net.in_flight().begin(), net.in_flight().end(),
                     [](const ColdStartNet::InFlight& f) { return f.to == 0; }),
      net.in_flight().end());  // n3's first word to n0 lost: the halves form apart
  net.Run(200ms);
  EXPECT_EQ(net.node(0).Alive().size(), 2u);
  EXPECT_EQ(net.node(2).Alive().size(), 2u);
  net.Run(1200ms);  // n3's retry reaches n0
  EXPECT_TRUE(net.OneCluster());
}

}  // namespace
}  // namespace livepoll::core
