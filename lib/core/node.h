// Node: one livepolld, sans-I/O — its clients and pollers (Subscriptions) and, in a cluster, its
// part of the cluster (ClusterState: membership, presence, registry) — composed once. The daemon
// (net::Server, on real sockets and worker threads) and the simulator (tests/sim, on a virtual
// network and clock) are drivers of this one class: they hand it inputs and carry out its
// Actions, so a rule the simulator finds is a rule of the daemon.
//
// The rules that join the parts:
//  - a client's subscriptions are this node's presence entries (the first and last of a client
//    and topic, Subscriptions::Outputs::subscribed/unsubscribed);
//  - standalone, a topic's first local subscriber starts its poller (Subscriptions does it);
//    in a cluster the Registry decides: its PollerStops are carried out before its PollerStarts,
//    so that a re-registration in the same batch starts afresh; a stop marked `stale` (majority
//    lost) tells the local subscribers so (Subscriptions::MarkStale);
//  - every topic whose owner may have changed gets the relay's fencing owner from
//    Registry::FollowedOwner (Owner, but during a clash the claimant the relay follows already);
//  - the data plane: an update of this node's pollers is published on the topic's channel
//    (Publish), before anything decided after it; a topic with local subscribers is received
//    (Watch, Unwatch); the relay's SnapshotFetch becomes a SnapshotRequest over rpc to the owner;
//  - a SnapshotRequest is answered with the poller's current state; when it has none yet, the
//    requester also gets the first update the poller publishes, in a second reply (its SUB may
//    not receive the topic's channel yet: ZeroMQ's slow joiner). Only a topic this node polls
//    keeps requesters waiting, and only until its poller stops;
//  - the Registry's view of the running pollers (for its orphan sweep) is corrected from the
//    pollers at most once a second, when a start or stop may have made them differ;
//  - under `partition = majority`, while this node may not own topics (Registry::WhyNotOwning),
//    local subscribers of a topic without an owner are told why (Subscriptions::MarkStale): those
//    subscribed when it stopped owning (or when the reason changed), and each new one at once;
//  - a join with presence (a key and meta) makes the client's presence entry carry them, and the
//    client a follower of the topic's presence (PresenceFeed): it gets the topic's whole list
//    (presence_state) after its join, then a diff whenever entries with presence of the topic
//    become visible or invisible anywhere (joins and leaves on any node, a node down or back).
//    Standalone (and before Start) the node's own entries are the whole presence;
//  - placement never makes this node the owner of a topic whose query its catalog lacks
//    (RegistryOptions::can_poll, from Subscriptions::CanPoll): the next candidate registers it;
//  - after LeaveCluster, the node does nothing more for the cluster (the process is exiting).
//
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/catalog.h"
#include "core/cluster_state.h"
#include "core/counters.h"
#include "core/peer_message.h"
#include "core/presence.h"
#include "core/presence_feed.h"
#include "core/subscriptions.h"
#include "livepoll/status.h"
#include "livepoll/time.h"
#include "proto/messages.h"

namespace livepoll::core {

// ---- what the transport does: one list, in the order decided ----
struct Broadcast {  // on the gossip PUB's cluster channel, to every peer
  PeerMessage message;
};
struct Send {  // over rpc to the peer at `endpoint`
  std::string endpoint;
  PeerMessage message;
};
struct Connect {  // SUBscribe to a peer's gossip socket
  std::string gossip_endpoint;
};
struct Disconnect {  // and stop
  std::string gossip_endpoint;
};
struct Forget {  // no member uses this rpc endpoint any more: close what is open to it
  std::string rpc_endpoint;
};
struct Publish {  // an update of this node's poller, on the gossip PUB under its topic's channel
  proto::Update update;
};
struct Watch {  // receive `topic`'s channel from every peer
  std::string topic;
};
struct Unwatch {  // and stop
  std::string topic;
};
using TransportAction =
    std::variant<Broadcast, Send, Connect, Disconnect, Forget, Publish, Watch, Unwatch>;

// ---- what happened, for the log ----
struct ClientTimedOut {  // silent for client_timeout: dropped with its subscriptions
  ClientId client = 0;
};
struct PollerRefused {  // the Registry started a poller this node cannot run
  std::string topic;
  Status why;
};
using NodeEvent =
    std::variant<MembershipEvent, RegistryEvent, PollerEvent, ClientTimedOut, PollerRefused>;

// Everything a Node decided in one call, for its driver to carry out.
struct Actions {
  std::vector<TransportAction> transport;  // cluster only
  std::vector<Delivery> deliveries;        // to this node's clients
  // To this node's clients that joined with presence: states and diffs (PresenceFeed). A
  // client's state is decided in its Join call: its driver sends the join's reply first.
  std::vector<PresenceDelivery> presence;
  std::vector<ClientId> dropped_clients;  // the transport may forget these clients
  std::vector<PollRequest> polls;         // for the poller runtime
  std::vector<NodeEvent> events;
  // Topics whose owner (Registry::Owner) may have changed. The node has told its relay already;
  // for observers (the simulator's properties).
  std::set<std::string> owners_changed;
};

// A node in a cluster: who it is and how its state machines behave.
struct NodeClusterOptions {
  NodeId self;
  ClusterOptions state;
};

struct NodeOptions {
  // subscriptions.node names the owner in updates: in a cluster, the node's name (fencing).
  // subscriptions.standalone is set from `cluster`.
  SubscriptionsOptions subscriptions;
  std::optional<NodeClusterOptions> cluster;  // none: a standalone node
};

class Node {
 public:
  Node(Catalog catalog, NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  bool standalone() const { return !options_.cluster; }

  // ---- the cluster (REQUIRES: !standalone()) ----
  // Starts this node's part of the cluster, its endpoints bound at `gossip_endpoint` and
  // `rpc_endpoint`, asking the seeds (rpc endpoints) to let it in. Before Start, nothing of the
  // cluster is held (cluster() is null) and peer inputs are ignored.
  void Start(Time now, const std::string& gossip_endpoint, const std::string& rpc_endpoint,
             const std::vector<std::string>& seeds, Actions& out);
  // A message from a peer, decoded. Presence and registry messages of a node that is not an up
  // member are dropped (ClusterState); a message with an epoch, seq or version above kMaxCounter
  // is dropped whole and counted in cluster_frames_refused (peer_limits.h).
  void OnPeerMessage(Time now, const PeerMessage& m, Actions& out);
  // The transport lost its connection to the gossip socket at `gossip_endpoint`.
  void OnPeerDisconnect(Time now, const std::string& gossip_endpoint, Actions& out);
  // The transport connected to `gossip_endpoint` again after losing it. Whatever the peer
  // published in between is lost, and when that was a topic's last update nothing would ever show
  // the gap (found by the chaos soak, seed 103: a node SIGSTOPped for 2.7 s, longer than the
  // links' heartbeat timeout, kept a deleted row for good). Every stream this node follows from
  // that peer fetches the owner's state now, and once more kRelinkRecheck later: the owner's
  // publisher may attach the new connection only after it answered the first fetch.
  void OnPeerRelink(Time now, const std::string& gossip_endpoint, Actions& out);
  static constexpr Duration kRelinkRecheck = std::chrono::seconds(1);
  // A graceful stop: the leave is broadcast; peers take this node's topics over at once.
  void LeaveCluster(Time now, Actions& out);
  // Non-empty once a seed refused this node (a live node holds its name): the daemon must stop.
  const std::string& refusal() const { return refusal_; }

  // ---- clients ----
  // Subscribes `client` to query(params), resuming from `resume` when this node can; see
  // Subscriptions::Join. Counted in `joins` (and `resumes` when the stream continued).
  // With `presence`: InvalidArgument (counted in `joins_refused`, nothing changes) when
  // CheckPresenceMeta refuses it; else the client's presence entry carries it, and
  // Actions::presence gets the topic's presence state for the client (see the header comment). A
  // client already subscribed to the topic that joins again with presence replaces its presence (a
  // leave and a join in the followers' diff); without, it keeps the one it has.
  Result<Subscriptions::Joined> Join(Time now, ClientId client, const std::string& query,
                                     const proto::Params& params, Actions& out,
                                     const std::optional<StreamPosition>& resume = std::nullopt,
                                     const std::optional<PresenceMeta>& presence = std::nullopt);
  // The parameters a join of `query` by a client that proved `who` runs with, by the query's
  // access rule (access.h: Authorize); a refusal is counted in `joins_unauthorized`. An unknown
  // query passes unchanged: Join names it.
  Result<proto::Params> AuthorizeJoin(const std::string& query, const ClientIdentity& who,
                                      const proto::Params& params, int64_t now_unix);
  // NotFound when the client is not subscribed to `topic`. Counted in `leaves`.
  Status Leave(Time now, ClientId client, const std::string& topic, Actions& out);
  // Any frame from the client keeps it alive.
  void ClientSeen(Time now, ClientId client);
  // The client is gone (its connection closed): all its subscriptions end now.
  void ClientGone(Time now, ClientId client, Actions& out);
  // The driver dropped updates of `topic` queued for `client` (its send queue was full): the
  // client gets the topic's current state again, a snapshot first (Subscriptions::Resend).
  void Resend(Time now, ClientId client, const std::string& topic, Actions& out);

  // ---- pollers ----
  // The result of a PollRequest (counted in `polls`, `poll_errors`), with the DigestResult of
  // it against the request's base when the poll worker made one (Pollers::PollDone).
  void PollDone(Time now, uint64_t poll_id, Result<ResultSet> result, Actions& out,
                std::optional<ResultDigest> digest = std::nullopt);

  // Everything due at `now`: the cluster's timers, then polls, lingers and client timeouts.
  void Tick(Time now, Actions& out);
  // When Tick next has something to do; Time::max() if nothing is scheduled.
  Time NextDeadline() const;

  // ---- the operator (livepoll resolve, livepoll reap) ----
  // Forces the resolution of a clash; FailedPrecondition standalone. See Registry::Resolve.
  Status Resolve(Time now, const std::string& topic, const std::optional<std::string>& keep,
                 ClashPolicy policy, Actions& out);
  // Removes this node's part of `topic`'s zombies now; one line per thing done (empty: nothing).
  // In a cluster, Registry::Reap. Standalone, with `release_own`, the poller restarts at a new
  // epoch and its subscribers follow the new stream from its first snapshot.
  std::vector<std::string> Reap(Time now, const std::string& topic, bool release_own, Actions& out);

  // ---- the catalog (SIGHUP) ----
  // Replaces the catalog by `next` (Subscriptions::ReplaceCatalog says what happens to the
  // topics of added, removed and changed queries). In a cluster this node releases its claims of
  // the topics it polls whose query changed or was removed (Registry::Reap with release_own):
  // a changed one is registered again by the placement, at an epoch above every one seen, so the
  // fencing of every node's relay follows the new stream from its snapshot.
  struct CatalogReplaced {
    CatalogChanges changes;
    size_t restarted = 0;  // pollers restarted here (standalone) or released (cluster)
  };
  CatalogReplaced ReplaceCatalog(Time now, Catalog next, Actions& out);

  // ---- views ----
  const Subscriptions& subscriptions() const { return subs_; }
  // Null standalone, and before Start.
  const ClusterState* cluster() const { return cluster_.get(); }
  const Counters& counters() const { return counters_; }
  // The visible presences (entries with a key) of `topic`, cluster-wide (standalone: this
  // node's), sorted by key then ref. O(entries of the topic).
  std::vector<PresenceItem> PresenceOf(const std::string& topic) const;
  // The drivers count what only they see (frames refused, bytes sent) here too.
  Counters& counters() { return counters_; }
  const std::string& name() const { return options_.subscriptions.node; }
  // This process (SubscriptionsOptions::session; in a cluster, the node's incarnation).
  uint64_t session() const { return options_.subscriptions.session; }

 private:
  // Each carries one part's outputs into `out`, applying the rules above; what that makes the
  // other part decide is carried in turn.
  void Carry(Time now, Outputs& so, Actions& out);
  void Carry(Time now, ClusterOutputs& co, Actions& out);
  void OnData(Time now, const DataMessage& m, Actions& out);
  // A data-plane message to node `name` over rpc, at its endpoint as Membership knows it.
  void SendData(const std::string& name, DataMessage m, Actions& out);
  // A node of `id`'s name is a member that has not left (alive, suspect, or dead in this view).
  bool IsMember(const NodeId& id) const;
  // Keeps the Registry's view of the running pollers current (see the header comment).
  void SyncRunning(Time now);
  // Under `partition = majority`: tells local subscribers of ownerless topics why nobody serves
  // them, when the reason appears or changes (see the header comment).
  void TellNotOwning(Time now, Outputs& so);
  // This node's presence entry of `client` in `topic` (with its presence, if it has one).
  PresenceEntry OwnEntry(const std::string& topic, ClientId client) const;
  // The subscriptions that began and ended in `so` as presence entries: the cluster's, or
  // (standalone, before Start) the feed's directly.
  void CarryPresence(Time now, Outputs& so, Actions& out);
  // Presence entries shown or hidden: the feed's diffs.
  void FeedPresence(const std::vector<Held<PresenceEntry>>& changes, Actions& out);
  // Replaces the presence of a client already subscribed to `topic`.
  void ReplacePresence(Time now, const PresenceEntry& e, Actions& out);
  NodeId SelfId() const;

  NodeOptions options_;
  Subscriptions subs_;
  std::unique_ptr<ClusterState> cluster_;  // made by Start
  Counters counters_;
  std::string refusal_;
  // topic -> nodes that fetched it before this node's poller had a result: they get the first.
  std::map<std::string, std::set<std::string>> waiting_fetchers_;
  std::map<std::string, Time> relink_rechecks_;  // peer name -> when its streams fetch again
  bool running_dirty_ = false;
  std::string not_owning_;  // the last Registry::WhyNotOwning told (majority mode)
  Time next_running_sync_{};
  PresenceFeed feed_;
  // This node's subscriptions with presence: (topic, client) -> the entry it has in presence.
  std::map<std::pair<std::string, ClientId>, PresenceEntry> own_presence_;
  uint64_t next_presence_ref_ = 1;
};

}  // namespace livepoll::core
