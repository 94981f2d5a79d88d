// The Cluster adapter on real ZeroMQ sockets: two members join and see each other, and bad frames
// on the rpc socket (garbage, another cluster's, an unknown type) are counted and change nothing.
#include "net/cluster.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "env/env.h"
#include "net/cluster_codec.h"
#include "net/cluster_transport.h"

namespace livepoll::net {
namespace {

using namespace std::chrono_literals;

// One node: its core::Node (a catalog with query q(x), whose polls nobody runs: these tests are
// about the cluster's frames) driven by a net::Cluster on real sockets.
struct Member {
  Member(zmq::context_t& ctx, const std::string& name, std::vector<std::string> seeds = {},
         bool fault_injection = false)
      : node(Catalog(), Options(name)),
        cluster(ctx,
                {"test", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0", "127.0.0.1", std::move(seeds),
                 fault_injection},
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
  Status Cut(std::set<std::string> peers) {
    core::Actions out;
    Status s = cluster.Cut(Env::Real().Now(), std::move(peers), out);
    cluster.Carry(out.transport);
    return s;
  }
  const core::Membership& membership() const { return node.cluster()->membership(); }
  const core::Presence& presence() const { return node.cluster()->presence(); }
  const core::Counters& counters() const { return node.counters(); }
  std::string rpc() const { return cluster.rpc_endpoint(); }

  core::Node node;
  Cluster cluster;
};

// Drives the members' loops by hand until `done` or a generous deadline.
template <typename Done>
bool RunUntil(std::vector<Member*> members, Done done) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
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

TEST(Cluster, TwoMembersJoinAndShareTheirPresence) {
  zmq::context_t ctx;
  Member a(ctx, "a");
  ASSERT_TRUE(a.Start().ok());
  Member b(ctx, "b", {a.rpc()});
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(RunUntil({&a, &b}, [&] {
    return a.membership().IsAlive({"b", 1}) && b.membership().joined();
  }));
  core::Actions out;
  ASSERT_TRUE(b.node.Join(Env::Real().Now(), 7, "q", {{"x", "1"}}, out).ok());
  b.cluster.Carry(out.transport);
  ASSERT_TRUE(RunUntil({&a, &b}, [&] { return a.presence().SubscriberCount("q?x=1") == 1; }));
  EXPECT_EQ(a.presence().SubscribersByNode("q?x=1"), (std::map<std::string, size_t>{{"b", 1}}));
  EXPECT_GT(b.counters().gossip_bytes_sent, 0u);
}

TEST(Cluster, BadFramesAreCountedAndChangeNothing) {
  zmq::context_t ctx;
  Member a(ctx, "a");
  ASSERT_TRUE(a.Start().ok());
  zmq::socket_t d(ctx, zmq::socket_type::dealer);
  d.set(zmq::sockopt::linger, 0);
  d.connect(a.rpc());
  d.send(zmq::str_buffer("not msgpack at all"));
  d.send(zmq::buffer(
      EncodeCluster("other", "z", core::MembershipMessage(core::LeaveNotice{{"a", 1}}))));
  std::string unknown =
      EncodeCluster("test", "z", core::PresenceMessage(core::PresenceClock{{"z", 1}, 1}));
  unknown.replace(unknown.find("p.clock"), 7, "p.clonk");
  d.send(zmq::buffer(unknown));
  d.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);  // two frames
  d.send(zmq::str_buffer("b"));
  const core::Counters& c = a.counters();
  ASSERT_TRUE(RunUntil({&a},
                       [&] {
                         return c.cluster_frames_malformed == 2 && c.cluster_frames_foreign == 1 &&
                                c.cluster_frames_unknown == 1;
                       }))
      << c.cluster_frames_malformed << " " << c.cluster_frames_foreign << " "
      << c.cluster_frames_unknown;
  // The foreign LeaveNotice named this very node: it must not have been applied.
  EXPECT_EQ(a.membership().Members().size(), 1u);
  EXPECT_TRUE(a.membership().IsAlive({"a", 1}));
}

// A peer's publisher going away and coming back at the same endpoint: its subscriber's transport
// reports the drop, then the relink (the new connection's handshake), once each.
TEST(ClusterTransport, ReportsADroppedLinkAndItsRelink) {
  zmq::context_t ctx;
  auto publisher = std::make_unique<ClusterTransport>(ctx);
  ASSERT_TRUE(publisher->Bind("tcp://127.0.0.1:0", "tcp://127.0.0.1:0", "127.0.0.1").ok());
  const std::string endpoint = publisher->gossip_endpoint();
  ClusterTransport subscriber(ctx);
  ASSERT_TRUE(subscriber.Bind("tcp://127.0.0.1:0", "tcp://127.0.0.1:0", "127.0.0.1").ok());
  ASSERT_TRUE(subscriber.Connect(endpoint, "p"));
  std::vector<ClusterTransport::LinkEvent> events;
  auto wait_for = [&](size_t n, auto&& publish) {
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         events.size() < n && std::chrono::steady_clock::now() < deadline;) {
      publish();
      std::vector<zmq::pollitem_t> items = subscriber.PollItems();
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
      while (subscriber.Receive()) {
      }
      for (auto& e : subscriber.TakeLinkEvents()) events.push_back(std::move(e));
    }
    return events.size() >= n;
  };
  // The first connection is no relink: nothing to report while the link works.
  bool heard = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !heard && std::chrono::steady_clock::now() < deadline;) {
    publisher->Broadcast("hello");
    std::vector<zmq::pollitem_t> items = subscriber.PollItems();
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
    heard = subscriber.Receive().has_value();
  }
  ASSERT_TRUE(heard);
  for (auto& e : subscriber.TakeLinkEvents()) events.push_back(std::move(e));
  EXPECT_TRUE(events.empty());

  publisher.reset();  // the connection drops
  ASSERT_TRUE(wait_for(1, [] {}));
  EXPECT_EQ(events[0].kind, ClusterTransport::LinkEvent::Kind::kDisconnected);
  EXPECT_EQ(events[0].gossip_endpoint, endpoint);
  publisher = std::make_unique<ClusterTransport>(ctx);  // back at the same endpoint
  ASSERT_TRUE(publisher->Bind(endpoint, "tcp://127.0.0.1:0", "127.0.0.1").ok());
  ASSERT_TRUE(wait_for(2, [&] { publisher->Broadcast("again"); }));
  EXPECT_EQ(events[1].kind, ClusterTransport::LinkEvent::Kind::kRelinked);
  EXPECT_EQ(events[1].gossip_endpoint, endpoint);
  EXPECT_EQ(events.size(), 2u);
}

TEST(Cluster, FaultInjectionCutsPeersOffOnlyWhenEnabled) {
  zmq::context_t ctx;
  Member a(ctx, "a", {}, /*fault_injection=*/true);
  ASSERT_TRUE(a.Start().ok());
  Member b(ctx, "b", {a.rpc()});
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(RunUntil({&a, &b}, [&] {
    return a.membership().IsAlive({"b", 1}) && b.membership().joined();
  }));

  EXPECT_EQ(b.Cut({"a"}).code(), Status::Code::kFailedPrecondition);  // not enabled on b
  ASSERT_TRUE(a.Cut({"b", "a"}).ok());
  EXPECT_EQ(a.cluster.cut(), (std::set<std::string>{"b"}));  // never itself
  // a hears nothing from b any more: b is dead to a (and a, no longer answering, to b).
  ASSERT_TRUE(RunUntil({&a, &b}, [&] { return !a.membership().IsAlive({"b", 1}); }));
  EXPECT_GT(a.counters().cluster_frames_cut, 0u);
  ASSERT_TRUE(a.Cut({}).ok());  // heal
  EXPECT_TRUE(RunUntil({&a, &b}, [&] {
    return a.membership().IsAlive({"b", 1}) && b.membership().IsAlive({"a", 1});
  }));
}

}  // namespace
}  // namespace livepoll::net
