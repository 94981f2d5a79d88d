// Membership: the sans-I/O state machine that tells one node who is in the cluster and who is
// alive (DESIGN.md, "Membership and failure detection"). SWIM-flavoured: silence or a transport
// disconnect makes a peer suspect, indirect probes through other members confirm before it is
// declared dead, and a suspected node refutes by bumping its own version.
//
// Gossip that does not grow with the cluster (issue 15): a heartbeat carries the sender's own claim
// and a digest of its member table (MemberDigest), not the table. The table itself travels
//  - pushed: in the next kPushHeartbeats heartbeats after the sender's digest changed, so a death,
//    a join or a refutation still spreads at gossip speed (each node that adopts it changes its
//    own digest and pushes in turn);
//  - pulled: a node whose digest differs from a peer's in kMismatchesBeforeSync heartbeats in a row
//    asks that peer for its table over rpc (SyncRequest/SyncReply), so a node that missed the
//    pushes (a lost frame, a SUB that connected late, a heal) converges all the same. Asks are
//    spaced (sync_interval per peer, 2 gossip_interval overall) and answers bounded (one per
//    asker per sync_interval / 2, kMaxSyncAnswersPerInterval per gossip_interval in all): a
//    digest that never matches (a bug, a hostile peer, a lasting partial partition) costs a
//    bounded trickle, counted in MembershipTally.
// Why a digest rather than SWIM's rumour piggybacking: the table here holds tombstones and
// severity-ordered claims whose merge is idempotent, so "is your table mine?" is one hash, and a
// full pull repairs whatever was lost without per-rumour retransmission bookkeeping. An idle node
// then sends one claim and 8 digest bytes per heartbeat whatever the cluster's size.
// Failure detection is unchanged: heartbeats are still every gossip_interval, and each node hears
// every peer's own claim directly.
//
// Like Subscriptions it does no I/O and reads no clock: inputs are calls carrying the time, and
// messages to send and events come back in MembershipOutputs. Messages are plain structs here;
// the transport adapter encodes them. Thread safety: none; one thread owns it.
//
// Guarantees (tests/unit/membership_test.cpp; and under faults, the simulator's properties in
// tests/sim/membership_sim_test.cpp):
//  - a node heard from (directly, within `suspect_after`) is never declared dead by this node,
//    nor is a node learned of or revived within `suspect_after`, nor any node within
//    `suspect_after` of this node's own pause;
//  - a peer silent for `dead_after` is dead, whatever the probes say (a hung process is caught);
//  - a peer whose transport disconnected and whom no probed member hears is dead at once (after
//    `probe_timeout` when there is no member to probe: no evidence is not evidence);
//  - a node that learns it is suspected or dead refutes, and the refutation wins everywhere;
//  - a leave is acted on at once; a restarted node (same name, new incarnation) supersedes the
//    old incarnation at once; a second live node with a name in use (at other endpoints) is
//    refused at join, while a new incarnation at the same endpoints is a restart and accepted at
//    once, even before the old one's death is detected (two processes cannot bind one endpoint);
//  - dead and left members are forgotten after `permdown`;
//  - a node whose own inputs stopped for longer than min(2 gossip_interval, suspect_after / 2)
//    (SIGSTOP, a starved machine) gives every peer a fresh silence clock and every pending probe
//    a fresh `probe_timeout`: its own deafness is not their silence.
// Cold start (nodes that name each other as seeds, started in any order, all at once included):
//  - every node is a cluster of one from Start: it serves its own clients (Alive() holds it) while
//    it keeps asking its seeds, and it answers every JoinRequest, so two nodes that each wait for
//    the other cannot both wait. Merging is symmetric and idempotent: a JoinRequest makes the
//    asker a member of the seed's view, the JoinReply makes the seed's members members of the
//    asker's, and heartbeats carry both halves' digests to everyone else; the registry resolves
//    whatever both halves registered meanwhile as clashes (registry.h);
//  - a refusal (a live node holds this node's name) stops the node only while no peer is up: a
//    node that is already part of a cluster records it on the seed (Seeds()) and carries on;
//  - Seeds() says what each seed answered: nothing yet, joined (and which node it is), refused
//    (why), or "this node" (our own request came back: the seed list names this node);
//    UnansweredSeeds() counts the seeds not known to be a member, which `partition = majority`
//    counts toward the cluster's size (ownership.h).
// Left is final for an incarnation: no later claim, whatever its version, brings it back (the
// node's next start has a new incarnation).
// A forgotten member is remembered as a tombstone, so stale gossip does not bring it back: only
// its refutation (a higher version), a new incarnation, or the member itself talking to this
// node does. At most kMaxTombstones are kept (the oldest go first): their names come from peers'
// claims. Dropping them by age (permdown after the member was forgotten) was tried and let stale
// gossip bring dead members back in the simulator (membership_sim_test, seeds 1, 4, 5): a node
// that forgot later still gossiped the member; see issue 12's note. Healing a partition that
// outlasted permdown (both sides forgot each other):
//  - tombstones are gossiped with their verdict, so a forgotten member that still hears us learns
//    it and refutes; and any accusation of this node in a heartbeat (even one older than our
//    version) is answered with a JoinRequest to its sender over rpc, since the sender may no
//    longer listen to our gossip;
//  - a node keeps asking (every join_retry) the seeds that are not up members;
//  - a node that brings back a forgotten member bumps its own version, so its own claim passes
//    the other side's tombstone of it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "livepoll/time.h"

namespace livepoll::core {

// A node: its name, unique in the cluster, and its incarnation, new at every start. A higher
// incarnation of the same name is a restart and supersedes a lower one.
struct NodeId {
  std::string name;
  uint64_t incarnation = 0;
  auto operator<=>(const NodeId&) const = default;
  std::string ToString() const;  // "name#incarnation"
};

enum class MemberState : uint8_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };
const char* MemberStateName(MemberState s);  // "alive", "suspect", "dead", "left"

// What a node says about a member. For one NodeId, the claim with the higher version wins; at an
// equal version the more severe state wins (left > dead > suspect > alive), so only the member
// itself, by bumping its version, can lift a suspicion.
struct MemberClaim {
  NodeId id;
  std::string gossip_endpoint;
  std::string rpc_endpoint;
  MemberState state = MemberState::kAlive;
  uint64_t version = 0;
  bool operator==(const MemberClaim&) const = default;
};

// ---- messages (gossip: broadcast on the node's PUB; rpc: one-way to a member's rpc endpoint) ----
struct Heartbeat {  // gossip, every gossip_interval, and at once after a refutation
  MemberClaim self;
  // Everything the sender knows, itself included, in the kPushHeartbeats heartbeats after its
  // digest changed (a push); empty otherwise.
  std::vector<MemberClaim> members;
  // MemberDigest of the sender's table; 0 from a node that predates digests (its `members` is
  // then always everything it knows).
  uint64_t digest = 0;
};
struct JoinRequest {  // rpc to a seed (by endpoint: its name is not known yet); every started
                      // node answers, also one that no seed has answered yet
  MemberClaim self;
  std::string seed;  // the endpoint it was sent to, as the joiner's seed list spells it
};
struct JoinReply {  // rpc back to the joiner's rpc endpoint
  NodeId from;
  bool accepted = false;
  std::string reason;  // why not, e.g. "name 'n2' is in use by a live node"
  std::vector<MemberClaim> members;
  std::string seed;  // the request's `seed`, echoed: which of the joiner's seeds answered
};
struct ProbeRequest {  // rpc: "do you hear `target`?"
  NodeId from;
  NodeId target;
  uint64_t probe_id = 0;
};
struct ProbeReply {
  NodeId from;
  NodeId target;
  uint64_t probe_id = 0;
  bool heard = false;  // connected and heard from within suspect_after
};
struct LeaveNotice {  // gossip, on a graceful stop
  NodeId from;
};
struct SyncRequest {    // rpc to a peer whose digest has differed from ours: "send me your table"
  MemberClaim self;     // the asker (its rpc endpoint is where the answer goes)
  uint64_t digest = 0;  // the asker's
};
struct SyncReply {  // rpc back to the asker
  NodeId from;
  std::vector<MemberClaim> members;  // everything the sender knows, itself included
};
using MembershipMessage = std::variant<Heartbeat, JoinRequest, JoinReply, ProbeRequest, ProbeReply,
                                       LeaveNotice, SyncRequest, SyncReply>;

// The digest of a member table: FNV-1a (64 bits) over the claims sorted by (name, incarnation),
// each as its name, incarnation, version and state. Endpoints are left out: they change only with
// a version. Never 0 (0 on the wire means "no digest"). Not a security measure: a forged digest
// only costs a bounded pull.
uint64_t MemberDigest(std::vector<MemberClaim> claims);

struct MembershipOptions {
  Duration gossip_interval = std::chrono::milliseconds(100);
  Duration suspect_after = std::chrono::milliseconds(500);
  Duration dead_after = std::chrono::seconds(1);
  // A probe unanswered by then: "not heard".
  Duration probe_timeout = std::chrono::milliseconds(200);
  int indirect_probes = 3;
  Duration permdown = std::chrono::minutes(5);
  Duration join_retry = std::chrono::seconds(1);  // seeds asked again until one answers
  // One peer is asked for its table at most this often (and answered at most twice as often).
  Duration sync_interval = std::chrono::seconds(1);
  // Chooses the probed members.
  uint64_t seed = 1;
};

// What one seed answered, as the node's `livepoll members` shows it.
struct SeedStatus {
  enum class Answer : uint8_t { kNone, kJoined, kRefused, kSelf };
  std::string endpoint;  // as configured
  Answer answer = Answer::kNone;
  std::string node;    // kJoined: the name of the node that answered (or was met at the endpoint)
  std::string reason;  // kRefused: why
  uint64_t asked = 0;  // JoinRequests sent to it
};
// "no answer", "joined", "refused: <reason>", "this node".
std::string SeedAnswerText(const SeedStatus& s);

struct MembershipEvent {
  enum class Kind { kUp, kSuspect, kAlive, kDown, kForgotten, kJoined, kJoinRefused };
  Kind kind;
  NodeId node;
  std::string detail;  // kDown: "dead", "left" or "restarted"; kJoinRefused: the reason
};

// What the digest exchange did, for the node's counters (member_syncs_*).
struct MembershipTally {
  uint64_t syncs_asked = 0;     // SyncRequests sent (a digest differed)
  uint64_t syncs_answered = 0;  // SyncReplies sent
  // SyncRequests over the answer limits, and SyncReplies nobody asked for: dropped.
  uint64_t syncs_refused = 0;
};

struct MembershipOutputs {
  std::vector<MembershipMessage> broadcasts;                     // on the gossip PUB
  std::vector<std::pair<std::string, MembershipMessage>> sends;  // (rpc endpoint, message)
  std::vector<MembershipEvent> events;
  // Gossip endpoints to SUBscribe to (new members) and to drop (forgotten ones).
  std::vector<std::string> connect;
  std::vector<std::string> disconnect;
  // rpc endpoints no member uses any more (forgotten, or restarted elsewhere): the transport may
  // close what it holds open to them.
  std::vector<std::string> forget;
  MembershipTally tally;
};

class Membership {
 public:
  struct Member {
    MemberClaim claim;
    std::optional<Time> last_heard;  // directly, by this node
    bool disconnected = false;       // the transport said so, and nothing was heard since
    Time state_since{};
  };

  Membership(MemberClaim self, MembershipOptions options);

  // Starts as a cluster of one (kJoined at once) and asks each seed (rpc endpoints) to merge.
  void Start(Time now, const std::vector<std::string>& seed_rpc_endpoints, MembershipOutputs& out);
  void OnMessage(Time now, const MembershipMessage& m, MembershipOutputs& out);
  // The transport lost its connection to `node`'s gossip socket (ZeroMQ socket monitor).
  void OnDisconnect(Time now, const NodeId& node, MembershipOutputs& out);
  // Heartbeats, suspicion, probe timeouts, deaths, permdown.
  void Tick(Time now, MembershipOutputs& out);
  // When Tick next has something to do; Time::max() if nothing is scheduled.
  Time NextDeadline() const;
  // A graceful stop: broadcasts a LeaveNotice (and a last heartbeat saying "left", so a peer that
  // missed the notice learns it from gossip). Nothing is sent after it.
  void Leave(Time now, MembershipOutputs& out);

  const NodeId& self() const { return self_.id; }
  // Every known member, self included, by name.
  std::vector<Member> Members() const;
  // Members not known to be down, i.e. alive or suspect (a suspicion is not a verdict), self
  // included once joined, sorted by name: what placement hashes over.
  std::vector<NodeId> Alive() const;
  bool IsAlive(const NodeId& node) const;
  // The member called `name` (self included), if known.
  std::optional<Member> Find(const std::string& name) const;
  // A member of a cluster, of one at least: from Start until a refusal or Leave.
  bool joined() const { return joined_; }
  // A seed refused the join while no peer was up (kJoinRefused was emitted): the node does
  // nothing more.
  bool refused() const { return refused_; }
  // No other member is up: the node serves as a cluster of one.
  bool alone() const;
  // Every seed, in the order given, with what it answered.
  const std::vector<SeedStatus>& Seeds() const { return seeds_; }
  // Seeds not known to be this node or a member (no answer, or refused): nodes this one was told
  // of but has not met.
  size_t UnansweredSeeds() const;
  // MemberDigest of what this node's heartbeats carry (its claims, tombstones included).
  uint64_t Digest() const { return MemberDigest(Claims()); }

  // Heartbeats that carry the whole table after the digest changed.
  static constexpr int kPushHeartbeats = 3;
  // A peer's digest differs from ours in this many of its heartbeats in a row: ask it. One
  // mismatch is usually news still spreading (both sides converge within a heartbeat).
  static constexpr int kMismatchesBeforeSync = 2;
  static constexpr int kMaxSyncAnswersPerInterval = 8;

 private:
  struct Peer {
    Member m;
    // The silence clock starts here: heard directly, learned, revived, or the end of a pause.
    // Within suspect_after of it, gossiped suspicions and deaths are not adopted.
    Time heard_from{};
    // Set when a probe came back "heard" for a suspect whose transport disconnected: the helper
    // may have heard it just before it crashed, so ask again then rather than lift the suspicion.
    std::optional<Time> reprobe_at;
    int mismatches = 0;  // its heartbeats in a row whose digest differed from ours
  };
  struct Probe {
    NodeId target;
    Time deadline{};
    std::set<std::string> waiting;  // names of the members asked that have not answered
  };
  struct Tombstone {
    uint64_t incarnation = 0;
    uint64_t version = 0;  // claims about this incarnation at or below it are stale
    bool final = false;    // left: no claim about this incarnation counts
    MemberClaim gossip;    // the last claim, still gossiped (see Claims())
    Time since{};          // when it was forgotten
  };
  // Beyond this many tombstones the oldest go first (see the header comment).
  static constexpr size_t kMaxTombstones = 1024;

  void NoteActivity(Time now);
  void PruneTombstones(Time now);
  // `direct`: the claim is the member's own, received from it (heartbeat, join request or reply).
  void Merge(Time now, const MemberClaim& c, bool direct, MembershipOutputs& out);
  void AddMember(Time now, const MemberClaim& c, MembershipOutputs& out);
  void SetState(Time now, Peer& p, MemberState s, const char* why, MembershipOutputs& out);
  void Suspect(Time now, Peer& p, MembershipOutputs& out);
  void StartProbe(Time now, Peer& p, MembershipOutputs& out);
  void FinishProbe(Time now, uint64_t probe_id, MembershipOutputs& out);
  void HeardDirectly(Time now, Peer& p, MembershipOutputs& out);
  void Refute(const MemberClaim& c, MembershipOutputs& out);
  bool HeardWithin(const Peer& p, Time now, Duration d) const;
  // The next heartbeat: with the table when the digest changed within kPushHeartbeats of them.
  Heartbeat MakeHeartbeat();
  // A peer's heartbeat said `digest`: ask it for its table if they keep differing.
  void CompareDigest(Time now, const NodeId& peer, uint64_t digest, MembershipOutputs& out);
  void OnSyncRequest(Time now, const SyncRequest& r, MembershipOutputs& out);
  void OnSyncReply(Time now, const SyncReply& r, MembershipOutputs& out);
  // Merges a table received from `from` (a push or a sync reply; its own claim counts as direct).
  // An accusation of this node in it is answered with a JoinRequest to `from` (see OnMessage).
  void MergeTable(Time now, const NodeId& from, const std::vector<MemberClaim>& members,
                  MembershipOutputs& out);
  std::vector<MemberClaim> Claims() const;
  Peer* FindPeer(const NodeId& id);

  MemberClaim self_;
  MembershipOptions options_;
  bool joined_ = false;
  bool refused_ = false;
  bool left_ = false;
  bool started_ = false;
  bool accused_ = false;  // the heartbeat being merged claims this node is not alive
  // Sends a JoinRequest to every seed that is not this node or an up member.
  void AskSeeds(MembershipOutputs& out);
  // A seed's answer (by the reply's echo, else by the answering node's rpc endpoint).
  SeedStatus* SeedOf(const JoinReply& rep);

  std::vector<SeedStatus> seeds_;
  Time next_join_{Time::max()};
  Time next_heartbeat_{Time::max()};
  std::optional<Time> last_tick_;
  std::map<std::string, Peer> peers_;            // by name, self excluded
  std::map<std::string, Tombstone> tombstones_;  // by name
  std::map<uint64_t, Probe> probes_;             // by probe_id
  uint64_t next_probe_id_ = 1;
  std::mt19937_64 rng_;
  // The digest exchange (see the header comment).
  uint64_t pushed_digest_ = 0;                  // the digest when the last push started
  int push_left_ = 0;                           // heartbeats still to carry the table
  std::map<std::string, Time> syncs_asked_;     // peer name -> when we asked it (pending or not)
  std::optional<Time> last_sync_ask_;           // any peer
  std::map<std::string, Time> syncs_answered_;  // asker name -> when we last answered it
  int answers_this_interval_ = 0;               // reset at every heartbeat
};

}  // namespace livepoll::core
