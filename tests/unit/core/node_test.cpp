// The composition, core::Node, driven by hand: a standalone node, and two cluster nodes over a
// tiny in-process wire that delivers every message at once (or drops what a test says). What the
// daemon and the simulator both rely on: the rules of node.h's header.
#include "core/node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/placement.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;

Catalog OneQuery() {
  Catalog c;
  c.queries["q"] = {"q", "db", {}, {}, 1s, 0.0};
  c.source_caps["db"] = 4;
  return c;
}

ResultSet Rows(int64_t v) { return ResultSet{{"v"}, {{Value(v)}}}; }

std::vector<proto::Update> UpdatesTo(const Actions& a, ClientId client) {
  std::vector<proto::Update> v;
  for (const Delivery& d : a.deliveries)
    if (std::count(d.clients.begin(), d.clients.end(), client))
      if (const auto* u = std::get_if<proto::Update>(&d.message)) v.push_back(*u);
  return v;
}

TEST(Node, StandaloneServesAClientAndCountsWhatItDid) {
  NodeOptions o;
  o.subscriptions.node = "solo";
  Node node(OneQuery(), o);
  const Time t0{1s};
  Actions a;
  ASSERT_TRUE(node.Join(t0, 1, "q", {}, a).ok());
  node.Tick(t0, a);
  ASSERT_EQ(a.polls.size(), 1u);  // the first subscriber starts the poller, which polls now
  const uint64_t poll = a.polls[0].poll_id;
  Actions b;
  node.PollDone(t0 + 5ms, poll, Rows(7), b);
  std::vector<proto::Update> got = UpdatesTo(b, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, proto::UpdateKind::kSnapshot);
  EXPECT_EQ(got[0].owner, "solo");
  EXPECT_TRUE(b.transport.empty());  // standalone: nothing for peers
  EXPECT_EQ(node.counters().joins, 1u);
  EXPECT_EQ(node.counters().polls, 1u);
  EXPECT_EQ(node.counters().poll_errors, 0u);
  EXPECT_EQ(node.cluster(), nullptr);
}

// `livepoll reap --force` of a standalone node's poller: a new epoch, and the subscribers follow
// it (before, the relay kept fencing for the old epoch and they got nothing more).
TEST(Node, StandaloneReapRestartsThePollerAndItsSubscribersFollow) {
  NodeOptions o;
  o.subscriptions.node = "solo";
  Node node(OneQuery(), o);
  const Time t0{1s};
  Actions a;
  ASSERT_TRUE(node.Join(t0, 1, "q", {}, a).ok());
  node.Tick(t0, a);
  ASSERT_EQ(a.polls.size(), 1u);
  node.PollDone(t0, a.polls[0].poll_id, Rows(1), a);
  ASSERT_EQ(UpdatesTo(a, 1).back().epoch, 1u);

  Actions r;
  EXPECT_EQ(node.Reap(t0 + 1s, "q", /*release_own=*/false, r), std::vector<std::string>{});
  std::vector<std::string> done = node.Reap(t0 + 1s, "q", /*release_own=*/true, r);
  ASSERT_EQ(done, std::vector<std::string>{"restarted its poller at epoch 2"});
  node.Tick(t0 + 1s, r);
  ASSERT_EQ(r.polls.size(), 1u);  // the new epoch polls at once
  Actions p;
  node.PollDone(t0 + 1s, r.polls[0].poll_id, Rows(2), p);
  std::vector<proto::Update> got = UpdatesTo(p, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, proto::UpdateKind::kSnapshot);
  EXPECT_EQ(got[0].epoch, 2u);
  EXPECT_EQ(got[0].seq, 1u);
  EXPECT_EQ(node.Reap(t0 + 2s, "nothing", true, p), std::vector<std::string>{});
}

// Issue 13: under partition = majority, a node started alone (its seeds not up yet) served
// nothing and said nothing: `livepoll watch` printed nothing at all. Its subscribers are told why.
TEST(Node, AloneUnderMajorityTellsItsSubscribersWhyNobodyServesThem) {
  NodeOptions o;
  o.subscriptions.node = "a";
  o.subscriptions.client_timeout = 1h;
  NodeClusterOptions& c = o.cluster.emplace();
  c.self = {"a", 1};
  c.state.registry.partition = PartitionMode::kMajority;
  Node node(OneQuery(), o);
  Time now{1s};
  Actions a;
  node.Start(now, "a:gossip", "a:rpc", {"b:rpc", "c:rpc"}, a);
  const std::string why =
      "stale: partition = majority and this node sees 1 of 3 members up (2 seeds have not "
      "answered)";
  Actions j;
  ASSERT_TRUE(node.Join(now, 1, "q", {}, j).ok());
  std::vector<proto::Update> got = UpdatesTo(j, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, proto::UpdateKind::kError);
  EXPECT_EQ(got[0].error, why);
  for (int i = 0; i < 30; ++i) {  // nothing polls, and nothing more is said while nothing changes
    now += 100ms;
    Actions t;
    node.Tick(now, t);
    EXPECT_TRUE(t.polls.empty());
    EXPECT_TRUE(UpdatesTo(t, 1).empty());
  }
  // A second subscriber learns it at once too.
  Actions k;
  ASSERT_TRUE(node.Join(now, 2, "q", {}, k).ok());
  got = UpdatesTo(k, 2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error, why);
}

// Two cluster nodes and a wire between them. Publish actions (the data plane's PUB/SUB) can be
// dropped, as ZeroMQ's slow joiner drops the first frames after a subscription.
class TwoNodes : public ::testing::Test {
 protected:
  explicit TwoNodes(Placement placement = Placement::kLocal) {
    for (int i = 0; i < 2; ++i) {
      NodeOptions o;
      o.subscriptions.node = Name(i);
      o.subscriptions.client_timeout = 1h;
      NodeClusterOptions& c = o.cluster.emplace();
      c.self = {Name(i), 1};
      c.state.registry.placement = placement;  // kLocal: the first subscriber's node owns
      nodes_.push_back(std::make_unique<Node>(OneQuery(), o));
    }
    Actions a;
    N(0).Start(now_, Gossip(0), Rpc(0), {}, a);
    Carry(0, a);
    Actions b;
    N(1).Start(now_, Gossip(1), Rpc(1), {Rpc(0)}, b);
    Carry(1, b);
    RunFor(500ms);
  }

  static std::string Name(int i) { return "n" + std::to_string(i); }
  static std::string Gossip(int i) { return Name(i) + ":gossip"; }
  static std::string Rpc(int i) { return Name(i) + ":rpc"; }
  Node& N(int i) { return *nodes_[i]; }

  // Delivers node i's transport actions (and what they cause) at once; keeps its other actions.
  void Carry(int i, Actions& a) {
    for (TransportAction& t : a.transport) {
      const int other = 1 - i;
      if (auto* b = std::get_if<Broadcast>(&t)) {
        Deliver(other, b->message);
      } else if (auto* s = std::get_if<Send>(&t)) {
        if (s->endpoint == Rpc(other)) Deliver(other, s->message);
      } else if (auto* p = std::get_if<Publish>(&t)) {
        if (!drop_publish_) Deliver(other, PeerMessage(DataMessage(DataUpdate{p->update})));
      }
      if (const auto* s = std::get_if<Send>(&t))
        if (const auto* d = std::get_if<DataMessage>(&s->message))
          if (std::holds_alternative<SnapshotReply>(*d)) replies_[i]++;
    }
    a.transport.clear();
    for (Delivery& d : a.deliveries) delivered_[i].push_back(std::move(d));
    for (PollRequest& p : a.polls) polls_[i].push_back(std::move(p));
    a = {};
  }
  void Deliver(int i, const PeerMessage& m) {
    Actions a;
    N(i).OnPeerMessage(now_, m, a);
    Carry(i, a);
  }
  void RunFor(Duration d) {
    for (Time until = now_ + d; now_ < until; now_ += 10ms) {
      for (int i = 0; i < 2; ++i) {
        Actions a;
        N(i).Tick(now_, a);
        Carry(i, a);
      }
    }
  }
  std::vector<proto::Update> Updates(int i) {
    std::vector<proto::Update> v;
    for (const Delivery& d : delivered_[i])
      if (const auto* u = std::get_if<proto::Update>(&d.message)) v.push_back(*u);
    return v;
  }

  Time now_{1s};
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Delivery> delivered_[2];
  std::vector<PollRequest> polls_[2];
  int replies_[2] = {0, 0};
  bool drop_publish_ = false;
};

class TwoHashedNodes : public TwoNodes {
 protected:
  TwoHashedNodes() : TwoNodes(Placement::kHashed) {}
};

// A node whose catalog lacks a topic's query (it reloaded a file without it, or its file drifted)
// is never placed as the topic's owner: the next candidate registers it and polls. Before, the
// first in rendezvous order registered, logged "cannot poll", and its subscribers got nothing.
TEST_F(TwoHashedNodes, PlacementSkipsANodeWithoutTheQuery) {
  // A query that rendezvous hashing gives to n1 first.
  std::string name;
  for (int i = 0; i < 100 && name.empty(); ++i) {
    const std::string q = "q" + std::to_string(i);
    if (RendezvousOrder(q, {"n0", "n1"})[0] == "n1") name = q;
  }
  ASSERT_FALSE(name.empty());
  Catalog with = OneQuery();
  with.queries[name] = {name, "db", {}, {}, 1s, 0.0};
  Actions a;
  N(0).ReplaceCatalog(now_, with, a);  // n1 has only "q"
  Carry(0, a);
  ASSERT_TRUE(N(0).Join(now_, 1, name, {}, a).ok());
  Carry(0, a);
  RunFor(3s);  // past a takeover_timeout
  EXPECT_TRUE(polls_[1].empty());
  ASSERT_FALSE(polls_[0].empty());
  EXPECT_EQ(polls_[0][0].query, name);
  for (int i = 0; i < 2; ++i) {
    std::optional<Claim> owner = N(i).cluster()->registry().Owner(name);
    ASSERT_TRUE(owner) << Name(i);
    EXPECT_EQ(owner->owner.name, "n0") << Name(i);
  }
}

// The owner of a topic whose query changes releases it, and it is registered again at a higher
// epoch: the other node's subscribers follow the new epoch from a snapshot.
TEST_F(TwoNodes, AChangedQueryIsRegisteredAgainAtAHigherEpoch) {
  Actions a;
  ASSERT_TRUE(N(0).Join(now_, 1, "q", {}, a).ok());  // n0 owns (placement local)
  Carry(0, a);
  Actions b;
  ASSERT_TRUE(N(1).Join(now_, 9, "q", {}, b).ok());
  Carry(1, b);
  RunFor(50ms);
  ASSERT_EQ(polls_[0].size(), 1u);
  Actions done;
  N(0).PollDone(now_, polls_[0][0].poll_id, Rows(5), done);
  Carry(0, done);
  RunFor(50ms);
  ASSERT_FALSE(Updates(1).empty());
  const uint64_t before = Updates(1).back().epoch;

  Catalog changed = OneQuery();
  changed.queries["q"].digest = 7;  // its SQL changed
  polls_[0].clear();
  for (int i = 0; i < 2; ++i) {
    Actions r;
    N(i).ReplaceCatalog(now_, changed, r);
    Carry(i, r);
  }
  RunFor(2s);
  // Placement may choose either node now; whichever registered polls at a higher epoch.
  const int owner = polls_[0].empty() ? 1 : 0;
  ASSERT_FALSE(polls_[owner].empty());
  Actions again;
  N(owner).PollDone(now_, polls_[owner].back().poll_id, Rows(6), again);
  Carry(owner, again);
  RunFor(100ms);
  for (int i = 0; i < 2; ++i) {
    const std::vector<proto::Update> got = Updates(i);
    ASSERT_FALSE(got.empty()) << Name(i);
    EXPECT_EQ(got.back().kind, proto::UpdateKind::kSnapshot) << Name(i);
    EXPECT_GT(got.back().epoch, before) << Name(i);
    EXPECT_EQ(got.back().rows, Rows(6).rows) << Name(i);
    for (const proto::Update& u : got) EXPECT_NE(u.kind, proto::UpdateKind::kError) << Name(i);
    EXPECT_EQ(N(i).subscriptions().subscription_count(), 1u) << Name(i);
  }
}

TEST_F(TwoNodes, JoinEachOther) {
  for (int i = 0; i < 2; ++i) {
    ASSERT_NE(N(i).cluster(), nullptr);
    EXPECT_EQ(N(i).cluster()->membership().Alive().size(), 2u) << Name(i);
  }
}

// A node asks the owner for the state of a topic whose poller has no result yet: the owner
// answers "none", and later sends the first result it publishes, so the asker's clients get data
// even when the data plane's first frames are lost (ZeroMQ's slow joiner).
TEST_F(TwoNodes, AFetchBeforeTheFirstResultIsAnsweredWithIt) {
  drop_publish_ = true;
  Actions a;
  ASSERT_TRUE(N(0).Join(now_, 1, "q", {}, a).ok());  // n0 owns (placement local)
  Carry(0, a);
  RunFor(50ms);
  ASSERT_EQ(polls_[0].size(), 1u);
  ASSERT_TRUE(polls_[1].empty());
  Actions b;
  ASSERT_TRUE(N(1).Join(now_, 9, "q", {}, b).ok());  // fetches from n0, which has nothing yet
  Carry(1, b);
  RunFor(50ms);
  EXPECT_EQ(replies_[0], 1);
  EXPECT_TRUE(Updates(1).empty());

  Actions done;
  N(0).PollDone(now_, polls_[0][0].poll_id, Rows(5), done);
  Carry(0, done);
  EXPECT_EQ(replies_[0], 2);  // the first result, to the node that asked
  std::vector<proto::Update> got = Updates(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, proto::UpdateKind::kSnapshot);
  EXPECT_EQ(got[0].owner, "n0");
  EXPECT_EQ(got[0].rows, Rows(5).rows);
  EXPECT_EQ(N(1).counters().snapshot_fetches, 1u);
  EXPECT_EQ(N(0).counters().data_updates_sent, 1u);
}

// Peers may ask about any topic: only a topic this node polls keeps the asker waiting, so the
// bookkeeping cannot grow with what strangers ask.
TEST_F(TwoNodes, AFetchOfATopicNotPolledHereIsAnsweredOnce) {
  Actions a;
  N(0).OnPeerMessage(now_, PeerMessage(DataMessage(SnapshotRequest{{"n1", 1}, "q"})), a);
  Carry(0, a);
  EXPECT_EQ(replies_[0], 1);
  // n0 now starts polling q itself; its first result goes to no one who asked before.
  Actions b;
  ASSERT_TRUE(N(0).Join(now_, 1, "q", {}, b).ok());
  Carry(0, b);
  RunFor(50ms);
  ASSERT_EQ(polls_[0].size(), 1u);
  Actions done;
  N(0).PollDone(now_, polls_[0][0].poll_id, Rows(5), done);
  Carry(0, done);
  EXPECT_EQ(replies_[0], 1);
}

// A node this one thinks dead (stopped, or cut off) asks for a snapshot when it is back, before
// its refutation arrives: it is answered. Refused, its watchers stayed stale until the data
// changed again, as a fetch is asked again only on the next gap (the chaos soak, seed 103).
TEST_F(TwoNodes, AFetchFromAMemberThoughtDeadIsAnswered) {
  Actions a;
  ASSERT_TRUE(N(0).Join(now_, 1, "q", {}, a).ok());
  Carry(0, a);
  RunFor(50ms);
  ASSERT_EQ(polls_[0].size(), 1u);
  Actions done;
  N(0).PollDone(now_, polls_[0][0].poll_id, Rows(5), done);
  Carry(0, done);
  // n1 stops: only n0's clock runs, until it declares n1 dead.
  for (Time until = now_ + 3s; now_ < until; now_ += 10ms) {
    Actions t;
    N(0).Tick(now_, t);
    t.transport.clear();
  }
  std::optional<Membership::Member> n1 = N(0).cluster()->membership().Find("n1");
  ASSERT_TRUE(n1);
  ASSERT_EQ(n1->claim.state, MemberState::kDead);
  const int before = replies_[0];
  Actions b;
  N(0).OnPeerMessage(now_, PeerMessage(DataMessage(SnapshotRequest{{"n1", 1}, "q"})), b);
  Carry(0, b);
  EXPECT_EQ(replies_[0], before + 1);
  // A name no member has is not answered (nor kept waiting).
  Actions c;
  N(0).OnPeerMessage(now_, PeerMessage(DataMessage(SnapshotRequest{{"z9", 1}, "q"})), c);
  Carry(0, c);
  EXPECT_EQ(replies_[0], before + 1);
  EXPECT_EQ(N(0).counters().cluster_frames_refused, 1u);
}

TEST(Counters, EveryFieldIsNamedOnceInOrder) {
  EXPECT_EQ(kCounters.size() * sizeof(uint64_t), sizeof(Counters));
  for (size_t i = 0; i < kCounters.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      EXPECT_NE(kCounters[i].field, kCounters[j].field) << kCounters[i].name;
    }
    if (i > 0) {
      EXPECT_LT(std::string(kCounters[i - 1].name), kCounters[i].name);
    }
  }
}

}  // namespace
}  // namespace livepoll::core
