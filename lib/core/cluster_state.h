// ClusterState: one node's part of the cluster — Membership, Presence and Registry composed,
// sans-I/O. core::Node (node.h) holds it beside the node's Subscriptions; the rules of this
// composition:
//  - Membership's kDown/kUp go to Presence and Registry (OnMemberDown/OnMemberUp);
//  - a presence or registry message whose sender is not an up member is dropped (SenderOf);
//  - a message to a node goes to its rpc endpoint as Membership knows it, and only to that
//    incarnation;
//  - every presence change of a topic is passed on to the Registry, and every presence entry
//    with presence (a key) shown or hidden to the node (ClusterOutputs::presence_changes, for its
//    PresenceFeed);
//  - after Leave, the node does nothing more (the process is about to exit).
// Thread safety: none; one thread owns it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/membership.h"
#include "core/peer_message.h"
#include "core/presence.h"
#include "core/registry.h"

namespace livepoll::core {

struct ClusterOptions {
  MembershipOptions membership;
  PresenceOptions presence;
  RegistryOptions registry;
};

struct ClusterOutputs {
  std::vector<PeerMessage> broadcasts;                     // gossip
  std::vector<std::pair<std::string, PeerMessage>> sends;  // (rpc endpoint, message)
  std::vector<std::string> connect;                        // gossip endpoints to SUBscribe to
  std::vector<std::string> disconnect;                     // and to drop
  std::vector<std::string> forget;                         // rpc endpoints no member uses any more
  std::vector<MembershipEvent> member_events;
  MembershipTally member_tally;  // summed over every Membership call
  std::vector<PollerStart> start;
  std::vector<PollerStop> stop;
  std::set<std::string> owners_changed;
  std::vector<RegistryEvent> registry_events;
  // Presence entries with a key that became visible or invisible, in order
  // (ReplicaOutputs::visibility).
  std::vector<Held<PresenceEntry>> presence_changes;
};

class ClusterState {
 public:
  // `self` carries the node's endpoints (known once its sockets are bound).
  ClusterState(MemberClaim self, ClusterOptions options);
  // The Registry refers to membership_ and presence_: it stays where it was made.
  ClusterState(const ClusterState&) = delete;
  ClusterState& operator=(const ClusterState&) = delete;
  ClusterState(ClusterState&&) = delete;
  ClusterState& operator=(ClusterState&&) = delete;

  void Start(Time now, const std::vector<std::string>& seed_rpc_endpoints, ClusterOutputs& out);
  void OnMessage(Time now, const MembershipMessage& m, ClusterOutputs& out);
  void OnMessage(Time now, const PresenceMessage& m, ClusterOutputs& out);
  void OnMessage(Time now, const RegistryMessage& m, ClusterOutputs& out);
  // The transport lost its connection to the gossip socket at `gossip_endpoint`: every member
  // with that endpoint is reported to Membership.
  void OnDisconnect(Time now, const std::string& gossip_endpoint, ClusterOutputs& out);
  void Tick(Time now, ClusterOutputs& out);
  Time NextDeadline() const;
  // A graceful stop: the leave is broadcast; peers take over this node's topics at once.
  void Leave(Time now, ClusterOutputs& out);

  // This node's subscribers (presence). Unsubscribed must name the entry Subscribed made (its
  // key, meta and ref too).
  void Subscribed(Time now, const PresenceEntry& e, ClusterOutputs& out);
  void Unsubscribed(Time now, const PresenceEntry& e, ClusterOutputs& out);
  // A subscriber without presence.
  void Subscribed(Time now, const std::string& topic, uint64_t subscriber, ClusterOutputs& out) {
    Subscribed(now, PresenceEntry{topic, subscriber}, out);
  }
  void Unsubscribed(Time now, const std::string& topic, uint64_t subscriber, ClusterOutputs& out) {
    Unsubscribed(now, PresenceEntry{topic, subscriber}, out);
  }
  // The pollers this node runs (topic -> epoch), for the registry's orphan sweep.
  void SetRunning(std::map<std::string, uint64_t> running);
  Status Resolve(Time now, const std::string& topic, const std::optional<std::string>& keep,
                 ClashPolicy policy, ClusterOutputs& out);
  // Registry::Reap: this node's part of `topic`'s zombies, removed now.
  std::vector<std::string> Reap(Time now, const std::string& topic, bool release_own,
                                ClusterOutputs& out);

  const Membership& membership() const { return membership_; }
  const Presence& presence() const { return presence_; }
  const Registry& registry() const { return registry_; }
  const NodeId& self() const { return membership_.self(); }

 private:
  // Each hands one state machine's outputs on: messages to the transport (to a NodeId: only to
  // the incarnation Membership knows), events to the other state machines, the rest to `out`.
  void Carry(Time now, MembershipOutputs& mo, ClusterOutputs& out);
  void Carry(Time now, PresenceOutputs& po, ClusterOutputs& out);
  void Carry(RegistryOutputs& ro, ClusterOutputs& out);
  void SendTo(const NodeId& node, PeerMessage m, ClusterOutputs& out) const;

  Membership membership_;
  Presence presence_;
  Registry registry_;  // after membership_ and presence_, which it reads
  bool left_ = false;
};

}  // namespace livepoll::core
