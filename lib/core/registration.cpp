#include "core/registration.h"

#include <algorithm>
#include <vector>

#include "core/claims.h"
#include "core/ownership.h"

namespace livepoll::core {

Registration::Registration(const Membership& membership, const Presence& presence,
                           const RegistryOptions& options, ClaimsReplica& claims,
                           Ownership& ownership)
    : membership_(membership),
      presence_(presence),
      options_(options),
      claims_(claims),
      ownership_(ownership),
      rng_(options.seed) {}

// ---- as a proposer ----

std::optional<Time> Registration::Propose(Time now, const std::string& topic,
                                          RegistryOutputs& out) {
  Topic& t = topics_[topic];
  Proposal p;
  p.id = next_proposal_id_++;
  p.epoch = claims_.NextEpoch(topic);
  for (const NodeId& id : membership_.Alive())
    if (id != self()) p.waiting[id.name] = id;
  p.resend_at = now;  // Send sends now
  t.proposal = std::move(p);
  Send(now, topic, *t.proposal, out);
  if (t.proposal->waiting.empty()) Decide(now, topic, t, out);  // a cluster of one
  if (!t.proposal) return std::nullopt;
  return t.proposal->resend_at;
}

std::optional<Time> Registration::Resend(Time now, const std::string& topic, RegistryOutputs& out) {
  auto it = topics_.find(topic);
  if (it == topics_.end() || !it->second.proposal) return std::nullopt;
  Proposal& p = *it->second.proposal;
  if (now >= p.resend_at) Send(now, topic, p, out);
  return p.resend_at;
}

bool Registration::Pending(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it != topics_.end() && it->second.proposal;
}

void Registration::Withdraw(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it != topics_.end()) it->second.proposal.reset();
}

Time Registration::RetryAt(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? Time{} : it->second.retry_at;
}

void Registration::Send(Time now, const std::string& topic, Proposal& p, RegistryOutputs& out) {
  for (const auto& [name, id] : p.waiting)
    out.sends.emplace_back(id, RegistryPropose{self(), p.id, topic, p.epoch});
  p.resend_at = now + options_.propose_retry;
}

void Registration::Decide(Time now, const std::string& topic, Topic& t, RegistryOutputs& out) {
  const uint64_t epoch = t.proposal->epoch;
  t.proposal.reset();
  if (presence_.SubscriberCount(topic) == 0 || !claims_.Visible(topic).empty() ||
      !ownership_.MayOwn())
    return;
  ownership_.Register(now, topic, epoch, out);
}

void Registration::Abandon(Time now, Topic& t) {
  t.proposal.reset();
  t.retry_at = now + Jittered(options_.propose_retry);
}

Duration Registration::Jittered(Duration d) {
  std::uniform_int_distribution<int64_t> pick(d.count() / 2, d.count() * 3 / 2);
  return Duration(pick(rng_));
}

// ---- as a voter ----

std::optional<Time> Registration::GrantHeld(Time now, const std::string& topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end() || !it->second.grant) return std::nullopt;
  std::optional<Grant>& grant = it->second.grant;
  if (now >= grant->at + options_.propose_timeout) {
    grant.reset();
    return std::nullopt;
  }
  return grant->at + options_.propose_timeout;
}

bool Registration::Idle(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() || (!it->second.proposal && !it->second.grant);
}

void Registration::Forget(const std::string& topic) { topics_.erase(topic); }

// ---- inputs ----

void Registration::OnPropose(Time now, const RegistryPropose& p, RegistryOutputs& out) {
  Topic& t = topics_[p.topic];
  const Epochs& e = claims_.EpochsOf(p.topic);
  RegistryVote v{self(), p.proposal_id, p.topic, false, {}, 0};
  std::vector<Claim> others = claims_.Visible(p.topic);
  std::erase_if(others, [&](const Claim& c) { return c.owner == p.from; });
  if (!others.empty()) {
    const Claim owner = Winner(p.topic, others, options_.clash_policy);
    v.owner = owner.owner;
    v.owner_epoch = owner.epoch;
  } else if (p.epoch <= e.claimed) {
    // An owner with this epoch or a higher one existed: granting would let epochs go back.
    v.owner_epoch = e.claimed;
  } else if (t.proposal && Wins(t.proposal->epoch, self().name, p.epoch, p.from.name)) {
    // This node's own proposal wins.
  } else if (t.grant && t.grant->proposer != p.from &&
             now < t.grant->at + options_.propose_timeout &&
             Wins(t.grant->epoch, t.grant->proposer.name, p.epoch, p.from.name)) {
    // A proposal granted a moment ago wins.
  } else {
    if (t.proposal) Abandon(now, t);  // `p` wins against it
    t.grant = Grant{p.from, p.epoch, now};
    v.granted = true;
  }
  out.sends.emplace_back(p.from, std::move(v));
}

bool Registration::OnVote(Time now, const RegistryVote& v, RegistryOutputs& out) {
  if (v.proposal_id == 0) {  // an epoch notice (`owner`: another claimant, if named)
    claims_.EpochsOf(v.topic).Note(v.owner_epoch, v.owner);
    return true;
  }
  auto it = topics_.find(v.topic);
  if (it == topics_.end() || !it->second.proposal || it->second.proposal->id != v.proposal_id)
    return false;  // an answer to a proposal that is over (or a duplicate)
  Topic& t = it->second;
  Proposal& p = *t.proposal;
  auto w = p.waiting.find(v.from.name);
  if (w == p.waiting.end() || w->second != v.from) return false;
  claims_.EpochsOf(v.topic).Note(v.owner_epoch, v.owner);  // a denial names an owner's epoch
  if (v.granted) {
    p.granted_by[w->first] = w->second;
    p.waiting.erase(w);
    if (p.waiting.empty()) Decide(now, v.topic, t, out);
  } else if (!v.owner.name.empty() && !membership_.IsAlive(v.owner)) {
    // The voter names an owner this node knows is down: it has not ruled on the death yet
    // (every survivor sees the crash within milliseconds, not at once). Ask it again soon, once,
    // then every propose_retry, instead of giving up: the takeover is not delayed by a retry.
    const bool first = p.reasked.insert(v.from.name).second;
    p.resend_at =
        std::min(p.resend_at, now + (first ? options_.propose_retry / 10 : options_.propose_retry));
  } else {
    std::string why =
        !v.owner.name.empty()
            ? "owner " + v.owner.ToString() + " epoch " + std::to_string(v.owner_epoch)
        : v.owner_epoch > 0
            ? "epoch " + std::to_string(p.epoch) + " not above " + std::to_string(v.owner_epoch)
            : "a competing proposal wins";
    out.events.push_back(
        {RegistryEvent::Kind::kDenied, v.topic, "by " + v.from.ToString() + ": " + why});
    Abandon(now, t);
  }
  return true;
}

void Registration::OnMemberDown(Time now, const NodeId& node, RegistryOutputs& out) {
  for (auto& [topic, t] : topics_) {
    if (t.grant && t.grant->proposer == node) t.grant.reset();  // its proposal is over
    if (!t.proposal) continue;
    auto w = t.proposal->waiting.find(node.name);
    if (w == t.proposal->waiting.end() || w->second != node) continue;
    // Down: no longer waited for (a member that does not answer is waited for until then).
    t.proposal->waiting.erase(w);
    if (t.proposal->waiting.empty()) Decide(now, topic, t, out);
  }
}

void Registration::OnMemberUp(const NodeId& node, RegistryOutputs& out) {
  if (node == self()) return;
  for (auto& [topic, t] : topics_) {
    if (!t.proposal || t.proposal->waiting.count(node.name)) continue;
    auto g = t.proposal->granted_by.find(node.name);
    if (g != t.proposal->granted_by.end() && g->second == node) continue;
    t.proposal->waiting[node.name] = node;
    out.sends.emplace_back(node, RegistryPropose{self(), t.proposal->id, topic, t.proposal->epoch});
  }
}

}  // namespace livepoll::core
