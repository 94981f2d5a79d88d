#include "net/cluster_codec.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

#include "core/topic.h"
#include "proto/codec.h"
#include "proto/wire.h"

namespace livepoll::net {
namespace {

using namespace core;

const std::string kCluster = "prod";
const std::string kFrom = "n1";

// A named constructor rather than {"a", 1}: GCC 12 reports brace-initialised strings nested in
// aggregates as maybe-uninitialized (bug 105562).
NodeId Id(const char* name, uint64_t incarnation) { return NodeId{name, incarnation}; }

MemberClaim Claim(const std::string& name, MemberState state = MemberState::kAlive) {
  return {{name, 7}, "tcp://10.0.0.1:7472", "tcp://10.0.0.1:7473", state, 3};
}

// Any message as a frame: PeerMessage's groups and AdminMessage have an overload each.
std::string Encode(const ClusterMessage& m, const std::string& cluster = kCluster,
                   const std::string& from = kFrom) {
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, AdminMessage>)
          return EncodeCluster(cluster, from, x);
        else
          return EncodeCluster(cluster, from, core::PeerMessage(x));
      },
      m);
}

// Decodes and re-encodes: encoding is deterministic, so equal bytes mean every field survived.
std::string RoundTrip(const ClusterMessage& m) {
  const std::string bytes = Encode(m);
  Result<ClusterFrame> back = DecodeCluster(bytes, kCluster);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  if (!back.ok()) return "";
  EXPECT_EQ(back->from, kFrom);
  EXPECT_EQ(back->message.index(), m.index());
  return Encode(back->message);
}

proto::Update Snapshot() {
  proto::Update u;
  u.topic = "orders?region=eu";
  u.kind = proto::UpdateKind::kSnapshot;
  u.owner = "n2";
  u.epoch = 4;
  u.seq = 17;
  u.columns = {"id", "name", "price", "blob", "ok", "note"};
  // Non-integral reals: msgpack-c packs an integral double as an integer, which the client codec
  // reads back as int64 (a property of proto::Encode, not of this codec).
  u.rows = {{int64_t{1}, std::string("a"), 1.5, Blob{std::string("\0\1", 2)}, true, Null{}},
            {int64_t{-2}, std::string(""), -0.25, Blob{""}, false, std::string("x")}};
  return u;
}
proto::Update Diff() {
  proto::Update u;
  u.topic = "orders";
  u.kind = proto::UpdateKind::kDiff;
  u.owner = "n3";
  u.epoch = 1;
  u.seq = 2;
  u.columns = {"id"};
  u.changes = {{proto::Change::Op::kInsert, {int64_t{1}}},
               {proto::Change::Op::kUpdate, {int64_t{2}}},
               {proto::Change::Op::kDelete, {int64_t{3}}}};
  return u;
}
proto::Update ErrorUpdate() {
  proto::Update u;
  u.topic = "orders";
  u.kind = proto::UpdateKind::kError;
  u.owner = "n3";
  u.epoch = 1;
  u.seq = 3;
  u.error = "connection refused";
  return u;
}

std::vector<ClusterMessage> MembershipMessages() {
  return {
      MembershipMessage(Heartbeat{
          Claim("a"),
          {Claim("a"), Claim("b", MemberState::kSuspect), Claim("c", MemberState::kLeft)}}),
      MembershipMessage(JoinRequest{Claim("d")}),
      MembershipMessage(JoinReply{Id("a", 1), false, "name 'd' is in use by a live node", {}}),
      MembershipMessage(
          JoinReply{Id("a", 1), true, "", {Claim("a"), Claim("b", MemberState::kDead)}}),
      MembershipMessage(ProbeRequest{Id("a", 1), Id("b", 2), 99}),
      MembershipMessage(ProbeReply{Id("c", 3), Id("b", 2), 99, true}),
      MembershipMessage(LeaveNotice{Id("a", 1)}),
  };
}
template <typename Entry>
std::vector<ReplicaMessage<Entry>> ReplicationBodies() {
  return {
      ReplicaDelta<Entry>{Id("a", 1), 4, 6, {{"q?x=1", 10}, {"q", 11}}, {{"r", 3}}},
      ReplicaClock{Id("a", 1), 6},
      ReplicaTransferRequest{Id("b", 2)},
      ReplicaTransfer<Entry>{Id("a", 1), 6, {{"q", 11}}},
      ReplicaTransfer<Entry>{Id("a", 1), 0, {}},
  };
}
std::vector<ClusterMessage> PresenceMessages() {
  std::vector<ClusterMessage> out;
  for (auto& m : ReplicationBodies<PresenceEntry>()) out.emplace_back(std::move(m));
  return out;
}
std::vector<ClusterMessage> RegistryMessages() {
  std::vector<ClusterMessage> out = {
      RegistryMessage(RegistryPropose{Id("a", 1), 5, "q?x=1", 3}),
      RegistryMessage(RegistryVote{Id("b", 2), 5, "q?x=1", true, {}, 0}),
      RegistryMessage(RegistryVote{Id("b", 2), 5, "q?x=1", false, Id("c", 9), 2}),
  };
  for (auto& m : ReplicationBodies<ClaimEntry>())
    out.emplace_back(RegistryMessage(ClaimsMessage{std::move(m)}));
  return out;
}
std::vector<ClusterMessage> DataMessages() {
  return {
      DataMessage(DataUpdate{Snapshot()}),
      DataMessage(DataUpdate{Diff()}),
      DataMessage(DataUpdate{ErrorUpdate()}),
      DataMessage(SnapshotRequest{Id("a", 1), "orders?region=eu"}),
      DataMessage(SnapshotReply{Id("b", 2), "orders?region=eu", Snapshot()}),
      DataMessage(SnapshotReply{Id("b", 2), "orders", ErrorUpdate()}),
      DataMessage(SnapshotReply{Id("b", 2), "orders", std::nullopt}),
  };
}
std::vector<ClusterMessage> AdminMessages() {
  proto::AdminReply reply{9, "", "", {"node", "n"}, {{std::string("a"), int64_t{3}}}, {}};
  proto::AdminReply partial = reply;
  partial.missing = {"c: no answer within 1000ms"};
  return {
      AdminMessage(AdminCall{Id("a", 1), proto::AdminRequest{9, "zombies", {{"topic", "t?g=1"}}}}),
      AdminMessage(AdminAnswer{Id("b", 2), reply}),
      AdminMessage(AdminAnswer{Id("b", 2), partial}),
      AdminMessage(
          AdminAnswer{Id("b", 2), proto::AdminReply{9, "invalid-argument", "no", {}, {}, {}}}),
  };
}
std::vector<ClusterMessage> EveryKind() {
  std::vector<ClusterMessage> all;
  for (auto* make :
       {MembershipMessages, PresenceMessages, RegistryMessages, DataMessages, AdminMessages})
    for (auto& m : make()) all.push_back(std::move(m));
  return all;
}

// The envelope's type, read back with the wire toolkit.
std::string TypeOf(const std::string& bytes) {
  Result<proto::wire::Envelope> env = proto::wire::OpenEnvelope(bytes);
  return env.ok() ? env->type : "";
}

// A frame built by hand: the envelope of `type` with `fields` body fields written by `body`.
template <typename Body>
std::string Frame(const char* type, uint32_t fields, Body body, const std::string& from = kFrom) {
  msgpack::sbuffer buf;
  proto::wire::Packer p(buf);
  proto::wire::PackEnvelope(p, type, fields + 2);
  proto::wire::PackStr(p, "cluster");
  proto::wire::PackStr(p, kCluster);
  proto::wire::PackStr(p, "from");
  proto::wire::PackStr(p, from);
  body(p);
  return std::string(buf.data(), buf.size());
}
void PackBin(proto::wire::Packer& p, const std::string& bytes) {
  p.pack_bin(static_cast<uint32_t>(bytes.size()));
  p.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
}
std::string UpdateFrame(const std::string& embedded) {
  return Frame("d.update", 1, [&](proto::wire::Packer& p) {
    proto::wire::PackStr(p, "update");
    PackBin(p, embedded);
  });
}

// ---------------------------------------------------------------------------------- round trips

TEST(ClusterCodec, EveryMembershipMessageRoundTrips) {
  for (const auto& m : MembershipMessages())
    EXPECT_EQ(RoundTrip(m), Encode(m)) << TypeOf(Encode(m));
}

TEST(ClusterCodec, EveryPresenceMessageRoundTrips) {
  for (const auto& m : PresenceMessages()) EXPECT_EQ(RoundTrip(m), Encode(m)) << TypeOf(Encode(m));
}

TEST(ClusterCodec, EveryRegistryMessageRoundTrips) {
  for (const auto& m : RegistryMessages()) EXPECT_EQ(RoundTrip(m), Encode(m)) << TypeOf(Encode(m));
}

TEST(ClusterCodec, EveryDataMessageRoundTrips) {
  for (const auto& m : DataMessages()) EXPECT_EQ(RoundTrip(m), Encode(m)) << TypeOf(Encode(m));
}

TEST(ClusterCodec, TypeNamesAreThoseOfTheSpec) {
  std::vector<std::string> types;
  for (const auto& m : EveryKind()) {
    std::string t = TypeOf(Encode(m));
    if (types.empty() || types.back() != t) types.push_back(t);
  }
  const std::vector<std::string> spec = {"m.heartbeat",      "m.join",        "m.join_reply",
                                         "m.probe",          "m.probe_reply", "m.leave",
                                         "p.delta",          "p.clock",       "p.transfer_request",
                                         "p.transfer",       "r.propose",     "r.vote",
                                         "r.delta",          "r.clock",       "r.transfer_request",
                                         "r.transfer",       "d.update",      "d.snapshot_request",
                                         "d.snapshot_reply", "a.request",     "a.reply"};
  EXPECT_EQ(types, spec);
}

TEST(ClusterCodec, EveryAdminMessageRoundTripsWithItsEmbeddedFrame) {
  for (const auto& m : AdminMessages()) EXPECT_EQ(RoundTrip(m), Encode(m)) << TypeOf(Encode(m));
  Result<ClusterFrame> back = DecodeCluster(Encode(AdminMessages()[2]), kCluster);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const auto& answer = std::get<AdminAnswer>(std::get<AdminMessage>(back->message));
  EXPECT_EQ(answer.reply.missing, std::vector<std::string>{"c: no answer within 1000ms"});
  EXPECT_EQ(answer.reply.rows.size(), 1u);
}

TEST(ClusterCodec, ClaimsDecodeAsClaimsAndPresenceAsPresence) {
  // The same body under "p." and "r.": the prefix alone decides which replica a frame feeds.
  const ReplicaClock body{Id("a", 1), 6};
  Result<ClusterFrame> presence = DecodeCluster(
      EncodeCluster(kCluster, kFrom, core::PeerMessage(PresenceMessage(body))), kCluster);
  ASSERT_TRUE(presence.ok()) << presence.status().ToString();
  EXPECT_EQ(std::get<PresenceClock>(std::get<PresenceMessage>(presence->message)).version, 6u);

  Result<ClusterFrame> claims = DecodeCluster(
      EncodeCluster(kCluster, kFrom, core::PeerMessage(RegistryMessage(ClaimsMessage{body}))),
      kCluster);
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  const auto& wrapped = std::get<ClaimsMessage>(std::get<RegistryMessage>(claims->message));
  EXPECT_EQ(std::get<ReplicaClock>(wrapped.m).origin, Id("a", 1));
}

TEST(ClusterCodec, FieldsSurviveTheTrip) {
  Result<ClusterFrame> r = DecodeCluster(
      EncodeCluster(
          kCluster, "c",
          core::PeerMessage(MembershipMessage(ProbeReply{Id("c", 3), Id("b", 2), 99, true}))),
      kCluster);
  ASSERT_TRUE(r.ok());
  const auto& reply = std::get<ProbeReply>(std::get<MembershipMessage>(r->message));
  EXPECT_EQ(reply.from, Id("c", 3));
  EXPECT_EQ(reply.target, Id("b", 2));
  EXPECT_EQ(reply.probe_id, 99u);
  EXPECT_TRUE(reply.heard);

  Result<ClusterFrame> v = DecodeCluster(
      Encode(RegistryMessage(RegistryVote{Id("b", 2), 5, "q", false, Id("c", 9), 2})), kCluster);
  ASSERT_TRUE(v.ok());
  const auto& vote = std::get<RegistryVote>(std::get<RegistryMessage>(v->message));
  EXPECT_EQ(vote.from, Id("b", 2));
  EXPECT_EQ(vote.proposal_id, 5u);
  EXPECT_EQ(vote.topic, "q");
  EXPECT_FALSE(vote.granted);
  EXPECT_EQ(vote.owner, Id("c", 9));
  EXPECT_EQ(vote.owner_epoch, 2u);
}

TEST(ClusterCodec, UpdatesSurviveTheTripFieldForField) {
  for (const proto::Update& u : {Snapshot(), Diff(), ErrorUpdate()}) {
    Result<ClusterFrame> r =
        DecodeCluster(EncodeCluster(kCluster, kFrom, DataMessage(DataUpdate{u})), kCluster);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(std::get<DataUpdate>(std::get<DataMessage>(r->message)).update, u);
  }
  Result<ClusterFrame> none = DecodeCluster(
      EncodeCluster(kCluster, kFrom, DataMessage(SnapshotReply{Id("b", 2), "t", std::nullopt})),
      kCluster);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(std::get<SnapshotReply>(std::get<DataMessage>(none->message)).update.has_value());
  Result<ClusterFrame> some = DecodeCluster(
      EncodeCluster(kCluster, kFrom, DataMessage(SnapshotReply{Id("b", 2), "t", Snapshot()})),
      kCluster);
  ASSERT_TRUE(some.ok());
  const auto& reply = std::get<SnapshotReply>(std::get<DataMessage>(some->message));
  EXPECT_EQ(reply.from, Id("b", 2));
  EXPECT_EQ(reply.topic, "t");
  EXPECT_EQ(reply.update, std::optional<proto::Update>(Snapshot()));
}

TEST(ClusterCodec, TheSenderIsCarriedForEveryKind) {
  for (const std::string& from :
       {std::string("n1"), std::string(""), std::string("nœud-2"), std::string("a\0b", 3)}) {
    for (const auto& m : EveryKind()) {
      Result<ClusterFrame> r = DecodeCluster(Encode(m, kCluster, from), kCluster);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->from, from) << TypeOf(Encode(m));
    }
  }
}

// ---------------------------------------------------------------------------------- refusals

TEST(ClusterCodec, EveryTruncatedPrefixOfEveryKindIsMalformed) {
  for (const auto& m : EveryKind()) {
    const std::string bytes = Encode(m);
    for (size_t i = 0; i < bytes.size(); ++i) {
      Result<ClusterFrame> r = DecodeCluster(std::string_view(bytes).substr(0, i), kCluster);
      ASSERT_FALSE(r.ok()) << TypeOf(bytes) << " prefix " << i;
      EXPECT_EQ(r.status().code(), Status::Code::kMalformed) << TypeOf(bytes) << " prefix " << i;
    }
  }
}

TEST(ClusterCodec, AFrameOfAnotherClusterIsRefusedAndNamed) {
  for (const auto& m : EveryKind()) {
    Result<ClusterFrame> r = DecodeCluster(Encode(m, "staging"), kCluster);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kIncompatible);
    EXPECT_NE(r.status().message().find("staging"), std::string::npos);
  }
}

TEST(ClusterCodec, AFrameWithoutASenderIsMalformed) {
  msgpack::sbuffer buf;
  proto::wire::Packer p(buf);
  proto::wire::PackEnvelope(p, "m.leave", 2);
  proto::wire::PackStr(p, "cluster");
  proto::wire::PackStr(p, kCluster);
  proto::wire::PackStr(p, "sender");
  p.pack_array(2);
  proto::wire::PackStr(p, "a");
  p.pack_uint64(1);
  Result<ClusterFrame> r = DecodeCluster(std::string_view(buf.data(), buf.size()), kCluster);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kMalformed);
  EXPECT_NE(r.status().message().find("from"), std::string::npos);

  std::string not_a_string = Frame("m.leave", 0, [](proto::wire::Packer&) {});
  not_a_string.replace(not_a_string.find("\xA4"
                                         "from\xA2"
                                         "n1"),
                       8,
                       "\xA4"
                       "from\x92\x01\x02");
  EXPECT_EQ(DecodeCluster(not_a_string, kCluster).status().code(), Status::Code::kMalformed);
}

TEST(ClusterCodec, UnknownKeysInABodyAreIgnored) {
  // A newer node may add fields; an older one reads what it knows.
  Result<ClusterFrame> r = DecodeCluster(Frame("m.leave", 2,
                                               [](proto::wire::Packer& p) {
                                                 proto::wire::PackStr(p, "future");
                                                 p.pack_array(0);
                                                 proto::wire::PackStr(p, "sender");
                                                 p.pack_array(2);
                                                 proto::wire::PackStr(p, "a");
                                                 p.pack_uint64(1);
                                               }),
                                         kCluster);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<LeaveNotice>(std::get<MembershipMessage>(r->message)).from, Id("a", 1));
}

TEST(ClusterCodec, AMissingOrMistypedFieldIsMalformedAndNamed) {
  auto probe = [](bool with_id, bool id_is_string, bool target_is_short) {
    return Frame("m.probe", with_id ? 3 : 2, [&](proto::wire::Packer& p) {
      proto::wire::PackStr(p, "sender");
      p.pack_array(2);
      proto::wire::PackStr(p, "a");
      p.pack_uint64(1);
      proto::wire::PackStr(p, "target");
      p.pack_array(target_is_short ? 1 : 2);
      proto::wire::PackStr(p, "b");
      if (!target_is_short) p.pack_uint64(2);
      if (!with_id) return;
      proto::wire::PackStr(p, "probe_id");
      if (id_is_string)
        proto::wire::PackStr(p, "7");
      else
        p.pack_uint64(7);
    });
  };
  ASSERT_TRUE(DecodeCluster(probe(true, false, false), kCluster).ok());
  for (const auto& [bytes, named] : {std::pair{probe(false, false, false), "'probe_id'"},
                                     std::pair{probe(true, true, false), "'probe_id'"},
                                     std::pair{probe(true, false, true), "'target'"}}) {
    Result<ClusterFrame> r = DecodeCluster(bytes, kCluster);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kMalformed);
    EXPECT_NE(r.status().message().find(named), std::string::npos) << r.status().ToString();
  }
}

TEST(ClusterCodec, UnknownTypesAreInvalidArgument) {
  std::string bytes = Encode(PresenceMessage(PresenceClock{Id("a", 1), 1}));
  const auto pos = bytes.find("p.clock");
  ASSERT_NE(pos, std::string::npos);
  bytes.replace(pos, 7, "p.clack");
  Result<ClusterFrame> r = DecodeCluster(bytes, kCluster);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("p.clack"), std::string::npos);
  // A client type, or a prefix of a known one, inside a valid cluster envelope.
  for (const char* type : {"update", "d.", "r.", "d.snapshot", "r.votes", ""})
    EXPECT_EQ(DecodeCluster(Frame(type, 0, [](proto::wire::Packer&) {}), kCluster).status().code(),
              Status::Code::kInvalidArgument)
        << type;
}

TEST(ClusterCodec, ADataUpdateWhosePayloadIsNotAnUpdateIsMalformed) {
  // Another client message: well-formed, but not an update.
  Result<ClusterFrame> joined =
      DecodeCluster(UpdateFrame(proto::Encode(proto::Joined{1, "t"})), kCluster);
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.status().code(), Status::Code::kMalformed);
  EXPECT_NE(joined.status().message().find("joined"), std::string::npos)
      << joined.status().ToString();

  // Garbage, an empty payload, a truncated update, an update missing a field.
  const std::string good = proto::Encode(proto::Message(Snapshot()));
  for (const std::string& payload :
       {std::string("garbage"), std::string(), good.substr(0, good.size() - 1)})
    EXPECT_EQ(DecodeCluster(UpdateFrame(payload), kCluster).status().code(),
              Status::Code::kMalformed);
  std::string no_topic = good;
  no_topic.replace(no_topic.find("\xA5topic"), 6, "\xA5topiX");
  EXPECT_EQ(DecodeCluster(UpdateFrame(no_topic), kCluster).status().code(),
            Status::Code::kMalformed);

  // An unknown embedded type is still this frame's shape being wrong, not an unknown cluster type.
  std::string strange = proto::Encode(proto::Joined{1, "t"});
  strange.replace(strange.find("joined"), 6, "joinee");
  EXPECT_EQ(DecodeCluster(UpdateFrame(strange), kCluster).status().code(),
            Status::Code::kMalformed);

  // The update as a str, or a map, instead of the bin the spec says.
  EXPECT_EQ(DecodeCluster(Frame("d.update", 1,
                                [&](proto::wire::Packer& p) {
                                  proto::wire::PackStr(p, "update");
                                  proto::wire::PackStr(p, good);
                                }),
                          kCluster)
                .status()
                .code(),
            Status::Code::kMalformed);
  // A snapshot reply whose update is neither nil nor an update.
  EXPECT_EQ(DecodeCluster(Frame("d.snapshot_reply", 3,
                                [&](proto::wire::Packer& p) {
                                  proto::wire::PackStr(p, "sender");
                                  p.pack_array(2);
                                  proto::wire::PackStr(p, "b");
                                  p.pack_uint64(2);
                                  proto::wire::PackStr(p, "topic");
                                  proto::wire::PackStr(p, "t");
                                  proto::wire::PackStr(p, "update");
                                  p.pack_uint64(0);
                                }),
                          kCluster)
                .status()
                .code(),
            Status::Code::kMalformed);
}

TEST(ClusterCodec, AnEmbeddedUpdateOfAnotherVersionIsIncompatible) {
  std::string v2 = proto::Encode(proto::Message(Snapshot()));
  const auto pos = v2.find("\xA1v\x01");
  ASSERT_NE(pos, std::string::npos);
  v2[pos + 2] = '\x02';
  EXPECT_EQ(DecodeCluster(UpdateFrame(v2), kCluster).status().code(), Status::Code::kIncompatible);
}

TEST(ClusterCodec, MutatedFramesNeverCrash) {
  // Every byte of every kind flipped, and random garbage: any answer but a crash will do, and an
  // ok answer must re-encode (it decoded into a well-formed message).
  std::mt19937_64 rng(42);
  size_t accepted = 0;
  for (const auto& m : EveryKind()) {
    const std::string bytes = Encode(m);
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (unsigned char x :
           std::array<unsigned char, 4>{0x01, 0x80, 0xFF, static_cast<unsigned char>(rng())}) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ x);
        Result<ClusterFrame> r = DecodeCluster(bad, kCluster);
        if (r.ok()) {
          ++accepted;
          EXPECT_FALSE(Encode(r->message).empty());
        }
      }
    }
  }
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (!junk.empty() && rng() % 2) junk[0] = '\x85';  // a map header, to get past the first check
    EXPECT_FALSE(DecodeCluster(junk, kCluster).ok());
  }
  RecordProperty("accepted_mutations", static_cast<int>(accepted));
}

// ---------------------------------------------------------------------------------- TopicChannel

bool IsPrefix(const std::string& a, const std::string& b) { return b.compare(0, a.size(), a) == 0; }

void ExpectPrefixFree(const std::vector<std::string>& topics) {
  std::vector<std::string> channels;
  for (const auto& t : topics) channels.push_back(TopicChannel(t));
  for (size_t i = 0; i < channels.size(); ++i) {
    // A SUB on "c" (the cluster channel) receives every frame whose channel starts with 'c'.
    ASSERT_FALSE(channels[i].empty());
    ASSERT_NE(channels[i][0], 'c') << testing::PrintToString(topics[i]);
    for (size_t j = 0; j < channels.size(); ++j) {
      if (i == j || topics[i] == topics[j]) continue;
      ASSERT_FALSE(IsPrefix(channels[i], channels[j]))
          << testing::PrintToString(topics[i]) << " vs " << testing::PrintToString(topics[j]);
    }
  }
}

TEST(TopicChannel, EveryShortTopicOverATrickyAlphabetIsPrefixFree) {
  // Exhaustive up to length 4 over the terminator, the escape byte, the byte after it and 'c'.
  const std::string alphabet = std::string("\0\1\2c", 4);
  std::vector<std::string> topics = {""};
  for (size_t begin = 0, len = 1; len <= 4; ++len) {
    const size_t end = topics.size();
    for (size_t i = begin; i < end; ++i)
      for (char c : alphabet) topics.push_back(topics[i] + c);
    begin = end;
  }
  ASSERT_EQ(topics.size(), 1u + 4 + 16 + 64 + 256);
  ExpectPrefixFree(topics);
}

TEST(TopicChannel, RandomTopicsArePrefixFree) {
  std::mt19937_64 rng(7);
  std::vector<std::string> topics = {"",
                                     "c",
                                     "t",
                                     "q",
                                     "q?",
                                     "q?a=1",
                                     "q?a=1&b=2",
                                     "q?a=10",
                                     std::string("q\0", 2),
                                     std::string("q\0\0", 3),
                                     std::string("q\1", 2),
                                     std::string("q\1\1", 3)};
  for (int i = 0; i < 1500; ++i) {
    const std::string base = topics[rng() % topics.size()];
    std::string t = base;
    const size_t extra = rng() % 6;
    for (size_t k = 0; k < extra; ++k) {
      switch (rng() % 4) {
        case 0:
          t += static_cast<char>(rng() % 3);
          break;  // NUL, 0x01, 0x02
        case 1:
          t += "c";
          break;
        case 2:
          t += static_cast<char>(rng());
          break;
        default:
          t += "?a=" + std::to_string(rng() % 100);
          break;
      }
    }
    topics.push_back(t);
  }
  ExpectPrefixFree(topics);
}

TEST(TopicChannel, ARealTopicIsItselfBetweenTAndNul) {
  // MakeTopic percent-encodes every byte below 0x21, so the escapes never apply to a real topic
  // and a capture shows it as is.
  Result<std::string> topic =
      MakeTopic("orders", {{"region", std::string("e\0u\1 ", 5)}, {"c", "1"}});
  ASSERT_TRUE(topic.ok()) << topic.status().ToString();
  EXPECT_EQ(topic->find_first_of(std::string("\0\1", 2)), std::string::npos);
  EXPECT_EQ(TopicChannel(*topic), "t" + *topic + std::string(1, '\0'));
  EXPECT_EQ(TopicChannel("c"), std::string("tc\0", 3));
  EXPECT_EQ(TopicChannel(std::string("a\0b\1", 4)), std::string("ta\1\1b\1\2\0", 8));
}

}  // namespace
}  // namespace livepoll::net

namespace livepoll::net {
namespace {

// A presence entry with a key is [topic, subscriber, key, meta, ref]; without one it stays the
// two elements it always was, and both read.
TEST(ClusterCodec, PresenceEntriesCarryKeyMetaAndRefOnlyWithPresence) {
  const PresenceEntry plain{"q", 14};
  const PresenceEntry ann{"q", 12, "ann", R"({"a":"\"x\""})", 3};
  const std::string bytes = EncodeCluster(
      kCluster, kFrom,
      core::PeerMessage(PresenceMessage(PresenceTransfer{Id("a", 1), 8, {plain, ann}})));
  Result<ClusterFrame> back = DecodeCluster(bytes, kCluster);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const auto* p = std::get_if<PresenceMessage>(&back->message);
  ASSERT_NE(p, nullptr);
  const auto* t = std::get_if<PresenceTransfer>(p);
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->entries.size(), 2u);
  EXPECT_EQ(t->entries[0], plain);
  EXPECT_EQ(t->entries[1], ann);

  // On the wire: a plain entry is a 2-array, one with presence a 5-array.
  auto entries_of = [](const std::string& frame) {
    msgpack::object_handle h = msgpack::unpack(frame.data(), frame.size());
    const msgpack::object& map = h.get();
    std::vector<uint32_t> sizes;
    for (uint32_t i = 0; i < map.via.map.size; ++i) {
      const msgpack::object_kv& kv = map.via.map.ptr[i];
      if (kv.key.as<std::string>() != "entries") continue;
      for (uint32_t j = 0; j < kv.val.via.array.size; ++j)
        sizes.push_back(kv.val.via.array.ptr[j].via.array.size);
    }
    return sizes;
  };
  EXPECT_EQ(entries_of(bytes), (std::vector<uint32_t>{2, 5}));
  const ClusterMessage delta =
      PresenceMessage(PresenceDelta{Id("a", 1), 6, 8, {ann, plain}, {ann}});
  EXPECT_EQ(RoundTrip(delta), Encode(delta));

  // An entry with a key but ref 0 is still written whole: the optional elements travel together.
  PresenceEntry cut = ann;
  cut.ref = 0;
  Result<ClusterFrame> whole = DecodeCluster(
      EncodeCluster(kCluster, kFrom,
                    core::PeerMessage(PresenceMessage(PresenceTransfer{Id("a", 1), 8, {cut}}))),
      kCluster);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(std::get<PresenceTransfer>(std::get<PresenceMessage>(whole->message)).entries[0], cut);
}

}  // namespace
}  // namespace livepoll::net
