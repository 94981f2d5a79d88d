// PresenceFeed: who watches a topic, told to the local clients that joined it with presence
// (Phoenix Presence: `presence_state` right after a join, then `presence_diff` as viewers come and
// go on any node). Sans-I/O; core::Node feeds it the presence entries with a key that become
// visible or invisible (ClusterState::presence_changes; standalone, its own) and carries its
// deliveries out (Actions::presence).
//
// Per topic followed (one with at least one local client that asked), it holds the topic's
// visible presences by ref. A batch of changes becomes one diff per topic, handed once with the
// list of its followers (like a Delivery: the driver may encode it once), not once per
// subscriber. Within a batch, a presence shown and hidden again (or hidden and shown again) is
// no change and is not told. A follower is never told its own arrival in a diff: it follows after
// its join and gets the whole list, itself included, as its state.
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/relay.h"

namespace livepoll::core {

// One presence as clients see it.
struct PresenceItem {
  std::string key;   // who, as its client said
  std::string meta;  // the client's JSON object text; a peer's is bounded (peer_limits.h) but
                     // not parsed: a renderer treats it as untrusted
  std::string ref;   // unique cluster-wide per join with presence (PresenceRef): phx_ref
  std::string node;  // the node its client joined on
  bool operator==(const PresenceItem&) const = default;
};

// What to tell local clients of one topic.
struct PresenceDelivery {
  std::vector<ClientId> clients;
  std::string topic;
  // true: the topic's whole list (in `joins`; `leaves` empty), right after a client's join:
  // presence_state. false: presence_diff.
  bool state = false;
  std::vector<PresenceItem> joins;  // sorted by key, then ref
  std::vector<PresenceItem> leaves;
};

// An entry with presence that became visible (`visible`) or stopped being visible.
struct PresenceChange {
  std::string topic;
  PresenceItem item;
  bool visible = true;
};

class PresenceFeed {
 public:
  bool Follows(const std::string& topic) const { return topics_.count(topic) > 0; }
  // `client` follows `topic` from now, and gets its whole list at once (a state). `visible` is
  // the topic's visible presences now; it is read only when nobody followed the topic yet
  // (otherwise the feed holds them already).
  void Follow(const std::string& topic, ClientId client, const std::vector<PresenceItem>& visible,
              std::vector<PresenceDelivery>& out);
  // Nothing when `client` does not follow `topic`. The last follower gone, the topic's presences
  // are forgotten.
  void Unfollow(const std::string& topic, ClientId client);
  // Changes in the order they happened; those of followed topics make one diff per topic.
  void Apply(const std::vector<PresenceChange>& changes, std::vector<PresenceDelivery>& out);

  size_t topic_count() const { return topics_.size(); }

 private:
  struct Topic {
    std::set<ClientId> followers;
    std::map<std::string, PresenceItem> shown;  // by ref
  };
  std::map<std::string, Topic> topics_;
};

}  // namespace livepoll::core
