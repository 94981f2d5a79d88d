// The Registry inside real core::ClusterStates (Membership, Presence, Registry), on a hand-driven
// clock and a tiny in-process network that delivers at once, in order, except what a test drops,
// holds (a paused node) or cuts (a partition, a crash). No thread, no socket.
#include "core/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <memory>

#include "core/cluster_state.h"
#include "core/placement.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;
using K = RegistryEvent::Kind;

struct Wire {
  size_t from;
  size_t to;
  PeerMessage m;
};

template <typename T>
const T* As(const Wire& w) {
  const auto* r = std::get_if<RegistryMessage>(&w.m);
  return r ? std::get_if<T>(r) : nullptr;
}

// What the test saw one node do.
struct Seen {
  Time at;
  RegistryEvent event;
};
struct Proposed {
  Time at;
  size_t by;
  RegistryPropose p;
};

class RegistryTest : public ::testing::Test {
 protected:
  struct Peer {
    std::unique_ptr<ClusterState> node;
    bool crashed = false;
    bool paused = false;
    std::deque<Wire> inbox;                   // held while paused
    std::map<std::string, uint64_t> pollers;  // the runtime: topic -> epoch
    std::vector<PollerStart> starts;
    std::vector<PollerStop> stops;
    std::vector<Seen> events;
    std::set<std::string> owners_changed;
    std::map<std::string, Time> down_at;  // first seen down, by name
  };

  static RegistryOptions Defaults() {
    RegistryOptions o;
    o.linger = 1s;
    o.takeover_timeout = 300ms;
    o.propose_timeout = 600ms;
    o.propose_retry = 100ms;
    o.sweep_interval = 250ms;
    o.reap_margin = 500ms;
    o.claims.gossip_interval = 100ms;
    o.claims.permdown = 30s;
    o.claims.transfer_retry = 300ms;
    return o;
  }
  static ClusterOptions Options(const RegistryOptions& r, size_t i) {
    ClusterOptions o;
    o.membership.gossip_interval = 100ms;
    o.membership.suspect_after = 500ms;
    o.membership.dead_after = 1s;
    o.membership.probe_timeout = 200ms;
    o.membership.permdown = 30s;
    o.membership.join_retry = 200ms;
    o.membership.seed = 11 + i;
    o.presence.gossip_interval = 100ms;
    o.presence.permdown = 30s;
    o.presence.transfer_retry = 300ms;
    o.registry = r;
    o.registry.seed = 3 + i;
    return o;
  }
  static std::string Name(size_t i) {
    std::string name = "n";  // not "n" + to_string(): GCC 12 -O3 warns (-Wrestrict) on that
    return name += std::to_string(i);
  }
  static MemberClaim Self(size_t i, uint64_t incarnation) {
    MemberClaim c;
    c.id.name = Name(i);
    c.id.incarnation = incarnation;
    c.gossip_endpoint = c.id.name + ":gossip";
    c.rpc_endpoint = c.id.name + ":rpc";
    return c;
  }

  // Starts `n` nodes (n0 first, the others joining through it) and runs until they agree.
  void Form(size_t n, RegistryOptions options = Defaults()) {
    for (size_t i = 0; i < n; ++i) {
      peers_.push_back(Peer{});
      peers_.back().node = std::make_unique<ClusterState>(Self(i, 1), Options(options, i));
    }
    for (size_t i = 0; i < n; ++i) {
      ClusterOutputs out;
      N(i).Start(now_, i == 0 ? std::vector<std::string>{} : std::vector<std::string>{"n0:rpc"},
                 out);
      Apply(i, out);
    }
    Run(1s);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(N(i).membership().Alive().size(), n) << Name(i);
  }

  // Makes `n` nodes without starting them: each is down (crashed: its messages dropped, never
  // ticked) until StartAt.
  void MakeUnstarted(size_t n, RegistryOptions options) {
    for (size_t i = 0; i < n; ++i) {
      peers_.push_back(Peer{});
      peers_.back().node = std::make_unique<ClusterState>(Self(i, 1), Options(options, i));
      peers_.back().crashed = true;
    }
  }
  void StartAt(size_t i, const std::vector<size_t>& seeds) {
    peers_[i].crashed = false;
    std::vector<std::string> endpoints;
    for (size_t s : seeds) endpoints.push_back(Name(s) + ":rpc");
    ClusterOutputs out;
    N(i).Start(now_, endpoints, out);
    Apply(i, out);
  }

  ClusterState& N(size_t i) { return *peers_[i].node; }
  const Registry& R(size_t i) { return peers_[i].node->registry(); }
  NodeId Id(size_t i) { return peers_[i].node->self(); }
  size_t IndexOf(const std::string& name) const {
    for (size_t i = 0; i < peers_.size(); ++i)
      if (Name(i) == name) return i;
    return SIZE_MAX;
  }

  void Apply(size_t i, ClusterOutputs& out) {
    Peer& p = peers_[i];
    for (const PeerMessage& m : out.broadcasts)
      for (size_t j = 0; j < peers_.size(); ++j)
        if (j != i) Post({i, j, m});
    for (auto& [endpoint, m] : out.sends) {
      size_t j = IndexOf(endpoint.substr(0, endpoint.find(':')));
      if (j == SIZE_MAX) continue;
      if (const auto* r = std::get_if<RegistryMessage>(&m))
        if (const auto* pr = std::get_if<RegistryPropose>(r)) proposed_.push_back({now_, i, *pr});
      Post({i, j, std::move(m)});
    }
    for (const PollerStop& s : out.stop) {  // stops first (registry.h)
      p.pollers.erase(s.topic);
      p.stops.push_back(s);
    }
    for (const PollerStart& s : out.start) {
      p.pollers[s.topic] = s.epoch;
      p.starts.push_back(s);
    }
    for (const MembershipEvent& e : out.member_events)
      if (e.kind == MembershipEvent::Kind::kDown && !p.down_at.count(e.node.name))
        p.down_at[e.node.name] = now_;
    if (!out.start.empty() || !out.stop.empty()) p.node->SetRunning(p.pollers);
    for (const RegistryEvent& e : out.registry_events) p.events.push_back({now_, e});
    p.owners_changed.insert(out.owners_changed.begin(), out.owners_changed.end());
    out = {};
  }
  bool Cut(size_t a, size_t b) const { return !groups_.empty() && groups_[a] != groups_[b]; }
  void Post(Wire w) {
    if (holding_ && Cut(w.from, w.to) && !peers_[w.from].crashed && !peers_[w.to].crashed) {
      held_.push_back(std::move(w));  // TCP keeps it for after the heal
      return;
    }
    if (peers_[w.from].crashed || peers_[w.to].crashed || Cut(w.from, w.to)) return;
    if (drop_ && drop_(w)) return;
    pending_.push_back(std::move(w));
  }
  void Deliver(Wire w) {
    Peer& p = peers_[w.to];
    if (p.crashed || Cut(w.from, w.to)) return;
    if (p.paused) {
      p.inbox.push_back(std::move(w));
      return;
    }
    ClusterOutputs out;
    std::visit(
        [&](const auto& m) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(m)>, DataMessage>)
            p.node->OnMessage(now_, m, out);
        },
        w.m);
    Apply(w.to, out);
  }
  void Flush() {
    while (!pending_.empty()) {
      Wire w = std::move(pending_.front());
      pending_.pop_front();
      Deliver(std::move(w));
    }
  }
  void Tick(size_t i) {
    ClusterOutputs out;
    N(i).Tick(now_, out);
    Apply(i, out);
  }
  // Advances the clock by `d`, ticking every live node at its deadlines, delivering everything
  // after each step.
  void Run(Duration d) {
    const Time to = now_ + d;
    Flush();
    for (int same = 0;;) {
      Time next = Time::max();
      for (size_t i = 0; i < peers_.size(); ++i)
        if (!peers_[i].crashed && !peers_[i].paused) next = std::min(next, N(i).NextDeadline());
      if (next > to) break;
      same = next <= now_ ? same + 1 : 0;
      if (same > 100) {
        ADD_FAILURE() << "NextDeadline stays due after Tick";
        break;
      }
      now_ = std::max(now_, next);
      for (size_t i = 0; i < peers_.size(); ++i)
        if (!peers_[i].crashed && !peers_[i].paused && N(i).NextDeadline() <= now_) Tick(i);
      Flush();
    }
    now_ = to;
  }

  void Subscribe(size_t i, const std::string& topic, uint64_t subscriber = 1) {
    ClusterOutputs out;
    N(i).Subscribed(now_, topic, subscriber, out);
    Apply(i, out);
  }
  void Unsubscribe(size_t i, const std::string& topic, uint64_t subscriber = 1) {
    ClusterOutputs out;
    N(i).Unsubscribed(now_, topic, subscriber, out);
    Apply(i, out);
  }
  // A kill -9: its peers' transports see the disconnect at once.
  void Crash(size_t i) {
    peers_[i].crashed = true;
    peers_[i].pollers.clear();
    for (size_t j = 0; j < peers_.size(); ++j) {
      if (j == i || peers_[j].crashed) continue;
      ClusterOutputs out;
      N(j).OnDisconnect(now_, Name(i) + ":gossip", out);
      Apply(j, out);
    }
  }
  void Pause(size_t i) { peers_[i].paused = true; }
  void Resume(size_t i) {
    peers_[i].paused = false;
    Tick(i);
    std::deque<Wire> inbox;
    inbox.swap(peers_[i].inbox);
    for (Wire& w : inbox) Deliver(std::move(w));
  }
  void Partition(std::vector<int> groups) {
    groups_ = std::move(groups);
    for (size_t a = 0; a < peers_.size(); ++a)
      for (size_t b = 0; b < peers_.size(); ++b) {
        if (a == b || !Cut(a, b) || peers_[a].crashed) continue;
        ClusterOutputs out;
        N(a).OnDisconnect(now_, Name(b) + ":gossip", out);
        Apply(a, out);
      }
  }
  void Heal() {
    groups_.clear();
    holding_ = false;
    // A holding partition's backlog arrives first, in order, as TCP delivers it.
    for (Wire& w : held_) pending_.push_back(std::move(w));
    held_.clear();
  }
  // A real partition (issue 13): the connections stay, nobody is told of a disconnect, and what
  // crosses it is held and delivered at the heal.
  void HoldingPartition(std::vector<int> groups) {
    groups_ = std::move(groups);
    holding_ = true;
  }

  // A topic whose rendezvous order over `names` begins with `first` (and then `second`).
  static std::string TopicFirstOn(const std::vector<std::string>& names, const std::string& first,
                                  const std::string& second = "") {
    for (int k = 0;; ++k) {
      std::string topic = "t";
      topic += std::to_string(k);
      std::vector<std::string> order = RendezvousOrder(topic, names);
      if (order[0] == first && (second.empty() || order[1] == second)) return topic;
    }
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> v;
    for (size_t i = 0; i < peers_.size(); ++i) v.push_back(Name(i));
    return v;
  }
  // Nodes running a poller for `topic`.
  std::vector<size_t> Polling(const std::string& topic) const {
    std::vector<size_t> v;
    for (size_t i = 0; i < peers_.size(); ++i)
      if (!peers_[i].crashed && peers_[i].pollers.count(topic)) v.push_back(i);
    return v;
  }
  // Every live node sees exactly one visible claim of `topic`, by `owner` at `epoch`, as Owner().
  void ExpectOwner(const std::string& topic, size_t owner, uint64_t epoch) {
    for (size_t i = 0; i < peers_.size(); ++i) {
      if (peers_[i].crashed) continue;
      std::optional<Claim> o = R(i).Owner(topic);
      ASSERT_TRUE(o) << Name(i) << " sees no owner of " << topic;
      EXPECT_EQ(o->owner, Id(owner)) << Name(i);
      EXPECT_EQ(o->epoch, epoch) << Name(i);
      size_t visible = 0;
      for (const Claim& c : R(i).Claims(topic)) visible += c.visible;
      EXPECT_EQ(visible, 1u) << Name(i);
    }
    EXPECT_EQ(Polling(topic), std::vector<size_t>{owner});
    EXPECT_EQ(peers_[owner].pollers[topic], epoch);
  }
  size_t CountEvents(size_t i, K kind, const std::string& topic, const std::string& detail = "") {
    size_t n = 0;
    for (const Seen& s : peers_[i].events)
      n += s.event.kind == kind && s.event.topic == topic &&
           (detail.empty() || s.event.detail.find(detail) != std::string::npos);
    return n;
  }
  size_t CountEverywhere(K kind, const std::string& topic, const std::string& detail = "") {
    size_t n = 0;
    for (size_t i = 0; i < peers_.size(); ++i) n += CountEvents(i, kind, topic, detail);
    return n;
  }
  std::vector<size_t> Proposers(const std::string& topic, Time since) const {
    std::set<size_t> by;
    for (const Proposed& p : proposed_)
      if (p.p.topic == topic && p.at >= since) by.insert(p.by);
    return {by.begin(), by.end()};
  }

  std::vector<Peer> peers_;
  std::deque<Wire> pending_;
  std::vector<int> groups_;
  bool holding_ = false;
  std::deque<Wire> held_;
  std::function<bool(const Wire&)> drop_;
  std::vector<Proposed> proposed_;
  Time now_ = Time(100s);
};

// ---- registration ----

TEST_F(RegistryTest, ASubscriberMakesTheRendezvousFirstNodeRegisterAndPollOnce) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n2");
  Subscribe(0, topic);
  Flush();
  ExpectOwner(topic, 2, 1);
  EXPECT_EQ(CountEverywhere(K::kRegistered, topic), 1u);
  EXPECT_EQ(Proposers(topic, Time{}), std::vector<size_t>{2});
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(peers_[i].owners_changed.count(topic)) << Name(i);
  Run(5s);  // and it stays so
  ExpectOwner(topic, 2, 1);
  EXPECT_EQ(R(2).OwnClaims(), (std::map<std::string, uint64_t>{{topic, 1}}));
}

TEST_F(RegistryTest, LocalPlacementRegistersWhereTheFirstSubscriberIs) {
  RegistryOptions o = Defaults();
  o.placement = Placement::kLocal;
  Form(3, o);
  const std::string topic = TopicFirstOn(Names(), "n2");  // hashed would pick n2
  Subscribe(1, topic);
  Flush();
  ExpectOwner(topic, 1, 1);
}

TEST_F(RegistryTest, ConcurrentProposalsForOneTopicCommitExactlyOnceWhateverTheOrder) {
  for (bool reversed : {false, true}) {
    SCOPED_TRACE(reversed ? "reversed" : "in order");
    peers_.clear();
    pending_.clear();
    RegistryOptions o = Defaults();
    o.placement = Placement::kLocal;  // each sees only its own subscriber: both propose
    Form(3, o);
    const Time since = now_;
    Subscribe(2, "t");
    Subscribe(1, "t");
    EXPECT_EQ(Proposers("t", since), (std::vector<size_t>{1, 2}));
    if (reversed) std::reverse(pending_.begin(), pending_.end());
    Flush();
    Run(2s);
    ExpectOwner("t", 1, 1);  // equal epochs: the lower name wins
    EXPECT_EQ(CountEverywhere(K::kRegistered, "t"), 1u);
  }
}

TEST_F(RegistryTest, AVoterThatKnowsALiveOwnerDeniesNamingIt) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1");
  Subscribe(0, topic);
  Flush();
  ExpectOwner(topic, 1, 1);
  ClusterOutputs out;
  N(0).OnMessage(now_, RegistryMessage(RegistryPropose{Id(2), 77, topic, 9}), out);
  ASSERT_EQ(out.sends.size(), 1u);
  EXPECT_EQ(out.sends[0].first, "n2:rpc");
  const auto& vote = std::get<RegistryVote>(std::get<RegistryMessage>(out.sends[0].second));
  EXPECT_FALSE(vote.granted);
  EXPECT_EQ(vote.proposal_id, 77u);
  EXPECT_EQ(vote.owner, Id(1));
  EXPECT_EQ(vote.owner_epoch, 1u);
}

TEST_F(RegistryTest, AProposerDeniedForALiveOwnerStaysOut) {
  // n2 never hears n1's claims, so it believes the topic ownerless and proposes; the others
  // name n1, and n2 neither registers nor polls.
  RegistryOptions o = Defaults();
  o.placement = Placement::kLocal;
  Form(3, o);
  drop_ = [](const Wire& w) { return w.to == 2 && As<ClaimsMessage>(w) != nullptr; };
  Subscribe(1, "t");
  Flush();
  Subscribe(2, "t", 2);
  Run(1s);
  EXPECT_GE(CountEvents(2, K::kDenied, "t", "owner n1#1"), 1u);
  EXPECT_TRUE(R(2).OwnClaims().empty());
  EXPECT_EQ(Polling("t"), std::vector<size_t>{1});
  for (size_t i : {0, 1}) EXPECT_EQ(R(i).Owner("t")->owner, Id(1));
}

TEST_F(RegistryTest, AProposalBelowAnEpochSeenIsDeniedAndRetriedAbove) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1");
  Subscribe(0, topic);
  Flush();
  ExpectOwner(topic, 1, 1);
  ClusterOutputs out;
  // n2 (say, just restarted and unaware) proposes an epoch an owner already had.
  Unsubscribe(0, topic);
  Run(1500ms);  // torn down
  ASSERT_FALSE(R(0).Owner(topic));
  N(0).OnMessage(now_, RegistryMessage(RegistryPropose{Id(2), 5, topic, 1}), out);
  const auto& vote = std::get<RegistryVote>(std::get<RegistryMessage>(out.sends.at(0).second));
  EXPECT_FALSE(vote.granted);
  EXPECT_TRUE(vote.owner.name.empty());
  EXPECT_EQ(vote.owner_epoch, 1u);
  // And a new registration takes the epoch above: epochs never go back, even after a teardown.
  Subscribe(0, topic);
  Flush();
  ExpectOwner(topic, 1, 2);
}

// Issue 12: an epoch notice (an r.vote) with owner_epoch 2^64-1 under a live member's name made
// the topic's next epoch wrap to 0, and the topic could never be registered again.
TEST_F(RegistryTest, AVoteWithAnEpochNearTwoToTheSixtyFourDoesNotWrapTheNextEpoch) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1");
  for (size_t i = 0; i < 3; ++i) {
    ClusterOutputs out;
    N(i).OnMessage(now_,
                   RegistryMessage(RegistryVote{Id(2), 0, topic, false, Id(2),
                                                std::numeric_limits<uint64_t>::max()}),
                   out);
    Apply(i, out);
  }
  Subscribe(0, topic);
  Flush();
  Run(1s);
  ExpectOwner(topic, 1, 1);
}

TEST_F(RegistryTest, ALostVoteIsAskedForAgainAfterProposeRetryAndOnlyFromTheSilentVoter) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n0");
  bool dropped = false;
  drop_ = [&](const Wire& w) {
    if (dropped || w.from != 2 || !As<RegistryVote>(w)) return false;
    return dropped = true;
  };
  const Time t0 = now_;
  Subscribe(1, topic);
  Flush();
  ASSERT_TRUE(dropped);
  EXPECT_TRUE(R(0).OwnClaims().empty());  // still waiting for n2
  Run(99ms);
  EXPECT_TRUE(R(0).OwnClaims().empty());
  Run(2ms);
  ExpectOwner(topic, 0, 1);
  std::vector<Proposed> resent;
  for (const Proposed& p : proposed_)
    if (p.at > t0) resent.push_back(p);
  ASSERT_EQ(resent.size(), 1u);  // only to the voter that did not answer
  EXPECT_EQ(IndexOf(std::string("n2")), 2u);
  EXPECT_EQ(resent[0].p.epoch, 1u);
  EXPECT_EQ(resent[0].at, t0 + 100ms);
}

// ---- failover ----

TEST_F(RegistryTest, AfterAnOwnerCrashesOnlyItsRendezvousSuccessorRegisters) {
  Form(4);
  const std::string topic = TopicFirstOn(Names(), "n1", "n3");
  Subscribe(0, topic);
  Flush();
  ExpectOwner(topic, 1, 1);
  Run(100ms);
  const Time crash = now_;
  Crash(1);
  Run(1s);
  ExpectOwner(topic, 3, 2);
  EXPECT_EQ(Proposers(topic, crash), std::vector<size_t>{3});
  EXPECT_EQ(CountEverywhere(K::kTakeover, topic, "n1#1"), 1u);
  for (size_t i : {0, 2, 3}) {
    std::vector<Claim> claims = R(i).Claims(topic);
    EXPECT_EQ(claims.size(), 2u) << Name(i);  // n1's, hidden, until permdown or reaped
  }
}

TEST_F(RegistryTest, AVoterNamingAnOwnerTheProposerKnowsDownIsAskedAgainSoon) {
  // Found by the simulator: the successor sees the crash a few ms before another survivor, whose
  // denial ("n1 owns it") is stale; giving up for propose_retry delayed the takeover.
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1", "n2");
  Subscribe(0, topic);
  Flush();
  Run(100ms);
  bool dropped = false;
  drop_ = [&](const Wire& w) {  // n0's real answer is lost; a stale denial stands in for it
    if (dropped || w.from != 0 || w.to != 2 || !As<RegistryVote>(w)) return false;
    return dropped = true;
  };
  Crash(1);
  Flush();
  ASSERT_TRUE(dropped);
  ASSERT_FALSE(proposed_.empty());
  const RegistryPropose p = proposed_.back().p;
  ASSERT_EQ(proposed_.back().by, 2u);
  ClusterOutputs out;
  N(2).OnMessage(now_, RegistryMessage(RegistryVote{Id(0), p.proposal_id, topic, false, Id(1), 1}),
                 out);
  Apply(2, out);
  EXPECT_EQ(CountEvents(2, K::kDenied, topic), 0u);
  Run(9ms);
  EXPECT_TRUE(R(2).OwnClaims().empty());
  Run(2ms);  // asked again after propose_retry / 10, granted
  ExpectOwner(topic, 2, 2);
}

TEST_F(RegistryTest, ASilentSuccessorIsReplacedByTheNextRankAfterTakeoverTimeout) {
  Form(4);
  const std::vector<std::string> names = Names();
  const std::string topic = TopicFirstOn(names, "n1", "n3");
  // The rank after n3 once n1 is gone.
  const std::string next = RendezvousOrder(topic, {"n0", "n2"}).front();
  const size_t third = IndexOf(next);
  Subscribe(0, topic);
  Flush();
  ExpectOwner(topic, 1, 1);
  Run(100ms);
  Pause(3);  // the successor hangs
  const Time crash = now_;
  Crash(1);
  Run(1s);
  // n1's death takes a probe_timeout to rule on (paused n3 does not answer the probe); from
  // then on the topic is ownerless, and the next rank waits takeover_timeout for n3.
  ASSERT_TRUE(peers_[third].down_at.count("n1"));
  const Time ownerless = peers_[third].down_at["n1"];
  std::optional<Time> first;
  for (const Proposed& p : proposed_)
    if (p.p.topic == topic && p.at > crash && !first) {
      first = p.at;
      EXPECT_EQ(p.by, third);
    }
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, ownerless + 300ms);
  // It waits for n3's vote until Membership declares n3 down (dead_after), then commits.
  Run(1500ms);
  EXPECT_TRUE(R(third).OwnClaims().count(topic));
  EXPECT_EQ(Polling(topic), std::vector<size_t>{third});
  EXPECT_EQ(CountEverywhere(K::kRegistered, topic), 2u);  // n1's, then the takeover
}

TEST_F(RegistryTest, AGracefulLeaveHandsTheTopicOverAtOnce) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1", "n2");
  Subscribe(0, topic);
  Flush();
  ClusterOutputs out;
  N(1).Leave(now_, out);
  Apply(1, out);
  Flush();
  peers_[1].crashed = true;
  ExpectOwner(topic, 2, 2);  // no time passed: the leave notice was enough
}

// ---- teardown ----

TEST_F(RegistryTest, TheOwnerTearsDownAfterLingerAndNotBefore) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n2");
  Subscribe(0, topic);
  Flush();
  Unsubscribe(0, topic);
  Run(999ms);
  ExpectOwner(topic, 2, 1);
  Run(2ms);
  EXPECT_TRUE(Polling(topic).empty());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(R(i).Owner(topic)) << Name(i);
    EXPECT_TRUE(R(i).Claims(topic).empty()) << Name(i);
  }
  ASSERT_EQ(peers_[2].stops.size(), 1u);
  EXPECT_EQ(peers_[2].stops[0].reason, "teardown");
  EXPECT_EQ(CountEverywhere(K::kReapedIdle, topic) + CountEverywhere(K::kReapedOrphan, topic) +
                CountEverywhere(K::kReapedDeadOwner, topic),
            0u);
}

TEST_F(RegistryTest, ASubscriberBackWithinLingerKeepsThePoller) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n2");
  Subscribe(0, topic);
  Flush();
  Unsubscribe(0, topic);
  Run(800ms);
  Subscribe(1, topic, 5);
  Run(3s);
  ExpectOwner(topic, 2, 1);
  EXPECT_TRUE(peers_[2].stops.empty());
}

// ---- clashes ----

class RegistryClashTest : public RegistryTest {
 protected:
  // n0,n1 | n2,n3 with subscribers on both sides: each side ends with its own owner. Returns the
  // topic; `a` (side 0) and `b` (side 1) its owners.
  std::string SplitBrain(ClashPolicy policy, size_t& a, size_t& b) {
    RegistryOptions o = Defaults();
    o.clash_policy = policy;
    Form(4, o);
    const std::string topic = TopicFirstOn(Names(), "n1", "n3");
    Subscribe(0, topic);
    Subscribe(2, topic, 2);
    Flush();
    Partition({0, 0, 1, 1});
    Run(2s);
    a = 1;
    b = 3;  // n3 took over on its side, above n1's epoch
    EXPECT_EQ(R(0).Owner(topic)->owner, Id(1));
    EXPECT_EQ(R(2).Owner(topic)->owner, Id(3));
    EXPECT_EQ(R(2).Owner(topic)->epoch, 2u);
    EXPECT_EQ(Polling(topic), (std::vector<size_t>{1, 3}));
    return topic;
  }
};

TEST_F(RegistryClashTest, OldestKeepsTheLowestEpochAndItReEpochsAboveBoth) {
  size_t a, b;
  const std::string topic = SplitBrain(ClashPolicy::kOldest, a, b);
  Heal();
  Run(1500ms);
  ExpectOwner(topic, a, 3);  // (1, n1) < (2, n3), then above 2
  EXPECT_GE(CountEverywhere(K::kClash, topic), 1u);
  EXPECT_EQ(CountEvents(b, K::kReleased, topic, "clash"), 1u);
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(R(i).Clashes().empty()) << Name(i);
}

// Found by the simulator (data_plane_sim_test.cpp, seeds 44, 802): both sides of a partition
// registered a topic nobody owned at the same epoch, and the clash's winner kept it, so one epoch
// named two owners' streams. The relay fences another owner at the epoch it delivered (relay.h):
// the subscribers that followed the loser waited for the winner's data forever.
TEST_F(RegistryClashTest, TheWinnerOfAClashAtOneEpochReEpochsAboveIt) {
  Form(4);
  const std::string topic = TopicFirstOn(Names(), "n1", "n3");
  Partition({0, 0, 1, 1});
  Run(3s);  // each side sees the other down
  Subscribe(0, topic);
  Subscribe(2, topic, 2);
  Run(2s);
  ASSERT_TRUE(R(0).Owner(topic) && R(2).Owner(topic));
  EXPECT_EQ(R(0).Owner(topic)->owner, Id(1));
  EXPECT_EQ(R(2).Owner(topic)->owner, Id(3));
  EXPECT_EQ(R(0).Owner(topic)->epoch, 1u);
  EXPECT_EQ(R(2).Owner(topic)->epoch, 1u);
  Heal();
  Run(1500ms);
  ExpectOwner(topic, 1, 2);  // (1, n1) < (1, n3), then above the epoch n3 had too
  EXPECT_EQ(CountEvents(3, K::kReleased, topic, "clash"), 1u);
}

// Issue 13: after a real partition (frames held, then delivered in a burst) both owners were,
// each in its own view, the sole visible claimant while the other's claims waited for their
// transfer; each heard of the other's epoch, re-epoched above it, and so on, hundreds of times. A
// re-epoch now waits until the rival is held in step: the clash is seen, the loser releases, and
// the winner re-epochs once.
TEST_F(RegistryClashTest, AHealOfHeldFramesCostsOneNewEpoch) {
  Form(4);
  const std::string topic = TopicFirstOn(Names(), "n1", "n3");
  Subscribe(0, topic);
  Subscribe(2, topic, 2);
  Run(500ms);
  ExpectOwner(topic, 1, 1);
  HoldingPartition({0, 0, 1, 1});
  Run(3s);  // n3 takes the topic over on its side, at epoch 2
  ASSERT_EQ(R(2).Owner(topic)->owner, Id(3));
  const size_t before = CountEverywhere(K::kRegistered, topic);
  Heal();
  Run(3s);
  ExpectOwner(topic, 1, 3);  // (1, n1) < (2, n3), then one epoch above both
  EXPECT_EQ(CountEverywhere(K::kRegistered, topic) - before, 1u);
  EXPECT_EQ(CountEvents(3, K::kReleased, topic, "clash"), 1u);
}

TEST_F(RegistryClashTest, HashedKeepsTheRendezvousFirstClaimant) {
  size_t a, b;
  const std::string topic = SplitBrain(ClashPolicy::kHashed, a, b);
  Heal();
  Run(1500ms);
  // Rendezvous puts n1 before n3 for this topic; n1's epoch 1 is below n3's 2: a re-epoch.
  ExpectOwner(topic, a, 3);
  EXPECT_EQ(CountEvents(b, K::kReleased, topic, "clash"), 1u);
}

TEST_F(RegistryClashTest, HashedKeepsTheRendezvousFirstEvenWithTheHigherEpoch) {
  // The same split, but the side whose owner rendezvous prefers is the one that took over.
  RegistryOptions o = Defaults();
  o.clash_policy = ClashPolicy::kHashed;
  Form(4, o);
  const std::string topic = TopicFirstOn(Names(), "n3", "n1");
  Subscribe(0, topic);
  Subscribe(2, topic, 2);
  Flush();
  ExpectOwner(topic, 3, 1);
  Partition({0, 0, 1, 1});
  Run(2s);
  ASSERT_EQ(R(0).Owner(topic)->owner, Id(1));
  ASSERT_EQ(R(0).Owner(topic)->epoch, 2u);
  Heal();
  Run(1500ms);
  ExpectOwner(topic, 3, 3);  // oldest would have kept n3 too; the epoch still goes above 2
  EXPECT_EQ(CountEvents(1, K::kReleased, topic, "clash"), 1u);
}

TEST_F(RegistryClashTest, ManualKeepsBothUntilResolve) {
  size_t a, b;
  const std::string topic = SplitBrain(ClashPolicy::kManual, a, b);
  Heal();
  Run(5s);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(R(i).Clashes(), std::vector<std::string>{topic}) << Name(i);
    EXPECT_EQ(R(i).Owner(topic)->owner, Id(a)) << Name(i);  // shown as `oldest` would choose
  }
  EXPECT_EQ(Polling(topic), (std::vector<size_t>{1, 3}));
  {
    ClusterOutputs out;
    EXPECT_EQ(N(1).Resolve(now_, topic, "n2", ClashPolicy::kOldest, out).code(),
              Status::Code::kInvalidArgument);  // n2 claims nothing
    EXPECT_EQ(N(1).Resolve(now_, topic, std::nullopt, ClashPolicy::kManual, out).code(),
              Status::Code::kInvalidArgument);  // manual chooses nobody
    EXPECT_TRUE(out.stop.empty());
  }
  // `livepoll resolve --keep n3` fans out to every node; each loser releases its own claim.
  for (size_t i = 0; i < 4; ++i) {
    ClusterOutputs out;
    EXPECT_TRUE(N(i).Resolve(now_, topic, "n3", ClashPolicy::kOldest, out).ok()) << Name(i);
    Apply(i, out);
  }
  Run(500ms);
  ExpectOwner(topic, b, 2);  // already above every epoch seen: no re-epoch
  EXPECT_EQ(CountEvents(a, K::kReleased, topic, "resolve"), 1u);
  ClusterOutputs out;
  EXPECT_EQ(N(0).Resolve(now_, topic, std::nullopt, ClashPolicy::kOldest, out).code(),
            Status::Code::kNotFound);
}

TEST_F(RegistryTest, ResolveWithoutAClashIsNotFound) {
  Form(1);
  ClusterOutputs out;
  EXPECT_EQ(N(0).Resolve(now_, "t", std::nullopt, ClashPolicy::kOldest, out).code(),
            Status::Code::kNotFound);
}

// ---- partition = majority ----

TEST_F(RegistryTest, MajorityModeReleasesOnAMinorityAndRefusesToRegisterThere) {
  RegistryOptions o = Defaults();
  o.partition = PartitionMode::kMajority;
  Form(5, o);
  const std::string topic = TopicFirstOn(Names(), "n0");
  Subscribe(1, topic);
  Subscribe(3, topic, 2);
  Flush();
  ExpectOwner(topic, 0, 1);
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(R(i).has_majority());
  Partition({0, 0, 1, 1, 1});
  Run(2s);
  EXPECT_FALSE(R(0).has_majority());
  EXPECT_TRUE(R(2).has_majority());
  ASSERT_EQ(peers_[0].stops.size(), 1u);
  EXPECT_EQ(peers_[0].stops[0].reason, "majority-lost");
  EXPECT_TRUE(peers_[0].stops[0].stale);
  EXPECT_TRUE(R(0).OwnClaims().empty());
  // The majority side took over; the minority registers nothing, even for a new topic.
  EXPECT_EQ(Polling(topic).size(), 1u);
  EXPECT_GE(Polling(topic)[0], 2u);
  const Time since = now_;
  Subscribe(1, "fresh");
  Run(2s);
  EXPECT_TRUE(Proposers("fresh", since).empty());
  EXPECT_TRUE(Polling("fresh").empty());
  // Healed: one owner for each, the minority's subscribers served again.
  Heal();
  Run(2s);
  EXPECT_EQ(Polling(topic).size(), 1u);
  EXPECT_EQ(Polling("fresh").size(), 1u);
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(R(i).has_majority());
}

// ---- cold start: nodes started together, naming each other as seeds ----

TEST_F(RegistryTest, MajorityModeCountsSeedsNotMetSoALoneNodeDoesNotOwnAtColdStart) {
  RegistryOptions o = Defaults();
  o.partition = PartitionMode::kMajority;
  MakeUnstarted(3, o);
  StartAt(0, {1, 2});
  Run(1s);
  EXPECT_EQ(N(0).membership().Alive().size(), 1u);
  EXPECT_FALSE(R(0).has_majority());
  EXPECT_EQ(R(0).WhyNotOwning(),
            "partition = majority and this node sees 1 of 3 members up (2 seeds have not "
            "answered)");
  Subscribe(0, "t");
  Run(1s);
  EXPECT_TRUE(Polling("t").empty());  // alone, it must not take itself for a majority
  StartAt(1, {0, 2});                 // n2 never comes up: 2 of 3 is a majority
  Run(1s);
  EXPECT_TRUE(R(0).has_majority());
  EXPECT_EQ(R(0).WhyNotOwning(), "");
  EXPECT_EQ(Polling("t").size(), 1u);
}

TEST_F(RegistryTest, AvailableModeServesAloneAtColdStartAndOneOwnerRemainsAfterTheMerge) {
  MakeUnstarted(3, Defaults());
  for (size_t i = 0; i < 3; ++i) {
    std::vector<size_t> others;
    for (size_t j = 0; j < 3; ++j)
      if (j != i) others.push_back(j);
    StartAt(i, others);
    Subscribe(i, "t", 10 + i);  // a subscriber on each before any message is delivered
  }
  // Each registered alone, at once (a cluster of one serves its own clients).
  EXPECT_EQ(Polling("t").size(), 3u);
  Run(2s);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(N(i).membership().Alive().size(), 3u) << Name(i);
  ASSERT_EQ(Polling("t").size(), 1u);
  const size_t owner = Polling("t")[0];
  for (size_t i = 0; i < 3; ++i) {
    std::optional<Claim> o = R(i).Owner("t");
    ASSERT_TRUE(o) << Name(i);
    EXPECT_EQ(o->owner, Id(owner)) << Name(i);
  }
}

// ---- self-reaping ----

TEST_F(RegistryTest, ARunningPollerNoClaimNamesIsReapedAsAnOrphan) {
  Form(2);
  const std::string topic = TopicFirstOn(Names(), "n0");
  Subscribe(0, topic);
  Flush();
  peers_[1].pollers["ghost"] = 4;  // e.g. left over by a slow stop
  peers_[0].pollers[topic] = 7;    // the right topic at a wrong epoch
  N(1).SetRunning(peers_[1].pollers);
  N(0).SetRunning(peers_[0].pollers);
  Run(300ms);  // one sweep
  EXPECT_EQ(CountEvents(1, K::kReapedOrphan, "ghost", "orphan"), 1u);
  EXPECT_FALSE(peers_[1].pollers.count("ghost"));
  EXPECT_EQ(CountEvents(0, K::kReapedOrphan, topic, "orphan"), 1u);
  EXPECT_EQ(peers_[0].pollers[topic], 1u);  // restarted at the claim's epoch
  ExpectOwner(topic, 0, 1);
}

TEST_F(RegistryTest, AClaimIdleForLingerPlusMarginIsReapedAsIdle) {
  // The event loop stalled through the teardown: when it runs again the poller is an idle zombie.
  Form(1);
  Subscribe(0, "t");
  ASSERT_EQ(peers_[0].pollers["t"], 1u);
  Unsubscribe(0, "t");
  now_ += 1s + 500ms + 250ms;
  Tick(0);
  EXPECT_EQ(CountEvents(0, K::kReapedIdle, "t", "idle"), 1u);
  EXPECT_TRUE(peers_[0].pollers.empty());
  EXPECT_TRUE(R(0).OwnClaims().empty());
}

TEST_F(RegistryTest, ADeadOwnersClaimNobodyTakesOverIsReaped) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1");
  Subscribe(0, topic);
  Flush();
  ExpectOwner(topic, 1, 1);
  Unsubscribe(0, topic);
  Crash(1);
  Run(1s + 400ms);
  for (size_t i : {0, 2}) {
    ASSERT_EQ(R(i).Claims(topic).size(), 1u) << Name(i);  // hidden: owner down
    EXPECT_FALSE(R(i).Claims(topic)[0].visible);
  }
  Run(500ms);
  for (size_t i : {0, 2}) {
    EXPECT_EQ(CountEvents(i, K::kReapedDeadOwner, topic, "dead-owner"), 1u) << Name(i);
    EXPECT_TRUE(R(i).Claims(topic).empty()) << Name(i);
    EXPECT_FALSE(R(i).Topics().count(topic));
  }
}

// ---- the composition (ClusterState) ----

TEST_F(RegistryTest, ClaimsFromANodeThatIsNotAnUpMemberAreDropped) {
  Form(2);
  ClusterOutputs out;
  ClaimDelta d{NodeId{"stranger", 1}, 0, 1, {ClaimEntry{"t", 3}}, {}};
  N(0).OnMessage(now_, RegistryMessage(ClaimsMessage{d}), out);
  EXPECT_TRUE(R(0).Claims("t").empty());
  // From a member, the same is taken.
  d.origin = Id(1);
  N(0).OnMessage(now_, RegistryMessage(ClaimsMessage{d}), out);
  EXPECT_EQ(R(0).Claims("t").size(), 1u);
  EXPECT_TRUE(out.owners_changed.count("t"));
}

TEST_F(RegistryTest, ADisconnectOfAGossipEndpointSuspectsTheMemberThere) {
  Form(3);
  ClusterOutputs out;
  N(0).OnDisconnect(now_, "n2:gossip", out);
  auto m = N(0).membership().Find("n2");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->claim.state, MemberState::kSuspect);
  EXPECT_EQ(N(0).membership().Find("n1")->claim.state, MemberState::kAlive);
}

TEST_F(RegistryTest, ARestartedOwnersOldClaimsGoAtOnce) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1", "n2");
  Subscribe(0, topic);
  Flush();
  ExpectOwner(topic, 1, 1);
  // n1 restarts (a new incarnation at the same endpoints) faster than anyone notices the crash.
  peers_[1].pollers.clear();
  peers_[1].node = std::make_unique<ClusterState>(Self(1, 2), Options(Defaults(), 1));
  ClusterOutputs out;
  N(1).Start(now_, {"n0:rpc"}, out);
  Apply(1, out);
  Run(1s);
  // The rendezvous first is n1 again (the name), at an epoch above the old incarnation's.
  ExpectOwner(topic, 1, 2);
}

// ---- Zombies and Reap (livepoll zombies, livepoll reap) ----

std::vector<RegistryZombie> ZombiesOf(const Registry& r, Time now, const std::string& reason) {
  std::vector<RegistryZombie> v = r.Zombies(now);
  std::erase_if(v, [&](const RegistryZombie& z) { return z.reason != reason; });
  return v;
}

TEST_F(RegistryTest, AHealthyClusterShowsNoZombie) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1");
  Subscribe(0, topic);
  Run(2s);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(R(i).Zombies(now_).empty()) << Name(i);
}

TEST_F(RegistryTest, AnOverdueTeardownIsAnIdleZombieUntilReaped) {
  Form(1);
  Subscribe(0, "t");
  Unsubscribe(0, "t");
  Tick(0);
  now_ += 1s + 250ms + 1ms;  // the loop stalled past linger + sweep_interval, before the sweep
  std::vector<RegistryZombie> idle = ZombiesOf(R(0), now_, "idle");
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0].topic, "t");
  EXPECT_EQ(idle[0].node, "n0");
  EXPECT_EQ(idle[0].age, 1251ms);
  ClusterOutputs out;
  std::vector<std::string> done = N(0).Reap(now_, "t", true, out);
  Apply(0, out);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_NE(done[0].find("released its claim at epoch 1"), std::string::npos) << done[0];
  EXPECT_TRUE(peers_[0].pollers.empty());
  EXPECT_TRUE(R(0).OwnClaims().empty());
  EXPECT_TRUE(R(0).Zombies(now_).empty());
  ClusterOutputs again;
  EXPECT_TRUE(N(0).Reap(now_, "t", true, again).empty()) << "idempotent";
}

TEST_F(RegistryTest, AnOrphanIsListedAndReapStopsIt) {
  Form(1);
  peers_[0].pollers["ghost"] = 4;
  N(0).SetRunning(peers_[0].pollers);
  std::vector<RegistryZombie> orphans = ZombiesOf(R(0), now_, "orphan");
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0].topic, "ghost");
  EXPECT_FALSE(orphans[0].age);
  ClusterOutputs out;
  std::vector<std::string> done = N(0).Reap(now_, "ghost", false, out);
  ASSERT_EQ(out.stop.size(), 1u);
  EXPECT_EQ(out.stop[0].reason, "reap");
  Apply(0, out);
  EXPECT_EQ(done.size(), 1u);
  EXPECT_TRUE(R(0).Zombies(now_).empty());
}

TEST_F(RegistryTest, ADeadOwnersClaimIsListedEverywhereAndReapDropsIt) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1");
  Subscribe(1, topic);  // the only subscriber is on the owner
  Flush();
  ExpectOwner(topic, 1, 1);
  Crash(1);
  Run(100ms);
  for (size_t i : {0, 2}) {
    std::vector<RegistryZombie> dead = ZombiesOf(R(i), now_, "dead-owner");
    ASSERT_EQ(dead.size(), 1u) << Name(i);
    EXPECT_EQ(dead[0].node, "n1");
    EXPECT_EQ(dead[0].topic, topic);
    ASSERT_TRUE(dead[0].age);
    ClusterOutputs out;
    std::vector<std::string> done = N(i).Reap(now_, topic, false, out);
    Apply(i, out);
    ASSERT_EQ(done.size(), 1u) << Name(i);
    EXPECT_NE(done[0].find("dropped the claim of down owner n1 at epoch 1"), std::string::npos);
    EXPECT_TRUE(R(i).Claims(topic).empty());
    EXPECT_TRUE(R(i).Zombies(now_).empty());
    EXPECT_EQ(CountEvents(i, K::kReapedDeadOwner, topic, "dead-owner"), 1u);
  }
}

TEST_F(RegistryTest, ATakenOverTopicIsNoDeadOwnerZombie) {
  Form(3);
  const std::string topic = TopicFirstOn(Names(), "n1", "n2");
  Subscribe(0, topic);
  Flush();
  Crash(1);
  Run(1s);
  ExpectOwner(topic, 2, 2);
  for (size_t i : {0, 2}) EXPECT_TRUE(R(i).Zombies(now_).empty()) << Name(i);
}

TEST_F(RegistryClashTest, AManualClashIsAZombieOfEachClaimantButTheOldest) {
  size_t a, b;
  const std::string topic = SplitBrain(ClashPolicy::kManual, a, b);
  Heal();
  Run(2s);
  for (size_t i = 0; i < 4; ++i) {
    std::vector<RegistryZombie> clash = ZombiesOf(R(i), now_, "clash");
    ASSERT_EQ(clash.size(), 1u) << Name(i);
    EXPECT_EQ(clash[0].node, Name(b));
    EXPECT_NE(clash[0].detail.find("claims n1@1,n3@2"), std::string::npos) << clash[0].detail;
  }
  // Reap releases nothing of a clash (that is Resolve's) and drops no visible claim.
  ClusterOutputs out;
  EXPECT_TRUE(N(b).Reap(now_, topic, false, out).empty());
}

TEST_F(RegistryTest, ForcedReapOfAHealthyOwnerReleasesItAndTheTopicIsRegisteredAfresh) {
  Form(2);
  const std::string topic = TopicFirstOn(Names(), "n0");
  Subscribe(1, topic);
  Flush();
  ExpectOwner(topic, 0, 1);
  ClusterOutputs out;
  EXPECT_EQ(N(0).Reap(now_, topic, true, out).size(), 1u);
  Apply(0, out);
  Run(1s);
  ExpectOwner(topic, 0, 2);  // the rendezvous first again, at a new epoch
}

}  // namespace
}  // namespace livepoll::core
