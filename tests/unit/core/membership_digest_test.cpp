// Membership's digest exchange (membership.h, issue 15): heartbeats carry the sender's claim and
// a digest of its view; the view is pushed for kPushHeartbeats heartbeats after it changed, and
// pulled (SyncRequest/SyncReply) from a peer whose digest keeps differing, within limits.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/membership.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;

MemberClaim Claim(const std::string& name, uint64_t inc = 1,
                  MemberState state = MemberState::kAlive, uint64_t version = 0) {
  return {{name, inc}, name + ":gossip", name + ":rpc", state, version};
}

TEST(MemberDigest, IgnoresOrderAndEndpointsButNotIncarnationVersionOrState) {
  const std::vector<MemberClaim> view = {Claim("a"), Claim("b", 2, MemberState::kSuspect, 3),
                                         Claim("c", 1, MemberState::kDead, 1)};
  const uint64_t d = MemberDigest(view);
  // Fixed by PROTOCOL.md (FNV-1a over the sorted claims; the value checked against an independent
  // implementation of that text): nodes of every build must agree.
  EXPECT_EQ(d, 17015165077510041562ull) << std::hex << d;
  std::vector<MemberClaim> shuffled = {view[2], view[0], view[1]};
  EXPECT_EQ(MemberDigest(shuffled), d);
  shuffled[0].gossip_endpoint = "elsewhere";
  EXPECT_EQ(MemberDigest(shuffled), d);
  for (int field = 0; field < 3; field++) {
    std::vector<MemberClaim> changed = view;
    if (field == 0) changed[1].id.incarnation++;
    if (field == 1) changed[1].version++;
    if (field == 2) changed[1].state = MemberState::kAlive;
    EXPECT_NE(MemberDigest(changed), d) << field;
  }
  EXPECT_NE(MemberDigest({}), 0u);
}

class MembershipDigestTest : public ::testing::Test {
 protected:
  MembershipDigestTest() : m_(Claim("a"), Options()) {}

  static MembershipOptions Options() {
    MembershipOptions o;
    o.gossip_interval = 100ms;
    o.suspect_after = 500ms;
    o.dead_after = 1s;
    o.sync_interval = 1s;
    return o;
  }
  void JoinWith(const std::vector<std::string>& others) {
    m_.Start(now_, {"b:rpc"}, out_);
    std::vector<MemberClaim> members = {Claim("a"), Claim("b")};
    for (const std::string& o : others) members.push_back(Claim(o));
    m_.OnMessage(now_, JoinReply{{"b", 1}, true, "", members}, out_);
    out_ = {};
  }
  void Deliver(const MembershipMessage& msg) { m_.OnMessage(now_, msg, out_); }
  // One heartbeat period: `talking` peers heartbeat (with `digest`, our own when 0), then we tick.
  void Period(const std::vector<std::string>& talking, uint64_t digest = 0) {
    for (const std::string& p : talking)
      Deliver(Heartbeat{Claim(p), {}, digest ? digest : m_.Digest()});
    now_ += 100ms;
    m_.Tick(now_, out_);
  }
  std::vector<Heartbeat> Heartbeats() const {
    std::vector<Heartbeat> v;
    for (const auto& msg : out_.broadcasts)
      if (auto* hb = std::get_if<Heartbeat>(&msg)) v.push_back(*hb);
    return v;
  }
  template <typename T>
  std::vector<std::pair<std::string, T>> Sent() const {
    std::vector<std::pair<std::string, T>> v;
    for (const auto& [to, msg] : out_.sends)
      if (auto* t = std::get_if<T>(&msg)) v.emplace_back(to, *t);
    return v;
  }

  Membership m_;
  Time now_ = Time() + 1s;
  MembershipOutputs out_;
};

TEST_F(MembershipDigestTest, TheViewIsPushedInThreeHeartbeatsAfterAChangeThenOnlyTheDigest) {
  JoinWith({"c"});
  for (int i = 0; i < 6; i++) Period({"b", "c"});
  std::vector<Heartbeat> hbs = Heartbeats();
  ASSERT_GE(hbs.size(), 6u);
  for (size_t i = 0; i < hbs.size(); i++) {
    // 3 pushes (the first went out at once with the join's reply), then quiet.
    EXPECT_EQ(hbs[i].members.empty(), i >= 2) << i;
    EXPECT_EQ(hbs[i].digest, m_.Digest()) << i;
    EXPECT_EQ(hbs[i].self.id.name, "a");
  }
  EXPECT_EQ(hbs[0].members.size(), 3u);
  // News (a new member, met in a heartbeat) makes the next three push again.
  out_ = {};
  Deliver(Heartbeat{Claim("d"), {}, 0});
  for (int i = 0; i < 5; i++) Period({"b", "c", "d"});
  hbs = Heartbeats();
  ASSERT_GE(hbs.size(), 5u);
  for (size_t i = 0; i < hbs.size(); i++) EXPECT_EQ(hbs[i].members.size(), i < 3 ? 4u : 0u) << i;
  EXPECT_TRUE(Sent<SyncRequest>().empty());  // the digests agreed all along
}

TEST_F(MembershipDigestTest, ADigestThatKeepsDifferingIsPulledOncePerSyncInterval) {
  JoinWith({"c"});
  Period({"b", "c"}, 12345);  // one mismatch: news may still be spreading
  EXPECT_TRUE(Sent<SyncRequest>().empty());
  Period({"b", "c"}, 12345);  // two in a row: ask, one peer at a time
  auto asked = Sent<SyncRequest>();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].first, "b:rpc");
  EXPECT_EQ(asked[0].second.self.id.name, "a");
  EXPECT_EQ(asked[0].second.digest, m_.Digest());
  // c is asked 2 gossip_intervals later, b not again within sync_interval.
  for (int i = 0; i < 8; i++) Period({"b", "c"}, 12345);
  asked = Sent<SyncRequest>();
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1].first, "c:rpc");
  EXPECT_EQ(out_.tally.syncs_asked, 2u);
  for (int i = 0; i < 2; i++) Period({"b", "c"}, 12345);
  EXPECT_EQ(Sent<SyncRequest>().size(), 3u);  // b again, a second after the first ask
}

TEST_F(MembershipDigestTest, ASyncReplyIsMergedOnlyWhenAsked) {
  JoinWith({"c"});
  const std::vector<MemberClaim> theirs = {Claim("a"), Claim("b"), Claim("c"), Claim("e")};
  Deliver(SyncReply{{"b", 1}, theirs});
  EXPECT_FALSE(m_.Find("e"));
  EXPECT_EQ(out_.tally.syncs_refused, 1u);
  Period({"b"}, 12345);
  Period({"b"}, 12345);
  ASSERT_EQ(Sent<SyncRequest>().size(), 1u);
  Deliver(SyncReply{{"b", 1}, theirs});
  ASSERT_TRUE(m_.Find("e"));
  EXPECT_EQ(m_.Find("e")->claim.state, MemberState::kAlive);
  Deliver(SyncReply{{"b", 1}, theirs});  // one answer per ask
  EXPECT_EQ(out_.tally.syncs_refused, 2u);
}

TEST_F(MembershipDigestTest, AnAccusationInASyncReplyIsRefutedAndAnsweredWithAJoin) {
  JoinWith({"c"});
  Period({"b"}, 12345);
  Period({"b"}, 12345);
  out_ = {};
  Deliver(SyncReply{{"b", 1}, {Claim("a", 1, MemberState::kDead, 0), Claim("b")}});
  EXPECT_EQ(m_.Find("a")->claim.version, 1u);  // refuted
  auto joins = Sent<JoinRequest>();
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(joins[0].first, "b:rpc");
}

TEST_F(MembershipDigestTest, SyncRequestsAreAnsweredWithinBounds) {
  JoinWith({"c"});
  Deliver(SyncRequest{Claim("b"), 1});
  auto answers = Sent<SyncReply>();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].first, "b:rpc");
  EXPECT_EQ(answers[0].second.members.size(), 3u);
  // The same asker again within sync_interval / 2: dropped and counted.
  Deliver(SyncRequest{Claim("b"), 1});
  EXPECT_EQ(Sent<SyncReply>().size(), 1u);
  EXPECT_EQ(out_.tally.syncs_refused, 1u);
  // A storm of askers (a node that forgot us is answered too, at the endpoint it names): at most
  // kMaxSyncAnswersPerInterval per gossip_interval in all.
  for (int i = 0; i < 50; i++) Deliver(SyncRequest{Claim("x" + std::to_string(i)), 1});
  EXPECT_EQ(Sent<SyncReply>().size(), size_t(Membership::kMaxSyncAnswersPerInterval));
  EXPECT_EQ(out_.tally.syncs_answered, uint64_t(Membership::kMaxSyncAnswersPerInterval));
  EXPECT_EQ(out_.tally.syncs_refused, 1u + 50 - (Membership::kMaxSyncAnswersPerInterval - 1));
  EXPECT_FALSE(m_.Find("x0"));  // answered, not let in
  // The next interval has a fresh budget, and b is answered again after sync_interval / 2.
  for (int i = 0; i < 5; i++) Period({});
  Deliver(SyncRequest{Claim("b"), 1});
  EXPECT_EQ(Sent<SyncReply>().size(), size_t(Membership::kMaxSyncAnswersPerInterval) + 1);
}

TEST_F(MembershipDigestTest, AHeartbeatWithoutADigestIsAnOlderNodesAndNeverPulled) {
  JoinWith({"c"});
  for (int i = 0; i < 5; i++) {
    Deliver(Heartbeat{Claim("b"), {Claim("b"), Claim("a"), Claim("c")}, 0});
    now_ += 100ms;
    m_.Tick(now_, out_);
  }
  EXPECT_TRUE(Sent<SyncRequest>().empty());
}

}  // namespace
}  // namespace livepoll::core
