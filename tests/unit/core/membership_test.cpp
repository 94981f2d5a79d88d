// Membership on a hand-driven clock: join, heartbeats, suspicion, indirect probes, death,
// refutation, restarts, leaves and permdown, one node under test and its peers played by hand.
#include "core/membership.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;
using K = MembershipEvent::Kind;

MemberClaim Claim(const std::string& name, uint64_t inc = 1,
                  MemberState state = MemberState::kAlive, uint64_t version = 0) {
  return {{name, inc}, name + ":gossip", name + ":rpc", state, version};
}

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() : m_(Claim("a"), Options()) {}

  static MembershipOptions Options() {
    MembershipOptions o;
    o.gossip_interval = 100ms;
    o.suspect_after = 500ms;
    o.dead_after = 1s;
    o.probe_timeout = 200ms;
    o.indirect_probes = 3;
    o.permdown = 5s;
    o.join_retry = 1s;
    o.seed = 7;
    return o;
  }

  // Joins through seed "b", which knows `others` too; the outputs so far are cleared.
  void JoinWith(const std::vector<std::string>& others) {
    m_.Start(now_, {"b:rpc"}, out_);
    std::vector<MemberClaim> members = {Claim("a"), Claim("b")};
    for (const std::string& o : others) members.push_back(Claim(o));
    m_.OnMessage(now_, JoinReply{{"b", 1}, true, "", members}, out_);
    ASSERT_TRUE(m_.joined());
    out_ = {};
  }
  void Deliver(const MembershipMessage& msg) { m_.OnMessage(now_, msg, out_); }
  void HeartbeatFrom(const std::string& name, std::vector<MemberClaim> claims = {},
                     uint64_t version = 0) {
    MemberClaim self = Claim(name, 1, MemberState::kAlive, version);
    claims.push_back(self);
    Deliver(Heartbeat{self, claims});
  }
  // Advances the clock to `to`, ticking at every deadline on the way, like the event loop.
  void RunUntil(Time to) {
    while (m_.NextDeadline() <= to) {
      now_ = std::max(now_, m_.NextDeadline());
      m_.Tick(now_, out_);
    }
    now_ = to;
    m_.Tick(now_, out_);
  }
  void Advance(Duration d) { RunUntil(now_ + d); }
  // Advances by `d` while `talking` peers heartbeat every 100 ms.
  void AdvanceHearing(Duration d, const std::vector<std::string>& talking) {
    Time to = now_ + d;
    while (now_ < to) {
      for (const std::string& p : talking) HeartbeatFrom(p);
      RunUntil(std::min(to, now_ + Duration(100ms)));
    }
  }
  // The first event of `kind` about `name`, if any.
  std::optional<MembershipEvent> Event(K kind, const std::string& name) const {
    for (const MembershipEvent& e : out_.events)
      if (e.kind == kind && e.node.name == name) return e;
    return std::nullopt;
  }
  std::optional<MemberState> StateOf(const std::string& name) const {
    auto member = m_.Find(name);
    if (!member) return std::nullopt;
    return member->claim.state;
  }
  template <typename T>
  std::vector<std::pair<std::string, T>> Sent() const {
    std::vector<std::pair<std::string, T>> v;
    for (const auto& [to, msg] : out_.sends)
      if (auto* t = std::get_if<T>(&msg)) v.emplace_back(to, *t);
    return v;
  }
  template <typename T>
  std::vector<T> Broadcast() const {
    std::vector<T> v;
    for (const auto& msg : out_.broadcasts)
      if (auto* t = std::get_if<T>(&msg)) v.push_back(*t);
    return v;
  }

  Membership m_;
  Time now_ = Time() + 1s;
  MembershipOutputs out_;
};

TEST_F(MembershipTest, WithoutSeedsItIsAClusterOfOneAtOnce) {
  m_.Start(now_, {}, out_);
  EXPECT_TRUE(m_.joined());
  ASSERT_TRUE(Event(K::kJoined, "a"));
  EXPECT_EQ(m_.Alive(), (std::vector<NodeId>{{"a", 1}}));
  EXPECT_TRUE(out_.sends.empty());
}

TEST_F(MembershipTest, WithSeedsItIsAClusterOfOneAtOnceAndAsksEverySeedEveryJoinRetry) {
  m_.Start(now_, {"s1:rpc", "s2:rpc"}, out_);
  // Serving alone while it asks: a node that waits for a seed waits forever when the seeds wait
  // for it (all started at once).
  EXPECT_TRUE(m_.joined());
  ASSERT_TRUE(Event(K::kJoined, "a"));
  EXPECT_EQ(m_.Alive(), (std::vector<NodeId>{{"a", 1}}));
  EXPECT_TRUE(m_.alone());
  auto asked = Sent<JoinRequest>();
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1].first, "s2:rpc");
  EXPECT_EQ(asked[1].second.seed, "s2:rpc");  // echoed back: which seed answered
  EXPECT_EQ(m_.UnansweredSeeds(), 2u);
  ASSERT_EQ(m_.Seeds().size(), 2u);
  EXPECT_EQ(SeedAnswerText(m_.Seeds()[0]), "no answer");
  out_ = {};
  Advance(999ms);
  EXPECT_TRUE(Sent<JoinRequest>().empty());
  Advance(1ms);
  EXPECT_EQ(Sent<JoinRequest>().size(), 2u);
  EXPECT_EQ(m_.Seeds()[0].asked, 2u);
}

TEST_F(MembershipTest, ANodeNoSeedHasAnsweredYetAnswersAJoin) {
  m_.Start(now_, {"b:rpc"}, out_);
  out_ = {};
  // b's request reaches us before ours reaches b (or b is not up yet when ours is sent).
  Deliver(JoinRequest{Claim("b"), "a:rpc"});
  auto replies = Sent<JoinReply>();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].first, "b:rpc");
  EXPECT_TRUE(replies[0].second.accepted);
  EXPECT_EQ(replies[0].second.seed, "a:rpc");
  EXPECT_EQ(m_.Alive(), (std::vector<NodeId>{{"a", 1}, {"b", 1}}));
  EXPECT_FALSE(m_.alone());
  // The seed is met at its endpoint: answered for, and not asked again while it is up.
  EXPECT_EQ(m_.UnansweredSeeds(), 0u);
  EXPECT_EQ(SeedAnswerText(m_.Seeds()[0]), "joined");
  EXPECT_EQ(m_.Seeds()[0].node, "b");
  out_ = {};
  AdvanceHearing(3s, {"b"});
  EXPECT_TRUE(Sent<JoinRequest>().empty());
}

TEST_F(MembershipTest, AReplyIsMatchedToItsSeedByTheEchoWhateverTheEndpointItAdvertises) {
  m_.Start(now_, {"tcp://host-b:7473"}, out_);
  out_ = {};
  Deliver(JoinReply{{"b", 1}, true, "", {Claim("b")}, "tcp://host-b:7473"});
  ASSERT_EQ(m_.Seeds().size(), 1u);
  EXPECT_EQ(m_.Seeds()[0].answer, SeedStatus::Answer::kJoined);
  EXPECT_EQ(m_.Seeds()[0].node, "b");
  EXPECT_EQ(m_.UnansweredSeeds(), 0u);
  // b advertises b:rpc, not the seed's spelling: it is not asked again while it is up.
  AdvanceHearing(3s, {"b"});
  EXPECT_TRUE(Sent<JoinRequest>().empty());
}

TEST_F(MembershipTest, OurOwnRequestComingBackMarksTheSeedAsThisNode) {
  m_.Start(now_, {"tcp://alias-of-a:7473", "a:rpc"}, out_);
  EXPECT_EQ(Sent<JoinRequest>().size(), 1u);  // a:rpc is our own endpoint: not asked
  Deliver(JoinRequest{Claim("a"), "tcp://alias-of-a:7473"});
  EXPECT_TRUE(Sent<JoinReply>().empty());  // neither refused nor accepted: it is us
  EXPECT_FALSE(m_.refused());
  EXPECT_EQ(SeedAnswerText(m_.Seeds()[0]), "this node");
  EXPECT_EQ(SeedAnswerText(m_.Seeds()[1]), "this node");
  EXPECT_EQ(m_.UnansweredSeeds(), 0u);
  out_ = {};
  Advance(3s);
  EXPECT_TRUE(Sent<JoinRequest>().empty());
}

TEST_F(MembershipTest, ARefusalOnceInAClusterIsRecordedNotObeyed) {
  m_.Start(now_, {"b:rpc", "c:rpc"}, out_);
  Deliver(JoinReply{{"b", 1}, true, "", {Claim("b")}, "b:rpc"});
  Deliver(JoinReply{{"c", 1}, false, "name 'a' is in use by a live node", {}, "c:rpc"});
  EXPECT_FALSE(m_.refused());
  EXPECT_TRUE(m_.joined());
  EXPECT_FALSE(Event(K::kJoinRefused, "a"));
  EXPECT_EQ(SeedAnswerText(m_.Seeds()[1]), "refused: name 'a' is in use by a live node");
  EXPECT_EQ(m_.UnansweredSeeds(), 1u);
}

TEST_F(MembershipTest, AnAcceptedJoinMergesTheMembersAndConnectsToThem) {
  m_.Start(now_, {"b:rpc"}, out_);
  Deliver(JoinReply{{"b", 1}, true, "", {Claim("a"), Claim("b"), Claim("c")}});
  EXPECT_TRUE(m_.joined());
  EXPECT_TRUE(Event(K::kJoined, "a"));
  EXPECT_TRUE(Event(K::kUp, "b"));
  EXPECT_TRUE(Event(K::kUp, "c"));
  EXPECT_EQ(out_.connect, (std::vector<std::string>{"b:gossip", "c:gossip"}));
  EXPECT_EQ(m_.Alive(), (std::vector<NodeId>{{"a", 1}, {"b", 1}, {"c", 1}}));
  out_ = {};
  AdvanceHearing(3s, {"b", "c"});  // no more join requests while the seed is a member
  EXPECT_TRUE(Sent<JoinRequest>().empty());
}

TEST_F(MembershipTest, ARefusedJoinIsReportedAndTheNodeStops) {
  m_.Start(now_, {"b:rpc"}, out_);
  Deliver(JoinReply{{"b", 1}, false, "name 'a' is in use by a live node", {}});
  auto e = Event(K::kJoinRefused, "a");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->detail, "name 'a' is in use by a live node");
  EXPECT_TRUE(m_.refused());
  EXPECT_FALSE(m_.joined());
  EXPECT_TRUE(m_.Alive().empty());
  EXPECT_EQ(m_.NextDeadline(), Time::max());
  out_ = {};
  m_.Tick(now_ + 5s, out_);
  EXPECT_TRUE(out_.sends.empty());
}

TEST_F(MembershipTest, ASeedRefusesANameHeldByALiveNode) {
  JoinWith({"c"});
  HeartbeatFrom("c");
  MemberClaim other = Claim("c", 2);
  other.gossip_endpoint = "elsewhere:gossip";
  other.rpc_endpoint = "elsewhere:rpc";
  Deliver(JoinRequest{other});
  auto replies = Sent<JoinReply>();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].first, "elsewhere:rpc");
  EXPECT_FALSE(replies[0].second.accepted);
  EXPECT_NE(replies[0].second.reason.find("in use"), std::string::npos);
  EXPECT_TRUE(m_.IsAlive({"c", 1}));
}

TEST_F(MembershipTest, ASeedAcceptsTheRestartOfADisconnectedNode) {
  JoinWith({"c"});
  HeartbeatFrom("c");
  m_.OnDisconnect(now_, {"c", 1}, out_);
  out_ = {};
  Deliver(JoinRequest{Claim("c", 2)});
  auto replies = Sent<JoinReply>();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].second.accepted);
  auto down = Event(K::kDown, "c");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->node, (NodeId{"c", 1}));
  EXPECT_EQ(down->detail, "restarted");
  ASSERT_TRUE(Event(K::kUp, "c"));
  EXPECT_EQ(Event(K::kUp, "c")->node, (NodeId{"c", 2}));
  EXPECT_TRUE(std::any_of(replies[0].second.members.begin(), replies[0].second.members.end(),
                          [](const MemberClaim& c) {
                            return c.id == NodeId{"c", 2};
                          }));
}

// Found by the simulator (seed 2): a restart faster than crash detection was refused for good.
TEST_F(MembershipTest, ASeedAcceptsARestartAtTheSameEndpointsBeforeDetectingTheCrash) {
  JoinWith({"c"});
  HeartbeatFrom("c");
  Deliver(JoinRequest{Claim("c", 2)});
  auto replies = Sent<JoinReply>();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].second.accepted);
  ASSERT_TRUE(Event(K::kDown, "c"));
  EXPECT_EQ(Event(K::kDown, "c")->detail, "restarted");
  EXPECT_TRUE(m_.IsAlive({"c", 2}));
}

TEST_F(MembershipTest, HeartbeatsGoOutEveryGossipIntervalWithTheFullDigest) {
  JoinWith({"c"});
  Advance(99ms);
  EXPECT_TRUE(Broadcast<Heartbeat>().empty());
  Advance(1ms);
  auto hbs = Broadcast<Heartbeat>();
  ASSERT_EQ(hbs.size(), 1u);
  EXPECT_EQ(hbs[0].self.id, (NodeId{"a", 1}));
  EXPECT_EQ(hbs[0].members.size(), 3u);
  Advance(200ms);
  EXPECT_EQ(Broadcast<Heartbeat>().size(), 3u);
}

TEST_F(MembershipTest, APeerSilentForSuspectAfterIsSuspectAndProbedThroughOthers) {
  JoinWith({"c"});
  Time heard = now_;
  AdvanceHearing(499ms, {"b"});
  EXPECT_FALSE(Event(K::kSuspect, "c"));
  AdvanceHearing(1ms, {"b"});
  ASSERT_TRUE(Event(K::kSuspect, "c"));
  EXPECT_EQ(now_ - heard, Duration(500ms));
  auto probes = Sent<ProbeRequest>();
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(probes[0].first, "b:rpc");
  EXPECT_EQ(probes[0].second.target, (NodeId{"c", 1}));
  EXPECT_TRUE(m_.IsAlive({"c", 1}));  // a suspicion is not a verdict
}

TEST_F(MembershipTest, AProbeThatHearsTheSuspectMakesItAliveAgain) {
  JoinWith({"c"});
  AdvanceHearing(500ms, {"b"});
  auto probes = Sent<ProbeRequest>();
  ASSERT_EQ(probes.size(), 1u);
  Deliver(ProbeReply{{"b", 1}, {"c", 1}, probes[0].second.probe_id, true});
  EXPECT_TRUE(Event(K::kAlive, "c"));
  EXPECT_EQ(StateOf("c"), MemberState::kAlive);
}

TEST_F(MembershipTest, ADisconnectedPeerThatNobodyHearsIsDeadAtOnce) {
  JoinWith({"c", "d"});
  HeartbeatFrom("c");
  HeartbeatFrom("d");
  m_.OnDisconnect(now_, {"c", 1}, out_);
  EXPECT_TRUE(Event(K::kSuspect, "c"));
  auto probes = Sent<ProbeRequest>();
  ASSERT_EQ(probes.size(), 2u);  // b and d
  Deliver(ProbeReply{{"b", 1}, {"c", 1}, probes[0].second.probe_id, false});
  EXPECT_FALSE(Event(K::kDown, "c"));
  Deliver(ProbeReply{{"d", 1}, {"c", 1}, probes[0].second.probe_id, false});
  auto down = Event(K::kDown, "c");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->detail, "dead");
  EXPECT_FALSE(m_.IsAlive({"c", 1}));
}

// Measured on real daemons: after a kill -9, a helper that had not yet seen its own disconnect
// answered "heard" (it had, just before the crash), and the other survivors waited ~500 ms.
TEST_F(MembershipTest, AHeardReplyForADisconnectedSuspectLeadsToAnotherProbeNotRevival) {
  JoinWith({"c", "d"});
  HeartbeatFrom("c");
  HeartbeatFrom("d");
  m_.OnDisconnect(now_, {"c", 1}, out_);
  auto probes = Sent<ProbeRequest>();
  ASSERT_FALSE(probes.empty());
  Deliver(ProbeReply{{"d", 1}, {"c", 1}, probes[0].second.probe_id, true});
  EXPECT_EQ(StateOf("c"), MemberState::kSuspect);  // not revived on possibly stale evidence
  EXPECT_FALSE(Event(K::kAlive, "c"));
  out_.sends.clear();
  Advance(10ms);  // gossip_interval / 10
  auto again = Sent<ProbeRequest>();
  ASSERT_FALSE(again.empty());
  for (const auto& [to, probe] : again)
    Deliver(ProbeReply{{to.substr(0, 1), 1}, {"c", 1}, probe.probe_id, false});
  auto down = Event(K::kDown, "c");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->detail, "dead");
}

TEST_F(MembershipTest, AnUnansweredProbeOfADisconnectedPeerEndsInDeathAtProbeTimeout) {
  JoinWith({"c"});
  m_.OnDisconnect(now_, {"c", 1}, out_);
  Advance(199ms);
  EXPECT_FALSE(Event(K::kDown, "c"));
  Advance(1ms);
  EXPECT_TRUE(Event(K::kDown, "c"));
}

// Found by the simulator (seed 51325): with nobody to probe, a queued disconnect killed a peer
// whose fresher heartbeats were next in the queue.
TEST_F(MembershipTest, WithNobodyToProbeADisconnectedPeerHasProbeTimeoutToBeHeard) {
  JoinWith({});
  m_.OnDisconnect(now_, {"b", 1}, out_);
  EXPECT_TRUE(Sent<ProbeRequest>().empty());
  EXPECT_FALSE(Event(K::kDown, "b"));
  HeartbeatFrom("b");
  EXPECT_TRUE(Event(K::kAlive, "b"));
  out_ = {};
  m_.OnDisconnect(now_, {"b", 1}, out_);
  Advance(199ms);
  EXPECT_FALSE(Event(K::kDown, "b"));
  Advance(1ms);
  EXPECT_TRUE(Event(K::kDown, "b"));
}

// Found by the simulator (seed 35130): a node forgotten by the only other node stayed out.
TEST_F(MembershipTest, ARefutationAlsoAsksTheAccuserToLetThisNodeBackIn) {
  JoinWith({});
  HeartbeatFrom("b", {Claim("a", 1, MemberState::kDead, 0)});
  auto asked = Sent<JoinRequest>();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].first, "b:rpc");
  EXPECT_EQ(asked[0].second.self.version, 1u);
}

// Found by the simulator (seed 183258): an accusation below our version refuted nothing, and the
// accuser, which had forgotten us, never heard of us again.
TEST_F(MembershipTest, AStaleAccusationIsAnsweredDirectlyWithoutABump) {
  JoinWith({});
  HeartbeatFrom("b", {Claim("a", 1, MemberState::kSuspect, 0)});  // refuted: version 1
  out_ = {};
  HeartbeatFrom("b", {Claim("a", 1, MemberState::kDead, 0)});
  EXPECT_TRUE(Broadcast<Heartbeat>().empty());
  EXPECT_EQ(m_.Find("a")->claim.version, 1u);
  ASSERT_EQ(Sent<JoinRequest>().size(), 1u);
  EXPECT_EQ(Sent<JoinRequest>()[0].first, "b:rpc");
}

TEST_F(MembershipTest, APeerSilentForDeadAfterIsDeadWhateverTheProbesSay) {
  JoinWith({"c"});
  Time heard = now_;
  for (int i = 0; i < 20 && !Event(K::kDown, "c"); ++i) {
    for (auto& [to, p] : Sent<ProbeRequest>())
      Deliver(ProbeReply{{"b", 1}, p.target, p.probe_id, true});
    out_.sends.clear();
    AdvanceHearing(50ms, {"b"});
  }
  EXPECT_TRUE(Event(K::kAlive, "c"));  // the probes did clear a suspicion
  ASSERT_TRUE(Event(K::kDown, "c"));
  EXPECT_LE(now_ - heard, Duration(1s) + Duration(50ms));
}

TEST_F(MembershipTest, AProbeRequestIsAnsweredWithWhetherThisNodeHearsTheTarget) {
  JoinWith({"c"});
  HeartbeatFrom("c");
  Deliver(ProbeRequest{{"b", 1}, {"c", 1}, 9});
  auto replies = Sent<ProbeReply>();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].first, "b:rpc");
  EXPECT_TRUE(replies[0].second.heard);
  EXPECT_EQ(replies[0].second.probe_id, 9u);
  out_ = {};
  m_.OnDisconnect(now_, {"c", 1}, out_);
  out_ = {};
  Deliver(ProbeRequest{{"b", 1}, {"c", 1}, 10});
  ASSERT_EQ(Sent<ProbeReply>().size(), 1u);
  EXPECT_FALSE(Sent<ProbeReply>()[0].second.heard);
}

TEST_F(MembershipTest, DirectEvidenceWinsOverGossipedDeath) {
  JoinWith({"c"});
  HeartbeatFrom("c");
  now_ += 400ms;
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kDead, 0)});
  EXPECT_FALSE(Event(K::kDown, "c"));
  EXPECT_EQ(StateOf("c"), MemberState::kAlive);
}

TEST_F(MembershipTest, GossipedDeathIsAdoptedWhenNotHeardDirectly) {
  JoinWith({"c"});
  AdvanceHearing(500ms, {"b"});
  ASSERT_TRUE(Event(K::kSuspect, "c"));  // silent: suspect by our own clock, not yet dead
  EXPECT_FALSE(Event(K::kDown, "c"));
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kDead, 0)});
  ASSERT_TRUE(Event(K::kDown, "c"));
  EXPECT_EQ(StateOf("c"), MemberState::kDead);
}

TEST_F(MembershipTest, ASuspectedNodeRefutesByBumpingItsVersionAtOnce) {
  JoinWith({});
  HeartbeatFrom("b", {Claim("a", 1, MemberState::kSuspect, 0)});
  auto hbs = Broadcast<Heartbeat>();
  ASSERT_EQ(hbs.size(), 1u);
  EXPECT_EQ(hbs[0].self.version, 1u);
  EXPECT_EQ(hbs[0].self.state, MemberState::kAlive);
  out_ = {};
  HeartbeatFrom("b", {Claim("a", 1, MemberState::kDead, 0)});  // stale: below the refutation
  EXPECT_TRUE(Broadcast<Heartbeat>().empty());
}

TEST_F(MembershipTest, OnlyTheRefutationLiftsASuspicion) {
  JoinWith({"c"});
  AdvanceHearing(500ms, {"b"});
  ASSERT_TRUE(Event(K::kSuspect, "c"));
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kAlive, 0)});  // not newer: no effect
  EXPECT_FALSE(Event(K::kAlive, "c"));
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kAlive, 1)});
  EXPECT_TRUE(Event(K::kAlive, "c"));
}

TEST_F(MembershipTest, AHigherIncarnationSupersedesTheOldOneForGood) {
  JoinWith({"c"});
  MemberClaim c2 = Claim("c", 2);
  Deliver(Heartbeat{c2, {c2}});
  auto down = Event(K::kDown, "c");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->node, (NodeId{"c", 1}));
  EXPECT_EQ(down->detail, "restarted");
  EXPECT_EQ(Event(K::kUp, "c")->node, (NodeId{"c", 2}));
  out_ = {};
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kAlive, 9)});
  EXPECT_TRUE(out_.events.empty());
  EXPECT_EQ(m_.Find("c")->claim.id, (NodeId{"c", 2}));
}

TEST_F(MembershipTest, ALeaveNoticeIsActedOnAtOnceAndIsFinal) {
  JoinWith({"c"});
  Deliver(LeaveNotice{{"c", 1}});
  auto down = Event(K::kDown, "c");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->detail, "left");
  out_ = {};
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kAlive, 5)});
  EXPECT_EQ(StateOf("c"), MemberState::kLeft);
  EXPECT_TRUE(out_.events.empty());
}

TEST_F(MembershipTest, LeaveBroadcastsANoticeAndStops) {
  JoinWith({});
  m_.Leave(now_, out_);
  auto notices = Broadcast<LeaveNotice>();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].from, (NodeId{"a", 1}));
  EXPECT_EQ(m_.NextDeadline(), Time::max());
}

TEST_F(MembershipTest, DeadMembersAreForgottenAfterPermdownAndStayForgotten) {
  JoinWith({"c"});
  m_.OnDisconnect(now_, {"c", 1}, out_);
  Advance(200ms);
  ASSERT_TRUE(Event(K::kDown, "c"));
  out_ = {};
  AdvanceHearing(4999ms, {"b"});
  EXPECT_FALSE(Event(K::kForgotten, "c"));
  AdvanceHearing(1ms, {"b"});
  ASSERT_TRUE(Event(K::kForgotten, "c"));
  EXPECT_EQ(out_.disconnect, std::vector<std::string>{"c:gossip"});
  EXPECT_FALSE(m_.Find("c"));
  out_ = {};
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kAlive, 0)});  // stale gossip
  EXPECT_FALSE(m_.Find("c"));
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kAlive, 1)});  // its refutation
  EXPECT_TRUE(m_.IsAlive({"c", 1}));
}

// Found by the simulator (seed 1226): a partition longer than permdown split the cluster for good.
TEST_F(MembershipTest, AJoinedNodeKeepsAskingTheSeedsThatAreNotMembers) {
  m_.Start(now_, {"b:rpc", "z:rpc"}, out_);
  Deliver(JoinReply{{"b", 1}, true, "", {Claim("b")}});
  out_ = {};
  AdvanceHearing(1s, {"b"});
  auto asked = Sent<JoinRequest>();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].first, "z:rpc");
}

TEST_F(MembershipTest, AForgottenMemberThatTalksToUsComesBackAndWeBumpOurVersion) {
  JoinWith({"c"});
  m_.OnDisconnect(now_, {"c", 1}, out_);
  AdvanceHearing(6s, {"b"});
  ASSERT_TRUE(Event(K::kForgotten, "c"));
  out_ = {};
  HeartbeatFrom("b", {Claim("c")});  // stale gossip: still forgotten
  EXPECT_FALSE(m_.Find("c"));
  uint64_t before = m_.Find("a")->claim.version;
  HeartbeatFrom("c");  // but c itself: the partition is over
  EXPECT_TRUE(m_.IsAlive({"c", 1}));
  EXPECT_TRUE(Event(K::kUp, "c"));
  EXPECT_EQ(out_.connect, std::vector<std::string>{"c:gossip"});
  EXPECT_EQ(m_.Find("a")->claim.version, before + 1);
}

TEST_F(MembershipTest, APausedNodeDoesNotBlameItsPeersForItsOwnSilence) {
  JoinWith({"c"});
  now_ += 3s;  // SIGSTOP: no tick, no message
  m_.Tick(now_, out_);
  EXPECT_FALSE(Event(K::kSuspect, "c"));
  EXPECT_FALSE(Event(K::kDown, "c"));
  AdvanceHearing(600ms, {"b"});
  EXPECT_TRUE(Event(K::kSuspect, "c"));  // but a peer still silent afterwards is suspected
}

TEST_F(MembershipTest, AProbePendingAcrossAPauseGetsAFreshProbeTimeout) {
  JoinWith({"c"});
  HeartbeatFrom("b");
  m_.OnDisconnect(now_, {"c", 1}, out_);
  ASSERT_EQ(Sent<ProbeRequest>().size(), 1u);
  now_ += 3s;  // paused with the probe pending
  m_.Tick(now_, out_);
  EXPECT_FALSE(Event(K::kDown, "c"));
  HeartbeatFrom("c");  // queued while paused
  EXPECT_TRUE(Event(K::kAlive, "c"));
}

// Found by the simulator (seed 160873): the first heartbeat read after a pause carried a stale
// death, and the victim's own heartbeats were right behind it.
TEST_F(MembershipTest, AfterAPauseGossipedDeathsWaitForOurOwnSilenceClock) {
  JoinWith({"c"});
  now_ += 3s;  // paused
  HeartbeatFrom("b", {Claim("c", 1, MemberState::kDead, 0)});
  EXPECT_FALSE(Event(K::kDown, "c"));
  HeartbeatFrom("c");
  EXPECT_EQ(StateOf("c"), MemberState::kAlive);
}

TEST_F(MembershipTest, NextDeadlineLetsADriverSeeEveryTransitionOnTime) {
  JoinWith({"c"});
  m_.OnDisconnect(now_, {"c", 1}, out_);
  Time disconnected = now_;
  // Only at the deadlines the node asks for, nothing in between.
  while (!Event(K::kDown, "c")) {
    now_ = m_.NextDeadline();
    ASSERT_LT(now_ - disconnected, Duration(1s));
    m_.Tick(now_, out_);
  }
  EXPECT_EQ(now_ - disconnected, Duration(200ms));  // the probe timeout, to the nanosecond
}

}  // namespace
}  // namespace livepoll::core
