// Zombies (DESIGN.md, "Lifecycle and zombies"; registry.h, "Self-reaping" and "Zombies and
// Reap"): what should not exist but a fault left behind, by reason. Part of the Registry; not for
// use on its own.
//
// Each rule is written once, by the part that holds what it is about, and used by both the sweep
// (Lifecycle::Sweep, every sweep_interval) and the operator's view below:
//  - idle: an own claim whose topic has had no subscriber anywhere for too long. Measured by
//    Lifecycle::EmptyFor; the sweep reaps at linger + reap_margin, the view reports from
//    linger + sweep_interval (why they differ: zombies.cpp).
//  - orphan: a poller this node runs that no own claim names at its epoch. Ownership::IsOrphan;
//    stopped by Ownership::ReapOrphan.
//  - dead-owner: a hidden claim (its owner down) of a topic nobody took over (no visible claim).
//    ClaimsReplica::DeadOwnerClaims; dropped by ClaimsReplica::ReapDeadOwners. The sweep drops
//    the hidden claims of an idle topic instead, taken over or not (lifecycle.cpp says why).
//  - clash: two or more visible claims of a topic (Registry::Clashes); resolved by the Lifecycle
//    (clash_policy) or by Registry::Resolve.
// Thread safety: none; one thread owns it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/presence.h"
#include "core/registry.h"

namespace livepoll::core {

class ClaimsReplica;
class Lifecycle;
class Ownership;

// The operator's view: Registry::Zombies and Registry::Reap (their contracts are in registry.h).
class OperatorView {
 public:
  // All outlive it (the Registry owns it and the parts it refers to).
  OperatorView(const Presence& presence, const RegistryOptions& options, ClaimsReplica& claims,
               Ownership& ownership, Lifecycle& lifecycle);

  // When this node saw a member go down, for a dead owner's age.
  void OnMemberDown(Time now, const NodeId& node);
  void OnMemberUp(const NodeId& node);

  std::vector<RegistryZombie> Zombies(Time now) const;
  std::vector<std::string> Reap(Time now, const std::string& topic, bool release_own,
                                RegistryOutputs& out);

 private:
  const Presence& presence_;
  const RegistryOptions& options_;
  ClaimsReplica& claims_;
  Ownership& ownership_;
  Lifecycle& lifecycle_;
  std::map<std::string, Time> down_since_;  // members down, by name: when this node saw it
};

}  // namespace livepoll::core
