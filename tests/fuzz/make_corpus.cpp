// Writes the seed corpus of the fuzz targets: real frames, topics and configuration files, one
// file each, under OUT/<target>/ (tests/fuzz/corpus is what this wrote; see README.md). The
// messages cover every type of each protocol, so the fuzzer starts from every decoder's happy
// path. Deterministic: running it again rewrites the same files.
//   fuzz_make_corpus tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "auth/token.h"
#include "checks.h"
#include "core/topic.h"
#include "net/cluster_codec.h"
#include "proto/codec.h"

namespace livepoll::fuzz {
namespace {

namespace fs = std::filesystem;
using namespace core;
using net::AdminAnswer;
using net::AdminCall;
using net::AdminMessage;
using net::DataMessage;
using net::DataUpdate;
using net::SnapshotReply;
using net::SnapshotRequest;

struct Seed {
  std::string name;
  std::string bytes;
};

NodeId Id(const char* name, uint64_t incarnation) { return NodeId{name, incarnation}; }
MemberClaim Claim(const std::string& name, MemberState state = MemberState::kAlive) {
  return {{name, 7}, "tcp://10.0.0.1:7472", "tcp://10.0.0.1:7473", state, 3};
}

proto::Update Snapshot() {
  proto::Update u;
  u.topic = "orders?region=eu";
  u.kind = proto::UpdateKind::kSnapshot;
  u.owner = "n2";
  u.epoch = 4;
  u.seq = 17;
  u.columns = {"id", "name", "price", "blob", "ok", "note"};
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
  u.columns = {"id", "total"};
  u.changes = {{proto::Change::Op::kInsert, {int64_t{1}, 2.5}},
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
  u.error = "connection refused";
  return u;
}
proto::AdminReply Reply() {
  return {9, "", "", {"node", "topics"}, {{std::string("n1"), int64_t{3}}}, {}};
}

std::vector<Seed> Envelopes() {
  proto::AdminReply partial = Reply();
  partial.missing = {"n3: no answer within 1000ms"};
  std::vector<std::pair<std::string, proto::Message>> messages = {
      {"join", proto::Join{1, "revenue_by_region", {{"region", "eu"}, {"year", "2024"}}}},
      {"join-no-params", proto::Join{2, "top_products", {}}},
      {"leave", proto::Leave{3, "revenue_by_region?region=eu&year=2024"}},
      {"heartbeat", proto::Heartbeat{}},
      {"joined", proto::Joined{1, "revenue_by_region?region=eu&year=2024"}},
      {"left", proto::Left{3, "top_products"}},
      {"update-snapshot", Snapshot()},
      {"update-diff", Diff()},
      {"update-error", ErrorUpdate()},
      {"error", proto::Error{4, "invalid-argument", "unknown query 'nope'"}},
      {"admin", proto::AdminRequest{5, "subs", {{"topic", "top_products"}}}},
      {"admin-reply", Reply()},
      {"admin-reply-partial", partial},
      {"admin-reply-error", proto::AdminReply{6, "not-found", "no such topic", {}, {}, {}}},
      {"auth",
       proto::Auth{
           7, auth::MintToken(kTokenSecret,
                              {{{"sub", "alice"}}, kTokenNow, kTokenNow + 3600, std::nullopt})}},
      {"authed", proto::Authed{7, {{"role", "admin"}, {"sub", "alice"}}, 1700003600}},
      {"authed-no-expiry", proto::Authed{8, {}, 0}},
  };
  std::vector<Seed> out;
  for (const auto& [name, m] : messages) out.push_back({name, proto::Encode(m)});
  return out;
}

std::vector<Seed> ClusterFrames() {
  std::vector<std::pair<std::string, PeerMessage>> node = {
      {"m.heartbeat", MembershipMessage(Heartbeat{Claim("a"),
                                                  {Claim("a"), Claim("b", MemberState::kSuspect),
                                                   Claim("c", MemberState::kLeft)}})},
      {"m.join", MembershipMessage(JoinRequest{Claim("d")})},
      {"m.join_reply-refused",
       MembershipMessage(JoinReply{Id("a", 1), false, "name 'd' is in use", {}})},
      {"m.join_reply", MembershipMessage(JoinReply{
                           Id("a", 1), true, "", {Claim("a"), Claim("b", MemberState::kDead)}})},
      {"m.probe", MembershipMessage(ProbeRequest{Id("a", 1), Id("b", 2), 99})},
      {"m.probe_reply", MembershipMessage(ProbeReply{Id("c", 3), Id("b", 2), 99, true})},
      {"m.leave", MembershipMessage(LeaveNotice{Id("a", 1)})},
      {"r.propose", RegistryMessage(RegistryPropose{Id("a", 1), 5, "q?x=1", 3})},
      {"r.vote-granted", RegistryMessage(RegistryVote{Id("b", 2), 5, "q?x=1", true, {}, 0})},
      {"r.vote-denied",
       RegistryMessage(RegistryVote{Id("b", 2), 5, "q?x=1", false, Id("c", 9), 2})},
  };
  // The same bodies for presence and claims (their entries are both [topic, uint] on the wire,
  // but for a presence entry with a key, below).
  auto replication = []<typename Entry>(Entry) {
    return std::vector<std::pair<std::string, ReplicaMessage<Entry>>>{
        {"delta", ReplicaDelta<Entry>{Id("a", 1), 4, 6, {{"q?x=1", 10}, {"q", 11}}, {{"r", 3}}}},
        {"clock", ReplicaClock{Id("a", 1), 6}},
        {"transfer_request", ReplicaTransferRequest{Id("b", 2)}},
        {"transfer", ReplicaTransfer<Entry>{Id("a", 1), 6, {{"q", 11}, {"orders?region=eu", 12}}}},
    };
  };
  const auto presence = replication(PresenceEntry{});
  const auto claims = replication(ClaimEntry{});
  for (size_t i = 0; i < presence.size(); ++i) {
    node.emplace_back("p." + presence[i].first, presence[i].second);
    node.emplace_back("r." + claims[i].first, RegistryMessage(ClaimsMessage{claims[i].second}));
  }
  // Presence entries of viewers that joined with presence: [topic, uint, key, meta, ref].
  const PresenceEntry ann{"q", 12, "ann", R"({"device":"phone","n":[1,2]})", 3};
  const PresenceEntry bob{"q?x=1", 13, "bob", "{}", 4};
  node.emplace_back("p.delta-presence",
                    PresenceMessage(PresenceDelta{Id("a", 1), 6, 8, {ann, {"q", 14}}, {bob}}));
  node.emplace_back("p.transfer-presence",
                    PresenceMessage(PresenceTransfer{Id("a", 1), 8, {{"q", 14}, ann, bob}}));
  std::vector<Seed> out;
  for (const auto& [name, m] : node) out.push_back({name, net::EncodeCluster(kCluster, "n1", m)});

  const std::vector<std::pair<std::string, DataMessage>> data = {
      {"d.update-snapshot", DataUpdate{Snapshot()}},
      {"d.update-diff", DataUpdate{Diff()}},
      {"d.update-error", DataUpdate{ErrorUpdate()}},
      {"d.snapshot_request", SnapshotRequest{Id("a", 1), "orders?region=eu"}},
      {"d.snapshot_reply", SnapshotReply{Id("b", 2), "orders?region=eu", Snapshot()}},
      {"d.snapshot_reply-none", SnapshotReply{Id("b", 2), "orders", std::nullopt}},
  };
  for (const auto& [name, m] : data) out.push_back({name, net::EncodeCluster(kCluster, "n2", m)});
  proto::AdminReply partial = Reply();
  partial.missing = {"c: no answer within 1000ms"};
  const std::vector<std::pair<std::string, AdminMessage>> admin = {
      {"a.request", AdminCall{Id("a", 1), proto::AdminRequest{9, "zombies", {{"topic", "t?g=1"}}}}},
      {"a.reply", AdminAnswer{Id("b", 2), Reply()}},
      {"a.reply-partial", AdminAnswer{Id("b", 2), partial}},
  };
  for (const auto& [name, m] : admin) out.push_back({name, net::EncodeCluster(kCluster, "n3", m)});
  return out;
}

std::vector<Seed> Topics() {
  std::vector<Seed> out;
  auto add = [&](const std::string& name, std::string_view query, const proto::Params& params) {
    Result<std::string> t = MakeTopic(query, params);
    if (!t.ok()) return;
    out.push_back({name, *t});
    // The MakeTopic half of the target reads NUL-separated query, name, value...
    std::string parts(query);
    for (const auto& [k, v] : params) parts += std::string(1, '\0') + k + '\0' + v;
    out.push_back({name + "-parts", parts});
  };
  add("plain", "top_products", {});
  add("params", "revenue_by_region", {{"year", "2024"}, {"region", "eu"}});
  add("escapes", "q", {{"a b", "x=1&y?%"}, {"empty", ""}, {"tab", "\t\n"}});
  add("utf8", "ventes", {{"région", "Île-de-France"}});
  out.push_back({"hand-typed", "q?b=%41%2f&a=%7e"});  // lowercase hex and needless escapes parse
  return out;
}

std::vector<Seed> Configs() {
  return {
      {"full.conf", R"(# livepolld example
[node]
name = n1
client_bind = tcp://127.0.0.1:9470
admin_bind = ipc:///run/livepoll/admin
plugin_dir = /opt/livepoll/plugins
linger = 2s
client_timeout = 30s
backoff_max = 1m
log_level = debug
log_format = json

[source.main]
plugin = soci
dsn = sqlite3://db=demo.db
max_concurrent = 8

[query.revenue_by_region]
source = main
sql = SELECT region, SUM(total) AS revenue FROM orders WHERE region = :region GROUP BY region
params = region
key = region
interval = 500ms
jitter = 0.25

[query.top_products]
source = main
sql = SELECT name FROM products WHERE note <> '# not a comment' ORDER BY sold DESC LIMIT 10 # one
interval = 1.5s
)"},
      {"cluster.conf", R"([node]
name = n2
cluster = prod
gossip_bind = tcp://0.0.0.0:7472
rpc_bind = tcp://0.0.0.0:7473
advertise_host = 10.0.0.2
join = 10.0.0.1:7473, tcp://10.0.0.3:7473
gossip_interval = 100ms
suspect_after = 500ms
dead_after = 1s
permdown = 5m
placement = local
clash_policy = hashed
partition = majority
takeover_timeout = 2s
stall_after = 5
fault_injection = true
)"},
      {"postgres.conf",
       "[source.pg]\r\nplugin = /usr/lib/livepoll/plugins/postgres.so\r\n"
       "dsn = \"host=/run/pg port=5433 dbname=shop\"\r\n\r\n[query.q-1]\r\n"
       "source = pg\r\nsql = SELECT * FROM t WHERE a = :a AND b = :b\r\n"
       "params = a, b\r\n"},
      {"empty.conf", ""},
      {"tokens.conf",
       "[node]\ntoken_secret = /etc/livepoll/token.key\n[source.s]\nplugin = soci\n"
       "dsn = sqlite3://db=x.db\n[query.mine]\nsource = s\n"
       "sql = SELECT * FROM o WHERE c = :customer AND r = :region\nparams = customer, region\n"
       "bind.customer = sub\nbind.region = https://example.com/region\n"
       "allow = role=customer, role=admin\n[query.open]\nsource = s\nsql = SELECT 1\n"
       "auth = none\n[query.closed]\nsource = s\nsql = SELECT 2\nauth = token\n"},
      {"security.conf",
       "[node]\nname = n1\ngossip_bind = tcp://10.0.0.1:7472\nrpc_bind = tcp://10.0.0.1:7473\n"
       "join = n2@10.0.0.2:7473, n3@10.0.0.3:7473\nsecret_key = /etc/livepoll/keys/n1.secret\n"
       "trusted_keys = /etc/livepoll/trusted\nadmin_keys = /etc/livepoll/admin\n"
       "admin_readonly_keys = /etc/livepoll/readonly\ninsecure = false\n"
       "max_message_size = 16MiB\nmax_param_bytes = 4KiB\nmax_subscriptions_per_client = 1000\n"
       "max_clients = 10000\nmax_result_rows = 1000000\nmax_result_bytes = 8MiB\n"
       "client_queue_bytes = 8MiB\ngossip_interval = 0ms\n"},
      {"bad-duration.conf",
       "[source.s]\nplugin = p\ndsn = d\n[query.q]\nsource = s\nsql = x\n"
       "interval = fast\n"},
  };
}

// Tokens as clients send them, and header-newline-payload texts (CheckToken signs those).
std::vector<Seed> Tokens() {
  auto mint = [](auth::Claims claims, std::optional<int64_t> exp, std::optional<int64_t> nbf) {
    return auth::MintToken(kTokenSecret, {std::move(claims), kTokenNow - 60, exp, nbf});
  };
  return {
      {"valid", mint({{"sub", "alice"}, {"role", "admin"}}, kTokenNow + 3600, std::nullopt)},
      {"expired", mint({{"sub", "alice"}}, kTokenNow - 1, std::nullopt)},
      {"not-yet-valid", mint({{"sub", "alice"}}, std::nullopt, kTokenNow + 60)},
      {"wrong-secret", auth::MintToken(std::string(32, 'x'), {{{"sub", "a"}}, kTokenNow, {}, {}})},
      {"alg-none", auth::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                       auth::Base64UrlEncode(R"({"sub":"root"})") + "."},
      {"jwt-io",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
       "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
      {"json-flat",
       "{\"alg\":\"HS256\",\"typ\":\"JWT\"}\n{\"sub\":\"a\",\"n\":42,\"f\":1.5e3,"
       "\"b\":false,\"z\":null,\"o\":{\"x\":[1,{\"y\":2}]},\"u\":\"caf\\u00e9\","
       "\"exp\":1700003600.5,\"nbf\":1699999999}"},
      {"json-crit", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}\n{}"},
      {"json-repeated", "{\"alg\":\"HS256\"}\n{\"sub\":\"a\",\"sub\":\"b\"}"},
      {"json-bad-exp", "{\"alg\":\"HS256\"}\n{\"exp\":\"soon\"}"},
  };
}

std::vector<Seed> ZapRequests() {
  auto request = [](const std::string& domain, const std::string& mechanism,
                    std::vector<std::string> credentials) {
    std::vector<std::string> f = {"1.0", "7", domain, "127.0.0.1", "", mechanism};
    for (std::string& c : credentials) f.push_back(std::move(c));
    return ZapFrames(f);
  };
  return {
      {"cluster-trusted", request("cluster", "CURVE", {ZapKey('1')})},
      {"cluster-stranger", request("cluster", "CURVE", {ZapKey('x')})},
      {"admin-alice", request("admin", "CURVE", {ZapKey('a')})},
      {"admin-bob", request("admin", "CURVE", {ZapKey('b')})},
      {"admin-node-key", request("admin", "CURVE", {ZapKey('1')})},
      {"client-any", request("client", "CURVE", {ZapKey('z')})},
      {"null-mechanism", request("cluster", "NULL", {})},
      {"short-key", request("cluster", "CURVE", {"short"})},
      {"unknown-domain", request("other", "CURVE", {ZapKey('1')})},
      {"bad-version", ZapFrames({"2.0", "7", "cluster", "", "", "CURVE", ZapKey('1')})},
      {"too-few", ZapFrames({"1.0", "7"})},
  };
}

// WebSocket frames as phoenix.js and strangers send them.
std::vector<Seed> PhoenixFrames() {
  return {
      {"heartbeat", R"([null,"1","phoenix","heartbeat",{}])"},
      {"join", R"(["3","3","live:totals","phx_join",{}])"},
      {"join-topic-params", R"(["4","4","live:recent_orders?region=eu%20west&n=1","phx_join",{}])"},
      {"join-everything",
       R"(["5","5","live:mine","phx_join",{"params":{"region":"eu","n":3,"b":false},)"
       R"("token":"a.b.c","resume":{"owner":"n1","owner_session":"1733000000000000",)"
       R"("epoch":2,"seq":9},"presence":{"key":"ann","meta":{"color":"red","n":[1,2]}}}])"},
      {"join-bad-resume", R"(["6","6","live:q","phx_join",{"resume":{"epoch":0,"seq":1}}])"},
      {"join-bad-presence", R"(["7","7","live:q","phx_join",{"presence":{"key":"","meta":[]}}])"},
      {"leave", R"(["3","8","live:totals","phx_leave",{}])"},
      {"numeric-refs", R"([12,13,"live:q","phx_leave",{}])"},
      {"unknown-event", R"(["1","2","live:q","shout",{"x":1}])"},
      {"not-an-array", R"({"topic":"phoenix","event":"heartbeat"})"},
      {"deep", std::string(40, '[') + std::string(40, ']')},
      {"escapes", R"([null,"\u0031","live:\ud83d\ude00?a=%41","phx_join",{}])"},
      {"bad-percent", R"([null,"1","live:q?a=%zz","phx_join",{}])"},
  };
}

int Write(const fs::path& dir, const std::vector<Seed>& seeds) {
  fs::create_directories(dir);
  for (const Seed& s : seeds) {
    std::ofstream out(dir / s.name, std::ios::binary | std::ios::trunc);
    out.write(s.bytes.data(), static_cast<std::streamsize>(s.bytes.size()));
    if (!out) {
      std::fprintf(stderr, "fuzz_make_corpus: cannot write %s\n", (dir / s.name).c_str());
      return 1;
    }
  }
  std::printf("%s: %zu files\n", dir.c_str(), seeds.size());
  return 0;
}

}  // namespace
}  // namespace livepoll::fuzz

int main(int argc, char** argv) {
  using namespace livepoll::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_corpus OUT_DIR   (writes OUT_DIR/<target>/*)\n");
    return 2;
  }
  const fs::path out = argv[1];
  return Write(out / "envelope", Envelopes()) | Write(out / "cluster", ClusterFrames()) |
         Write(out / "topic", Topics()) | Write(out / "config", Configs()) |
         Write(out / "token", Tokens()) | Write(out / "zap", ZapRequests()) |
         Write(out / "phoenix", PhoenixFrames());
}
