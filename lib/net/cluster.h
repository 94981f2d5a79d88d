// Cluster: the daemon's driver of a core::Node's cluster side on real sockets. It owns the
// ClusterTransport (gossip PUB/SUB, rpc ROUTER/DEALERs), decodes what arrives and hands it to the
// Node, and carries out the Node's transport actions, encoded. Everything the cluster decides is
// the Node's (core/node.h); this class only moves bytes, counts them and refuses bad frames.
// Besides: the admin fan-out's messages (the Server answers them) and fault injection (tests).
// The Server's event loop owns it and calls it from its one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "core/node.h"
#include "livepoll/status.h"
#include "livepoll/time.h"
#include "net/cluster_codec.h"
#include "net/cluster_transport.h"
#include "net/curve_keys.h"

namespace livepoll::net {

struct ClusterOptions {
  std::string cluster = "livepoll";  // frames of another cluster are refused
  std::string gossip_bind;
  std::string rpc_bind;
  std::string advertise_host = "127.0.0.1";  // for wildcard binds: see advertise.h
  std::vector<std::string> seeds;            // rpc endpoints
  bool fault_injection = false;              // Cut() allowed
  // ---- with keys (PROTOCOL.md, "Security"); without, none of this applies ----
  // This node's keypair: every socket speaks CurveZMQ (a ZapHandler must run in the context).
  std::optional<ClusterTransport::Curve> curve;
  // The trusted nodes' public keys, by name, as they are now (SIGHUP may replace them).
  std::function<std::shared_ptr<const KeySets>()> keys;
  // The seeds' names, by rpc endpoint (`join = NAME@tcp://...`), so their keys are known.
  std::map<std::string, std::string> seed_names;
  int64_t max_message_size = -1;  // ZMQ_MAXMSGSIZE of every cluster socket
};

class Cluster {
 public:
  // `node` (not standalone) must outlive this.
  Cluster(zmq::context_t& ctx, ClusterOptions options, core::Node& node);

  // Binds the sockets and starts the node's part of the cluster (asking the seeds to let it in).
  Status Start(Time now, core::Actions& out);
  // The transport's sockets, for the event loop's poll.
  std::vector<zmq::pollitem_t> PollItems() { return transport_.PollItems(); }
  // Drains what arrived (frames, disconnects) into the node. Call when any of PollItems() is
  // readable.
  void OnReadable(Time now, core::Actions& out);
  // Carries out the node's transport actions, in order (and empties them).
  void Carry(std::vector<core::TransportAction>& actions);

  // ---- the admin fan-out (admin_fanout.h) ----
  // The other members a cluster-wide admin command asks: up (alive or suspect), by name.
  std::vector<std::string> Peers() const;
  // Sends `m` to member `node` over rpc; false when it is not an up member (or is cut off).
  bool SendAdmin(const std::string& node, const AdminMessage& m);
  // The admin messages received since the last call, in order.
  std::vector<AdminMessage> TakeAdmin() { return std::exchange(admin_inbox_, {}); }

  // Fault injection (tests): frames from and rpc sends to the named nodes are dropped, as if the
  // network between them and this node were cut; an empty set heals. FailedPrecondition unless
  // enabled by ClusterOptions::fault_injection. A healed peer counts as relinked
  // (core::Node::OnPeerRelink): what it published meanwhile was dropped.
  Status Cut(Time now, std::set<std::string> peers, core::Actions& out);
  const std::set<std::string>& cut() const { return cut_; }

  const std::string& gossip_endpoint() const { return transport_.gossip_endpoint(); }
  const std::string& rpc_endpoint() const { return transport_.rpc_endpoint(); }

 private:
  void Handle(Time now, const ClusterTransport::Frame& f, core::Actions& out);
  // With keys: whether a decoded frame may be taken, by the identity rule (PROTOCOL.md,
  // "Security"); counts what it refuses.
  bool Admit(const ClusterTransport::Frame& f, const ClusterFrame& frame);
  // With keys: the public key of the node at an rpc (or gossip) endpoint, and its name; empty when
  // unknown.
  std::string NameAtRpc(const std::string& rpc_endpoint) const;
  std::string NameAtGossip(const std::string& gossip_endpoint) const;
  std::string KeyOf(const std::string& name) const;
  bool IsCut(const std::string& rpc_endpoint) const;
  // Counted sends: gossip_bytes_sent, gossip_frames_sent, rpc_bytes_sent (payload bytes).
  void Broadcast(const std::string& payload);
  void Send(const std::string& endpoint, const std::string& payload);
  template <typename M>
  std::string Encode(const M& m) const {
    return EncodeCluster(options_.cluster, node_.name(), m);
  }

  ClusterOptions options_;
  core::Node& node_;
  core::Counters& counters_;  // node_'s
  ClusterTransport transport_;
  std::set<std::string> cut_;
  std::vector<AdminMessage> admin_inbox_;
  // With keys: rpc endpoints of trusted nodes that asked to join (their m.join, authenticated),
  // so the answer reaches them before they are members. Bounded: only trusted keys get here.
  std::map<std::string, std::string> joiners_;
  // Endpoints already warned about (no key for them): a log line each, not one per frame.
  bool WarnOnce(const std::string& endpoint);
  std::set<std::string> warned_;
};

}  // namespace livepoll::net
