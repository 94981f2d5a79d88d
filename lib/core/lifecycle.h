// Lifecycle: what happens to each topic over time (registry.h, "Placement and failover",
// "Teardown", "Clashes", "Self-reaping"). Part of the Registry; not for use on its own.
//
// Examine(topic) is everything about one topic that depends on the state alone, idempotent:
// the timers (no subscriber since, ownerless since), clash detection and resolution, teardown
// after linger, re-epoch of a superseded sole owner (and epoch notices to another node that is
// one), the placement rank that says when this node proposes an ownerless topic, and the
// proposal's resends and withdrawal. Every input that may change a topic's state ends in
// Examine; each topic also wakes itself at its next deadline, and every sweep_interval the sweep
// reaps this node's zombies (zombies.h) and every topic is examined.
// Thread safety: none; one thread owns it.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "core/membership.h"
#include "core/presence.h"
#include "core/registry.h"

namespace livepoll::core {

class ClaimsReplica;
class Ownership;
class Registration;
struct Epochs;

class Lifecycle {
 public:
  // All outlive it (the Registry owns it and the parts it refers to).
  Lifecycle(const Membership& membership, const Presence& presence, const RegistryOptions& options,
            ClaimsReplica& claims, Ownership& ownership, Registration& registration);

  void Examine(Time now, const std::string& topic, RegistryOutputs& out);
  // Every topic this node knows of: claimed, subscribed, polled or with state here.
  void ExamineAll(Time now, RegistryOutputs& out);
  // At a sweep's time: the majority check, the sweep and every topic examined. Otherwise the
  // topics in `due` (their claims changed) and those whose wakeup is due are examined.
  void Tick(Time now, const std::set<std::string>& due, RegistryOutputs& out);
  Time NextDeadline() const;

  // The idle rule's measure (zombies.h): how long `topic` has had no subscriber anywhere, as this
  // node saw it; nullopt while it has one (or this node holds no state of it).
  std::optional<Duration> EmptyFor(Time now, const std::string& topic) const;
  // Since when the clash on `topic` is in view here; nullopt when there is none.
  std::optional<Time> ClashSince(const std::string& topic) const;

 private:
  struct TopicState {
    std::optional<Time> empty_since;      // presence showed no subscriber anywhere since
    std::optional<Time> ownerless_since;  // subscribers but no visible claim since
    bool clash = false;                   // a clash is in view and was reported
    Time clash_since{};                   // when `clash` became true
    Time notice_at{};                     // no epoch notice to the owner before
    std::optional<Time> wake;             // this topic's entry in `wakeups_`
  };

  const NodeId& self() const { return membership_.self(); }
  // This node's place among the candidates for `topic`, nullopt when it is not one.
  std::optional<size_t> Rank(const std::string& topic) const;
  // An up node other than `owner` that may still claim `topic` although no visible claim of it is
  // held here: a claimant of `topic` this node heard of (a hidden claim, or one noted in `e` at its
  // highest epoch) whose claims this node does not hold in step (claims.h, InStep). While there is
  // one, `owner`, the sole visible claimant, is not superseded yet: it does not re-epoch (when it
  // is this node) nor is sent an epoch notice (registry.h, "Clashes").
  std::optional<NodeId> UnsettledRival(const std::string& topic, const Epochs& e,
                                       const NodeId& owner) const;
  std::set<std::string> AllTopics() const;
  void Schedule(const std::string& topic, TopicState& t, std::optional<Time> when);
  // Self-reaping (registry.h): idle own claims, orphan pollers, dead owners' claims of idle
  // topics. Runs before the topics are re-examined, so that a teardown the node was too late
  // for (its loop stalled past linger + reap_margin) is counted as the idle zombie it was.
  void Sweep(Time now, RegistryOutputs& out);

  const Membership& membership_;
  const Presence& presence_;
  const RegistryOptions& options_;
  ClaimsReplica& claims_;
  Ownership& ownership_;
  Registration& registration_;
  std::map<std::string, TopicState> topics_;
  std::set<std::pair<Time, std::string>> wakeups_;
  Time next_sweep_{};
};

}  // namespace livepoll::core
