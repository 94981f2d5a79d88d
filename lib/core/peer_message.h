// What one node says to another: the cluster state machines' messages (membership, presence, the
// registry) and the data plane's. PROTOCOL.md ("Cluster messages") describes their encoding; the
// codec lives with the transport (lib/net), the meaning here.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "core/membership.h"
#include "core/presence.h"
#include "core/registry.h"
#include "proto/messages.h"

namespace livepoll::core {

// ---- the data plane (DESIGN.md, "Registry": fencing) ----
// An owner's update of a topic, published on the gossip PUB under the topic's channel, so only
// nodes with subscribers of the topic receive it. (owner, epoch, seq) are in the update.
struct DataUpdate {
  proto::Update update;
};
// rpc to a topic's owner: "send me the topic's current state" (a late subscriber, a gap in seq,
// or a new owner).
struct SnapshotRequest {
  NodeId from;
  std::string topic;
};
// rpc back: the owner's current state as a snapshot (or an error update while its source fails);
// none when it does not poll the topic or has no result yet (the first poll's snapshot then comes
// in a second reply, or on the data plane).
struct SnapshotReply {
  NodeId from;
  std::string topic;
  std::optional<proto::Update> update;
};
using DataMessage = std::variant<DataUpdate, SnapshotRequest, SnapshotReply>;

// Everything a node's core takes from and gives to its peers.
using PeerMessage = std::variant<MembershipMessage, PresenceMessage, RegistryMessage, DataMessage>;

}  // namespace livepoll::core
