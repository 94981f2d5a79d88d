// The Cluster adapter on real ZeroMQ sockets: two members join and see each other, and bad frames
// on the rpc socket (garbage, another cluster's, an unknown type) are counted and change nothing.
#include "net/cluster.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/cluster_codec.h"

namespace livepoll::net {
namespace {

using namespace std::chrono_literals;

ClusterOptions Options(const std::string& name, std::vector<std::string> seeds = {}) {
  ClusterOptions o;
  o.cluster = "test";
  o.self = {name, 1};
  o.gossip_bind = "tcp://127.0.0.1:0";
  o.rpc_bind = "tcp://127.0.0.1:0";
  o.seeds = std::move(seeds);
  return o;
}

// Drives the clusters' loops by hand until `done` or a generous deadline.
// A node's Subscriptions in cluster mode (no queries: these tests are about the cluster's frames).
struct Subs {
  core::Subscriptions subs{core::Catalog{}, [] {
                             core::SubscriptionsOptions o;
                             o.standalone = false;
                             return o;
                           }()};
};

template <typename Done>
bool RunUntil(std::vector<Cluster*> nodes, Done done) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < deadline;) {
    for (Cluster* c : nodes) {
      std::vector<zmq::pollitem_t> items = c->PollItems();
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(5));
      core::Outputs out;
      c->OnReadable(Env::Real().Now(), out);
      c->Tick(Env::Real().Now(), out);
    }
    if (done()) return true;
  }
  return false;
}

TEST(Cluster, TwoMembersJoinAndShareTheirPresence) {
  zmq::context_t ctx;
  std::map<std::string, uint64_t> c1, c2;
  Subs s1, s2;
  Cluster a(ctx, Options("a"), s1.subs, c1);
  ASSERT_TRUE(a.Start(Env::Real().Now()).ok());
  Cluster b(ctx, Options("b", {a.membership().Find("a")->claim.rpc_endpoint}), s2.subs, c2);
  ASSERT_TRUE(b.Start(Env::Real().Now()).ok());
  ASSERT_TRUE(RunUntil({&a, &b}, [&] { return a.membership().IsAlive({"b", 1}) && b.membership().joined(); }));
  core::Outputs out;
  b.Subscribed(Env::Real().Now(), "q?x=1", 7, out);
  ASSERT_TRUE(RunUntil({&a, &b}, [&] { return a.presence().SubscriberCount("q?x=1") == 1; }));
  EXPECT_EQ(a.presence().SubscribersByNode("q?x=1"), (std::map<std::string, size_t>{{"b", 1}}));
  EXPECT_GT(c2["gossip_bytes_sent"], 0u);
}

TEST(Cluster, BadFramesAreCountedAndChangeNothing) {
  zmq::context_t ctx;
  std::map<std::string, uint64_t> counters;
  Subs s;
  Cluster a(ctx, Options("a"), s.subs, counters);
  ASSERT_TRUE(a.Start(Env::Real().Now()).ok());
  const std::string rpc = a.membership().Find("a")->claim.rpc_endpoint;
  zmq::socket_t d(ctx, zmq::socket_type::dealer);
  d.set(zmq::sockopt::linger, 0);
  d.connect(rpc);
  d.send(zmq::str_buffer("not msgpack at all"));
  d.send(zmq::buffer(EncodeCluster("other", "z", core::MembershipMessage(core::LeaveNotice{{"a", 1}}))));
  std::string unknown = EncodeCluster("test", "z", core::PresenceMessage(core::PresenceClock{{"z", 1}, 1}));
  unknown.replace(unknown.find("p.clock"), 7, "p.clonk");
  d.send(zmq::buffer(unknown));
  d.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);  // two frames
  d.send(zmq::str_buffer("b"));
  ASSERT_TRUE(RunUntil({&a}, [&] {
    return counters["cluster_frames_malformed"] == 2 && counters["cluster_frames_foreign"] == 1 &&
           counters["cluster_frames_unknown"] == 1;
  })) << counters["cluster_frames_malformed"] << " " << counters["cluster_frames_foreign"] << " "
      << counters["cluster_frames_unknown"];
  // The foreign LeaveNotice named this very node: it must not have been applied.
  EXPECT_EQ(a.membership().Members().size(), 1u);
  EXPECT_TRUE(a.membership().IsAlive({"a", 1}));
}

TEST(Cluster, FaultInjectionCutsPeersOffOnlyWhenEnabled) {
  zmq::context_t ctx;
  std::map<std::string, uint64_t> c1, c2;
  Subs s1, s2;
  ClusterOptions oa = Options("a");
  oa.fault_injection = true;
  Cluster a(ctx, oa, s1.subs, c1);
  ASSERT_TRUE(a.Start(Env::Real().Now()).ok());
  Cluster b(ctx, Options("b", {a.membership().Find("a")->claim.rpc_endpoint}), s2.subs, c2);
  ASSERT_TRUE(b.Start(Env::Real().Now()).ok());
  ASSERT_TRUE(RunUntil({&a, &b}, [&] { return a.membership().IsAlive({"b", 1}) && b.membership().joined(); }));

  EXPECT_EQ(b.Cut({"a"}).code(), Status::Code::kFailedPrecondition);  // not enabled on b
  ASSERT_TRUE(a.Cut({"b", "a"}).ok());
  EXPECT_EQ(a.cut(), (std::set<std::string>{"b"}));  // never itself
  // a hears nothing from b any more: b is dead to a (and a, no longer answering, to b).
  ASSERT_TRUE(RunUntil({&a, &b}, [&] { return !a.membership().IsAlive({"b", 1}); }));
  EXPECT_GT(c1["cluster_frames_cut"], 0u);
  ASSERT_TRUE(a.Cut({}).ok());  // heal
  EXPECT_TRUE(RunUntil({&a, &b}, [&] {
    return a.membership().IsAlive({"b", 1}) && b.membership().IsAlive({"a", 1});
  }));
}

}  // namespace
}  // namespace livepoll::net
