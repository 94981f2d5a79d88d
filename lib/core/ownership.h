// What this node owns: its own claims, the pollers that serve them, and whether it may own at all
// (registry.h, "Partition mode"). Part of the Registry; not for use on its own. Every claim this
// node makes or gives up goes through here, so that a claim and its poller start and stop
// together: a claim made starts its poller (PollerStart), a claim given up stops it (PollerStop),
// each with its RegistryEvent.
//
// The pollers are those the runtime reports (SetRunning) plus what this node started or stopped
// since; the orphan rule (zombies.h) is theirs.
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/membership.h"
#include "core/registry.h"

namespace livepoll::core {

class ClaimsReplica;

class Ownership {
 public:
  // All three outlive it (the Registry owns it and `claims`).
  Ownership(const Membership& membership, const RegistryOptions& options, ClaimsReplica& claims);

  // The cluster's size as `majority` counts it: the members this node knows (up, suspect and
  // dead; left ones excluded; self included) plus the seeds it has not met (Membership::
  // UnansweredSeeds): a node started alone at a cold start must not take itself for a majority.
  struct Count {
    size_t up = 0;
    size_t known = 0;
    size_t unmet_seeds = 0;  // of `known`
  };
  Count Majority() const;
  // A strict majority of Majority().known is up.
  bool HasMajority() const;
  // Why this node may not own topics, for its clients and `livepoll status`; empty when it may.
  std::string WhyNotOwning() const;
  // This node may own topics: `available`, or `majority` with a majority.
  bool MayOwn() const;
  // In `majority` mode, on losing the majority: every own claim released and every poller
  // stopped, as stale (PollerStop::stale).
  void CheckMajority(Time now, RegistryOutputs& out);

  // Commits this node's registration of `topic` at `epoch` (the topic has no visible claim):
  // claims it, starts its poller, reports kRegistered, and kTakeover for each hidden claim the
  // new one replaces.
  void Register(Time now, const std::string& topic, uint64_t epoch, RegistryOutputs& out);
  // Gives up this node's claim of `topic` at `epoch` and stops its poller (`why`: the stop's and
  // the kReleased event's reason).
  void Release(Time now, const std::string& topic, uint64_t epoch, const char* why, bool stale,
               RegistryOutputs& out);
  // The sole visible claimant with an epoch superseded (claims.h, Epochs): a claim above every
  // epoch seen, in one delta with the release of the one at `old_epoch`, and its poller
  // re-epoched.
  void ReEpoch(Time now, const std::string& topic, uint64_t old_epoch, RegistryOutputs& out);

  // ---- pollers ----
  void SetRunning(std::map<std::string, uint64_t> running);
  const std::map<std::string, uint64_t>& running() const { return running_; }
  bool Runs(const std::string& topic) const { return running_.count(topic) > 0; }
  // The orphan rule (zombies.h): this node's poller of `topic`, at `poller_epoch`, is not named by
  // an own claim at that epoch.
  bool IsOrphan(const std::string& topic, uint64_t poller_epoch) const;
  // Stops the orphan poller of `topic` (`stop_reason`: the PollerStop's) and reports a
  // kReapedOrphan "orphan" event.
  void ReapOrphan(const std::string& topic, const char* stop_reason, RegistryOutputs& out);
  // Starts the poller of every own claim that has none (the runtime lost it, or an orphan at
  // another epoch was just stopped): the claim tells every node that this one polls.
  void StartUnserved(RegistryOutputs& out);

 private:
  const Membership& membership_;
  const RegistryOptions& options_;
  ClaimsReplica& claims_;
  std::map<std::string, uint64_t> running_;  // topic -> epoch: the pollers this node runs
};

}  // namespace livepoll::core
