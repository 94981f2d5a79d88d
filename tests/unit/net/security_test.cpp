// CurveZMQ and the identity rule (PROTOCOL.md, "Security") on real sockets: key files, the ZAP
// handler admitting a trusted key and refusing a stranger's, and a keyed cluster that drops frames
// whose names are not the key's node.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "env/env.h"
#include "livepoll/curve_key.h"
#include "net/cluster.h"
#include "net/cluster_codec.h"
#include "net/curve_keys.h"
#include "net/zap_handler.h"

namespace livepoll::net {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A fresh folder under the test's temporary directory, removed at the end.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/livepoll-security-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string path;
};

CurveKeyPair Keys() { return *NewCurveKeyPair(); }

TEST(CurveKeyText, TakesFortyZ85CharactersAndOneNewline) {
  const std::string key = Keys().public_key;
  EXPECT_EQ(*ParseCurveKeyText(key, "f"), key);
  EXPECT_EQ(*ParseCurveKeyText(key + "\n", "f"), key);
  EXPECT_EQ(*ParseCurveKeyText(key + "\r\n", "f"), key);
  for (const std::string& bad : {key + "\n\n", key + " ", " " + key, key.substr(1), std::string(),
                                 key.substr(0, 39) + "\"", key + key}) {
    Result<std::string> r = ParseCurveKeyText(bad, "keys/n1.pub");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("keys/n1.pub: not a CurveZMQ key file"), std::string::npos)
        << r.status().message();
  }
}

TEST(CurveKeys, SecretKeyFileGivesItsPublicKey) {
  TempDir dir;
  const CurveKeyPair k = Keys();
  Result<CurveKeyPair> loaded = LoadSecretKey(dir.Write("n1.secret", k.secret_key + "\n"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key, k.public_key);
  EXPECT_FALSE(LoadSecretKey(dir.path + "/missing.secret").ok());
  Result<CurveKeyPair> bad = LoadSecretKey(dir.Write("bad.secret", "short\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.secret"), std::string::npos);
}

TEST(CurveKeys, KeySetsNeedTheNodesOwnMatchingKey) {
  TempDir dir;
  fs::create_directory(dir.path + "/trusted");
  const CurveKeyPair n1 = Keys(), n2 = Keys();
  dir.Write("trusted/n1.pub", n1.public_key + "\n");
  dir.Write("trusted/n2.pub", n2.public_key);
  dir.Write("trusted/README", "not a key, ignored");
  const KeyDirs dirs{dir.path + "/trusted", "", ""};
  Result<KeySets> sets = LoadKeySets(dirs, "n1", n1.public_key);
  ASSERT_TRUE(sets.ok()) << sets.status().ToString();
  EXPECT_EQ(sets->nodes.size(), 2u);
  EXPECT_EQ(sets->nodes.at("n2"), n2.public_key);

  Result<KeySets> stranger = LoadKeySets(dirs, "n3", Keys().public_key);
  ASSERT_FALSE(stranger.ok());
  EXPECT_NE(stranger.status().message().find("has no n3.pub"), std::string::npos);
  Result<KeySets> wrong = LoadKeySets(dirs, "n2", n1.public_key);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("does not match"), std::string::npos);
  dir.Write("trusted/n4.pub", "garbage");
  EXPECT_FALSE(LoadKeySets(dirs, "n1", n1.public_key).ok());  // one bad file refuses the folder
}

// A CURVE client DEALER with `keys`, connected to `endpoint` whose server key is `server`.
zmq::socket_t Client(zmq::context_t& ctx, const CurveKeyPair& keys, const std::string& server,
                     const std::string& endpoint) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::curve_serverkey, server);
  s.set(zmq::sockopt::curve_publickey, keys.public_key);
  s.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  s.connect(endpoint);
  return s;
}

// The next [identity, payload] on `router` within `wait`: the payload and its User-Id.
std::optional<std::pair<std::string, std::string>> Receive(zmq::socket_t& router,
                                                           std::chrono::milliseconds wait) {
  zmq::pollitem_t item{static_cast<void*>(router), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, wait) == 0) return std::nullopt;
  zmq::message_t id, payload;
  if (!router.recv(id) || !router.recv(payload)) return std::nullopt;
  const char* user = zmq_msg_gets(payload.handle(), "User-Id");
  return std::pair{payload.to_string(), std::string(user ? user : "")};
}

TEST(ZapHandler, AdmitsTrustedKeysAndRefusesStrangers) {
  zmq::context_t ctx;
  const CurveKeyPair server = Keys(), n2 = Keys(), stranger = Keys(), op = Keys(), viewer = Keys();
  KeySets sets;
  sets.nodes = {{"n1", server.public_key}, {"n2", n2.public_key}};
  sets.admin = {{"alice", op.public_key}};
  sets.readonly = {{"bob", viewer.public_key}};
  ZapHandler zap(ctx, sets);
  ASSERT_TRUE(zap.Start().ok());
  auto bind = [&](const char* domain) {
    zmq::socket_t r(ctx, zmq::socket_type::router);
    r.set(zmq::sockopt::linger, 0);
    r.set(zmq::sockopt::curve_server, 1);
    r.set(zmq::sockopt::curve_secretkey, server.secret_key);
    r.set(zmq::sockopt::zap_domain, domain);
    r.bind("tcp://127.0.0.1:0");
    return r;
  };
  zmq::socket_t cluster = bind(kZapDomainCluster), admin = bind(kZapDomainAdmin);
  const std::string cluster_ep = cluster.get(zmq::sockopt::last_endpoint);
  const std::string admin_ep = admin.get(zmq::sockopt::last_endpoint);

  zmq::context_t outside;  // the clients: another process, as far as ZeroMQ knows
  zmq::socket_t good = Client(outside, n2, server.public_key, cluster_ep);
  good.send(zmq::str_buffer("hello from n2"));
  auto got = Receive(cluster, 5000ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, "hello from n2");
  EXPECT_EQ(got->second, "n2");  // the User-Id: the node's name

  // A stranger's key connects at TCP level, but the handshake is refused: nothing is delivered.
  zmq::socket_t bad = Client(outside, stranger, server.public_key, cluster_ep);
  bad.send(zmq::str_buffer("let me in"));
  EXPECT_FALSE(Receive(cluster, 1000ms));
  EXPECT_GE(zap.refused(), 1u);
  // An operator's key is no node's.
  zmq::socket_t op_on_cluster = Client(outside, op, server.public_key, cluster_ep);
  op_on_cluster.send(zmq::str_buffer("x"));
  EXPECT_FALSE(Receive(cluster, 500ms));

  zmq::socket_t alice = Client(outside, op, server.public_key, admin_ep);
  alice.send(zmq::str_buffer("a"));
  got = Receive(admin, 5000ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->second, "admin:alice");
  zmq::socket_t bob = Client(outside, viewer, server.public_key, admin_ep);
  bob.send(zmq::str_buffer("b"));
  got = Receive(admin, 5000ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->second, "readonly:bob");
  const uint64_t refused = zap.refused();
  zmq::socket_t node_on_admin = Client(outside, n2, server.public_key, admin_ep);
  node_on_admin.send(zmq::str_buffer("c"));
  EXPECT_FALSE(Receive(admin, 1000ms));
  EXPECT_GT(zap.refused(), refused);

  // Replace: the stranger becomes trusted for new connections.
  sets.nodes["n3"] = stranger.public_key;
  zap.Replace(sets);
  zmq::socket_t now_trusted = Client(outside, stranger, server.public_key, cluster_ep);
  now_trusted.send(zmq::str_buffer("in"));
  got = Receive(cluster, 5000ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->second, "n3");
}

TEST(ZapHandler, MalformedRequestsGet500AndAreCounted) {
  zmq::context_t ctx;
  ZapHandler zap(ctx, KeySets{});
  ASSERT_TRUE(zap.Start().ok());
  // Straight to the handler's socket, as a broken libzmq (or a hostile inproc user) would.
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.connect("inproc://zeromq.zap.01");
  req.send(zmq::str_buffer("2.0"), zmq::send_flags::sndmore);
  req.send(zmq::str_buffer("id-7"));
  std::vector<std::string> reply;
  for (;;) {
    zmq::message_t part;
    ASSERT_TRUE(req.recv(part));
    reply.push_back(part.to_string());
    if (!part.more()) break;
  }
  ASSERT_EQ(reply.size(), 6u);
  EXPECT_EQ(reply[1], "id-7");
  EXPECT_EQ(reply[2], "500");
  EXPECT_EQ(zap.malformed(), 1u);
  // CURVE credentials that are not 32 bytes, and a NULL handshake on a ZAP domain.
  EXPECT_EQ(zap.Answer({"1.0", "1", "cluster", "127.0.0.1", "", "CURVE", "short"})[2], "500");
  EXPECT_EQ(zap.Answer({"1.0", "1", "cluster", "127.0.0.1", "", "NULL"})[2], "400");
  EXPECT_EQ(zap.malformed(), 2u);
  // Still serving.
  EXPECT_EQ(zap.Answer({"1.0", "2", "client", "127.0.0.1", "", "CURVE", std::string(32, 'k')})[2],
            "200");
}

// ---- a keyed cluster ----

// One keyed member: its core::Node and net::Cluster, every socket CURVE, judged by `zap`.
struct Member {
  Member(zmq::context_t& ctx, const std::string& name, const CurveKeyPair& keys, ZapHandler& zap,
         std::vector<std::string> seeds = {}, std::map<std::string, std::string> seed_names = {})
      : node(Catalog(), Options(name)),
        cluster(ctx,
                {"test", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0", "127.0.0.1", std::move(seeds),
                 false, ClusterTransport::Curve{keys.public_key, keys.secret_key},
                 [&zap] { return zap.keys(); }, std::move(seed_names)},
                node) {}
  static core::Catalog Catalog() {
    core::Catalog c;
    c.queries["q"] = {"q", "db", {"x"}, {}, std::chrono::seconds(1), 0.1};
    return c;
  }
  static core::NodeOptions Options(const std::string& name) {
    core::NodeOptions o;
    o.subscriptions.node = name;
    o.cluster.emplace().self = {name, 1};
    return o;
  }
  Status Start() {
    core::Actions out;
    Status s = cluster.Start(Env::Real().Now(), out);
    cluster.Carry(out.transport);
    return s;
  }
  const core::Membership& membership() const { return node.cluster()->membership(); }
  const core::Counters& counters() const { return node.counters(); }

  core::Node node;
  Cluster cluster;
};

template <typename Done>
bool RunUntil(std::vector<Member*> members, Done done, std::chrono::seconds limit = 10s) {
  for (auto deadline = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < deadline;) {
    for (Member* m : members) {
      std::vector<zmq::pollitem_t> items = m->cluster.PollItems();
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(5));
      core::Actions out;
      m->cluster.OnReadable(Env::Real().Now(), out);
      m->node.Tick(Env::Real().Now(), out);
      m->cluster.Carry(out.transport);
    }
    if (done()) return true;
  }
  return false;
}

struct KeyedCluster : ::testing::Test {
  KeyedCluster() : zap(ctx, Sets()) { EXPECT_TRUE(zap.Start().ok()); }
  KeySets Sets() {
    KeySets s;
    s.nodes = {{"a", ka.public_key}, {"b", kb.public_key}, {"c", kc.public_key}};
    return s;
  }
  CurveKeyPair ka = Keys(), kb = Keys(), kc = Keys(), stranger = Keys();
  zmq::context_t ctx;
  ZapHandler zap;
};

TEST_F(KeyedCluster, TrustedMembersJoinThroughANamedSeed) {
  Member a(ctx, "a", ka, zap);
  ASSERT_TRUE(a.Start().ok());
  Member b(ctx, "b", kb, zap, {a.cluster.rpc_endpoint()}, {{a.cluster.rpc_endpoint(), "a"}});
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(RunUntil({&a, &b}, [&] {
    return a.membership().IsAlive({"b", 1}) && b.membership().IsAlive({"a", 1});
  }));
  // Heartbeats flow over the per-peer SUBs, and nothing was refused on the way.
  EXPECT_TRUE(RunUntil(
                  {&a, &b}, [&] { return false; }, 1s) == false);
  EXPECT_TRUE(a.membership().IsAlive({"b", 1}));
  EXPECT_EQ(a.counters().cluster_frames_forged, 0u);
  EXPECT_EQ(a.counters().cluster_frames_wrong_socket, 0u);
  EXPECT_EQ(zap.refused(), 0u);
}

TEST_F(KeyedCluster, FramesNamingAnotherNodeThanTheKeyAreDropped) {
  Member a(ctx, "a", ka, zap);
  ASSERT_TRUE(a.Start().ok());
  Member b(ctx, "b", kb, zap, {a.cluster.rpc_endpoint()}, {{a.cluster.rpc_endpoint(), "a"}});
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(RunUntil({&a, &b}, [&] { return a.membership().IsAlive({"b", 1}); }));
  // c is trusted but not running; b's valid key speaks on a's rpc socket in c's name.
  zmq::context_t outside;
  zmq::socket_t forger = Client(outside, kb, ka.public_key, a.cluster.rpc_endpoint());
  auto send = [&](const std::string& from, const auto& m) {
    forger.send(zmq::buffer(EncodeCluster("test", from, m)));
  };
  // The envelope and the body both say c: forged.
  send("c", core::MembershipMessage(core::ProbeRequest{{"c", 1}, {"b", 1}, 9}));
  // The envelope says b, the body c: forged.
  send("b", core::PresenceMessage(core::ReplicaTransferRequest{{"c", 1}}));
  // A join in c's name, with b's key: forged, and c never becomes a member.
  send("c", core::MembershipMessage(core::JoinRequest{
                {{"c", 7}, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", core::MemberState::kAlive, 1},
                ""}));
  // Honest name, wrong socket: a gossip type (a leave) on rpc.
  send("b", core::MembershipMessage(core::LeaveNotice{{"b", 1}}));
  ASSERT_TRUE(RunUntil({&a, &b},
                       [&] {
                         return a.counters().cluster_frames_forged >= 3 &&
                                a.counters().cluster_frames_wrong_socket >= 1;
                       }))
      << a.counters().cluster_frames_forged << " forged, "
      << a.counters().cluster_frames_wrong_socket << " wrong socket";
  EXPECT_FALSE(a.membership().Find("c"));
  EXPECT_TRUE(a.membership().IsAlive({"b", 1}));  // the leave on rpc was not taken

  // A stranger's key gets nothing through at all.
  const uint64_t refused = zap.refused();
  zmq::socket_t outsider = Client(outside, stranger, ka.public_key, a.cluster.rpc_endpoint());
  outsider.send(zmq::buffer(EncodeCluster(
      "test", "z",
      core::MembershipMessage(core::JoinRequest{
          {{"z", 1}, "tcp://127.0.0.1:3", "tcp://127.0.0.1:4", core::MemberState::kAlive, 1},
          ""}))));
  ASSERT_TRUE(RunUntil({&a, &b}, [&] { return zap.refused() > refused; }));
  EXPECT_FALSE(a.membership().Find("z"));
}

TEST_F(KeyedCluster, DataAndAdminOnlyFromMembers) {
  Member a(ctx, "a", ka, zap);
  ASSERT_TRUE(a.Start().ok());
  // c's key, honest names, but c is no member of a's cluster.
  zmq::context_t outside;
  zmq::socket_t c = Client(outside, kc, ka.public_key, a.cluster.rpc_endpoint());
  c.send(zmq::buffer(EncodeCluster(
      "test", "c",
      core::PeerMessage(core::DataMessage(core::SnapshotRequest{{"c", 1}, "q?x=1"})))));
  c.send(zmq::buffer(EncodeCluster(
      "test", "c", AdminMessage(AdminCall{{"c", 1}, proto::AdminRequest{1, "reap", {}}}))));
  ASSERT_TRUE(RunUntil({&a}, [&] { return a.counters().cluster_frames_not_member >= 2; }))
      << a.counters().cluster_frames_not_member;
  EXPECT_TRUE(a.cluster.TakeAdmin().empty());
}

}  // namespace
}  // namespace livepoll::net
