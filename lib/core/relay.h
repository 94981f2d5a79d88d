// Relay: follows each topic's stream for this node's local subscribers (DESIGN.md, "Registry":
// fencing tokens; "a gap in seq makes the node fetch a fresh snapshot"). Whether a topic's
// updates come from this node's poller or from another node, its local subscribers get them
// through here. Sans-I/O: used by Subscriptions, which owns the clients and the pollers.
//
// Per topic with local subscribers (a stream) it keeps the last delivered (epoch, seq), a mirror of
// the owner's current result (columns and rows, kept by applying keyed diffs), the owner's current
// error, and updates that arrived ahead of a gap. Per topic at all it keeps the owner SetOwner
// named.
//
// Acceptance of an update u (all others are dropped):
//  - fencing: (u.owner, u.epoch) must equal the owner SetOwner named, u.epoch must not be below
//    the delivered epoch, and at the delivered epoch u.owner must be the one delivered (two owners
//    may hold one epoch after a partition: their seqs count different streams); else it is
//    dropped and counted in Outputs::updates_fenced. A stream so fenced waits for an owner at a
//    higher epoch (the Registry re-epochs the survivor of such a clash), fetching nothing
//    meanwhile;
//  - a snapshot is taken when it starts a new epoch or continues past the delivered seq (or, at the
//    delivered seq itself, re-synchronises a mirror marked invalid);
//  - a diff or an error is taken when it is the next seq of the delivered epoch and the mirror is
//    valid (a diff must also apply to it); an error with seq <= 1 may also start a new epoch (the
//    owner's source failed before any data);
//  - a seq at or below the delivered one is a duplicate: dropped, not counted;
//  - anything else is a gap: counted in Outputs::stream_gaps, kept (up to kMaxBuffered per topic),
//    and a SnapshotFetch goes to the owner (one at a time per topic; asked again on a later gap
//    once the last ask is kFetchRetry old). After the snapshot at seq S, kept updates S+1, S+2, …
//    of its epoch are taken in order. A gap leaves the mirror valid — behind, not wrong — so a
//    late (reordered) predecessor still closes it without waiting for the fetch. A diff that fails
//    to apply makes the mirror invalid and fetches too.
// Relying on the poller's rules (pollers.h): a diff follows the data update before it, and the
// update after an error that carries data is a snapshot.
//
// Delivery:
//  - a new local subscriber gets the mirror's snapshot at once (at the seq of the last data
//    update) and then the current error, if any (at its own, later seq); with no valid mirror it
//    gets the next snapshot taken (and the error meanwhile, if any);
//  - nobody receives a diff of an epoch before a snapshot of that epoch;
//  - what one client receives strictly increases in (epoch, seq), with two exceptions, both this
//    node's own word: a stale notice (MarkStale) repeats the last delivered (epoch, seq), and so
//    may the snapshot that re-synchronises a mirror after it;
//  - when SetOwner names this node, the relay reads its poller's state (OwnState) instead of
//    fetching it from itself.
//
// Resume (PROTOCOL.md, "Sessions and resume"). Each stream keeps its last `history` updates taken
// (a valid stream: each continues the one before it, or is a snapshot), at most
// UpdateHistory::kMaxBytes of them (update_history.h). A client that joins again
// with the position it last applied (a StreamPosition: the daemon restarted, or it moved to this
// node) gets exactly the updates after it when the stream's history holds that position — or,
// for a new stream whose owner is this node, its poller's history (OwnHistory) — and is told the
// stream continued (on a stale stream, the stale notice follows them, as a new subscriber gets
// it); otherwise it gets the current state as any new subscriber, and is told it
// did not.
//
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "livepoll/time.h"
#include "livepoll/value.h"
#include "proto/messages.h"

namespace livepoll::core {

// A client connection of this node (the transport's id for it).
using ClientId = uint64_t;

// Where a client's stream stood: the last update it applied.
struct StreamPosition {
  std::string owner;           // empty: whichever owner held `epoch`
  uint64_t owner_session = 0;  // the owner's process (Update::owner_session); 0: unknown
  uint64_t epoch = 0;
  uint64_t seq = 0;
};

// Whose stream a topic's subscribers follow: the owner of its poller (a node name) and the epoch
// of its registration (the fencing token).
struct StreamOwner {
  std::string node;
  uint64_t epoch = 0;
  bool operator==(const StreamOwner&) const = default;
};

// Ask `owner` (a node name) for `topic`'s current state (a SnapshotRequest); the answer comes
// back as an update.
struct SnapshotFetch {
  std::string topic;
  std::string owner;
};

// Send `message` to each of `clients`.
struct Delivery {
  std::vector<ClientId> clients;
  proto::Message message;
};

// What the relay decided.
struct RelayOutputs {
  std::vector<Delivery> deliveries;
  std::vector<SnapshotFetch> fetches;  // at most one outstanding per topic
  uint64_t updates_fenced = 0;  // updates dropped: not the current owner's, or an older epoch
  uint64_t stream_gaps = 0;     // updates that could not continue the stream (a fetch follows)
};

// A stream's figures, for `livepoll subs`.
struct StreamInfo {
  std::optional<StreamOwner> owner;  // as SetOwner named it
  bool delivered = false;            // something was taken: epoch, seq and delivered_by are set
  std::string delivered_by;          // the owner of the last update taken
  uint64_t epoch = 0;
  uint64_t seq = 0;
  size_t subscribers = 0;
  bool synced = false;  // the mirror is the owner's state at (epoch, seq)
  bool stale = false;   // MarkStale, until the next snapshot
  std::string error;    // the owner's source fails (or the stale notice)
};

class Relay {
 public:
  static constexpr size_t kMaxBuffered = 256;
  static constexpr Duration kFetchRetry = std::chrono::seconds(1);

  // This node's poller of a topic, as updates to take in order (pollers.h, Pollers::State), and
  // its last published updates, oldest first (Pollers::History).
  using OwnState = std::function<std::vector<proto::Update>(const std::string& topic)>;
  using OwnHistory = OwnState;

  // `self`: this node's name, to recognise SetOwner naming it. `history`: the updates each
  // stream keeps for clients that resume (0: none).
  Relay(std::string self, OwnState own_state, OwnHistory own_history = nullptr, size_t history = 0);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  struct Added {
    bool first = false;    // a new stream, which fetches the owner's state if an owner is known
    bool resumed = false;  // the client's stream continues from `resume` (see Resume above)
  };
  // Adds `client` to `topic`'s local subscribers (`key_columns` from the catalog's query, for
  // diffs). The client gets the current state as described above (again if it was already
  // subscribed), or, resuming, what it missed since `resume`.
  Added AddSubscriber(Time now, const std::string& topic,
                      const std::vector<std::string>& key_columns, ClientId client,
                      RelayOutputs& out,
                      const std::optional<StreamPosition>& resume = std::nullopt);
  // `client`, a subscriber of `topic` that lost updates on the way (a slow consumer), gets the
  // current state again as a new subscriber would; with no valid mirror it gets the next
  // snapshot taken, like every subscriber. False when it is not a subscriber of `topic`.
  bool Resend(const std::string& topic, ClientId client, RelayOutputs& out) const;
  // Returns true when `client` was the last: the stream is dropped (owner kept).
  bool RemoveSubscriber(const std::string& topic, ClientId client);

  // The Registry's owner of `topic`, or none (then every update is fenced). A new owner without a
  // valid mirror at its epoch is fetched from (it may have published its first snapshot before
  // this node listened).
  void SetOwner(Time now, const std::string& topic, std::optional<StreamOwner> owner,
                RelayOutputs& out);
  // An update of `topic` from its owner, this node or another. `result`, if given, is the result
  // the update leads to (this node's poller shares it: no copy, no diff to apply). Ignored when
  // the topic has no local subscribers.
  void OnUpdate(Time now, proto::Update u, RelayOutputs& out,
                std::shared_ptr<const ResultSet> result = nullptr);
  // The link from `owner` (a node name) dropped and is back: what it published meanwhile may be
  // lost, unseen when it was a stream's last update. Each stream whose owner is `owner` (not this
  // node, and not fenced) asks for its state again, even with a fetch outstanding (it may have
  // been lost with the link). A snapshot at the delivered seq is then a duplicate, dropped.
  void Refetch(Time now, const std::string& owner, RelayOutputs& out);
  // Local subscribers get one error update "stale: <why>"; the mirror stays invalid until a
  // snapshot is taken.
  void MarkStale(const std::string& topic, const std::string& why, RelayOutputs& out);
  // The stream ends (its query left the catalog): its subscribers get one error update `why` at
  // the last delivered (epoch, seq), this node's word like a stale notice. Returns them; the
  // caller removes each (RemoveSubscriber). Empty when `topic` has no local subscriber.
  std::vector<ClientId> EndStream(const std::string& topic, const std::string& why,
                                  RelayOutputs& out);
  // The query's key columns changed (a catalog reload): the next snapshot is mirrored by them.
  void SetKeyColumns(const std::string& topic, const std::vector<std::string>& key_columns);
  // This node's poller still fails but says `text` now: late subscribers read it. Only when the
  // stream follows this node and holds an error.
  void RefreshError(const std::string& topic, const std::string& text);

  std::optional<StreamInfo> Info(const std::string& topic) const;
  std::optional<StreamOwner> Owner(const std::string& topic) const;
  std::vector<std::string> Topics() const;  // those with local subscribers
  size_t subscription_count() const;

 private:
  struct Stream;
  Stream* Find(const std::string& topic);
  // An update of (owner, epoch) may not follow what `s` delivered: an older epoch, or the delivered
  // epoch from another owner.
  static bool Fenced(const Stream& s, const std::string& owner, uint64_t epoch);
  // Fencing, then Take; the update may come from OwnState.
  void Consider(Time now, Stream& s, proto::Update u, std::shared_ptr<const ResultSet> result,
                RelayOutputs& out);
  // Takes u if the stream accepts it (the acceptance rules above), keeps it on a gap.
  void Take(Time now, Stream& s, proto::Update u, std::shared_ptr<const ResultSet> result,
            RelayOutputs& out);
  // Takes the kept updates that now continue the stream.
  void Drain(Time now, Stream& s, RelayOutputs& out);
  void Install(Stream& s, proto::Update& u, std::shared_ptr<const ResultSet> result);
  void Gap(Time now, Stream& s, proto::Update u, RelayOutputs& out);
  void RequestState(Time now, Stream& s, RelayOutputs& out);
  void Deliver(const Stream& s, proto::Update u, RelayOutputs& out) const;
  void SendCurrent(const Stream& s, ClientId client, RelayOutputs& out) const;
  // The error update MarkStale delivered: at the last (epoch, seq) delivered, text s.error.
  static proto::Update StaleNotice(const Stream& s);
  // The updates after `from` in `history` (a stream, oldest first), when it holds `from` itself.
  static std::optional<std::vector<proto::Update>> After(const std::vector<proto::Update>& history,
                                                         const StreamPosition& from);
  // Keeps `u` (taken) in the stream's history.
  void Record(Stream& s, const proto::Update& u) const;

  std::string self_;
  OwnState own_state_;
  OwnHistory own_history_;
  size_t history_;
  std::map<std::string, StreamOwner> owners_;
  std::map<std::string, std::unique_ptr<Stream>> streams_;
  bool pulling_ = false;  // inside OwnState's replay: a gap there must not pull again
};

}  // namespace livepoll::core
