// Cluster: one node's part in the cluster on real sockets. It owns the ClusterTransport and the
// sans-I/O core::Node (membership, presence, registry), decodes what arrives, carries out what the
// Node decides, and joins it to this node's Subscriptions:
//  - the Registry's PollerStart/PollerStop become Subscriptions::StartPoller/StopPoller, and every
//    topic whose owner may have changed gets Subscriptions::SetOwner (the fencing token);
//  - the data plane: this node's pollers' updates are published on the gossip PUB under the
//    topic's channel (Publish); a node receives a topic's channel while it has local subscribers
//    of it (Watch/Unwatch); snapshots are fetched from the owner over rpc (Fetch) and served from
//    Subscriptions::CurrentState.
// What Subscriptions decides in these calls is appended to the caller's core::Outputs, which the
// Server carries out (deliveries to clients, and the data-plane calls back into this class).
// Refused frames are counted. The Server's event loop owns it and calls it from its one thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "core/node.h"
#include "core/subscriptions.h"
#include "env/env.h"
#include "livepoll/status.h"
#include "net/cluster_codec.h"
#include "net/cluster_transport.h"

namespace livepoll::net {

struct ClusterOptions {
  std::string cluster = "livepoll";
  core::NodeId self;
  std::string gossip_bind;
  std::string rpc_bind;
  std::string advertise_host = "127.0.0.1";
  std::vector<std::string> seeds;  // rpc endpoints
  core::NodeOptions node;
  bool fault_injection = false;  // Cut() allowed
};

class Cluster {
 public:
  // `subs` (in cluster mode) and `counters` (the Server's, receiving frames_* and cluster counts)
  // must outlive this.
  Cluster(zmq::context_t& ctx, ClusterOptions options, core::Subscriptions& subs,
          std::map<std::string, uint64_t>& counters);
  ~Cluster();

  // Binds the sockets and asks the seeds to let this node in.
  Status Start(Time now);
  // The transport's sockets, for the event loop's poll.
  std::vector<zmq::pollitem_t> PollItems() { return transport_.PollItems(); }
  // Drains what arrived (frames, disconnects). Call when any of PollItems() is readable.
  void OnReadable(Time now, core::Outputs& out);
  void Tick(Time now, core::Outputs& out);
  Time NextDeadline() const;
  // A graceful stop: peers hear of it at once and take this node's topics over.
  void Leave(Time now);

  // This node's subscriptions, replicated as presence.
  void Subscribed(Time now, const std::string& topic, core::ClientId client, core::Outputs& out);
  void Unsubscribed(Time now, const std::string& topic, core::ClientId client, core::Outputs& out);

  // ---- the data plane ----
  void Publish(const proto::Update& u);
  void Watch(const std::string& topic);
  void Unwatch(const std::string& topic);
  void Fetch(const core::SnapshotFetch& f);

  // Forces the resolution of a clash (livepoll resolve).
  Status Resolve(Time now, const std::string& topic, const std::optional<std::string>& keep,
                 core::ClashPolicy policy, core::Outputs& out);

  // Reaps this node's part of `topic`'s zombies (core::Registry::Reap).
  std::vector<std::string> Reap(Time now, const std::string& topic, bool release_own,
                                core::Outputs& out);

  // ---- the admin fan-out (admin_fanout.h) ----
  // The other members a cluster-wide admin command asks: up (alive or suspect), by name.
  std::vector<std::string> Peers() const;
  // Sends `m` to member `node` over rpc; false when it is not an up member (or is cut off).
  bool SendAdmin(const std::string& node, const AdminMessage& m);
  // The admin messages received since the last call, in order.
  std::vector<AdminMessage> TakeAdmin() { return std::exchange(admin_inbox_, {}); }

  // Fault injection (tests): frames from and rpc sends to the named nodes are dropped, as if the
  // network between them and this node were cut; an empty set heals. FailedPrecondition unless
  // enabled by ClusterOptions::fault_injection.
  Status Cut(std::set<std::string> peers);
  const std::set<std::string>& cut() const { return cut_; }

  // Non-empty once a seed refused this node (a live node holds its name): the daemon must stop.
  const std::string& refusal() const { return refusal_; }
  const core::Node& node() const { return *node_; }
  const core::Membership& membership() const { return node_->membership(); }
  const core::Presence& presence() const { return node_->presence(); }
  const core::Registry& registry() const { return node_->registry(); }

 private:
  void Carry(Time now, core::NodeOutputs& nout, core::Outputs& out);
  void Handle(Time now, const std::string& payload, core::Outputs& out);
  void HandleData(Time now, const DataMessage& m, core::Outputs& out);
  // Counted sends: gossip_bytes_sent, gossip_frames_sent, rpc_bytes_sent (payload bytes).
  void Broadcast(const std::string& payload);
  void Send(const std::string& endpoint, const std::string& payload);
  void SendTo(const std::string& node_name, const DataMessage& m);
  // Keeps the Registry's view of the running pollers current (for its orphan sweep).
  void SyncRunning(Time now);

  ClusterOptions options_;
  core::Subscriptions& subs_;
  std::map<std::string, uint64_t>& counters_;
  ClusterTransport transport_;
  std::unique_ptr<core::Node> node_;  // made in Start, once the endpoints are bound
  std::string refusal_;
  std::set<std::string> cut_;
  std::map<std::string, int> watched_;  // topic -> Watch() count
  // topic -> nodes that fetched it before this node's poller had a result: they get the first.
  std::map<std::string, std::set<std::string>> waiting_fetchers_;
  std::vector<AdminMessage> admin_inbox_;
  bool running_dirty_ = true;
  Time next_running_sync_{};
};

}  // namespace livepoll::net
