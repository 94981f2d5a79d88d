// Cluster: one node's membership and presence on real sockets. It owns the ClusterTransport and
// the two sans-I/O state machines, decodes what arrives, carries out what they decide, and counts
// refused frames. The Server's event loop owns it and calls it from its one thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "core/membership.h"
#include "core/presence.h"
#include "core/subscriptions.h"
#include "env/env.h"
#include "livepoll/status.h"
#include "net/cluster_transport.h"

namespace livepoll::net {

struct ClusterOptions {
  std::string cluster = "livepoll";
  core::NodeId self;
  std::string gossip_bind;
  std::string rpc_bind;
  std::string advertise_host = "127.0.0.1";
  std::vector<std::string> seeds;  // rpc endpoints
  core::MembershipOptions membership;
  core::PresenceOptions presence;
};

class Cluster {
 public:
  // `counters` (the Server's) receives frames_* and membership counts; it must outlive this.
  Cluster(zmq::context_t& ctx, ClusterOptions options, std::map<std::string, uint64_t>& counters);

  // Binds the sockets and asks the seeds to let this node in.
  Status Start(Time now);
  // The transport's sockets, for the event loop's poll.
  std::vector<zmq::pollitem_t> PollItems() { return transport_.PollItems(); }
  // Drains what arrived (frames, disconnects). Call when any of PollItems() is readable.
  void OnReadable(Time now);
  void Tick(Time now);
  Time NextDeadline() const;
  // A graceful stop: peers hear of it at once.
  void Leave(Time now);

  // This node's subscriptions, replicated as presence.
  void Subscribed(Time now, const std::string& topic, core::ClientId client);
  void Unsubscribed(Time now, const std::string& topic, core::ClientId client);

  // Non-empty once a seed refused this node (a live node holds its name): the daemon must stop.
  const std::string& refusal() const { return refusal_; }
  const core::Membership& membership() const { return membership_; }
  const core::Presence& presence() const { return presence_; }

 private:
  void Carry(Time now, core::MembershipOutputs& out);
  void Carry(core::PresenceOutputs& out);
  void Handle(Time now, const std::string& payload);
  // Counted sends: gossip_bytes_sent, gossip_frames_sent, rpc_bytes_sent (payload bytes).
  void Broadcast(const std::string& payload);
  void Send(const std::string& endpoint, const std::string& payload);

  ClusterOptions options_;
  std::map<std::string, uint64_t>& counters_;
  ClusterTransport transport_;
  core::Membership membership_;
  core::Presence presence_;
  std::string refusal_;
};

}  // namespace livepoll::net
