#include "core/cluster_state.h"

#include <algorithm>

namespace livepoll::core {
namespace {

PresenceOptions Reporting(PresenceOptions o) {
  o.report_entries = true;  // for the node's PresenceFeed
  return o;
}

}  // namespace

ClusterState::ClusterState(MemberClaim self, ClusterOptions options)
    : membership_(self, options.membership),
      presence_(self.id, Reporting(options.presence)),
      registry_(membership_, presence_, options.registry) {}

void ClusterState::Start(Time now, const std::vector<std::string>& seed_rpc_endpoints,
                         ClusterOutputs& out) {
  MembershipOutputs mo;
  membership_.Start(now, seed_rpc_endpoints, mo);
  Carry(now, mo, out);
}

void ClusterState::OnMessage(Time now, const MembershipMessage& m, ClusterOutputs& out) {
  if (left_) return;
  MembershipOutputs mo;
  membership_.OnMessage(now, m, mo);
  Carry(now, mo, out);
}

void ClusterState::OnMessage(Time now, const PresenceMessage& m, ClusterOutputs& out) {
  if (left_ || !membership_.IsAlive(SenderOf(m))) return;  // see SenderOf
  PresenceOutputs po;
  presence_.OnMessage(now, m, po);
  Carry(now, po, out);
}

void ClusterState::OnMessage(Time now, const RegistryMessage& m, ClusterOutputs& out) {
  // A claim, vote or proposal of a node that is not an up member does not count: its claims
  // would otherwise be visible while Membership says it is down.
  if (left_ || !membership_.IsAlive(SenderOf(m))) return;
  RegistryOutputs ro;
  registry_.OnMessage(now, m, ro);
  Carry(ro, out);
}

void ClusterState::OnDisconnect(Time now, const std::string& gossip_endpoint, ClusterOutputs& out) {
  if (left_) return;
  for (const Membership::Member& m : membership_.Members()) {
    if (m.claim.gossip_endpoint != gossip_endpoint || m.claim.id == self()) continue;
    MembershipOutputs mo;
    membership_.OnDisconnect(now, m.claim.id, mo);
    Carry(now, mo, out);
  }
}

void ClusterState::Tick(Time now, ClusterOutputs& out) {
  if (left_) return;
  MembershipOutputs mo;
  membership_.Tick(now, mo);
  Carry(now, mo, out);
  PresenceOutputs po;
  presence_.Tick(now, po);
  Carry(now, po, out);
  RegistryOutputs ro;
  registry_.Tick(now, ro);
  Carry(ro, out);
}

Time ClusterState::NextDeadline() const {
  if (left_) return Time::max();
  return std::min({membership_.NextDeadline(), presence_.NextDeadline(), registry_.NextDeadline()});
}

void ClusterState::Leave(Time now, ClusterOutputs& out) {
  if (left_) return;
  MembershipOutputs mo;
  membership_.Leave(now, mo);
  Carry(now, mo, out);
  left_ = true;
}

void ClusterState::Subscribed(Time now, const PresenceEntry& e, ClusterOutputs& out) {
  if (left_) return;
  PresenceOutputs po;
  presence_.Join(now, e, po);
  Carry(now, po, out);
}

void ClusterState::Unsubscribed(Time now, const PresenceEntry& e, ClusterOutputs& out) {
  if (left_) return;
  PresenceOutputs po;
  presence_.Leave(now, e, po);
  Carry(now, po, out);
}

void ClusterState::SetRunning(std::map<std::string, uint64_t> running) {
  registry_.SetRunning(std::move(running));
}

Status ClusterState::Resolve(Time now, const std::string& topic,
                             const std::optional<std::string>& keep, ClashPolicy policy,
                             ClusterOutputs& out) {
  RegistryOutputs ro;
  Status s = registry_.Resolve(now, topic, keep, policy, ro);
  Carry(ro, out);
  return s;
}

std::vector<std::string> ClusterState::Reap(Time now, const std::string& topic, bool release_own,
                                            ClusterOutputs& out) {
  if (left_) return {};
  RegistryOutputs ro;
  std::vector<std::string> done = registry_.Reap(now, topic, release_own, ro);
  Carry(ro, out);
  return done;
}

void ClusterState::Carry(Time now, MembershipOutputs& mo, ClusterOutputs& out) {
  out.connect.insert(out.connect.end(), mo.connect.begin(), mo.connect.end());
  out.disconnect.insert(out.disconnect.end(), mo.disconnect.begin(), mo.disconnect.end());
  out.forget.insert(out.forget.end(), mo.forget.begin(), mo.forget.end());
  for (MembershipMessage& m : mo.broadcasts) out.broadcasts.emplace_back(std::move(m));
  for (auto& [endpoint, m] : mo.sends) out.sends.emplace_back(endpoint, std::move(m));
  out.member_tally.syncs_asked += mo.tally.syncs_asked;
  out.member_tally.syncs_answered += mo.tally.syncs_answered;
  out.member_tally.syncs_refused += mo.tally.syncs_refused;
  for (const MembershipEvent& e : mo.events) {
    out.member_events.push_back(e);
    using K = MembershipEvent::Kind;
    PresenceOutputs po;
    RegistryOutputs ro;
    // Presence first, so that the Registry re-examines its topics with the subscribers already
    // hidden or shown.
    if (e.kind == K::kDown) {
      presence_.OnMemberDown(now, e.node, po);
      Carry(now, po, out);
      registry_.OnMemberDown(now, e.node, ro);
    } else if (e.kind == K::kUp) {
      presence_.OnMemberUp(now, e.node, po);
      Carry(now, po, out);
      registry_.OnMemberUp(now, e.node, ro);
    } else if (e.kind == K::kJoined) {
      // This node is a member now, so a candidate for placement: the Registry re-examines every
      // topic (its claims replica ignores news about this node itself).
      registry_.OnMemberUp(now, self(), ro);
    }
    Carry(ro, out);
  }
}

void ClusterState::Carry(Time now, PresenceOutputs& po, ClusterOutputs& out) {
  for (PresenceMessage& m : po.broadcasts) out.broadcasts.emplace_back(std::move(m));
  for (auto& [node, m] : po.sends) SendTo(node, std::move(m), out);
  for (Held<PresenceEntry>& h : po.visibility)
    if (h.entry.has_presence()) out.presence_changes.push_back(std::move(h));
  for (const std::string& topic : po.changed) {
    RegistryOutputs ro;
    registry_.OnPresenceChanged(now, topic, ro);
    Carry(ro, out);
  }
}

void ClusterState::Carry(RegistryOutputs& ro, ClusterOutputs& out) {
  for (RegistryMessage& m : ro.broadcasts) out.broadcasts.emplace_back(std::move(m));
  for (auto& [node, m] : ro.sends) SendTo(node, std::move(m), out);
  for (PollerStart& s : ro.start) out.start.push_back(std::move(s));
  for (PollerStop& s : ro.stop) out.stop.push_back(std::move(s));
  out.owners_changed.insert(ro.owners_changed.begin(), ro.owners_changed.end());
  for (RegistryEvent& e : ro.events) out.registry_events.push_back(std::move(e));
}

void ClusterState::SendTo(const NodeId& node, PeerMessage m, ClusterOutputs& out) const {
  // Only to the incarnation Membership knows: a message meant for a process that has since
  // restarted would reach its successor at the same endpoint.
  std::optional<Membership::Member> member = membership_.Find(node.name);
  if (!member || member->claim.id != node || member->claim.rpc_endpoint.empty()) return;
  out.sends.emplace_back(member->claim.rpc_endpoint, std::move(m));
}

}  // namespace livepoll::core
