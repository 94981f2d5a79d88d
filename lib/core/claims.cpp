#include "core/claims.h"

#include <algorithm>
#include <tuple>

#include "core/peer_limits.h"
#include "core/placement.h"
#include "core/replicated_set_impl.h"

namespace livepoll::core {

template class ReplicatedSet<ClaimEntry>;

bool Wins(uint64_t epoch, const std::string& name, uint64_t other_epoch,
          const std::string& other_name) {
  return std::tie(epoch, name) < std::tie(other_epoch, other_name);
}

Claim Winner(const std::string& topic, const std::vector<Claim>& visible, ClashPolicy policy) {
  if (policy == ClashPolicy::kHashed) {
    std::vector<std::string> names;
    for (const Claim& c : visible) names.push_back(c.owner.name);
    const std::string first = RendezvousOrder(topic, names).front();
    for (const Claim& c : visible)
      if (c.owner.name == first) return c;
  }
  return *std::min_element(visible.begin(), visible.end(), [](const Claim& a, const Claim& b) {
    return Wins(a.epoch, a.owner.name, b.epoch, b.owner.name);
  });
}

std::string Describe(const Claim& c) {
  return c.owner.ToString() + " epoch " + std::to_string(c.epoch);
}

// ---- Epochs ----

void Epochs::Note(uint64_t epoch, const NodeId& owner) {
  // No honest claim comes near 2^64 (peer_limits.h); taking one would wrap the next epoch to 0.
  if (epoch > kMaxCounter) return;
  if (epoch > claimed) {
    claimed = epoch;
    claimants.clear();
  }
  // An unnamed claimant (a vote or notice naming none) says only that the epoch exists: it must
  // not count as a second owner at it, or the owner holding that very epoch would take a new one
  // at every notice (found by tests/bench/registry_run.sh: epochs climbing every propose_retry
  // after a heal).
  if (epoch == claimed && epoch > 0 && !owner.name.empty()) claimants.insert(owner);
}

bool Epochs::Superseded(const NodeId& owner, uint64_t epoch) const {
  if (epoch < claimed) return true;
  if (epoch > claimed) return false;
  for (const NodeId& c : claimants)
    if (c != owner) return true;
  return false;
}

NodeId Epochs::Other(const NodeId& owner) const {
  for (const NodeId& c : claimants)
    if (c != owner) return c;
  return NodeId{};
}

// ---- ClaimsReplica ----

namespace {

ReplicaOptions ClaimsOptions(ReplicaOptions o) {
  o.show_comeback_after_transfer = true;
  return o;
}

}  // namespace

ClaimsReplica::ClaimsReplica(NodeId self, ReplicaOptions options)
    : self_(self),
      permdown_(options.permdown),
      set_(std::move(self), ClaimsOptions(std::move(options))) {}

std::set<std::string> ClaimsReplica::Carry(ReplicaOutputs<ClaimEntry>& co, RegistryOutputs& out) {
  for (ClaimMessage& m : co.broadcasts) out.broadcasts.emplace_back(ClaimsMessage{m});
  for (auto& [to, m] : co.sends) out.sends.emplace_back(to, ClaimsMessage{m});
  out.owners_changed.insert(co.changed.begin(), co.changed.end());
  return std::move(co.changed);
}

std::set<std::string> ClaimsReplica::OnMessage(Time now, const ClaimMessage& m,
                                               RegistryOutputs& out) {
  auto note = [&](const ClaimEntry& c, const NodeId& origin) {
    epochs_[c.topic].Note(c.epoch, origin);
  };
  if (const auto* d = std::get_if<ClaimDelta>(&m)) {
    for (const ClaimEntry& c : d->joins) note(c, d->origin);
    for (const ClaimEntry& c : d->leaves) note(c, d->origin);
  } else if (const auto* t = std::get_if<ClaimTransfer>(&m)) {
    for (const ClaimEntry& c : t->entries) note(c, t->origin);
  }
  ReplicaOutputs<ClaimEntry> co;
  set_.OnMessage(now, m, co);
  return Carry(co, out);
}

void ClaimsReplica::OnMemberDown(Time now, const NodeId& node, RegistryOutputs& out) {
  ReplicaOutputs<ClaimEntry> co;
  set_.OnMemberDown(now, node, co);
  Carry(co, out);
}

void ClaimsReplica::OnMemberUp(Time now, const NodeId& node, RegistryOutputs& out) {
  ReplicaOutputs<ClaimEntry> co;
  set_.OnMemberUp(now, node, co);
  Carry(co, out);
}

std::set<std::string> ClaimsReplica::Tick(Time now, RegistryOutputs& out) {
  ReplicaOutputs<ClaimEntry> co;
  set_.Tick(now, co);
  PruneEpochs(now);
  return Carry(co, out);
}

void ClaimsReplica::PruneEpochs(Time now) {
  if (now < next_epoch_sweep_) return;
  next_epoch_sweep_ = now + kEpochSweep;
  for (auto it = epochs_.begin(); it != epochs_.end();) {
    Epochs& e = it->second;
    if (Holds(it->first)) {
      e.unheld_since.reset();
    } else if (!e.unheld_since) {
      e.unheld_since = now;
    } else if (now - *e.unheld_since >= permdown_) {
      epoch_floor_ = std::max(epoch_floor_, e.claimed);
      it = epochs_.erase(it);
      continue;
    }
    ++it;
  }
}

uint64_t ClaimsReplica::NextEpoch(const std::string& topic) {
  return std::max(EpochsOf(topic).claimed, epoch_floor_) + 1;
}

Time ClaimsReplica::NextDeadline() const { return set_.NextDeadline(); }

void ClaimsReplica::Add(Time now, const std::string& topic, uint64_t epoch, RegistryOutputs& out) {
  ReplicaOutputs<ClaimEntry> co;
  set_.Join(now, ClaimEntry{topic, epoch}, co);
  Carry(co, out);
  epochs_[topic].Note(epoch, self_);
}

void ClaimsReplica::Remove(Time now, const std::string& topic, uint64_t epoch,
                           RegistryOutputs& out) {
  ReplicaOutputs<ClaimEntry> co;
  set_.Leave(now, ClaimEntry{topic, epoch}, co);
  Carry(co, out);
}

void ClaimsReplica::Replace(Time now, const std::string& topic, uint64_t old_epoch, uint64_t epoch,
                            RegistryOutputs& out) {
  epochs_[topic].Note(epoch, self_);
  ReplicaOutputs<ClaimEntry> co;
  set_.Change(now, {ClaimEntry{topic, epoch}}, {ClaimEntry{topic, old_epoch}}, co);
  Carry(co, out);
}

std::optional<uint64_t> ClaimsReplica::OwnEpoch(const std::string& topic) const {
  for (const Held<ClaimEntry>& h : set_.EntriesOfTopic(topic))
    if (h.origin == self_) return h.entry.epoch;
  return std::nullopt;
}

std::map<std::string, uint64_t> ClaimsReplica::Own() const {
  std::map<std::string, uint64_t> own;
  for (const ClaimEntry& c : set_.EntriesOf(self_)) own[c.topic] = c.epoch;
  return own;
}

std::vector<Claim> ClaimsReplica::Of(const std::string& topic) const {
  std::vector<Claim> v;
  for (const Held<ClaimEntry>& h : set_.EntriesOfTopic(topic))
    v.push_back(Claim{topic, h.origin, h.entry.epoch, h.visible});
  return v;
}

std::vector<Claim> ClaimsReplica::Visible(const std::string& topic) const {
  std::vector<Claim> v = Of(topic);
  std::erase_if(v, [](const Claim& c) { return !c.visible; });
  return v;
}

std::vector<Claim> ClaimsReplica::Hidden(const std::string& topic) const {
  std::vector<Claim> v = Of(topic);
  std::erase_if(v, [](const Claim& c) { return c.visible; });
  return v;
}

bool ClaimsReplica::Holds(const std::string& topic) const {
  return !set_.EntriesOfTopic(topic).empty();
}

bool ClaimsReplica::InStep(const NodeId& owner) const { return set_.InStep(owner); }

std::set<std::string> ClaimsReplica::Topics() const { return set_.HeldTopics(); }

std::vector<Claim> ClaimsReplica::DeadOwnerClaims(const std::string& topic) const {
  std::vector<Claim> all = Of(topic);
  for (const Claim& c : all)
    if (c.visible) return {};
  return all;
}

std::vector<Claim> ClaimsReplica::ReapDeadOwners(const std::vector<Claim>& hidden,
                                                 RegistryOutputs& out) {
  std::vector<Claim> dropped;
  ReplicaOutputs<ClaimEntry> co;
  for (const Claim& c : hidden) {
    if (!set_.DropHidden(c.owner, ClaimEntry{c.topic, c.epoch}, co)) continue;
    out.events.push_back({RegistryEvent::Kind::kReapedDeadOwner, c.topic, "dead-owner"});
    dropped.push_back(c);
  }
  Carry(co, out);
  return dropped;
}

Epochs& ClaimsReplica::EpochsOf(const std::string& topic) { return epochs_[topic]; }

}  // namespace livepoll::core
