// Registry: the replicated map topic -> owner of its poller, with registration, placement,
// failover, teardown, clash resolution and self-reaping (DESIGN.md, "Registry", "Placement and
// failover", "Lifecycle and zombies"). Sans-I/O like Membership and Presence;
// core::ClusterState composes the three.
//
// Claims. A claim says "node N (this incarnation) owns topic T at epoch E". Every node is the
// single writer of its own claims, so the replica is the union of every node's own claims and is
// replicated exactly like presence: a ReplicatedSet (replicated_set.h) whose entries are
// ClaimEntry {topic, epoch}, its messages wrapped in ClaimsMessage on the wire. It has the
// replication's guarantees: deltas at once, transfers on a gap, a down owner's claims hidden at
// once (and dropped after permdown, or reaped earlier as `dead-owner`), shown again when that
// incarnation comes back and its transfer says what it still claims, replaced at once by a
// restart.
//
// Registration (propose/commit). To register T, node X takes epoch = (highest epoch seen for T,
// see Clashes) + 1 and proposes {T, epoch} over rpc to every other member it believes alive.
// Proposals' epochs are not "seen": rivals then propose the same epoch and the name decides. A
// voter
//  - denies, naming the owner, when it knows a visible claim for T by another node;
//  - denies, with the epoch it saw (owner_epoch, no owner), when X's epoch is not above every
//    claim's epoch it has seen for T: an owner's successor must have a higher epoch;
//  - denies when its own pending proposal for T, or one it granted within `propose_timeout`, wins
//    against X's: the lower (epoch, node name) wins;
//  - grants otherwise (and abandons its own pending proposal for T if X's wins against it).
// With every grant X commits (unless T got an owner or lost its subscribers meanwhile): adds the
// claim to its own set (a gossiped delta) and starts the poller. A node that granted T to another
// proposer within `propose_timeout` does not propose T itself meanwhile: someone is on it. A
// member that does not answer is asked again every `propose_retry` until it answers or
// Membership declares it down; a member up meanwhile is asked too. A denial naming an owner the
// proposer knows is down is not final: that voter is asked again after propose_retry / 10 (it is
// about to see the death too). Never wall-clock time: epochs are per-topic counters, ties broken
// by node name. A denied or abandoned proposal is retried after `propose_retry` (jittered) if the
// topic is still ownerless and this node still responsible.
//
// Placement and failover. A topic is ownerless when presence shows a subscriber anywhere and no
// visible claim exists. Candidates are the up members (`placement = hashed`) or the up members
// with a subscriber of T (`placement = local`), in RendezvousOrder; the candidate at rank k
// proposes once T has been ownerless for k * takeover_timeout (rank 0 at once), so the successor
// registers and, if it fails to, the next one does. A leaving node (SIGTERM) is down for the
// others as soon as they hear its leave, so its topics move at once: that is the handover.
//
// Teardown. An owner releases its claim (a delta) and stops the poller once presence has shown no
// subscriber of T anywhere for `linger`.
//
// Clashes. Two or more visible claims for one topic (after a partition heals, or a race). By
// `clash_policy`: `oldest` keeps the lowest (epoch, name), `hashed` the owner RendezvousOrder puts
// first among the claimants, `manual` keeps all until Resolve(). Each loser releases its own claim
// and stops its poller. An owner that is the only visible claimant of T but whose epoch is below
// the highest epoch seen for T takes a new epoch above it (a release and a claim in one delta, and
// a PollerStart with the new epoch): epochs only grow, and subscribers that switch streams start
// from a fresh snapshot. "Seen" counts every claim's epoch this node heard of, applied or not
// (a delta's leaves, a transfer, a vote's owner_epoch), and epoch notices (RegistryVote), for the
// process's life (so also across a teardown and a later registration). The sole visible claimant
// re-epochs too when its epoch equals the highest seen and another node (or another incarnation)
// claimed that epoch as well — both sides of a partition may register the same epoch — so that
// after a clash one epoch names one owner's stream: the relay (relay.h) fences another owner at
// the epoch it delivered, and would otherwise wait for nothing.
// A re-epoch is for history only: it waits while a rival claimant may still hold the topic, i.e.
// while an up node that claimed it (a hidden claim here, or the claimant noted at the highest
// epoch) is not held in step (ReplicatedSet::InStep: shown, not waiting for a transfer, not
// behind); epoch notices wait the same way. A rival in step shows what it claims: a visible claim
// (a clash: the policy decides, the loser releases, then the winner re-epochs once) or none
// (history). Without the wait both owners of a healed partition, each still the sole visible
// claimant while the other's claims awaited their transfer, re-epoched above each other's
// epoch, heard of the other's new one, and again: hundreds of epochs in a second (issue 13).
//
// Partition mode. `available`: every side keeps owning and registering. `majority`: a node
// registers only while it sees a strict majority of the members it knows (up, suspect and dead;
// left ones excluded, self included) plus the seeds it has not met (so a node alone at a cold
// start is no majority); on losing it, it releases every claim and stops every poller, and
// reports the topics as stale (PollerStop::stale) until a majority is back. WhyNotOwning says why
// in words, for the node's subscribers and `livepoll status`.
//
// Self-reaping (Sweep, every `sweep_interval`):
//  - idle: an own claim whose topic has had no subscriber anywhere for linger + reap_margin;
//  - orphan: a running poller that no own visible claim names at the same epoch;
//  - dead-owner: a hidden claim (owner down) of a topic with no subscriber anywhere for
//    linger + reap_margin (nobody will take it over).
// Each is removed and counted in a RegistryEvent (kReapedIdle, kReapedOrphan, kReapedDeadOwner).
//
// Zombies and Reap (the operator's view, `livepoll zombies` / `livepoll reap`). Zombies() lists
// what this node's replica shows that should not exist, by DESIGN.md's reasons, before the sweep
// gets to it (or when the sweep never will: a clash under `manual`, a dead owner whose topic still
// has subscribers nobody serves). Reap(topic) removes this node's part of a topic's zombies now.
// Each zombie rule is written once (zombies.h says where) for the sweep and this view alike.
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
#include <variant>
#include <vector>

#include "core/membership.h"
#include "core/policy.h"
#include "core/presence.h"
#include "core/replicated_set.h"
#include "livepoll/status.h"

namespace livepoll::core {

struct RegistryOptions {
  Placement placement = Placement::kHashed;
  ClashPolicy clash_policy = ClashPolicy::kOldest;
  PartitionMode partition = PartitionMode::kAvailable;
  Duration linger = std::chrono::seconds(5);
  Duration takeover_timeout = std::chrono::seconds(1);
  Duration propose_timeout = std::chrono::seconds(2);  // a grant holds this long
  Duration propose_retry = std::chrono::milliseconds(200);
  Duration sweep_interval = std::chrono::seconds(1);
  Duration reap_margin = std::chrono::seconds(5);
  ReplicaOptions claims;  // the replication of claims (gossip_interval, permdown, transfer_retry)
  uint64_t seed = 1;      // jitter of retries
  // Whether this node can poll `topic` (its catalog holds the topic's query); null: every topic.
  // A node that cannot never proposes itself as the topic's owner: the next candidate in
  // placement order registers it, one takeover_timeout later (Lifecycle::Rank).
  std::function<bool(const std::string& topic)> can_poll;
};

// ---- messages ----
struct RegistryPropose {  // rpc to every other up member
  NodeId from;
  uint64_t proposal_id = 0;
  std::string topic;
  uint64_t epoch = 0;
};
// Also, with proposal_id 0, an epoch notice: "a claim of `topic` had epoch `owner_epoch`", sent to
// an owner whose epoch is below one the sender has seen, or equal to one another node claimed
// (then `owner` names that node; every propose_retry while that lasts), so that it re-epochs
// above it. Needed after a clash whose winner never saw the loser's claim
// (the loser saw the winner's first and released): without it, the nodes that saw the loser's
// epoch would see the topic's epoch go back.
struct RegistryVote {  // rpc back to the proposer
  NodeId from;
  uint64_t proposal_id = 0;  // never 0 for an answer
  std::string topic;
  bool granted = false;
  NodeId owner;  // denied for a known owner: who (name empty otherwise)
  uint64_t owner_epoch = 0;
};
// A claim as replicated: this node (the entry's origin) owns `topic` at `epoch`.
struct ClaimEntry {
  std::string topic;
  uint64_t epoch = 0;
  auto operator<=>(const ClaimEntry&) const = default;
};
using ClaimDelta = ReplicaDelta<ClaimEntry>;
using ClaimTransfer = ReplicaTransfer<ClaimEntry>;
using ClaimMessage = ReplicaMessage<ClaimEntry>;
struct ClaimsMessage {  // the replication of one node's own claims
  ClaimMessage m;
};
using RegistryMessage = std::variant<RegistryPropose, RegistryVote, ClaimsMessage>;

// The node a registry message comes from; as with presence, messages from a node that is not an
// up member are dropped by the composition.
const NodeId& SenderOf(const RegistryMessage& m);

// One claim as this node's replica holds it.
struct Claim {
  std::string topic;
  NodeId owner;
  uint64_t epoch = 0;
  bool visible = true;  // false: the owner is down (hidden until it comes back or is dropped)
  bool operator==(const Claim&) const = default;
};

// Start (or re-epoch, when already running) this node's poller for `topic`.
struct PollerStart {
  std::string topic;
  uint64_t epoch = 0;
};
// Stop this node's poller for `topic`.
struct PollerStop {
  std::string topic;
  std::string reason;  // "teardown", "clash", "orphan", "idle", "majority-lost", "resolve"
  bool stale = false;  // majority lost: local subscribers should be told the data is stale
};

struct RegistryEvent {
  enum class Kind {
    kRegistered,  // this node committed a claim (detail: "epoch N")
    kReleased,    // this node released a claim (detail: why)
    kTakeover,    // the registration replaced a down owner (detail: the old owner)
    kClash,       // a clash was detected (detail: the claimants)
    kClashResolved,
    // A zombie removed by the sweep or Reap (detail: "idle", "orphan" or "dead-owner").
    kReapedIdle,
    kReapedOrphan,
    kReapedDeadOwner,
    kDenied,  // a proposal of this node was denied (detail: by whom, why)
  };
  Kind kind;
  std::string topic;
  std::string detail;
};
// "registered", "released", "takeover", "clash", "clash-resolved", "reaped", "denied".
const char* RegistryEventName(RegistryEvent::Kind kind);

// One zombie as this node sees it (Registry::Zombies).
struct RegistryZombie {
  std::string topic;
  std::string reason;  // "idle", "orphan", "dead-owner" or "clash"
  // Whose: this node for its own idle claim or orphan poller; the down owner of a dead-owner
  // claim; the claimant of a clash (one zombie per claimant the policy would not keep).
  std::string node;
  std::optional<Duration> age;  // how long it has been so, when known
  std::string detail;           // one line for people
};

struct RegistryOutputs {
  std::vector<RegistryMessage> broadcasts;                // gossip
  std::vector<std::pair<NodeId, RegistryMessage>> sends;  // rpc to a member
  // Apply `stop` before `start`: a topic in both was stopped, then started again (an orphan
  // restarted at its claim's epoch). A start for a running topic re-epochs it.
  std::vector<PollerStart> start;
  std::vector<PollerStop> stop;
  // Topics whose Owner() may have changed: the data plane must re-read it (fencing).
  std::set<std::string> owners_changed;
  std::vector<RegistryEvent> events;
};

class ClaimsReplica;
class Ownership;
class Registration;
class Lifecycle;
class OperatorView;

class Registry {
 public:
  // `membership` and `presence` are this node's (owned by the same core::ClusterState) and outlive
  // it.
  Registry(const Membership& membership, const Presence& presence, RegistryOptions options);
  ~Registry();
  // It holds references to its node's Membership and Presence: neither copied nor moved.
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void OnMessage(Time now, const RegistryMessage& m, RegistryOutputs& out);
  void OnMemberDown(Time now, const NodeId& node, RegistryOutputs& out);
  void OnMemberUp(Time now, const NodeId& node, RegistryOutputs& out);
  // Presence changed for `topic` (a local or remote join/leave, or an origin hidden/shown).
  // Cheap to call often; Tick re-examines everything anyway.
  void OnPresenceChanged(Time now, const std::string& topic, RegistryOutputs& out);
  // Placement, takeovers, retries, teardown, clash resolution, sweeps.
  void Tick(Time now, RegistryOutputs& out);
  Time NextDeadline() const;
  // The pollers this node actually runs (topic -> epoch), for the orphan sweep.
  void SetRunning(std::map<std::string, uint64_t> running);

  // Forces the resolution of the clash on `topic` now: `keep` names the winner, else `policy`.
  // NotFound when there is no clash on `topic`.
  Status Resolve(Time now, const std::string& topic, const std::optional<std::string>& keep,
                 ClashPolicy policy, RegistryOutputs& out);

  // What this node's replica shows of zombies now (see the header comment), by topic:
  //  - idle: an own claim whose topic has had no subscriber anywhere for longer than linger plus
  //    one sweep_interval (its teardown is overdue); age since the last subscriber left;
  //  - orphan: a poller this node runs (SetRunning) that no own claim names at its epoch;
  //  - dead-owner: a hidden claim (its owner down) of a topic nobody took over: no visible claim,
  //    and either no subscriber anywhere or the owner down for longer than 2 * takeover_timeout;
  //    age since this node saw the owner go down;
  //  - clash: two or more visible claims; one zombie per claimant Owner() does not name; age
  //    since this node saw the clash.
  std::vector<RegistryZombie> Zombies(Time now) const;
  // Removes this node's part of `topic`'s zombies now: stops an orphan poller, drops the hidden
  // claims of a down owner when no visible claim exists (dead-owner), and, when `release_own`,
  // releases this node's own claim and stops its poller (an idle or stalled one, or forced). A
  // clash is Resolve's. Returns one line per thing done (empty: nothing to do). Idempotent.
  std::vector<std::string> Reap(Time now, const std::string& topic, bool release_own,
                                RegistryOutputs& out);

  // ---- views ----
  // The owner whose updates subscribers get: the clash policy's winner among the visible claims
  // (`manual`: the `oldest` choice); nullopt when there is no visible claim.
  std::optional<Claim> Owner(const std::string& topic) const;
  // The owner this node's data plane is to follow when it follows the node named `following`
  // now (empty: none): Owner(), except during a clash, when `following` is one of the claimants:
  // then its claim, whatever the policy says. A clash's winner re-epochs above the loser once the
  // loser has released (registry.h, "Clashes"), and a node that has not seen that release yet
  // holds both claims with the winner's above: `oldest` names the loser for that moment, and
  // following it would cost its subscribers a second new epoch in one heal.
  std::optional<Claim> FollowedOwner(const std::string& topic, const std::string& following) const;
  // Every claim of `topic`, visible and hidden.
  std::vector<Claim> Claims(const std::string& topic) const;
  // Every topic with a claim (visible or hidden).
  std::set<std::string> Topics() const;
  // Topics with two or more visible claims.
  std::vector<std::string> Clashes() const;
  // This node's own claims: topic -> epoch.
  std::map<std::string, uint64_t> OwnClaims() const;
  bool has_majority() const;
  // Why this node may not own topics now (`partition = majority` without a majority, counted as
  // ownership.h says); empty when it may.
  std::string WhyNotOwning() const;
  const RegistryOptions& options() const;

 private:
  // The parts, each with its contract in its own header; each refers to those above it.
  RegistryOptions options_;
  std::unique_ptr<ClaimsReplica> claims_;       // claims.h: every node's claims, epochs seen
  std::unique_ptr<Ownership> ownership_;        // ownership.h: own claims, pollers, majority
  std::unique_ptr<Registration> registration_;  // registration.h: proposals, votes, grants
  std::unique_ptr<Lifecycle> lifecycle_;        // lifecycle.h: each topic over time, sweeps
  std::unique_ptr<OperatorView> operator_;      // zombies.h: Zombies and Reap
};

}  // namespace livepoll::core
