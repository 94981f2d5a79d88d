// The limits on what clients and peers can make one node hold (issue 12, "Limits"): parameter
// length, subscriptions per client, clients, the back-off for long intervals, implausible
// epochs and seqs from peers, and the maps keyed by what peers send.
#include <gtest/gtest.h>

#include <limits>

#include "core/claims.h"
#include "core/peer_limits.h"
#include "core/pollers.h"
#include "core/subscriptions.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;

Catalog OneQuery(Duration interval = 1s) {
  Catalog c;
  c.queries["q"] = {"q", "db", {"p"}, {}, interval, 0.0};
  return c;
}

class SubscriptionLimitsTest : public ::testing::Test {
 protected:
  static SubscriptionsOptions Limited() {
    SubscriptionsOptions o;
    o.max_param_bytes = 16;
    o.max_subscriptions_per_client = 3;
    o.max_clients = 2;
    return o;
  }
  Result<Subscriptions::Joined> Join(ClientId c, const std::string& p) {
    out = {};
    return subs.Join(now, c, "q", {{"p", p}}, out);
  }
  Subscriptions subs{OneQuery(), Limited()};
  Outputs out;
  Time now{100s};
};

TEST_F(SubscriptionLimitsTest, ALongParameterIsRefusedAndMakesNoTopicNorPresence) {
  ASSERT_TRUE(Join(1, std::string(16, 'x')).ok());
  Result<Subscriptions::Joined> j = Join(2, std::string(17, 'x'));
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(j.status().message().find("max_param_bytes"), std::string::npos)
      << j.status().message();
  EXPECT_TRUE(out.join_over_limit);
  EXPECT_TRUE(out.subscribed.empty());  // no presence entry
  EXPECT_TRUE(out.pollers.polls.empty());
  EXPECT_EQ(subs.topic_count(), 1u);  // no topic
  // 30 MiB, as in the issue: refused before anything is built from it.
  EXPECT_FALSE(Join(2, std::string(30 << 20, 'x')).ok());
  EXPECT_EQ(subs.topic_count(), 1u);
}

TEST_F(SubscriptionLimitsTest, SubscriptionsPerClientAreCapped) {
  for (const char* p : {"a", "b", "c"}) ASSERT_TRUE(Join(1, p).ok());
  Result<Subscriptions::Joined> j = Join(1, "d");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("max_subscriptions_per_client"), std::string::npos);
  EXPECT_TRUE(out.join_over_limit);
  EXPECT_TRUE(Join(1, "a").ok());  // joining a topic again takes no new subscription
  ASSERT_TRUE(subs.Leave(now, 1, "q?p=c", out).ok());
  EXPECT_TRUE(Join(1, "d").ok());  // room again
  EXPECT_EQ(subs.subscription_count(), 3u);
}

TEST_F(SubscriptionLimitsTest, ClientsPerNodeAreCappedAndALeavingClientMakesRoom) {
  ASSERT_TRUE(Join(1, "a").ok());
  ASSERT_TRUE(Join(2, "a").ok());
  Result<Subscriptions::Joined> j = Join(3, "a");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("max_clients"), std::string::npos);
  EXPECT_TRUE(Join(2, "b").ok());  // a client already served takes more topics
  subs.ClientGone(now, 1, out);
  EXPECT_TRUE(Join(3, "a").ok());
  ASSERT_TRUE(subs.Leave(now, 3, "q?p=a", out).ok());  // its last: it holds nothing now
  EXPECT_TRUE(Join(4, "a").ok());
}

// interval × 2^20 was computed in int64 nanoseconds: for an interval of a day it overflows (its
// conversion from double is undefined; on x86 a huge negative wait: the poller busy-looped).
TEST(BackOffTest, ALongIntervalBacksOffToBackoffMaxWithoutOverflow) {
  for (Duration interval : {Duration(1h), Duration(24h)}) {
    SubscriptionsOptions o;
    o.backoff_max = 24h;
    o.client_timeout = 1000h;
    Subscriptions subs(OneQuery(interval), o);
    Outputs out;
    Time now{100s};
    ASSERT_TRUE(subs.Join(now, 1, "q", {{"p", "x"}}, out).ok());
    subs.Tick(now, out);
    for (int failure = 1; failure <= 40; ++failure) {
      ASSERT_EQ(out.pollers.polls.size(), 1u) << "failure " << failure;
      const uint64_t id = out.pollers.polls[0].poll_id;
      out.pollers.polls.clear();
      subs.PollDone(now, id, Status::Unavailable("down"), out);
      const Time failed = now;
      while (out.pollers.polls.empty()) {  // other timers (the client check) may come first
        ASSERT_LT(now - failed, Duration(25h)) << "failure " << failure;
        now = subs.NextDeadline();
        subs.Tick(now, out);
      }
      EXPECT_GE(now - failed, std::min<Duration>(interval, 24h)) << "failure " << failure;
      EXPECT_LE(now - failed, Duration(24h)) << "failure " << failure;
    }
  }
}

TEST(PeerLimitsTest, EpochsSeqsAndVersionsNearTwoToTheSixtyFourAreImplausible) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  NodeId n{"n2", 7};
  EXPECT_TRUE(WithinPeerLimits(RegistryMessage(RegistryVote{n, 1, "t", false, n, 5})));
  EXPECT_FALSE(WithinPeerLimits(RegistryMessage(RegistryVote{n, 0, "t", false, n, max})));
  EXPECT_FALSE(WithinPeerLimits(RegistryMessage(RegistryPropose{n, 1, "t", kMaxCounter + 1})));
  EXPECT_TRUE(WithinPeerLimits(RegistryMessage(RegistryPropose{n, 1, "t", kMaxCounter})));
  proto::Update u;
  u.topic = "t";
  u.epoch = 1;
  u.seq = max;
  EXPECT_FALSE(WithinPeerLimits(DataMessage(DataUpdate{u})));
  u.seq = 2;
  EXPECT_TRUE(WithinPeerLimits(DataMessage(DataUpdate{u})));
  EXPECT_FALSE(WithinPeerLimits(DataMessage(SnapshotReply{n, "t", [&] {
                                                            proto::Update v = u;
                                                            v.epoch = max;
                                                            return v;
                                                          }()})));
  MemberClaim c{{"n3", 1}, "g", "r", MemberState::kAlive, max};
  EXPECT_FALSE(WithinPeerLimits(MembershipMessage(Heartbeat{c, {c}})));
  c.version = 3;
  EXPECT_TRUE(WithinPeerLimits(MembershipMessage(Heartbeat{c, {c}})));
  EXPECT_FALSE(WithinPeerLimits(
      RegistryMessage(ClaimsMessage{ClaimMessage(ClaimDelta{n, 1, 2, {{"t", max}}, {}})})));
  EXPECT_FALSE(WithinPeerLimits(PresenceMessage(ReplicaClock{n, max})));
}

// Epochs of topics long gone were kept for the process's life, one per topic ever voted on: a
// map keyed by what peers send. Forgotten after permdown unheld, below a floor.
TEST(EpochsTest, EpochsOfTopicsUnheldForPermdownAreForgottenAndNextEpochStillGrows) {
  ReplicaOptions o;
  o.permdown = 30s;
  ClaimsReplica claims({"n1", 1}, o);
  RegistryOutputs out;
  Time now{100s};
  claims.Tick(now, out);
  for (int i = 0; i < 1000; ++i) claims.EpochsOf("voted" + std::to_string(i)).Note(9, {"n2", 1});
  claims.Add(now, "held", 4, out);
  EXPECT_EQ(claims.NextEpoch("voted1"), 10u);
  EXPECT_EQ(claims.epochs_known(), 1001u);
  for (int s = 0; s < 50; ++s) {
    now += 1s;
    claims.Tick(now, out);
  }
  EXPECT_EQ(claims.epochs_known(), 1u);        // the held topic's
  EXPECT_EQ(claims.NextEpoch("held"), 10u);    // above the floor (9) too
  EXPECT_EQ(claims.NextEpoch("voted1"), 10u);  // never back below what it was
  EXPECT_EQ(claims.NextEpoch("new"), 10u);
}

TEST(EpochsTest, AnEpochNearTwoToTheSixtyFourIsNotTaken) {
  Epochs e;
  e.Note(3, {"n2", 1});
  e.Note(std::numeric_limits<uint64_t>::max(), {"n3", 1});
  EXPECT_EQ(e.claimed, 3u);
}

}  // namespace
}  // namespace livepoll::core
