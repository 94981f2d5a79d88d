// The Registry facade: it owns the parts (claims.h, ownership.h, registration.h, lifecycle.h,
// zombies.h) and routes each input to them, in an order that matters: the claims replica first
// (a claim's news is known before anything is decided on it), then registration, then the
// majority check, and last the topics re-examined.
#include "core/registry.h"

#include <algorithm>

#include "core/claims.h"
#include "core/lifecycle.h"
#include "core/ownership.h"
#include "core/registration.h"
#include "core/zombies.h"

namespace livepoll::core {

const NodeId& SenderOf(const RegistryMessage& m) {
  if (const auto* p = std::get_if<RegistryPropose>(&m)) return p->from;
  if (const auto* v = std::get_if<RegistryVote>(&m)) return v->from;
  return SenderOf(std::get<ClaimsMessage>(m).m);
}

Registry::Registry(const Membership& membership, const Presence& presence, RegistryOptions options)
    : options_(std::move(options)),
      claims_(std::make_unique<ClaimsReplica>(membership.self(), options_.claims)),
      ownership_(std::make_unique<Ownership>(membership, options_, *claims_)),
      registration_(
          std::make_unique<Registration>(membership, presence, options_, *claims_, *ownership_)),
      lifecycle_(std::make_unique<Lifecycle>(membership, presence, options_, *claims_, *ownership_,
                                             *registration_)),
      operator_(
          std::make_unique<OperatorView>(presence, options_, *claims_, *ownership_, *lifecycle_)) {}

Registry::~Registry() = default;

const RegistryOptions& Registry::options() const { return options_; }

void Registry::OnMessage(Time now, const RegistryMessage& m, RegistryOutputs& out) {
  if (const auto* p = std::get_if<RegistryPropose>(&m)) {
    registration_->OnPropose(now, *p, out);
    lifecycle_->Examine(now, p->topic, out);  // reschedules after an abandon
  } else if (const auto* v = std::get_if<RegistryVote>(&m)) {
    if (registration_->OnVote(now, *v, out)) lifecycle_->Examine(now, v->topic, out);
  } else {
    for (const std::string& topic : claims_->OnMessage(now, std::get<ClaimsMessage>(m).m, out))
      lifecycle_->Examine(now, topic, out);
  }
}

void Registry::OnMemberDown(Time now, const NodeId& node, RegistryOutputs& out) {
  operator_->OnMemberDown(now, node);
  claims_->OnMemberDown(now, node, out);
  registration_->OnMemberDown(now, node, out);
  ownership_->CheckMajority(now, out);
  lifecycle_->ExamineAll(now, out);
}

void Registry::OnMemberUp(Time now, const NodeId& node, RegistryOutputs& out) {
  operator_->OnMemberUp(node);
  claims_->OnMemberUp(now, node, out);
  registration_->OnMemberUp(node, out);
  lifecycle_->ExamineAll(now, out);
}

void Registry::OnPresenceChanged(Time now, const std::string& topic, RegistryOutputs& out) {
  lifecycle_->Examine(now, topic, out);
}

void Registry::Tick(Time now, RegistryOutputs& out) {
  const std::set<std::string> due = claims_->Tick(now, out);
  lifecycle_->Tick(now, due, out);
}

Time Registry::NextDeadline() const {
  return std::min(claims_->NextDeadline(), lifecycle_->NextDeadline());
}

void Registry::SetRunning(std::map<std::string, uint64_t> running) {
  ownership_->SetRunning(std::move(running));
}

Status Registry::Resolve(Time now, const std::string& topic, const std::optional<std::string>& keep,
                         ClashPolicy policy, RegistryOutputs& out) {
  std::vector<Claim> visible = claims_->Visible(topic);
  if (visible.size() < 2) return Status::NotFound("no clash on topic '" + topic + "'");
  std::optional<Claim> winner;
  if (keep) {
    for (const Claim& c : visible)
      if (c.owner.name == *keep) winner = c;
    if (!winner)
      return Status::InvalidArgument("'" + *keep + "' does not claim topic '" + topic + "'");
  } else if (policy == ClashPolicy::kManual) {
    return Status::InvalidArgument("the manual policy chooses no winner: name the node to keep");
  } else {
    winner = Winner(topic, visible, policy);
  }
  if (std::optional<uint64_t> own = claims_->OwnEpoch(topic);
      own && winner->owner != claims_->self())
    ownership_->Release(now, topic, *own, "resolve", false, out);
  lifecycle_->Examine(now, topic, out);
  return Status::Ok();
}

std::vector<RegistryZombie> Registry::Zombies(Time now) const { return operator_->Zombies(now); }

std::vector<std::string> Registry::Reap(Time now, const std::string& topic, bool release_own,
                                        RegistryOutputs& out) {
  return operator_->Reap(now, topic, release_own, out);
}

std::optional<Claim> Registry::Owner(const std::string& topic) const {
  std::vector<Claim> visible = claims_->Visible(topic);
  if (visible.empty()) return std::nullopt;
  return Winner(topic, visible, options_.clash_policy);
}

std::optional<Claim> Registry::FollowedOwner(const std::string& topic,
                                             const std::string& following) const {
  std::vector<Claim> visible = claims_->Visible(topic);
  if (visible.size() >= 2 && !following.empty())
    for (const Claim& c : visible)
      if (c.owner.name == following) return c;
  return Owner(topic);
}

std::vector<Claim> Registry::Claims(const std::string& topic) const { return claims_->Of(topic); }

std::set<std::string> Registry::Topics() const { return claims_->Topics(); }

std::vector<std::string> Registry::Clashes() const {
  std::vector<std::string> v;
  for (const std::string& topic : Topics())
    if (claims_->Visible(topic).size() >= 2) v.push_back(topic);
  return v;
}

std::map<std::string, uint64_t> Registry::OwnClaims() const { return claims_->Own(); }

bool Registry::has_majority() const { return ownership_->HasMajority(); }

std::string Registry::WhyNotOwning() const { return ownership_->WhyNotOwning(); }

const char* RegistryEventName(RegistryEvent::Kind kind) {
  using K = RegistryEvent::Kind;
  switch (kind) {
    case K::kRegistered:
      return "registered";
    case K::kReleased:
      return "released";
    case K::kTakeover:
      return "takeover";
    case K::kClash:
      return "clash";
    case K::kClashResolved:
      return "clash-resolved";
    case K::kReapedIdle:
    case K::kReapedOrphan:
    case K::kReapedDeadOwner:
      return "reaped";
    case K::kDenied:
      return "denied";
  }
  return "?";
}

}  // namespace livepoll::core
