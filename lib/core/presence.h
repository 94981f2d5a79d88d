// Presence: the replicated, eventually consistent set of (topic, subscriber, node) entries
// (DESIGN.md, "Presence"): a ReplicatedSet of {topic, subscriber} (replicated_set.h, which holds
// the replication's contract: single writers, deltas at once, clocks, transfers on a gap, a down
// origin hidden then dropped after permdown, comebacks), counted per topic. Sans-I/O, like
// Membership.
//
// The lifecycle only asks "does topic T have a subscriber anywhere?", so eventual consistency is
// safe once guarded by a linger period.
//
// An entry may also carry what its client said of itself when it joined with presence (Phoenix
// Presence: a key, say a user id, and a meta, a JSON object's text): every node then knows who
// watches a topic anywhere, and the PresenceFeed (presence_feed.h) tells local clients that asked.
// Such an entry is still one subscriber: counts do not change.
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/replicated_set.h"
#include "livepoll/status.h"

namespace livepoll::core {

// Bounds of what a client (or a peer) can make every node of the cluster hold per subscriber.
inline constexpr size_t kMaxPresenceKeyBytes = 256;
inline constexpr size_t kMaxPresenceMetaBytes = 1024;

// What a client says of itself when it joins with presence.
struct PresenceMeta {
  std::string key;   // who: 1 to kMaxPresenceKeyBytes bytes
  std::string meta;  // a JSON object's text, at most kMaxPresenceMetaBytes; opaque to the core
  auto operator<=>(const PresenceMeta&) const = default;
};

// InvalidArgument, naming the bound, for an empty key or a key or meta over its bound.
Status CheckPresenceMeta(const PresenceMeta& p);

struct PresenceEntry {
  std::string topic;
  uint64_t subscriber = 0;  // the origin node's local id for the subscriber (a client connection)
  // With presence (key not empty): the client's key and meta, and `ref`, the origin's serial of
  // this join (unique per origin incarnation), so that a client that leaves and joins again is a
  // new presence (PresenceRef).
  std::string key;
  std::string meta;
  uint64_t ref = 0;
  bool has_presence() const { return !key.empty(); }
  auto operator<=>(const PresenceEntry&) const = default;
};

// The presence's reference, unique cluster-wide per join with presence (Phoenix's phx_ref):
// "ORIGIN.INCARNATION.REF".
std::string PresenceRef(const NodeId& origin, const PresenceEntry& e);

// Whether `e` is within the presence bounds (a peer's entries are checked by peer_limits.h).
bool PresenceWithinBounds(const PresenceEntry& e);

// Presence's names for the replication's messages, options and outputs.
using PresenceDelta = ReplicaDelta<PresenceEntry>;
using PresenceClock = ReplicaClock;
using PresenceTransferRequest = ReplicaTransferRequest;
using PresenceTransfer = ReplicaTransfer<PresenceEntry>;
using PresenceMessage = ReplicaMessage<PresenceEntry>;
using PresenceOptions = ReplicaOptions;
using PresenceOutputs = ReplicaOutputs<PresenceEntry>;

extern template class ReplicatedSet<PresenceEntry>;  // presence.cpp

class Presence final : public ReplicatedSet<PresenceEntry> {
 public:
  using ReplicatedSet::ReplicatedSet;

  // Visible subscribers of `topic`: those of this node and of origins not down.
  size_t SubscriberCount(const std::string& topic) const { return Count(topic); }
  // Per origin node name, the visible subscriber count of `topic` (nodes with none left out).
  std::map<std::string, size_t> SubscribersByNode(const std::string& topic) const {
    return CountByOrigin(topic);
  }
};

}  // namespace livepoll::core
