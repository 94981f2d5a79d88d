#include "core/node.h"

#include <algorithm>

namespace livepoll::core {

Node::Node(MemberClaim self, NodeOptions options)
    : membership_(self, options.membership),
      presence_(self.id, options.presence),
      registry_(membership_, presence_, options.registry) {}

void Node::Start(Time now, const std::vector<std::string>& seed_rpc_endpoints, NodeOutputs& out) {
  MembershipOutputs mo;
  membership_.Start(now, seed_rpc_endpoints, mo);
  Carry(now, mo, out);
}

void Node::OnMessage(Time now, const NodeMessage& m, NodeOutputs& out) {
  if (left_) return;
  if (const auto* mm = std::get_if<MembershipMessage>(&m)) {
    MembershipOutputs mo;
    membership_.OnMessage(now, *mm, mo);
    Carry(now, mo, out);
  } else if (const auto* pm = std::get_if<PresenceMessage>(&m)) {
    if (!membership_.IsAlive(SenderOf(*pm))) return;  // see SenderOf
    PresenceOutputs po;
    presence_.OnMessage(now, *pm, po);
    Carry(now, po, out);
  } else {
    const auto& rm = std::get<RegistryMessage>(m);
    // A claim, vote or proposal of a node that is not an up member does not count: its claims
    // would otherwise be visible while Membership says it is down.
    if (!membership_.IsAlive(SenderOf(rm))) return;
    RegistryOutputs ro;
    registry_.OnMessage(now, rm, ro);
    Carry(ro, out);
  }
}

void Node::OnDisconnect(Time now, const std::string& gossip_endpoint, NodeOutputs& out) {
  if (left_) return;
  for (const Membership::Member& m : membership_.Members()) {
    if (m.claim.gossip_endpoint != gossip_endpoint || m.claim.id == self()) continue;
    MembershipOutputs mo;
    membership_.OnDisconnect(now, m.claim.id, mo);
    Carry(now, mo, out);
  }
}

void Node::Tick(Time now, NodeOutputs& out) {
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

Time Node::NextDeadline() const {
  if (left_) return Time::max();
  return std::min({membership_.NextDeadline(), presence_.NextDeadline(),
                   registry_.NextDeadline()});
}

void Node::Leave(Time now, NodeOutputs& out) {
  if (left_) return;
  MembershipOutputs mo;
  membership_.Leave(now, mo);
  Carry(now, mo, out);
  left_ = true;
}

void Node::Subscribed(Time now, const std::string& topic, uint64_t subscriber, NodeOutputs& out) {
  if (left_) return;
  PresenceOutputs po;
  presence_.Join(now, PresenceEntry{topic, subscriber}, po);
  Carry(now, po, out);
}

void Node::Unsubscribed(Time now, const std::string& topic, uint64_t subscriber,
                        NodeOutputs& out) {
  if (left_) return;
  PresenceOutputs po;
  presence_.Leave(now, PresenceEntry{topic, subscriber}, po);
  Carry(now, po, out);
}

void Node::SetRunning(std::map<std::string, uint64_t> running) {
  registry_.SetRunning(std::move(running));
}

Status Node::Resolve(Time now, const std::string& topic, const std::optional<std::string>& keep,
                     ClashPolicy policy, NodeOutputs& out) {
  RegistryOutputs ro;
  Status s = registry_.Resolve(now, topic, keep, policy, ro);
  Carry(ro, out);
  return s;
}

std::vector<std::string> Node::Reap(Time now, const std::string& topic, bool release_own,
                                    NodeOutputs& out) {
  if (left_) return {};
  RegistryOutputs ro;
  std::vector<std::string> done = registry_.Reap(now, topic, release_own, ro);
  Carry(ro, out);
  return done;
}

void Node::Carry(Time now, MembershipOutputs& mo, NodeOutputs& out) {
  out.connect.insert(out.connect.end(), mo.connect.begin(), mo.connect.end());
  out.disconnect.insert(out.disconnect.end(), mo.disconnect.begin(), mo.disconnect.end());
  for (MembershipMessage& m : mo.broadcasts) out.broadcasts.emplace_back(std::move(m));
  for (auto& [endpoint, m] : mo.sends) out.sends.emplace_back(endpoint, std::move(m));
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

void Node::Carry(Time now, PresenceOutputs& po, NodeOutputs& out) {
  for (PresenceMessage& m : po.broadcasts) out.broadcasts.emplace_back(std::move(m));
  for (auto& [node, m] : po.sends) SendTo(node, std::move(m), out);
  for (const std::string& topic : po.changed) {
    RegistryOutputs ro;
    registry_.OnPresenceChanged(now, topic, ro);
    Carry(ro, out);
  }
}

void Node::Carry(RegistryOutputs& ro, NodeOutputs& out) {
  for (RegistryMessage& m : ro.broadcasts) out.broadcasts.emplace_back(std::move(m));
  for (auto& [node, m] : ro.sends) SendTo(node, std::move(m), out);
  for (PollerStart& s : ro.start) out.start.push_back(std::move(s));
  for (PollerStop& s : ro.stop) out.stop.push_back(std::move(s));
  out.owners_changed.insert(ro.owners_changed.begin(), ro.owners_changed.end());
  for (RegistryEvent& e : ro.events) out.registry_events.push_back(std::move(e));
}

void Node::SendTo(const NodeId& node, NodeMessage m, NodeOutputs& out) const {
  // Only to the incarnation Membership knows: a message meant for a process that has since
  // restarted would reach its successor at the same endpoint.
  std::optional<Membership::Member> member = membership_.Find(node.name);
  if (!member || member->claim.id != node || member->claim.rpc_endpoint.empty()) return;
  out.sends.emplace_back(member->claim.rpc_endpoint, std::move(m));
}

}  // namespace livepoll::core
