// The Registry's claims replica and the epochs it has seen per topic (registry.h, "Claims" and
// "Clashes"). Part of the Registry, which owns one; not for use on its own.
//
// ClaimsReplica is every node's claims, this node's own included: a ReplicatedSet of ClaimEntry
// (replicated_set.h) whose comebacks stay hidden until their transfer (a claim released while
// its owner was unreachable must not reappear and make a clash that is not there), seen as Claim
// views. What it sends goes out as ClaimsMessage in RegistryOutputs, and every topic whose claims
// changed is added to RegistryOutputs::owners_changed (its Owner() may have changed).
//
// Invariant: this node holds at most one own claim per topic (Ownership claims only a topic with
// no visible claim, and a re-epoch swaps the old claim for the new one in one delta).
//
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/registry.h"
#include "core/replicated_set.h"

namespace livepoll::core {

extern template class ReplicatedSet<ClaimEntry>;  // claims.cpp

// The tie-break of proposals and the `oldest` policy: the lower (epoch, node name) wins. Never
// wall-clock time.
bool Wins(uint64_t epoch, const std::string& name, uint64_t other_epoch,
          const std::string& other_name);
// The claim `policy` keeps among `visible` (one or more claims of `topic`); `manual` chooses as
// `oldest`.
Claim Winner(const std::string& topic, const std::vector<Claim>& visible, ClashPolicy policy);
std::string Describe(const Claim& c);  // "owner#incarnation epoch N", for events

// The epochs seen of one topic. Kept for the process's life, so that epochs only grow even
// across a teardown: the highest epoch of a claim heard of (visible or hidden, own included, from
// a vote or a notice too). Proposals do not count: concurrent proposers then take the same epoch
// and the name alone decides; found by the simulator (seed 740), where proposers taking every
// epoch seen plus one each lost to the grants their rivals' older, lower proposals had left
// behind, forever.
struct Epochs {
  uint64_t claimed = 0;
  // The owners of the claims seen at `claimed` (an empty NodeId: not named, by a vote or a
  // notice). Two owners can hold one epoch (both sides of a partition registered it): then the
  // epoch does not name one stream, and the survivor takes a new one (Superseded).
  std::set<NodeId> claimants;
  // Since when no claim of the topic is held (ClaimsReplica forgets it after permdown of that).
  std::optional<Time> unheld_since;

  // A claim of `owner` (empty: not named) at `epoch` was heard of.
  void Note(uint64_t epoch, const NodeId& owner);
  // A claim of `owner` at `epoch` is below one seen, or shares its epoch with another's: its
  // owner must re-epoch above every epoch seen.
  bool Superseded(const NodeId& owner, uint64_t epoch) const;
  // Another claimant at `claimed` than `owner` (empty if none is named), for an epoch notice.
  NodeId Other(const NodeId& owner) const;
};

class ClaimsReplica {
 public:
  // `options` as RegistryOptions::claims; comebacks are shown only after their transfer.
  ClaimsReplica(NodeId self, ReplicaOptions options);

  // ---- replication (as ReplicatedSet's; the changed topics are returned too) ----
  // Every claim the message speaks of is noted in its topic's Epochs first, whether or not the
  // replica can apply the message (a delta after a gap cannot).
  std::set<std::string> OnMessage(Time now, const ClaimMessage& m, RegistryOutputs& out);
  void OnMemberDown(Time now, const NodeId& node, RegistryOutputs& out);
  void OnMemberUp(Time now, const NodeId& node, RegistryOutputs& out);
  std::set<std::string> Tick(Time now, RegistryOutputs& out);
  Time NextDeadline() const;

  // ---- this node's own claims (Ownership's to change) ----
  // Claims `topic` at `epoch` (noted as seen).
  void Add(Time now, const std::string& topic, uint64_t epoch, RegistryOutputs& out);
  void Remove(Time now, const std::string& topic, uint64_t epoch, RegistryOutputs& out);
  // The claim at `old_epoch` replaced by one at `epoch` (noted as seen), in one delta: no node
  // ever sees the topic without this node's claim.
  void Replace(Time now, const std::string& topic, uint64_t old_epoch, uint64_t epoch,
               RegistryOutputs& out);
  std::optional<uint64_t> OwnEpoch(const std::string& topic) const;
  std::map<std::string, uint64_t> Own() const;  // topic -> epoch

  // ---- views ----
  // Every claim of `topic`, this node's first, then by owner name; visible and hidden.
  std::vector<Claim> Of(const std::string& topic) const;
  std::vector<Claim> Visible(const std::string& topic) const;
  std::vector<Claim> Hidden(const std::string& topic) const;  // their owners are down
  bool Holds(const std::string& topic) const;                 // a claim, visible or hidden
  // What this node holds of `owner`'s claims is what it claims (ReplicatedSet::InStep): a claim
  // of `owner` that is not held here is not one it still has, and one held is visible.
  bool InStep(const NodeId& owner) const;
  std::set<std::string> Topics() const;  // with a claim, visible or hidden

  // ---- dead owners (zombies.h) ----
  // The dead-owner rule: the hidden claims of `topic` when it has no visible claim (nobody took
  // it over); empty otherwise.
  std::vector<Claim> DeadOwnerClaims(const std::string& topic) const;
  // Drops `hidden` (claims of down owners, from Hidden or DeadOwnerClaims) now rather than at
  // permdown, each counted as a kReapedDeadOwner event; returns those dropped.
  std::vector<Claim> ReapDeadOwners(const std::vector<Claim>& hidden, RegistryOutputs& out);

  // ---- epochs ----
  Epochs& EpochsOf(const std::string& topic);
  // The epoch a new registration of `topic` takes: above every epoch seen of it, and above every
  // epoch forgotten. A topic's epochs are forgotten once no claim of it has been held (visible or
  // hidden) for `permdown`: by then every claim of it that this node saw is gone everywhere (a
  // down owner's are dropped after permdown), so no live claim holds a later epoch than the ones
  // forgotten, and a claim that comes back anyway (a partition longer than that healed) is older
  // than the next registration, which clash resolution re-epochs above both. The highest epoch
  // forgotten (of any topic) is kept as a floor so that a topic's epochs still only grow.
  uint64_t NextEpoch(const std::string& topic);
  size_t epochs_known() const { return epochs_.size(); }

  const NodeId& self() const { return self_; }

 private:
  // Hands what the set said on as registry outputs; returns the topics it changed.
  static std::set<std::string> Carry(ReplicaOutputs<ClaimEntry>& co, RegistryOutputs& out);

  NodeId self_;
  Duration permdown_;
  ReplicatedSet<ClaimEntry> set_;
  // Forgets the epochs of topics unheld for permdown (NextEpoch); at most every kEpochSweep.
  void PruneEpochs(Time now);
  static constexpr Duration kEpochSweep = std::chrono::seconds(10);

  std::map<std::string, Epochs> epochs_;  // by topic
  uint64_t epoch_floor_ = 0;              // the highest epoch forgotten
  Time next_epoch_sweep_{};
};

}  // namespace livepoll::core
