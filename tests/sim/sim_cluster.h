// SimCluster: a deterministic simulation of a livepoll cluster (DESIGN.md, "Architecture: a
// sans-I/O core"; cf. FoundationDB's simulation testing). N nodes in one process, each running the
// REAL core::Node (Membership, Presence and Registry composed as in the daemon), on a virtual clock and a virtual network (SimNetwork)
// that delays, drops, duplicates, reorders and partitions messages. Faults: partitions and heal,
// process pauses (SIGSTOP: a paused node neither ticks nor receives; its inbound messages queue,
// and on resume its overdue timers or its queue come first, at random), link blips (a disconnect
// notification while the link works), clock skew (node clock = virtual time x rate + offset),
// crashes (peers get a transport disconnect), restarts (a new incarnation) and graceful leaves.
// Everything random comes from one std::mt19937_64 seeded by the test, and the event queue is
// ordered by (time, sequence), so one seed is one exact run.
//
// The tests (membership_sim_test.cpp): for each seed, 3-5 nodes, random faults for 0.5-2.5 s, then
// a healed network; checked: (1) every running node believes exactly the running nodes alive
// within dead_after + join_retry + a few gossip intervals of the heal, and after permdown knows
// no one else; (2) no node is declared dead while it was healthy for the 1.5 s before (running,
// joined, not paused, no partition, loss <= 10%; link blips count as healthy); (3) every running
// node has joined, and a leave not hidden by a partition or loss is seen as a leave; (4) every
// node holds every running origin's presence entries, and counts no one else's.
//
// How to run (build dir build-mem as an example):
//   cmake --build build-mem -j2 --target sim_tests && time ./build-mem/tests/sim/sim_tests
// A failure prints `seed=N` and the tail of that run's trace. Replay exactly that run:
//   LIVEPOLL_SIM_SEED=N ./build-mem/tests/sim/sim_tests            (LIVEPOLL_SIM_TRACE=1: all of
//   it)
// More seeds than the default 2,000 (the property test; the others run fewer):
//   LIVEPOLL_SIM_SEEDS=20000 ./build-mem/tests/sim/sim_tests
//
// Message routing follows the ZeroMQ sockets of DESIGN.md: a gossip broadcast reaches every node
// that subscribed (Membership's `connect`) to the sender's gossip endpoint, and a subscription
// outlives the publisher's crash (ZeroMQ reconnects), so a restarted node's gossip reaches its old
// subscribers; an rpc send reaches whichever node runs at that endpoint. A disconnect notification
// goes to the subscribers of a crashed node after the longest message delay (TCP delivers what
// was sent before the FIN), and to the subscriber end of every subscription a partition cuts.
// The composition is core::Node's, the daemon's own. Each node's pollers are modelled: the
// PollerStop and PollerStart outputs (stops first) are applied to a per-node set of running
// pollers (topic -> epoch), fed back with Node::SetRunning, and cleared by a crash.
// The registry's properties are in registry_sim_test.cpp.
//
// The data plane (SimOptions::catalog set; data_plane_sim_test.cpp). Each node also runs a real
// core::Subscriptions in cluster mode, wired to its core::Node exactly as the daemon wires them
// (lib/net/cluster.cpp, Cluster::Carry and HandleData; lib/net/server.cpp, Server::Carry):
//  - PollerStop -> StopPoller (and MarkStale when `stale`), PollerStart -> StartPoller, the
//    running pollers fed back with Node::SetRunning before the node's next tick (SyncRunning);
//  - owners_changed -> SetOwner(Registry::Owner(topic));
//  - Outputs::published -> the topic's channel on the sender's gossip PUB: it reaches the nodes
//    whose SUB is connected to that endpoint and that Watch the topic (checked when sent and when
//    received), subject to partitions, loss, duplication and delays like gossip;
//  - Outputs::watch/unwatch -> counted per topic channel, as Cluster::Watch/Unwatch;
//  - Outputs::fetches -> an rpc SnapshotRequest to the owner's rpc endpoint (as Membership knows
//    it), answered with Subscriptions::CurrentState, which goes to OnRemoteUpdate;
//  - Outputs::subscribed/unsubscribed -> Node::Subscribed/Unsubscribed (presence), whose outputs
//    are carried like the rest;
//  - Outputs::polls -> on_poll (the test's database answers with PollDone after a virtual delay),
//    Outputs::deliveries -> on_delivery (the test's clients).
// A paused node queues its poll completions like its messages; a crash loses its Subscriptions,
// its clients and its polls in flight.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/node.h"
#include "core/subscriptions.h"
#include "sim_network.h"

namespace livepoll::sim {

struct SimOptions {
  size_t nodes = 4;
  core::MembershipOptions membership;
  core::PresenceOptions presence;
  core::RegistryOptions registry;
  // The data plane: set, every node runs a core::Subscriptions (cluster mode) over this catalog.
  std::optional<core::Catalog> catalog;
  core::SubscriptionsOptions subscriptions;  // node, seed and standalone are set per node
  SimOptions();
};

// One membership event as seen by one node, at a virtual time.
struct SimEventRecord {
  Duration at{};
  size_t observer = 0;
  core::NodeId observer_id;
  core::MembershipEvent event;
};

// One registry event as seen by one node, at a virtual time.
struct SimRegistryRecord {
  Duration at{};
  size_t observer = 0;
  core::RegistryEvent event;
};

class SimCluster {
 public:
  struct Node {
    std::string name;
    uint64_t incarnation = 0;  // 0: never started
    bool running = false;
    bool paused = false;
    bool left = false;  // left gracefully (and stopped)
    double rate = 1.0;  // clock skew: local = virtual x rate + offset
    Duration offset{};
    std::optional<Duration> joined_at;  // virtual time the current incarnation joined
    std::unique_ptr<core::Node> core;
    std::map<std::string, uint64_t> pollers;  // the running pollers: topic -> epoch
    std::set<std::string> subscriptions;      // gossip endpoints this node's SUB is connected to
    std::deque<std::function<void()>> inbox;  // delivered while paused
    std::set<core::PresenceEntry> entries;    // the truth: this node's own subscribers
    uint64_t tick_generation = 0;
    // ---- the data plane (SimOptions::catalog) ----
    std::unique_ptr<core::Subscriptions> subs;
    std::map<std::string, int> watched;  // topic channels its SUB receives (as Cluster::Watch)
    bool running_dirty = false;          // as Cluster::running_dirty_
  };

  SimCluster(SimOptions options, uint64_t seed);

  // ---- the scenario ----
  // Schedules `fn` at virtual time `at` (after everything already scheduled for that time).
  void At(Duration at, std::function<void()> fn);
  void RunUntil(Duration until);
  Duration now() const { return now_; }
  std::mt19937_64& rng() { return rng_; }

  void SetClock(size_t i, double rate, Duration offset);
  // Starts node i (a new incarnation), asking `seeds` (node indexes) to let it join.
  void Start(size_t i, const std::vector<size_t>& seeds);
  void Crash(size_t i);
  void Leave(size_t i);  // graceful: broadcasts the leave, then the process exits
  void Pause(size_t i);
  void Resume(size_t i);
  void Partition(const std::vector<int>& group_of);
  void Heal();
  void SetLoss(double loss);
  void SetDuplicate(double duplicate);
  // A transient link reset (ZeroMQ reconnects at once): node `observer` gets a disconnect
  // notification about node `peer` while messages keep flowing. Not a fault of `peer`.
  void Blip(size_t observer, size_t peer);
  void PresenceJoin(size_t i, const core::PresenceEntry& e);
  void PresenceLeave(size_t i, const core::PresenceEntry& e);
  // The admin's `livepoll resolve` on node i (the CLI fans it out to every node).
  Status Resolve(size_t i, const std::string& topic, const std::optional<std::string>& keep,
                 core::ClashPolicy policy);
  // Called after every input of node i that may have changed Owner() of `topics`.
  std::function<void(size_t i, const std::set<std::string>& topics)> on_owners_changed;

  // ---- the data plane (SimOptions::catalog) ----
  // A client of node i joins or leaves (core::Subscriptions::Join/Leave, carried like the
  // daemon's). Unavailable when the node is not running or paused. Deliveries the call causes
  // (a late subscriber's current state) reach on_delivery before it returns.
  Result<std::string> Join(size_t i, core::ClientId client, const std::string& query,
                           const proto::Params& params);
  Status Leave(size_t i, core::ClientId client, const std::string& topic);
  // A poll of node i's incarnation `incarnation` finished (dropped if that process is gone;
  // queued while it is paused).
  void PollDone(size_t i, uint64_t incarnation, uint64_t poll_id, Result<ResultSet> result);
  // Node i's Subscriptions asks for a poll: answer with PollDone.
  std::function<void(size_t i, const core::PollRequest& poll)> on_poll;
  // Node i's Subscriptions sends `d` to its clients.
  std::function<void(size_t i, const core::Delivery& d)> on_delivery;
  // The owner's word, for a test's history: every update node i's pollers publish, with the
  // result it leads to (the poll's; nullptr for an error), and the snapshot at seq 0 that a
  // re-epoched poller serves until its first poll of the new epoch (pollers.h, State).
  std::function<void(size_t i, const proto::Update& u, const ResultSet* result)> on_owner_update;

  // ---- what happened ----
  const Node& node(size_t i) const { return nodes_[i]; }
  size_t size() const { return nodes_.size(); }
  const std::vector<SimEventRecord>& events() const { return events_; }
  const std::vector<SimRegistryRecord>& registry_events() const { return registry_events_; }
  // True when node i ran incarnation `inc`, joined, unpaused, unpartitioned and with loss at most
  // `max_loss`, during the whole of [from, to].
  bool Healthy(size_t i, uint64_t inc, Duration from, Duration to) const;
  double max_healthy_loss = 0.1;
  // The run's trace (every fault and membership event), the last `n` lines.
  std::string Trace(size_t n = 80) const;
  void Log(const std::string& line);

 private:
  struct Scheduled {
    int64_t at;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Scheduled& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  struct Interval {
    Duration from;
    Duration to;
  };
  struct Life {  // one incarnation of one node
    uint64_t incarnation;
    std::optional<Duration> joined;
    std::optional<Duration> ended;
  };

  Time LocalAt(const Node& n, Duration virtual_time) const;
  Time LocalNow(const Node& n) const { return LocalAt(n, now_); }
  void Reschedule(size_t i);
  void OnTick(size_t i, uint64_t generation);
  // Runs `fn` on node i now, or when it resumes if paused; drops it if the process changed.
  void Deliver(size_t i, uint64_t incarnation, std::function<void()> fn);
  void Receive(size_t i, const core::NodeMessage& m);
  void Transmit(size_t from, size_t to, core::NodeMessage m);
  void Broadcast(size_t from, const core::NodeMessage& m);
  void Apply(size_t i, core::NodeOutputs& out);
  // Node i's outputs (net::Cluster::Carry): Subscriptions' consequences are appended to `data`.
  void Apply(size_t i, core::NodeOutputs& out, core::Outputs& data);
  // Node i's Subscriptions' outputs (net::Server::Carry, cluster part).
  void CarryData(size_t i, core::Outputs& out);
  // One data-plane message from node `from` to node `to`: `arrive` runs on `to` (if still the
  // same process, after the network's delays; queued while paused).
  void TransmitData(size_t from, size_t to, const std::function<void()>& arrive);
  // net::Cluster::SendTo: by node name, to its rpc endpoint as node `from`'s Membership knows it.
  void SendData(size_t from, const std::string& to_name, std::function<void(size_t to)> arrive);
  void PublishData(size_t from, const proto::Update& u);
  bool Watching(size_t i, const std::string& topic) const;
  void Disconnected(size_t observer, const core::NodeId& peer, Duration after);
  std::optional<size_t> NodeAt(const std::string& endpoint) const;
  void Unhealthy(size_t i, Duration from, Duration to) { unhealthy_[i].push_back({from, to}); }

  SimOptions options_;
  std::mt19937_64 rng_;
  SimNetwork network_;
  std::vector<Node> nodes_;
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> queue_;
  uint64_t seq_ = 0;
  Duration now_{};
  std::vector<SimEventRecord> events_;
  std::vector<SimRegistryRecord> registry_events_;
  std::vector<std::string> trace_;
  // Per node, the virtual intervals in which it was not healthy (open ones end at Duration::max).
  std::vector<std::vector<Interval>> unhealthy_;
  std::vector<std::vector<Life>> lives_;
  std::vector<std::optional<Duration>> paused_since_;
  std::optional<Duration> partitioned_since_;
  std::optional<Duration> lossy_since_;
  bool verbose_ = false;  // LIVEPOLL_SIM_TRACE=2: every message received, too
};

}  // namespace livepoll::sim
