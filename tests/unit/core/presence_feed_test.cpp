// Presence with a key and meta (Phoenix Presence): the entry carried by the replication, the
// PresenceFeed's states and diffs, and core::Node telling local clients who watches a topic on
// any node (node.h's header: "a join with presence ...").
#include "core/presence_feed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/node.h"
#include "core/peer_limits.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;

Catalog OneQuery() {
  Catalog c;
  c.queries["q"] = {"q", "db", {}, {}, 1s, 0.0};
  c.queries["r"] = {"r", "db", {}, {}, 1s, 0.0};
  c.source_caps["db"] = 4;
  return c;
}

std::vector<std::string> Keys(const std::vector<PresenceItem>& items) {
  std::vector<std::string> keys;
  for (const PresenceItem& i : items) keys.push_back(i.key);
  return keys;
}

// ---- the feed alone ----

PresenceItem Item(const std::string& key, const std::string& ref) { return {key, "{}", ref, "n0"}; }

TEST(PresenceFeed, AFollowerGetsTheStateThenOneDiffPerTopicAndBatch) {
  PresenceFeed feed;
  std::vector<PresenceDelivery> out;
  feed.Follow("t", 1, {Item("ann", "a.1.1")}, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].state);
  EXPECT_EQ(out[0].clients, std::vector<ClientId>{1});
  EXPECT_EQ(Keys(out[0].joins), std::vector<std::string>{"ann"});
  out.clear();
  // A second follower: the feed holds the topic's presences already; `visible` is not read.
  feed.Follow("t", 2, {}, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Keys(out[0].joins), std::vector<std::string>{"ann"});
  out.clear();
  // One batch: bob joins, cy joins and leaves (no change), ann leaves; another topic's change is
  // not this topic's.
  feed.Apply({{"t", Item("bob", "a.1.2"), true},
              {"t", Item("cy", "a.1.3"), true},
              {"u", Item("dee", "a.1.4"), true},
              {"t", Item("cy", "a.1.3"), false},
              {"t", Item("ann", "a.1.1"), false}},
             out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].state);
  EXPECT_EQ(out[0].topic, "t");
  EXPECT_EQ(out[0].clients, (std::vector<ClientId>{1, 2}));
  EXPECT_EQ(Keys(out[0].joins), std::vector<std::string>{"bob"});
  EXPECT_EQ(Keys(out[0].leaves), std::vector<std::string>{"ann"});
  out.clear();
  // Hidden and shown again in one batch (an origin replaced by a transfer): nothing to tell. A
  // leave of what was never shown, or a join of what is shown, neither.
  feed.Apply({{"t", Item("bob", "a.1.2"), false},
              {"t", Item("bob", "a.1.2"), true},
              {"t", Item("zed", "a.1.9"), false},
              {"t", Item("bob", "a.1.2"), true}},
             out);
  EXPECT_TRUE(out.empty());
  // The last follower gone, the topic is forgotten; a new one reads `visible` again.
  feed.Unfollow("t", 1);
  feed.Unfollow("t", 2);
  EXPECT_FALSE(feed.Follows("t"));
  feed.Follow("t", 3, {Item("eve", "a.1.7")}, out);
  EXPECT_EQ(Keys(out[0].joins), std::vector<std::string>{"eve"});
}

// ---- the bounds ----

TEST(PresenceMeta, BoundsAreCheckedAtTheJoinAndOnPeersEntries) {
  EXPECT_TRUE(CheckPresenceMeta({"ann", "{}"}).ok());
  EXPECT_TRUE(CheckPresenceMeta(
                  {std::string(kMaxPresenceKeyBytes, 'k'), std::string(kMaxPresenceMetaBytes, 'm')})
                  .ok());
  Status empty = CheckPresenceMeta({"", "{}"});
  EXPECT_EQ(empty.code(), Status::Code::kInvalidArgument);
  Status key = CheckPresenceMeta({std::string(kMaxPresenceKeyBytes + 1, 'k'), "{}"});
  EXPECT_EQ(key.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(key.message().find("key is 257 bytes, over 256"), std::string::npos) << key.message();
  Status meta = CheckPresenceMeta({"ann", std::string(kMaxPresenceMetaBytes + 1, 'm')});
  EXPECT_EQ(meta.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(meta.message().find("meta is 1025 bytes, over 1024"), std::string::npos);

  const NodeId n{"n1", 1};
  PresenceEntry ok{"t", 1, "ann", "{}", 1};
  PresenceEntry big = ok;
  big.meta.assign(kMaxPresenceMetaBytes + 1, 'm');
  EXPECT_TRUE(WithinPeerLimits(PresenceMessage(PresenceDelta{n, 0, 1, {ok}, {}})));
  EXPECT_FALSE(WithinPeerLimits(PresenceMessage(PresenceDelta{n, 0, 1, {ok}, {big}})));
  big = ok;
  big.key.assign(kMaxPresenceKeyBytes + 1, 'k');
  EXPECT_FALSE(WithinPeerLimits(PresenceMessage(PresenceTransfer{n, 1, {ok, big}})));
}

TEST(PresenceMeta, AJoinOverTheBoundsIsRefusedAndChangesNothing) {
  NodeOptions o;
  o.subscriptions.node = "solo";
  Node node(OneQuery(), o);
  Actions a;
  Result<Subscriptions::Joined> j =
      node.Join(Time{1s}, 1, "q", {}, a, std::nullopt, PresenceMeta{"ann", std::string(2000, ' ')});
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(node.subscriptions().subscription_count(), 0u);
  EXPECT_TRUE(a.presence.empty());
  EXPECT_TRUE(a.deliveries.empty());
  EXPECT_EQ(node.counters().joins_refused, 1u);
  EXPECT_EQ(node.counters().joins, 0u);
}

// ---- a standalone node ----

TEST(PresenceStandalone, LocalViewersSeeEachOtherComeAndGo) {
  NodeOptions o;
  o.subscriptions.node = "solo";
  o.subscriptions.session = 42;
  Node node(OneQuery(), o);
  const Time t{1s};
  Actions a;
  ASSERT_TRUE(node.Join(t, 1, "q", {}, a, std::nullopt, PresenceMeta{"ann", R"({"a":1})"}).ok());
  ASSERT_EQ(a.presence.size(), 1u);
  EXPECT_TRUE(a.presence[0].state);
  ASSERT_EQ(a.presence[0].joins.size(), 1u);
  EXPECT_EQ(a.presence[0].joins[0], (PresenceItem{"ann", R"({"a":1})", "solo.42.1", "solo"}));
  // A subscriber without presence is told nothing and tells nothing, but counts.
  Actions b;
  ASSERT_TRUE(node.Join(t, 2, "q", {}, b).ok());
  EXPECT_TRUE(b.presence.empty());
  Actions c;
  ASSERT_TRUE(node.Join(t, 3, "q", {}, c, std::nullopt, PresenceMeta{"bob", "{}"}).ok());
  ASSERT_EQ(c.presence.size(), 2u);
  EXPECT_FALSE(c.presence[0].state);  // ann learns of bob
  EXPECT_EQ(c.presence[0].clients, std::vector<ClientId>{1});
  EXPECT_EQ(Keys(c.presence[0].joins), std::vector<std::string>{"bob"});
  EXPECT_TRUE(c.presence[1].state);  // bob gets the whole list, himself included
  EXPECT_EQ(c.presence[1].clients, std::vector<ClientId>{3});
  EXPECT_EQ(Keys(c.presence[1].joins), (std::vector<std::string>{"ann", "bob"}));
  EXPECT_EQ(node.subscriptions().subscription_count(), 3u);
  // Another topic's viewer is not this topic's.
  Actions d;
  ASSERT_TRUE(node.Join(t, 4, "r", {}, d, std::nullopt, PresenceMeta{"cy", "{}"}).ok());
  ASSERT_EQ(d.presence.size(), 1u);
  EXPECT_EQ(Keys(d.presence[0].joins), std::vector<std::string>{"cy"});
  // Ann goes (her connection closes): bob learns it; ann is told nothing.
  Actions e;
  node.ClientGone(t, 1, e);
  ASSERT_EQ(e.presence.size(), 1u);
  EXPECT_EQ(e.presence[0].clients, std::vector<ClientId>{3});
  EXPECT_TRUE(e.presence[0].joins.empty());
  ASSERT_EQ(e.presence[0].leaves.size(), 1u);
  EXPECT_EQ(e.presence[0].leaves[0].ref, "solo.42.1");
  // Bob joins again with another meta: a new presence replaces his old one in one diff.
  Actions f;
  ASSERT_TRUE(node.Join(t, 5, "q", {}, f, std::nullopt, PresenceMeta{"dee", "{}"}).ok());
  Actions g;
  ASSERT_TRUE(node.Join(t, 3, "q", {}, g, std::nullopt, PresenceMeta{"bob", R"({"x":2})"}).ok());
  ASSERT_GE(g.presence.size(), 1u);
  const PresenceDelivery& diff = g.presence[0];
  EXPECT_FALSE(diff.state);
  EXPECT_EQ(Keys(diff.joins), std::vector<std::string>{"bob"});
  EXPECT_EQ(Keys(diff.leaves), std::vector<std::string>{"bob"});
  EXPECT_NE(diff.joins[0].ref, diff.leaves[0].ref);
  EXPECT_EQ(diff.joins[0].meta, R"({"x":2})");
  EXPECT_EQ(node.PresenceOf("q").size(), 2u);  // bob (new) and dee
  Actions h;
  ASSERT_TRUE(node.Leave(t, 3, "q", h).ok());
  ASSERT_EQ(h.presence.size(), 1u);
  EXPECT_EQ(h.presence[0].clients, std::vector<ClientId>{5});
  EXPECT_EQ(h.presence[0].leaves[0].meta, R"({"x":2})");
}

// ---- two cluster nodes ----

// Two cluster nodes over a wire that delivers at once, unless `cut_` (then nothing passes: a
// partition, or a node stopped).
class PresenceTwoNodes : public ::testing::Test {
 protected:
  PresenceTwoNodes() {
    for (int i = 0; i < 2; ++i) {
      NodeOptions o;
      o.subscriptions.node = Name(i);
      o.subscriptions.client_timeout = 1h;
      NodeClusterOptions& c = o.cluster.emplace();
      c.self = {Name(i), 7};
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

  void Carry(int i, Actions& a) {
    for (TransportAction& t : a.transport) {
      const int other = 1 - i;
      if (cut_) continue;
      if (auto* b = std::get_if<Broadcast>(&t)) {
        Deliver(other, b->message);
      } else if (auto* s = std::get_if<Send>(&t)) {
        if (s->endpoint == Rpc(other)) Deliver(other, s->message);
      } else if (auto* p = std::get_if<Publish>(&t)) {
        Deliver(other, PeerMessage(DataMessage(DataUpdate{p->update})));
      }
    }
    for (PresenceDelivery& d : a.presence) told_[i].push_back(std::move(d));
    a = {};
  }
  void Deliver(int i, const PeerMessage& m) {
    Actions a;
    N(i).OnPeerMessage(now_, m, a);
    Carry(i, a);
  }
  void RunFor(Duration d, int only = -1) {
    for (Time until = now_ + d; now_ < until; now_ += 10ms) {
      for (int i = 0; i < 2; ++i) {
        if (only >= 0 && i != only) continue;
        Actions a;
        N(i).Tick(now_, a);
        Carry(i, a);
      }
    }
  }
  void Join(int i, ClientId c, const std::optional<PresenceMeta>& p) {
    Actions a;
    ASSERT_TRUE(N(i).Join(now_, c, "q", {}, a, std::nullopt, p).ok());
    Carry(i, a);
  }
  // What node i told `client`, and forgets it.
  std::vector<PresenceDelivery> TakeTold(int i, ClientId client) {
    std::vector<PresenceDelivery> got, rest;
    for (PresenceDelivery& d : told_[i])
      (std::count(d.clients.begin(), d.clients.end(), client) ? got : rest).push_back(d);
    told_[i] = std::move(rest);
    return got;
  }

  Time now_{1s};
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<PresenceDelivery> told_[2];
  bool cut_ = false;
};

TEST_F(PresenceTwoNodes, KeyAndMetaAreReplicatedAndCountsStayPerSubscriber) {
  Join(0, 1, PresenceMeta{"ann", R"({"device":"phone"})"});
  Join(0, 2, std::nullopt);
  RunFor(50ms);
  std::vector<PresenceItem> seen = N(1).PresenceOf("q");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (PresenceItem{"ann", R"({"device":"phone"})", "n0.7.1", "n0"}));
  EXPECT_EQ(N(1).cluster()->presence().SubscriberCount("q"), 2u);  // `livepoll subs` as before
  EXPECT_EQ(N(0).cluster()->presence().SubscriberCount("q"), 2u);
}

TEST_F(PresenceTwoNodes, AViewerOnAnotherNodeComesAndGoes) {
  Join(0, 1, PresenceMeta{"ann", "{}"});
  std::vector<PresenceDelivery> ann = TakeTold(0, 1);
  ASSERT_EQ(ann.size(), 1u);
  EXPECT_TRUE(ann[0].state);
  EXPECT_EQ(Keys(ann[0].joins), std::vector<std::string>{"ann"});

  // Bob joins on n1: his state lists ann (of n0) and himself; ann learns of bob.
  Join(1, 5, PresenceMeta{"bob", R"({"b":true})"});
  std::vector<PresenceDelivery> bob = TakeTold(1, 5);
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_TRUE(bob[0].state);
  EXPECT_EQ(Keys(bob[0].joins), (std::vector<std::string>{"ann", "bob"}));
  EXPECT_EQ(bob[0].joins[0].node, "n0");
  EXPECT_EQ(bob[0].joins[1].node, "n1");
  ann = TakeTold(0, 1);
  ASSERT_EQ(ann.size(), 1u);
  EXPECT_FALSE(ann[0].state);
  ASSERT_EQ(ann[0].joins.size(), 1u);
  EXPECT_EQ(ann[0].joins[0], (PresenceItem{"bob", R"({"b":true})", "n1.7.1", "n1"}));

  // A subscriber without presence on n1 changes nothing anyone is told.
  Join(1, 6, std::nullopt);
  RunFor(50ms);
  EXPECT_TRUE(TakeTold(0, 1).empty());
  EXPECT_TRUE(TakeTold(1, 6).empty());

  // Bob leaves: ann learns it; bob is told nothing more.
  Actions l;
  ASSERT_TRUE(N(1).Leave(now_, 5, "q", l).ok());
  Carry(1, l);
  ann = TakeTold(0, 1);
  ASSERT_EQ(ann.size(), 1u);
  EXPECT_TRUE(ann[0].joins.empty());
  ASSERT_EQ(ann[0].leaves.size(), 1u);
  EXPECT_EQ(ann[0].leaves[0].ref, "n1.7.1");
  EXPECT_TRUE(TakeTold(1, 5).empty());
}

TEST_F(PresenceTwoNodes, ADownNodesViewersLeaveAndComeBackWithIt) {
  Join(0, 1, PresenceMeta{"ann", "{}"});
  Join(1, 5, PresenceMeta{"bob", "{}"});
  RunFor(50ms);
  TakeTold(0, 1);
  // n1 stops: only n0's clock runs, until it declares n1 down.
  cut_ = true;
  RunFor(3s, /*only=*/0);
  std::optional<Membership::Member> n1 = N(0).cluster()->membership().Find("n1");
  ASSERT_TRUE(n1);
  ASSERT_NE(n1->claim.state, MemberState::kAlive);
  std::vector<PresenceDelivery> ann = TakeTold(0, 1);
  ASSERT_EQ(ann.size(), 1u);
  EXPECT_EQ(Keys(ann[0].leaves), std::vector<std::string>{"bob"});
  EXPECT_TRUE(ann[0].joins.empty());
  EXPECT_EQ(Keys(N(0).PresenceOf("q")), std::vector<std::string>{"ann"});
  // n1 is back: bob comes back with it, once.
  cut_ = false;
  RunFor(3s);
  ann = TakeTold(0, 1);
  std::vector<std::string> joined, left;
  for (const PresenceDelivery& d : ann) {
    for (const PresenceItem& i : d.joins) joined.push_back(i.key);
    for (const PresenceItem& i : d.leaves) left.push_back(i.key);
  }
  EXPECT_EQ(joined, std::vector<std::string>{"bob"});
  EXPECT_TRUE(left.empty());
  EXPECT_EQ(Keys(N(0).PresenceOf("q")), (std::vector<std::string>{"ann", "bob"}));
}

}  // namespace
}  // namespace livepoll::core
