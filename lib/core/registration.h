// Registration: proposals, votes and grants (registry.h, "Registration (propose/commit)"). Part
// of the Registry; not for use on its own.
//
// This node's side as a proposer: Propose asks every other up member to grant {topic, epoch}
// (epoch: the highest claimed seen + 1), Resend asks again those that have not answered, and
// with every grant (or the silent ones declared down) the proposal is decided: committed through
// Ownership::Register unless it is moot by then (the topic got an owner or lost its subscribers,
// or this node may no longer own). A denial abandons the proposal: no new one before a jittered
// propose_retry. Its side as a voter: OnPropose answers by the rules of registry.h, and remembers
// its last grant per topic for propose_timeout.
//
// When to propose, and when a pending proposal is moot, is the Lifecycle's to decide (it asks
// and calls the methods below); every input here that may change a topic's state is followed by
// the Registry re-examining that topic.
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "core/membership.h"
#include "core/presence.h"
#include "core/registry.h"

namespace livepoll::core {

class ClaimsReplica;
class Ownership;

class Registration {
 public:
  // All outlive it (the Registry owns it, `claims` and `ownership`).
  Registration(const Membership& membership, const Presence& presence,
               const RegistryOptions& options, ClaimsReplica& claims, Ownership& ownership);

  // ---- as a proposer ----
  // A new proposal for `topic`, sent to every other up member; decided at once when there is
  // none (a cluster of one). Returns when it is to be sent again; nullopt when it was decided.
  std::optional<Time> Propose(Time now, const std::string& topic, RegistryOutputs& out);
  // The pending proposal for `topic`, sent again to whoever has not answered if that is due.
  // Returns when it is to be sent again; nullopt when there is no pending proposal.
  std::optional<Time> Resend(Time now, const std::string& topic, RegistryOutputs& out);
  bool Pending(const std::string& topic) const;
  // Drops the pending proposal for `topic` (someone owns it now, nobody needs it, or this node
  // may not own).
  void Withdraw(const std::string& topic);
  // No new proposal for `topic` before this (after a denial or an abandon).
  Time RetryAt(const std::string& topic) const;

  // ---- as a voter ----
  // The grant this node gave for `topic`, dropped once propose_timeout has passed. Returns until
  // when it holds (meanwhile this node does not propose `topic` itself: someone is on it);
  // nullopt when there is none.
  std::optional<Time> GrantHeld(Time now, const std::string& topic);

  // Neither a pending proposal nor a grant for `topic`: nothing to remember but RetryAt, which
  // Forget drops with the rest.
  bool Idle(const std::string& topic) const;
  void Forget(const std::string& topic);

  // ---- inputs ----
  // Answers a proposal with a RegistryVote.
  void OnPropose(Time now, const RegistryPropose& p, RegistryOutputs& out);
  // A vote on this node's proposal, or an epoch notice (proposal_id 0). Returns whether it
  // counted (false: an answer to a proposal that is over, or a duplicate).
  bool OnVote(Time now, const RegistryVote& v, RegistryOutputs& out);
  // A member down: its grant is over, and proposals no longer wait for it (decided if it was
  // the last one waited for).
  void OnMemberDown(Time now, const NodeId& node, RegistryOutputs& out);
  // A member up while a proposal is pending is asked too: a voter that was not asked could
  // grant a competitor, and that makes a clash.
  void OnMemberUp(const NodeId& node, RegistryOutputs& out);

 private:
  struct Proposal {
    uint64_t id = 0;
    uint64_t epoch = 0;
    std::map<std::string, NodeId> waiting;     // asked, not answered yet (by name)
    std::map<std::string, NodeId> granted_by;  // answered with a grant
    std::set<std::string> reasked;             // asked again soon after naming a down owner
    Time resend_at{};
  };
  struct Grant {  // the proposal this node granted last, binding for propose_timeout
    NodeId proposer;
    uint64_t epoch = 0;
    Time at{};
  };
  struct Topic {
    std::optional<Proposal> proposal;  // this node's, pending
    std::optional<Grant> grant;
    Time retry_at{};  // no new proposal before (after a denial)
  };

  const NodeId& self() const { return membership_.self(); }
  void Send(Time now, const std::string& topic, Proposal& p, RegistryOutputs& out);
  // Every voter answered with a grant (or went down): commit, unless it is moot by now.
  void Decide(Time now, const std::string& topic, Topic& t, RegistryOutputs& out);
  void Abandon(Time now, Topic& t);
  Duration Jittered(Duration d);

  const Membership& membership_;
  const Presence& presence_;
  const RegistryOptions& options_;
  ClaimsReplica& claims_;
  Ownership& ownership_;
  std::map<std::string, Topic> topics_;
  uint64_t next_proposal_id_ = 1;
  std::mt19937_64 rng_;  // jitter of retries
};

}  // namespace livepoll::core
