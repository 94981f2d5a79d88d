// Presence: the replicated, eventually consistent set of (topic, subscriber, node) entries
// (DESIGN.md, "Presence"): a ReplicatedSet of {topic, subscriber} (replicated_set.h, which holds
// the replication's contract: single writers, deltas at once, clocks, transfers on a gap, a down
// origin hidden then dropped after permdown, comebacks), counted per topic. Sans-I/O, like
// Membership.
//
// The lifecycle only asks "does topic T have a subscriber anywhere?", so eventual consistency is
// safe once guarded by a linger period.
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/replicated_set.h"

namespace livepoll::core {

struct PresenceEntry {
  std::string topic;
  uint64_t subscriber = 0;  // the origin node's local id for the subscriber (a client connection)
  auto operator<=>(const PresenceEntry&) const = default;
};

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
