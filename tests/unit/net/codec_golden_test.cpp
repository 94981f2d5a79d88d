// The bytes on the wire of one sample of every message, client, admin and cluster, as the encoders
// wrote them when this test was added. Nodes and clients of different builds talk to each other:
// a change here is a protocol change (PROTOCOL.md, a new version `v`), never a refactoring's side
// effect. On a failure the test prints the new bytes in the form below; paste them only after
// deciding the protocol changes.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "net/cluster_codec.h"
#include "proto/codec.h"

namespace livepoll {
namespace {

using namespace core;

// The bytes as C++ string literals, one per line as the goldens below are written: printable ASCII
// as is (but " and \), anything else as \xNN, and a literal break before a hex digit that follows
// an escape (C++ would read it as part of the escape).
std::string Escaped(const std::string& bytes) {
  constexpr size_t kWidth = 84;
  std::string out = "       \"";
  size_t line = 0;
  bool after_escape = false;
  for (unsigned char c : bytes) {
    std::string token;
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      if (after_escape && std::isxdigit(c)) token = "\"\"";
      token += static_cast<char>(c);
      after_escape = false;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      token = hex;
      after_escape = true;
    }
    if (line + token.size() > kWidth) {
      out += "\"\n       \"";
      if (token.size() > 2 && token[0] == '"') token.erase(0, 2);
      line = 0;
    }
    out += token;
    line += token.size();
  }
  return out + "\"";
}

struct Golden {
  // From the literal's array, not a const char*, since NUL bytes are in it.
  template <size_t N>
  Golden(const char* name, std::string bytes, const char (&golden)[N])
      : name(name), bytes(std::move(bytes)), golden(golden, N - 1) {}
  const char* name;
  std::string bytes;   // what the encoder writes now
  std::string golden;  // what it wrote when the test was written
};

void ExpectGolden(const std::vector<Golden>& all) {
  for (const Golden& g : all) {
    EXPECT_EQ(g.bytes, g.golden) << g.name << " is now\n" << Escaped(g.bytes);
  }
}

NodeId Id(const char* name, uint64_t incarnation) { return NodeId{name, incarnation}; }
MemberClaim Claim(const std::string& name, MemberState state) {
  return {{name, 1ull << 40}, "tcp://10.0.0.1:7472", "tcp://10.0.0.1:7473", state, 300};
}

proto::Update Snapshot() {
  proto::Update u;
  u.topic = "orders?region=eu";
  u.kind = proto::UpdateKind::kSnapshot;
  u.owner = "n2";
  u.epoch = 4;
  u.seq = 70000;
  u.columns = {"id", "name", "price", "blob", "ok", "note"};
  u.rows = {{int64_t{1}, std::string("a"), 1.5, Blob{std::string("\0\1", 2)}, true, Null{}},
            {int64_t{-200000}, std::string(""), 2.0, Blob{""}, false, int64_t{1} << 40}};
  return u;
}
proto::Update Diff() {
  proto::Update u;
  u.topic = "orders";
  u.kind = proto::UpdateKind::kDiff;
  u.owner = "n3";
  u.epoch = 1;
  u.seq = 2;
  u.columns = {"id", "total"};
  u.changes = {{proto::Change::Op::kInsert, {int64_t{1}, -0.0}},
               {proto::Change::Op::kUpdate, {int64_t{2}, int64_t{-7}}},
               {proto::Change::Op::kDelete, {int64_t{3}, Null{}}}};
  return u;
}
proto::Update ErrorUpdate() {
  proto::Update u;
  u.topic = "orders";
  u.kind = proto::UpdateKind::kError;
  u.owner = "n3";
  u.epoch = 1;
  u.seq = 3;
  u.columns = {"id"};
  u.error = "connection refused";
  return u;
}
proto::AdminReply Reply(std::vector<std::string> missing) {
  return {9, "", "", {"node", "topics"}, {{std::string("n1"), int64_t{3}}}, std::move(missing)};
}

TEST(CodecGoldenBytes, EveryClientAndAdminMessage) {
  auto e = [](const proto::Message& m) { return proto::Encode(m); };
  // A golden is written as Escaped prints it.
  // clang-format off
  ExpectGolden({
      {"join", e(proto::Join{1, "revenue", {{"region", "eu"}, {"year", "2024"}}}),
       "\x85\xa1v\x01\xa4type\xa4join\xa2id\x01\xa5query\xa7revenue\xa6params\x82\xa6region"
       "\xa2""eu\xa4year\xa4""2024"},
      {"leave", e(proto::Leave{2, "revenue?region=eu"}),
       "\x84\xa1v\x01\xa4type\xa5leave\xa2id\x02\xa5topic\xb1revenue?region=eu"},
      {"heartbeat", e(proto::Heartbeat{}),
       "\x82\xa1v\x01\xa4type\xa9heartbeat"},
      {"joined", e(proto::Joined{300, "revenue?region=eu"}),
       "\x84\xa1v\x01\xa4type\xa6joined\xa2id\xcd\x01,\xa5topic\xb1revenue?region=eu"},
      {"left", e(proto::Left{2, "revenue?region=eu"}),
       "\x84\xa1v\x01\xa4type\xa4left\xa2id\x02\xa5topic\xb1revenue?region=eu"},
      {"update snapshot", e(Snapshot()),
       "\x89\xa1v\x01\xa4type\xa6update\xa5topic\xb0orders?region=eu\xa4kind\xa8snapshot\xa5"
       "owner\xa2n2\xa5""epoch\x04\xa3seq\xce\x00\x01\x11p\xa7""columns\x96\xa2id\xa4name"
       "\xa5price\xa4""blob\xa2ok\xa4note\xa4rows\x92\x96\x01\xa1""a\xcb?\xf8\x00\x00\x00"
       "\x00\x00\x00\xc4\x02\x00\x01\xc3\xc0\x96\xd2\xff\xfc\xf2\xc0\xa0\xcb@\x00\x00\x00"
       "\x00\x00\x00\x00\xc4\x00\xc2\xcf\x00\x00\x01\x00\x00\x00\x00\x00"},
      {"update diff", e(Diff()),
       "\x89\xa1v\x01\xa4type\xa6update\xa5topic\xa6orders\xa4kind\xa4""diff\xa5owner\xa2n3"
       "\xa5""epoch\x01\xa3seq\x02\xa7""columns\x92\xa2id\xa5total\xa7""changes\x93\x92\xa6i"
       "nsert\x92\x01\xcb\x80\x00\x00\x00\x00\x00\x00\x00\x92\xa6update\x92\x02\xf9\x92\xa6"
       "delete\x92\x03\xc0"},
      {"update error", e(ErrorUpdate()),
       "\x89\xa1v\x01\xa4type\xa6update\xa5topic\xa6orders\xa4kind\xa5""error\xa5owner\xa2n3"
       "\xa5""epoch\x01\xa3seq\x03\xa7""columns\x91\xa2id\xa5""error\xb2""connection refused"},
      {"error", e(proto::Error{5, "invalid-argument", "unknown query 'x'"}),
       "\x85\xa1v\x01\xa4type\xa5""error\xa2id\x05\xa4""code\xb0invalid-argument\xa7message"
       "\xb1unknown query 'x'"},
      {"admin", e(proto::AdminRequest{6, "subs", {{"json", "1"}}}),
       "\x85\xa1v\x01\xa4type\xa5""admin\xa2id\x06\xa7""command\xa4subs\xa4""args\x81\xa4jso"
       "n\xa1""1"},
      {"admin_reply", e(Reply({})),
       "\x87\xa1v\x01\xa4type\xab""admin_reply\xa2id\x09\xa4""code\xa0\xa7message\xa0\xa7""c"
       "olumns\x92\xa4node\xa6topics\xa4rows\x91\x92\xa2n1\x03"},
      {"admin_reply missing", e(Reply({"n3: no answer within 1000ms"})),
       "\x88\xa1v\x01\xa4type\xab""admin_reply\xa2id\x09\xa4""code\xa0\xa7message\xa0\xa7""c"
       "olumns\x92\xa4node\xa6topics\xa4rows\x91\x92\xa2n1\x03\xa7missing\x91\xbbn3: no answ"
       "er within 1000ms"},
      {"auth", e(proto::Auth{10, "h.p.s"}),
       "\x84\xa1v\x01\xa4type\xa4""auth\xa2id\x0a\xa5token\xa5h.p.s"},
      {"authed", e(proto::Authed{10, {{"role", "admin"}, {"sub", "alice"}}, 1700003600}),
       "\x85\xa1v\x01\xa4type\xa6""authed\xa2id\x0a\xa6""claims\x82\xa4role\xa5""admin\xa3su"
       "b\xa5""alice\xa7""expires\xce""eS\xff\x10"},
  });
  // clang-format on
}

// The four replication messages of presence (Entry: PresenceEntry) or of the registry's claims.
template <typename Entry>
std::vector<ReplicaMessage<Entry>> Replication() {
  return {ReplicaDelta<Entry>{Id("a", 1), 4, 6, {{"q?x=1", 10}, {"q", 11}}, {{"r", 3}}},
          ReplicaClock{Id("a", 1), 6}, ReplicaTransferRequest{Id("b", 2)},
          ReplicaTransfer<Entry>{Id("a", 1), 6, {{"q", 11}}}};
}

TEST(CodecGoldenBytes, EveryClusterMessage) {
  auto n = [](const PeerMessage& m) { return net::EncodeCluster("prod", "n1", m); };
  auto d = [](const DataMessage& m) { return net::EncodeCluster("prod", "n1", PeerMessage(m)); };
  auto a = [](const net::AdminMessage& m) { return net::EncodeCluster("prod", "n1", m); };
  const auto presence = Replication<PresenceEntry>();
  const auto claims = Replication<ClaimEntry>();
  // A golden is written as Escaped prints it.
  // clang-format off
  ExpectGolden({
      {"m.heartbeat",
       n(MembershipMessage(
           Heartbeat{Claim("a", MemberState::kAlive),
                     {Claim("b", MemberState::kSuspect), Claim("c", MemberState::kLeft)}})),

       "\x86\xa1v\x01\xa4type\xabm.heartbeat\xa7""cluster\xa4prod\xa4""from\xa2n1\xa4self"
       "\x96\xa1""a\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xb3tcp://10.0.0.1:7472\xb3tcp://10.0"
       ".0.1:7473\x00\xcd\x01,\xa7members\x92\x96\xa1""b\xcf\x00\x00\x01\x00\x00\x00\x00\x00"
       "\xb3tcp://10.0.0.1:7472\xb3tcp://10.0.0.1:7473\x01\xcd\x01,\x96\xa1""c\xcf\x00\x00"
       "\x01\x00\x00\x00\x00\x00\xb3tcp://10.0.0.1:7472\xb3tcp://10.0.0.1:7473\x03\xcd\x01,"},
      // An idle heartbeat since digests: the sender's own claim and its view's digest only.
      {"m.heartbeat digest",
       n(MembershipMessage(Heartbeat{Claim("a", MemberState::kAlive), {}, 0x0123456789abcdefull})),
       "\x87\xa1v\x01\xa4type\xabm.heartbeat\xa7""cluster\xa4prod\xa4""from\xa2n1\xa4self"
       "\x96\xa1""a\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xb3tcp://10.0.0.1:7472\xb3tcp://10.0"
       ".0.1:7473\x00\xcd\x01,\xa7members\x90\xa6""digest\xcf\x01#Eg\x89\xab\xcd\xef"},
      {"m.join", n(MembershipMessage(JoinRequest{Claim("d", MemberState::kAlive)})),
       "\x85\xa1v\x01\xa4type\xa6m.join\xa7""cluster\xa4prod\xa4""from\xa2n1\xa4self\x96\xa1"
       "d\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xb3tcp://10.0.0.1:7472\xb3tcp://10.0.0.1:7473"
       "\x00\xcd\x01,"},
      {"m.join_reply",
       n(MembershipMessage(JoinReply{Id("a", 1), true, "", {Claim("b", MemberState::kDead)}})),
       "\x88\xa1v\x01\xa4type\xacm.join_reply\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender"
       "\x92\xa1""a\x01\xa8""accepted\xc3\xa6reason\xa0\xa7members\x91\x96\xa1""b\xcf\x00"
       "\x00\x01\x00\x00\x00\x00\x00\xb3tcp://10.0.0.1:7472\xb3tcp://10.0.0.1:7473\x02\xcd"
       "\x01,"},
      {"m.join_reply refused", n(MembershipMessage(JoinReply{Id("a", 1), false, "in use", {}})),

       "\x88\xa1v\x01\xa4type\xacm.join_reply\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender"
       "\x92\xa1""a\x01\xa8""accepted\xc2\xa6reason\xa6in use\xa7members\x90"},
      {"m.probe", n(MembershipMessage(ProbeRequest{Id("a", 1), Id("b", 2), 99})),
       "\x87\xa1v\x01\xa4type\xa7m.probe\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender\x92"
       "\xa1""a\x01\xa6target\x92\xa1""b\x02\xa8probe_idc"},
      {"m.probe_reply", n(MembershipMessage(ProbeReply{Id("c", 3), Id("b", 2), 99, true})),
       "\x88\xa1v\x01\xa4type\xadm.probe_reply\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sende"
       "r\x92\xa1""c\x03\xa6target\x92\xa1""b\x02\xa8probe_idc\xa5heard\xc3"},
      {"m.leave", n(MembershipMessage(LeaveNotice{Id("a", 1)})),
       "\x85\xa1v\x01\xa4type\xa7m.leave\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender\x92"
       "\xa1""a\x01"},
      {"m.sync_request",
       n(MembershipMessage(SyncRequest{Claim("a", MemberState::kAlive), 0x0123456789abcdefull})),
       "\x86\xa1v\x01\xa4type\xaem.sync_request\xa7""cluster\xa4prod\xa4""from\xa2n1\xa4self"
       "\x96\xa1""a\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xb3tcp://10.0.0.1:7472\xb3tcp://10.0"
       ".0.1:7473\x00\xcd\x01,\xa6""digest\xcf\x01#Eg\x89\xab\xcd\xef"},
      {"m.sync", n(MembershipMessage(SyncReply{Id("b", 2), {Claim("c", MemberState::kDead)}})),
       "\x86\xa1v\x01\xa4type\xa6m.sync\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender\x92"
       "\xa1""b\x02\xa7members\x91\x96\xa1""c\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xb3tcp://1"
       "0.0.0.1:7472\xb3tcp://10.0.0.1:7473\x02\xcd\x01,"},
      {"p.delta", n(presence[0]),
       "\x89\xa1v\x01\xa4type\xa7p.delta\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6origin\x92"
       "\xa1""a\x01\xac""from_version\x04\xaato_version\x06\xa5joins\x92\x92\xa5q?x=1\x0a"
       "\x92\xa1q\x0b\xa6leaves\x91\x92\xa1r\x03"},
      {"p.clock", n(presence[1]),
       "\x86\xa1v\x01\xa4type\xa7p.clock\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6origin\x92"
       "\xa1""a\x01\xa7version\x06"},
      {"p.transfer_request", n(presence[2]),
       "\x85\xa1v\x01\xa4type\xb2p.transfer_request\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6"
       "sender\x92\xa1""b\x02"},
      {"p.transfer", n(presence[3]),
       "\x87\xa1v\x01\xa4type\xaap.transfer\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6origin"
       "\x92\xa1""a\x01\xa7version\x06\xa7""entries\x91\x92\xa1q\x0b"},
      {"r.propose", n(RegistryMessage(RegistryPropose{Id("a", 1), 5, "q?x=1", 3})),
       "\x88\xa1v\x01\xa4type\xa9r.propose\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender"
       "\x92\xa1""a\x01\xabproposal_id\x05\xa5topic\xa5q?x=1\xa5""epoch\x03"},
      {"r.vote", n(RegistryMessage(RegistryVote{Id("b", 2), 5, "q?x=1", false, Id("c", 9), 2})),

       "\x8a\xa1v\x01\xa4type\xa6r.vote\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender\x92"
       "\xa1""b\x02\xabproposal_id\x05\xa5topic\xa5q?x=1\xa7granted\xc2\xa5owner\x92\xa1""c"
       "\x09\xabowner_epoch\x02"},
      {"r.delta", n(RegistryMessage(ClaimsMessage{claims[0]})),
       "\x89\xa1v\x01\xa4type\xa7r.delta\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6origin\x92"
       "\xa1""a\x01\xac""from_version\x04\xaato_version\x06\xa5joins\x92\x92\xa5q?x=1\x0a"
       "\x92\xa1q\x0b\xa6leaves\x91\x92\xa1r\x03"},
      {"r.clock", n(RegistryMessage(ClaimsMessage{claims[1]})),
       "\x86\xa1v\x01\xa4type\xa7r.clock\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6origin\x92"
       "\xa1""a\x01\xa7version\x06"},
      {"r.transfer_request", n(RegistryMessage(ClaimsMessage{claims[2]})),
       "\x85\xa1v\x01\xa4type\xb2r.transfer_request\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6"
       "sender\x92\xa1""b\x02"},
      {"r.transfer", n(RegistryMessage(ClaimsMessage{claims[3]})),
       "\x87\xa1v\x01\xa4type\xaar.transfer\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6origin"
       "\x92\xa1""a\x01\xa7version\x06\xa7""entries\x91\x92\xa1q\x0b"},
      {"d.update", d(DataUpdate{Diff()}),
       "\x85\xa1v\x01\xa4type\xa8""d.update\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6update"
       "\xc4\x80\x89\xa1v\x01\xa4type\xa6update\xa5topic\xa6orders\xa4kind\xa4""diff\xa5owne"
       "r\xa2n3\xa5""epoch\x01\xa3seq\x02\xa7""columns\x92\xa2id\xa5total\xa7""changes\x93"
       "\x92\xa6insert\x92\x01\xcb\x80\x00\x00\x00\x00\x00\x00\x00\x92\xa6update\x92\x02\xf9"
       "\x92\xa6""delete\x92\x03\xc0"},
      {"d.snapshot_request", d(SnapshotRequest{Id("a", 1), "orders"}),
       "\x86\xa1v\x01\xa4type\xb2""d.snapshot_request\xa7""cluster\xa4prod\xa4""from\xa2n1"
       "\xa6sender\x92\xa1""a\x01\xa5topic\xa6orders"},
      {"d.snapshot_reply", d(SnapshotReply{Id("b", 2), "orders", ErrorUpdate()}),
       "\x87\xa1v\x01\xa4type\xb0""d.snapshot_reply\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6"
       "sender\x92\xa1""b\x02\xa5topic\xa6orders\xa6update\xc4""b\x89\xa1v\x01\xa4type\xa6up"
       "date\xa5topic\xa6orders\xa4kind\xa5""error\xa5owner\xa2n3\xa5""epoch\x01\xa3seq\x03"
       "\xa7""columns\x91\xa2id\xa5""error\xb2""connection refused"},
      {"d.snapshot_reply nil", d(SnapshotReply{Id("b", 2), "orders", std::nullopt}),
       "\x87\xa1v\x01\xa4type\xb0""d.snapshot_reply\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6"
       "sender\x92\xa1""b\x02\xa5topic\xa6orders\xa6update\xc0"},
      {"a.request",
       a(net::AdminCall{Id("a", 1), proto::AdminRequest{9, "zombies", {{"topic", "t"}}}}),
       "\x86\xa1v\x01\xa4type\xa9""a.request\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender"
       "\x92\xa1""a\x01\xa7request\xc4""1\x85\xa1v\x01\xa4type\xa5""admin\xa2id\x09\xa7""com"
       "mand\xa7zombies\xa4""args\x81\xa5topic\xa1t"},
      {"a.reply", a(net::AdminAnswer{Id("b", 2), Reply({"c: no answer within 1000ms"})}),
       "\x86\xa1v\x01\xa4type\xa7""a.reply\xa7""cluster\xa4prod\xa4""from\xa2n1\xa6sender"
       "\x92\xa1""b\x02\xa5reply\xc4l\x88\xa1v\x01\xa4type\xab""admin_reply\xa2id\x09\xa4""c"
       "ode\xa0\xa7message\xa0\xa7""columns\x92\xa4node\xa6topics\xa4rows\x91\x92\xa2n1\x03"
       "\xa7missing\x91\xba""c: no answer within 1000ms"},
  });
  // clang-format on
}

}  // namespace
}  // namespace livepoll
