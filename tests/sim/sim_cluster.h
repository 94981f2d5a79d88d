// SimCluster: a deterministic simulation of a livepoll cluster (DESIGN.md, "Architecture: a
// sans-I/O core"; cf. FoundationDB's simulation testing). N nodes in one process, each running the
// daemon's own composition, core::Node (membership, presence, registry, subscriptions, pollers,
// relay: lib/core/node.h), on a virtual clock and a virtual network (SimNetwork) that delays,
// drops, duplicates, reorders and partitions messages. This file is a driver of core::Node, as
// net::Server is the daemon's: it hands a node its inputs and carries out its Actions; it holds no
// rule of the composition itself. Faults: partitions and heal, process pauses (SIGSTOP: a paused
// node neither ticks nor receives; its inbound messages queue, and on resume its overdue timers or
// its queue come first, at random; a pause longer than link_timeout closes its links as the ZMTP
// heartbeats do: what is sent to it from then on is lost, its peers are told of a disconnect,
// and on resume every link is dialled again), link blips (a disconnect notification while the link
// works), clock skew (node clock = virtual time x rate + offset), crashes (peers get a transport
// disconnect), restarts (a new incarnation) and graceful leaves. Everything random comes from one
// std::mt19937_64 seeded by the test, and the event queue is ordered by (time, sequence), so one
// seed is one exact run.
//
// The tests: membership_sim_test.cpp (membership and presence), registry_sim_test.cpp (one owner
// and one poller per subscribed topic, clashes, epochs), data_plane_sim_test.cpp (what clients
// receive). A failure prints `seed=N` and the tail of that run's trace.
//
// How to run (build dir build-mem as an example):
//   cmake --build build-mem -j2 --target sim_tests && time ./build-mem/tests/sim/sim_tests
// Replay exactly one run:
//   LIVEPOLL_SIM_SEED=N ./build-mem/tests/sim/sim_tests     (LIVEPOLL_SIM_TRACE=1: all of it;
//   LIVEPOLL_SIM_TRACE=2: every message received too)
// More seeds than the default 2,000 (the property test; the others run fewer):
//   LIVEPOLL_SIM_SEEDS=20000 ./build-mem/tests/sim/sim_tests
//
// The network follows the ZeroMQ sockets of DESIGN.md: a gossip broadcast reaches every node that
// subscribed (a Connect action) to the sender's gossip endpoint, and a subscription outlives the
// publisher's crash (ZeroMQ reconnects), so a restarted node's gossip reaches its old subscribers;
// a Publish (the data plane) reaches those of them that Watch the topic (checked when sent and
// when received, as a SUB's filter); an rpc Send reaches whichever node runs at that endpoint. A
// disconnect notification goes to the subscribers of a crashed node after the longest message
// delay (TCP delivers what was sent before the FIN), and to the subscriber end of every
// subscription a partition cuts; a relink notification (the new connection's handshake) follows
// when such a link works again: at the heal, at the paused node's resume. Polls go to the test
// (on_poll), which answers with PollDone after a virtual delay; deliveries go to the test's clients
// (on_delivery). A paused node queues its poll completions like its messages; a crash loses its
// clients, its pollers and its polls in flight.
//
// Topics: a node's presence is its clients' subscriptions, so a test that speaks of presence
// entries (PresenceJoin) needs a catalog holding those topics as queries: ModelledCatalog.
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
#include "sim_network.h"

namespace livepoll::sim {

// A catalog of `topics` as queries without parameters, polled every second from a source the
// simulator never answers unless the test does (on_poll): pollers start and stop as the registry
// says, without data. For tests about membership, presence and the registry.
core::Catalog ModelledCatalog(const std::vector<std::string>& topics);

struct SimOptions {
  size_t nodes = 4;
  // net::ClusterTransport's ZMTP heartbeat timeout (a silent link is closed) and its redial delay.
  Duration link_timeout = std::chrono::seconds(1);
  Duration redial = std::chrono::milliseconds(50);
  core::MembershipOptions membership;
  core::PresenceOptions presence;
  core::RegistryOptions registry;
  core::Catalog catalog;                     // the queries every node serves
  core::SubscriptionsOptions subscriptions;  // node and seed are set per node
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
    // The node (kept after a crash, for its last state; a restart makes a new one).
    std::unique_ptr<core::Node> core;
    std::map<std::string, uint64_t> pollers;  // its running pollers, after its last input
    std::set<std::string> subscriptions;      // gossip endpoints this node's SUB is connected to
    std::map<std::string, int> watched;       // topic channels its SUB receives
    std::deque<std::function<void()>> inbox;  // delivered while paused
    uint64_t pauses = 0;        // counts Pause(), to tell one pause's link timeout from another's
    bool links_closed = false;  // paused past link_timeout: frames to it are lost until resumed
    std::set<core::PresenceEntry> entries;  // the truth: this node's own subscriptions
    uint64_t tick_generation = 0;
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
  // A real partition as TCP sees it (issue 13): the connections stay, so nobody is told of a
  // disconnect; what crosses it waits in the sender's queue (nothing lost, nothing duplicated)
  // and, at the heal, every link delivers its backlog late, in order, in a burst. Failure
  // detection is by heartbeats alone, so both sides take over each other's topics.
  void HoldingPartition(const std::vector<int>& group_of);
  // Ends either kind; a holding partition's backlog arrives from now on.
  void Heal();
  void SetLoss(double loss);
  void SetDuplicate(double duplicate);
  // A transient link reset (ZeroMQ reconnects at once): node `observer` gets a disconnect
  // notification about node `peer` while messages keep flowing. Not a fault of `peer`.
  void Blip(size_t observer, size_t peer);
  // Client e.subscriber of node i joins (leaves) the query named e.topic, without parameters
  // (ModelledCatalog), when it has not (has) already.
  void PresenceJoin(size_t i, const core::PresenceEntry& e);
  void PresenceLeave(size_t i, const core::PresenceEntry& e);
  // The admin's `livepoll resolve` on node i (the CLI fans it out to every node).
  Status Resolve(size_t i, const std::string& topic, const std::optional<std::string>& keep,
                 core::ClashPolicy policy);
  // Called after every input of node i that may have changed Owner() of `topics`.
  std::function<void(size_t i, const std::set<std::string>& topics)> on_owners_changed;

  // ---- clients and polls ----
  // A client of node i joins or leaves (core::Node::Join/Leave). Unavailable when the node is not
  // running or paused. Deliveries the call causes (a late subscriber's current state) reach
  // on_delivery before it returns. `resume`: the position the client last applied (relay.h).
  // `presence`: the client's key and meta (Phoenix Presence; node.h).
  Result<core::Subscriptions::Joined> Join(
      size_t i, core::ClientId client, const std::string& query, const proto::Params& params,
      const std::optional<core::StreamPosition>& resume = std::nullopt,
      const std::optional<core::PresenceMeta>& presence = std::nullopt);
  Status Leave(size_t i, core::ClientId client, const std::string& topic);
  // A poll of node i's incarnation `incarnation` finished (dropped if that process is gone;
  // queued while it is paused).
  void PollDone(size_t i, uint64_t incarnation, uint64_t poll_id, Result<ResultSet> result);
  // Node i asks for a poll: answer with PollDone (or never: the poll hangs).
  std::function<void(size_t i, const core::PollRequest& poll)> on_poll;
  // Node i sends `d` to its clients.
  std::function<void(size_t i, const core::Delivery& d)> on_delivery;
  // Node i tells its clients who watches a topic (Actions::presence).
  std::function<void(size_t i, const core::PresenceDelivery& d)> on_presence;
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
  void Receive(size_t i, const core::PeerMessage& m);
  // One message from node `from` to node `to`, after the network's delays (none if cut).
  void Transmit(size_t from, size_t to, const core::PeerMessage& m);
  // `deliver` (a frame from `from` to `to`) after `delay`, unless a partition is in the way then:
  // lost if it cuts, held if it holds.
  void Carry(size_t from, size_t to, Duration delay, std::function<void()> deliver);
  // Carries out node i's actions (net::Server::Carry's counterpart).
  void Apply(size_t i, core::Actions& out);
  void Publish(size_t from, const proto::Update& u);
  bool Watching(size_t i, const std::string& topic) const;
  void Disconnected(size_t observer, const core::NodeId& peer, Duration after);
  void Relinked(size_t observer, const core::NodeId& peer, Duration after);
  // Node i, paused past link_timeout: its peers close their links to it (see above).
  void CloseLinks(size_t i);
  // Relinks (to the subscriber end) each link in cut_links_ that the network carries now.
  void RelinkHealed();
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
  // (observer, peer): links a cut partition reported disconnected, until the network carries them.
  std::set<std::pair<size_t, size_t>> cut_links_;
  std::optional<Duration> partitioned_since_;
  // A holding partition's backlog: per link (from, to), its frames in the order sent.
  std::map<std::pair<size_t, size_t>, std::deque<std::function<void()>>> held_;
  std::optional<Duration> lossy_since_;
  bool verbose_ = false;  // LIVEPOLL_SIM_TRACE=2: every message received, too
};

}  // namespace livepoll::sim
