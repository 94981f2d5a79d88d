// ReplicatedSet: a set of entries replicated across the cluster, eventually consistent, where
// every node is the single writer of its own entries (DESIGN.md, "Presence"). Used twice, with
// one replication: presence (presence.h: {topic, subscriber}, who subscribes to what) and the
// registry's claims (registry.h: {topic, epoch}, who owns which topic). Sans-I/O, like
// Membership.
//
// There are no conflicts to resolve: every node keeps, per origin node, that node's entries and
// a version counter. A local change bumps the version and is broadcast at once as a delta
// {from_version, to_version, joins, leaves}; a clock (the origin's version) is broadcast too: in
// the kClockRepeats gossip_intervals after a change (a lost delta is seen as a gap within one
// interval, as long as not every repeat is lost too), and otherwise every kIdleClockEvery
// intervals (issue 15: a clock per interval per replica was about 1.5 KB/s per node of idle
// gossip, more than the membership heartbeats themselves). A receiver applies a delta that
// continues what it has; on a gap (a delta or a clock ahead of what it has) it asks the origin for
// a transfer of its full state over rpc.
//
// Guarantees (tests/unit/presence_test.cpp, tests/sim):
//  - once messages stop being lost, every node holds every live origin's entries at its version;
//  - a down origin's entries are hidden at once (not counted), dropped after `permdown`, and
//    shown again if the same incarnation comes back (with a transfer to catch up);
//  - a new incarnation of an origin replaces the old one's entries at once.
// Not buffered: a delta that does not continue what is held (a gap, or reordered) is dropped and
// a transfer asked for instead (at most one outstanding per origin, asked again after
// transfer_retry). Messages about this node itself are ignored. An origin dropped after permdown
// that speaks again is taken as new (visible); Membership reports it up in that case anyway.
//
// The template's body is in replicated_set_impl.h, compiled once per entry type by an explicit
// instantiation (presence.cpp, claims.cpp), not in every includer.
// Thread safety: none; one thread owns it.
#pragma once

#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/membership.h"
#include "livepoll/time.h"

namespace livepoll::core {

// An entry: an aggregate whose first member is its `topic`, ordered by topic first (entries are
// counted, listed and reported changed per topic); `Entry{topic}` sorts first among the topic's
// entries (the other members default to their lowest).
template <typename E>
concept ReplicaEntry = std::totally_ordered<E> && std::copyable<E> && requires(const E& e) {
  { e.topic } -> std::convertible_to<const std::string&>;
  E{std::string()};
};

// ---- messages ----
template <ReplicaEntry Entry>
struct ReplicaDelta {  // gossip, at once on every local change
  NodeId origin;
  uint64_t from_version = 0;  // the version the delta applies to
  uint64_t to_version = 0;    // the version after it
  std::vector<Entry> joins;
  std::vector<Entry> leaves;
};
struct ReplicaClock {  // gossip, after a change and every kIdleClockEvery gossip_intervals
  NodeId origin;
  uint64_t version = 0;
};
struct ReplicaTransferRequest {  // rpc to the origin
  NodeId from;
};
template <ReplicaEntry Entry>
struct ReplicaTransfer {  // rpc back: the origin's whole state
  NodeId origin;
  uint64_t version = 0;
  std::vector<Entry> entries;
};
template <ReplicaEntry Entry>
using ReplicaMessage =
    std::variant<ReplicaDelta<Entry>, ReplicaClock, ReplicaTransferRequest, ReplicaTransfer<Entry>>;

// The node a replication message comes from (its origin, or a transfer's requester). A node
// composing Membership and a ReplicatedSet drops a message whose sender is not an up member: what
// a node that has not joined, or is down, says is not counted (the simulator found a restart that
// left before it joined keeping its entries counted).
template <typename Entry>
const NodeId& SenderOf(const ReplicaMessage<Entry>& m) {
  return std::visit(
      [](const auto& msg) -> const NodeId& {
        if constexpr (std::is_same_v<std::decay_t<decltype(msg)>, ReplicaTransferRequest>)
          return msg.from;
        else
          return msg.origin;
      },
      m);
}

struct ReplicaOptions {
  Duration gossip_interval = std::chrono::milliseconds(100);
  Duration permdown = std::chrono::minutes(5);
  Duration transfer_retry = std::chrono::milliseconds(500);  // a transfer asked again if none came
  // false: an origin that comes back (the same incarnation, after it was down) is shown again at
  // once with what was held of it, and a transfer catches up — right for subscribers, whom it is
  // better to count at once. true: it stays hidden until that transfer arrives — right for the
  // registry's claims, where a claim released while the origin was unreachable would otherwise
  // reappear for a moment and make a clash that is not there.
  bool show_comeback_after_transfer = false;
  // true: every entry that becomes visible or stops being visible is reported in
  // ReplicaOutputs::visibility (presence's feed of who watches a topic needs them; the claims
  // do not, and pay nothing).
  bool report_entries = false;
};

// One entry as held, with its origin (for the Registry's claims: who claims it).
template <ReplicaEntry Entry>
struct Held {
  NodeId origin;
  Entry entry;
  bool visible = true;  // false: the origin is down
  bool operator==(const Held&) const = default;
};

template <ReplicaEntry Entry>
struct ReplicaOutputs {
  std::vector<ReplicaMessage<Entry>> broadcasts;
  std::vector<std::pair<NodeId, ReplicaMessage<Entry>>> sends;  // to a node's rpc endpoint
  // Topics whose entries changed, visible or hidden (a join, a leave, a transfer that differs,
  // an origin hidden, shown, replaced or dropped): what the Registry re-examines.
  std::set<std::string> changed;
  // With ReplicaOptions::report_entries, in the order it happened: every entry that became
  // visible (`visible`: joined, or its origin shown again) or stopped being visible (left,
  // replaced by a transfer, its origin hidden or replaced by a new incarnation). An entry of a
  // hidden origin changes nothing visible and is not reported; one dropped at permdown was
  // reported when its origin was hidden.
  std::vector<Held<Entry>> visibility;
};

template <ReplicaEntry Entry>
class ReplicatedSet {
 public:
  using Message = ReplicaMessage<Entry>;
  using Outputs = ReplicaOutputs<Entry>;
  // Clocks after a change, one per gossip_interval; and the idle clock's period, in intervals.
  static constexpr int kClockRepeats = 3;
  static constexpr int kIdleClockEvery = 10;

  ReplicatedSet(NodeId self, ReplicaOptions options);

  // This node's own entries. Joining an entry already present, or leaving one absent, changes
  // nothing.
  void Join(Time now, const Entry& e, Outputs& out);
  void Leave(Time now, const Entry& e, Outputs& out);
  // Several joins and leaves as one delta (joins applied first): a receiver sees them together or
  // not at all (the Registry's re-epoch: a release and a claim at once).
  void Change(Time now, const std::vector<Entry>& joins, const std::vector<Entry>& leaves,
              Outputs& out);

  void OnMessage(Time now, const Message& m, Outputs& out);
  // From Membership's events: a member went down (dead, left or restarted), or came up.
  void OnMemberDown(Time now, const NodeId& node, Outputs& out);
  void OnMemberUp(Time now, const NodeId& node, Outputs& out);
  void Tick(Time now, Outputs& out);
  Time NextDeadline() const;

  // Visible entries of `topic`: this node's and those of origins not down. O(log topics).
  size_t Count(const std::string& topic) const;
  // Per origin node name, the visible entries of `topic` (nodes with none left out).
  std::map<std::string, size_t> CountByOrigin(const std::string& topic) const;
  // Every topic with a visible entry.
  std::set<std::string> Topics() const;
  // What this node holds of `origin` (self included): its version, or nullopt when nothing is
  // held of that incarnation.
  std::optional<uint64_t> VersionOf(const NodeId& origin) const;
  // What is held of `origin` is what it has, as far as this node knows: that incarnation is held,
  // shown (neither down nor back and waiting for its transfer), not waiting for a transfer (as a
  // node newly up is) and at the highest version heard of it. True for self. The Registry's
  // re-epoch waits for a rival's claims to be in step.
  bool InStep(const NodeId& origin) const;
  // The entries held of `origin` (self included), hidden or not, sorted; empty when nothing is
  // held of that incarnation. For tests and the admin view: O(entries).
  std::vector<Entry> EntriesOf(const NodeId& origin) const;
  uint64_t version() const;  // this node's own
  // Every entry of `topic` held, this node's first and then by origin name, hidden ones
  // included: O(origins x log entries).
  std::vector<Held<Entry>> EntriesOfTopic(const std::string& topic) const;
  // Every topic with an entry held, hidden ones included.
  std::set<std::string> HeldTopics() const;

  // Drops one entry of a down origin before permdown (the Registry reaps a dead owner's claim
  // that nobody will take over). False when the origin is not held down or has no such entry.
  // What is held of the origin then stands for no version of it (VersionOf says 0): if the same
  // incarnation comes back, a transfer brings the entry back if it still has it.
  bool DropHidden(const NodeId& origin, const Entry& e, Outputs& out);

 private:
  // What this node holds of one node (self included). Counts: every origin keeps per-topic
  // counts of its entries, and counts_ sums those of the visible origins, so Count is one map
  // lookup and hiding or showing an origin costs O(its topics), not O(its entries).
  struct Origin {
    std::string name;  // the node's
    uint64_t incarnation = 0;
    uint64_t version = 0;
    std::set<Entry> entries;
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
  bool Add(Origin& o, const Entry& e);
  bool Remove(Origin& o, const Entry& e);
  void Replace(Origin& o, const std::vector<Entry>& entries);
  void Hide(const Origin& o);  // takes o's counts out of counts_ (o must be visible)
  void Show(const Origin& o);  // puts them back
  // With report_entries, every entry of `o` as now visible or not (its origin shown or hidden).
  void ReportAll(const Origin& o, bool visible);
  void Report(const Origin& o, const Entry& e, bool visible);
  void AskTransfer(Time now, const std::string& name, Origin& o, Outputs& out);
  void Heard(Time now, const std::string& name, Origin& o, uint64_t version, Outputs& out);
  void OnDelta(Time now, const ReplicaDelta<Entry>& d, Outputs& out);
  void OnClock(Time now, const ReplicaClock& c, Outputs& out);
  void OnTransfer(Time now, const ReplicaTransfer<Entry>& t, Outputs& out);
  const Origin* Find(const NodeId& id) const;
  // Hands the topics changed since the last call to `out` (every public mutator ends with it).
  void Flush(Outputs& out);

  NodeId self_;
  ReplicaOptions options_;
  Origin own_;                             // this node's entries (never down)
  std::map<std::string, Origin> origins_;  // by node name; self not included
  std::map<std::string, size_t> counts_;   // topic -> visible entries (no zeros)
  Time next_clock_{};                      // the first Tick broadcasts a clock
  std::optional<Time> last_clock_;         // when the last clock went out
  uint64_t clocked_version_ = 0;           // own_.version when the repeats were last started
  int clock_repeats_ = 0;                  // clocks still to repeat after a change
  std::set<std::string> changed_;          // topics changed since the last Flush
  std::vector<Held<Entry>> visibility_;    // entries shown or hidden since the last Flush
};

}  // namespace livepoll::core
