#include "net/cluster_codec.h"

#include <gtest/gtest.h>

namespace livepoll::net {
namespace {

using namespace core;

const std::string kCluster = "prod";

MemberClaim Claim(const std::string& name, MemberState state = MemberState::kAlive) {
  return {{name, 7}, "tcp://10.0.0.1:7472", "tcp://10.0.0.1:7473", state, 3};
}

template <typename M>
std::string RoundTrip(const M& m) {
  std::string bytes = EncodeCluster(kCluster, m);
  Result<ClusterMessage> back = DecodeCluster(bytes, kCluster);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  if (!back.ok()) return "";
  // Encoding is deterministic: re-encoding what was decoded gives the same bytes.
  return std::visit([](const auto& x) { return EncodeCluster(kCluster, x); }, *back);
}

TEST(ClusterCodec, EveryMembershipMessageRoundTrips) {
  std::vector<MembershipMessage> all = {
      Heartbeat{Claim("a"), {Claim("a"), Claim("b", MemberState::kSuspect), Claim("c", MemberState::kLeft)}},
      JoinRequest{Claim("d")},
      JoinReply{{"a", 1}, false, "name 'd' is in use by a live node", {}},
      JoinReply{{"a", 1}, true, "", {Claim("a"), Claim("b")}},
      ProbeRequest{{"a", 1}, {"b", 2}, 99},
      ProbeReply{{"c", 3}, {"b", 2}, 99, true},
      LeaveNotice{{"a", 1}},
  };
  for (const auto& m : all) EXPECT_EQ(RoundTrip(m), EncodeCluster(kCluster, m)) << m.index();
}

TEST(ClusterCodec, EveryPresenceMessageRoundTrips) {
  std::vector<PresenceMessage> all = {
      PresenceDelta{{"a", 1}, 4, 6, {{"q?x=1", 10}, {"q", 11}}, {{"r", 3}}},
      PresenceClock{{"a", 1}, 6},
      PresenceTransferRequest{{"b", 2}},
      PresenceTransfer{{"a", 1}, 6, {{"q", 11}}},
  };
  for (const auto& m : all) EXPECT_EQ(RoundTrip(m), EncodeCluster(kCluster, m)) << m.index();
}

TEST(ClusterCodec, FieldsSurviveTheTrip) {
  Result<ClusterMessage> r =
      DecodeCluster(EncodeCluster(kCluster, MembershipMessage(ProbeReply{{"c", 3}, {"b", 2}, 99, true})), kCluster);
  ASSERT_TRUE(r.ok());
  const auto& reply = std::get<ProbeReply>(std::get<MembershipMessage>(*r));
  EXPECT_EQ(reply.from, (NodeId{"c", 3}));
  EXPECT_EQ(reply.target, (NodeId{"b", 2}));
  EXPECT_EQ(reply.probe_id, 99u);
  EXPECT_TRUE(reply.heard);
}

TEST(ClusterCodec, AFrameOfAnotherClusterIsRefusedAndNamed) {
  std::string bytes = EncodeCluster("staging", MembershipMessage(LeaveNotice{{"a", 1}}));
  Result<ClusterMessage> r = DecodeCluster(bytes, kCluster);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIncompatible);
  EXPECT_NE(r.status().message().find("staging"), std::string::npos);
}

TEST(ClusterCodec, GarbageAndTruncationsAreMalformedNotCrashes) {
  EXPECT_EQ(DecodeCluster("garbage", kCluster).status().code(), Status::Code::kMalformed);
  std::string bytes = EncodeCluster(kCluster, MembershipMessage(Heartbeat{Claim("a"), {Claim("b")}}));
  for (size_t i = 0; i < bytes.size(); ++i)
    EXPECT_FALSE(DecodeCluster(bytes.substr(0, i), kCluster).ok()) << "prefix " << i;
}

TEST(ClusterCodec, ClientMessagesAreUnknownHere) {
  // A client-protocol frame reaching a cluster socket: the envelope is valid, the type is not.
  std::string bytes = EncodeCluster(kCluster, PresenceMessage(PresenceClock{{"a", 1}, 1}));
  auto pos = bytes.find("p.clock");
  ASSERT_NE(pos, std::string::npos);
  bytes.replace(pos, 7, "p.clack");
  EXPECT_EQ(DecodeCluster(bytes, kCluster).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace livepoll::net
