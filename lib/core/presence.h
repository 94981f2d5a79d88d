// Presence: the replicated, eventually consistent set of (topic, subscriber, node) entries
// (DESIGN.md, "Presence"). Sans-I/O, like Membership.
//
// Each node is the single writer of its own entries, so there are no conflicts to resolve: every
// node keeps, per origin node, that node's entries and a version counter. A local join or leave
// bumps the version and is broadcast at once as a delta {from_version, to_version, joins, leaves};
// every gossip_interval a clock (the origin's version) is broadcast too. A receiver applies a
// delta that continues what it has; on a gap (a delta or a clock ahead of what it has) it asks the
// origin for a transfer of its full state over rpc.
//
// The lifecycle only asks "does topic T have a subscriber anywhere?", so eventual consistency is
// safe once guarded by a linger period.
//
// Guarantees (tests/unit/presence_*):
//  - once messages stop being lost, every node holds every live origin's entries at its version;
//  - a down origin's entries are hidden at once (not counted), dropped after `permdown`, and
//    shown again if the same incarnation comes back (with a transfer to catch up);
//  - a new incarnation of an origin replaces the old one's entries at once.
// Not buffered: a delta that does not continue what is held (a gap, or reordered) is dropped and
// a transfer asked for instead (at most one outstanding per origin, asked again after
// transfer_retry). Messages about this node itself are ignored. An origin dropped after permdown
// that speaks again is taken as new (visible); Membership reports it up in that case anyway.
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/membership.h"
#include "livepoll/time.h"

namespace livepoll::core {

struct PresenceEntry {
  std::string topic;
  uint64_t subscriber = 0;  // the origin node's local id for the subscriber (a client connection)
  auto operator<=>(const PresenceEntry&) const = default;
};

// ---- messages ----
struct PresenceDelta {  // gossip, at once on every local change
  NodeId origin;
  uint64_t from_version = 0;  // the version the delta applies to
  uint64_t to_version = 0;    // the version after it
  std::vector<PresenceEntry> joins;
  std::vector<PresenceEntry> leaves;
};
struct PresenceClock {  // gossip, every gossip_interval
  NodeId origin;
  uint64_t version = 0;
};
struct PresenceTransferRequest {  // rpc to the origin
  NodeId from;
};
struct PresenceTransfer {  // rpc back: the origin's whole state
  NodeId origin;
  uint64_t version = 0;
  std::vector<PresenceEntry> entries;
};
using PresenceMessage =
    std::variant<PresenceDelta, PresenceClock, PresenceTransferRequest, PresenceTransfer>;

// The node a presence message comes from (its origin, or a transfer's requester). A node composing
// Membership and Presence drops a presence message whose sender is not an up member: what a node
// that has not joined, or is down, says is not counted (the simulator found a restart that left
// before it joined keeping its entries counted).
const NodeId& SenderOf(const PresenceMessage& m);

struct PresenceOptions {
  Duration gossip_interval = std::chrono::milliseconds(100);
  Duration permdown = std::chrono::minutes(5);
  Duration transfer_retry = std::chrono::milliseconds(500);  // a transfer asked again if none came
  // false: an origin that comes back (the same incarnation, after it was down) is shown again at
  // once with what was held of it, and a transfer catches up — right for subscribers, whom it is
  // better to count at once. true: it stays hidden until that transfer arrives — right for the
  // registry's claims, where a claim released while the origin was unreachable would otherwise
  // reappear for a moment and make a clash that is not there.
  bool show_comeback_after_transfer = false;
};

struct PresenceOutputs {
  std::vector<PresenceMessage> broadcasts;
  std::vector<std::pair<NodeId, PresenceMessage>> sends;  // to a node's rpc endpoint
  // Topics whose entries changed, visible or hidden (a join, a leave, a transfer that differs,
  // an origin hidden, shown, replaced or dropped): what the Registry re-examines.
  std::set<std::string> changed;
};

// One entry of a topic as held, with its origin (for the Registry's claims: who claims it).
struct HeldEntry {
  NodeId origin;
  uint64_t subscriber = 0;
  bool visible = true;  // false: the origin is down
  bool operator==(const HeldEntry&) const = default;
};

class Presence {
 public:
  Presence(NodeId self, PresenceOptions options);

  // Local subscribers. Joining an entry already present, or leaving one absent, changes nothing.
  void Join(Time now, const PresenceEntry& e, PresenceOutputs& out);
  void Leave(Time now, const PresenceEntry& e, PresenceOutputs& out);
  // Several local joins and leaves as one delta (joins applied first): a receiver sees them
  // together or not at all (the Registry's re-epoch: a release and a claim at once).
  void Change(Time now, const std::vector<PresenceEntry>& joins,
              const std::vector<PresenceEntry>& leaves, PresenceOutputs& out);

  void OnMessage(Time now, const PresenceMessage& m, PresenceOutputs& out);
  // From Membership's events: a member went down (dead, left or restarted), or came up.
  void OnMemberDown(Time now, const NodeId& node, PresenceOutputs& out);
  void OnMemberUp(Time now, const NodeId& node, PresenceOutputs& out);
  void Tick(Time now, PresenceOutputs& out);
  Time NextDeadline() const;

  // Visible subscribers of `topic`: those of this node and of origins not down.
  size_t SubscriberCount(const std::string& topic) const;
  // Per origin node name, the visible subscriber count of `topic` (nodes with none left out).
  std::map<std::string, size_t> SubscribersByNode(const std::string& topic) const;
  // Every topic with a visible subscriber.
  std::set<std::string> Topics() const;
  // What this node holds of `origin` (self included): its version, or nullopt when nothing is
  // held of that incarnation.
  std::optional<uint64_t> VersionOf(const NodeId& origin) const;
  // The entries held of `origin` (self included), hidden or not, sorted; empty when nothing is
  // held of that incarnation. For tests and the admin view: O(entries).
  std::vector<PresenceEntry> EntriesOf(const NodeId& origin) const;
  uint64_t version() const;  // this node's own
  // Every entry of `topic` held, this node's and every origin's, hidden ones included: O(origins
  // x log entries).
  std::vector<HeldEntry> EntriesOfTopic(const std::string& topic) const;
  // Every topic with an entry held, hidden ones included.
  std::set<std::string> HeldTopics() const;

  // Drops one entry of a down origin before permdown (the Registry reaps a dead owner's claim
  // that nobody will take over). False when the origin is not held down or has no such entry.
  // What is held of the origin then stands for no version of it (VersionOf says 0): if the same
  // incarnation comes back, a transfer brings the entry back if it still has it.
  bool DropHidden(const NodeId& origin, const PresenceEntry& e, PresenceOutputs& out);

 private:
  // What this node holds of one node (self included). Counts: every origin keeps per-topic
  // counts of its entries, and counts_ sums those of the visible origins, so SubscriberCount is
  // one map lookup and hiding or showing an origin costs O(its topics), not O(its entries).
  struct Origin {
    uint64_t incarnation = 0;
    uint64_t version = 0;
    std::set<PresenceEntry> entries;
    std::map<std::string, size_t> topic_counts;  // topic -> entries of it (no zeros)
    std::optional<Time> down_since;              // set: hidden, dropped at down_since + permdown
    uint64_t seen = 0;                           // the highest version heard of (deltas and clocks)
    bool want_transfer = false;                  // behind, or newly up: a transfer is wanted
    std::optional<Time> transfer_asked;          // when the outstanding request was sent
    bool show_on_transfer = false;  // back up, kept hidden until a transfer (see the option)
  };

  // The state for `id`'s incarnation, made or reset (a higher incarnation drops the old one at
  // once); nullptr for self or a stale (lower) incarnation.
  Origin* Admit(const NodeId& id);
  void Reset(Origin& o, uint64_t incarnation);
  // Add/Remove keep the counts; false when nothing changed.
  bool Add(Origin& o, const PresenceEntry& e);
  bool Remove(Origin& o, const PresenceEntry& e);
  void Replace(Origin& o, const std::vector<PresenceEntry>& entries);
  void Hide(const Origin& o);  // takes o's counts out of counts_ (o must be visible)
  void Show(const Origin& o);  // puts them back
  void AskTransfer(Time now, const std::string& name, Origin& o, PresenceOutputs& out);
  void Heard(Time now, const std::string& name, Origin& o, uint64_t version, PresenceOutputs& out);
  void OnDelta(Time now, const PresenceDelta& d, PresenceOutputs& out);
  void OnClock(Time now, const PresenceClock& c, PresenceOutputs& out);
  void OnTransfer(Time now, const PresenceTransfer& t, PresenceOutputs& out);
  const Origin* Find(const NodeId& id) const;
  // Hands the topics changed since the last call to `out` (every public mutator ends with it).
  void Flush(PresenceOutputs& out);

  NodeId self_;
  PresenceOptions options_;
  Origin own_;                             // this node's entries (never down)
  std::map<std::string, Origin> origins_;  // by node name; self not included
  std::map<std::string, size_t> counts_;   // topic -> visible entries (no zeros)
  Time next_clock_{};                      // the first Tick broadcasts a clock
  std::set<std::string> changed_;          // topics changed since the last Flush
};

}  // namespace livepoll::core
