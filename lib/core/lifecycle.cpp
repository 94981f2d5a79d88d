#include "core/lifecycle.h"

#include <algorithm>
#include <vector>

#include "core/claims.h"
#include "core/ownership.h"
#include "core/placement.h"
#include "core/registration.h"
#include "livepoll/strings.h"

namespace livepoll::core {

Lifecycle::Lifecycle(const Membership& membership, const Presence& presence,
                     const RegistryOptions& options, ClaimsReplica& claims, Ownership& ownership,
                     Registration& registration)
    : membership_(membership),
      presence_(presence),
      options_(options),
      claims_(claims),
      ownership_(ownership),
      registration_(registration) {}

void Lifecycle::Examine(Time now, const std::string& topic, RegistryOutputs& out) {
  TopicState& t = topics_[topic];
  Epochs& e = claims_.EpochsOf(topic);
  const size_t subscribers = presence_.SubscriberCount(topic);
  std::vector<Claim> visible;
  std::optional<uint64_t> own;
  for (const Claim& c : claims_.Of(topic)) {
    e.Note(c.epoch, c.owner);
    if (c.visible) visible.push_back(c);
    if (c.owner == self()) own = c.epoch;
  }
  const std::optional<Time> granted_until = registration_.GrantHeld(now, topic);
  bool reepoch_waits = false;  // superseded, but a rival may still claim the topic

  if (subscribers > 0) {
    t.empty_since.reset();
  } else if (!t.empty_since) {
    t.empty_since = now;
  }
  const bool clash = visible.size() >= 2;
  if (clash && !t.clash) {
    out.events.push_back({RegistryEvent::Kind::kClash, topic, Join(visible, ", ", Describe)});
    t.clash_since = now;
  } else if (!clash && t.clash) {
    out.events.push_back({RegistryEvent::Kind::kClashResolved, topic,
                          visible.empty() ? "no owner left" : "kept " + Describe(visible[0])});
  }
  t.clash = clash;

  if (own) {
    const char* release = nullptr;
    if (t.empty_since && now >= *t.empty_since + options_.linger) {
      release = "teardown";
    } else if (clash && options_.clash_policy != ClashPolicy::kManual &&
               Winner(topic, visible, options_.clash_policy).owner != self()) {
      release = "clash";
    }
    if (release) {
      ownership_.Release(now, topic, *own, release, false, out);
      std::erase_if(visible, [&](const Claim& c) { return c.owner == self(); });
      own.reset();
    } else if (visible.size() == 1 && e.Superseded(self(), *own)) {
      if (UnsettledRival(topic, e, self())) {
        reepoch_waits = true;
      } else {
        ownership_.ReEpoch(now, topic, *own, out);
      }
    }
  }

  const bool ownerless = subscribers > 0 && visible.empty();
  if (!ownerless) {
    t.ownerless_since.reset();
    registration_.Withdraw(topic);  // someone owns it now, or nobody needs it
  } else if (!t.ownerless_since) {
    t.ownerless_since = now;
  }
  if (registration_.Pending(topic) && !ownership_.MayOwn()) registration_.Withdraw(topic);

  std::optional<Time> wake;
  auto wake_at = [&](Time at) { wake = wake ? std::min(*wake, at) : at; };
  if (visible.size() == 1 && visible[0].owner != self() &&
      e.Superseded(visible[0].owner, visible[0].epoch)) {
    // An epoch notice: the sole owner is to re-epoch above what this node has seen; but not while
    // the claimant of that epoch may still hold it (then it is a clash to come, not history).
    if (UnsettledRival(topic, e, visible[0].owner)) {
      wake_at(now + options_.propose_retry);
    } else if (now >= t.notice_at) {
      out.sends.emplace_back(visible[0].owner, RegistryVote{self(), 0, topic, false,
                                                            e.Other(visible[0].owner), e.claimed});
      t.notice_at = now + options_.propose_retry;
    }
    if (now < t.notice_at) wake_at(t.notice_at);
  }
  if (std::optional<Time> resend = registration_.Resend(now, topic, out)) {
    wake_at(*resend);
  } else if (ownerless && ownership_.MayOwn() && granted_until) {
    wake_at(*granted_until);  // granted to another, who is on it
  } else if (ownerless && ownership_.MayOwn()) {
    if (std::optional<size_t> rank = Rank(topic)) {
      // The candidate at rank k proposes once the topic has been ownerless for k takeovers.
      const Time due =
          std::max(registration_.RetryAt(topic),
                   *t.ownerless_since + static_cast<int64_t>(*rank) * options_.takeover_timeout);
      if (now >= due) {
        if (std::optional<Time> resend = registration_.Propose(now, topic, out)) wake_at(*resend);
      } else {
        wake_at(due);
      }
    }
  }
  if (own && t.empty_since) wake_at(*t.empty_since + options_.linger);
  // The rival's transfer, or its release, re-examines the topic when it changes the topic's
  // claims; a transfer that only brings the rival in step does not, hence this wakeup.
  if (reepoch_waits) wake_at(now + options_.propose_retry);
  Schedule(topic, t, wake);

  // Nothing left to remember but the epochs: forget the topic.
  if (subscribers == 0 && registration_.Idle(topic) && !t.wake && !claims_.Holds(topic) &&
      !ownership_.Runs(topic)) {
    registration_.Forget(topic);
    topics_.erase(topic);
  }
}

void Lifecycle::ExamineAll(Time now, RegistryOutputs& out) {
  for (const std::string& topic : AllTopics()) Examine(now, topic, out);
}

void Lifecycle::Tick(Time now, const std::set<std::string>& due, RegistryOutputs& out) {
  if (now >= next_sweep_) {
    next_sweep_ = now + options_.sweep_interval;
    ownership_.CheckMajority(now, out);
    Sweep(now, out);
    ExamineAll(now, out);
    return;
  }
  std::set<std::string> topics = due;
  for (auto it = wakeups_.begin(); it != wakeups_.end() && it->first <= now; ++it)
    topics.insert(it->second);
  for (const std::string& topic : topics) Examine(now, topic, out);
}

Time Lifecycle::NextDeadline() const {
  Time next = next_sweep_;
  if (!wakeups_.empty()) next = std::min(next, wakeups_.begin()->first);
  return next;
}

std::optional<Duration> Lifecycle::EmptyFor(Time now, const std::string& topic) const {
  if (presence_.SubscriberCount(topic) > 0) return std::nullopt;
  auto it = topics_.find(topic);
  if (it == topics_.end() || !it->second.empty_since) return std::nullopt;
  return now - *it->second.empty_since;
}

std::optional<Time> Lifecycle::ClashSince(const std::string& topic) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || !it->second.clash) return std::nullopt;
  return it->second.clash_since;
}

std::optional<NodeId> Lifecycle::UnsettledRival(const std::string& topic, const Epochs& e,
                                                const NodeId& owner) const {
  std::set<NodeId> rivals = e.claimants;
  for (const Claim& c : claims_.Hidden(topic)) rivals.insert(c.owner);
  // A rival this node holds in step (itself included) has shown what it claims: a visible claim
  // (a clash, which the policy resolves) or none (history). One that is down cannot be waited
  // for: its claim is history unless it comes back, and then it is a clash again.
  for (const NodeId& r : rivals)
    if (r != owner && !r.name.empty() && membership_.IsAlive(r) && !claims_.InStep(r)) return r;
  return std::nullopt;
}

std::optional<size_t> Lifecycle::Rank(const std::string& topic) const {
  // A node whose catalog lacks the topic's query is no candidate of its own: it would register
  // and then not poll (its subscribers' nodes wait for the next candidate instead).
  if (options_.can_poll && !options_.can_poll(topic)) return std::nullopt;
  std::vector<std::string> names;
  std::map<std::string, size_t> local;
  if (options_.placement == Placement::kLocal) local = presence_.SubscribersByNode(topic);
  for (const NodeId& id : membership_.Alive())
    if (options_.placement == Placement::kHashed || local.count(id.name)) names.push_back(id.name);
  std::vector<std::string> order = RendezvousOrder(topic, std::move(names));
  auto it = std::find(order.begin(), order.end(), self().name);
  if (it == order.end()) return std::nullopt;
  return static_cast<size_t>(it - order.begin());
}

std::set<std::string> Lifecycle::AllTopics() const {
  std::set<std::string> all = claims_.Topics();
  for (const auto& [topic, t] : topics_) all.insert(topic);
  for (const std::string& topic : presence_.Topics()) all.insert(topic);
  for (const auto& [topic, epoch] : ownership_.running()) all.insert(topic);
  return all;
}

void Lifecycle::Schedule(const std::string& topic, TopicState& t, std::optional<Time> when) {
  if (t.wake == when) return;
  if (t.wake) wakeups_.erase({*t.wake, topic});
  t.wake = when;
  if (when) wakeups_.insert({*when, topic});
}

void Lifecycle::Sweep(Time now, RegistryOutputs& out) {
  // Idle here is a teardown this node is late for by reap_margin: the operator's view reports it
  // sooner (zombies.cpp), but only this much lateness is counted and reaped as a zombie.
  const Duration idle_after = options_.linger + options_.reap_margin;
  auto idle = [&](const std::string& topic) {
    const std::optional<Duration> empty = EmptyFor(now, topic);
    return empty && *empty >= idle_after;
  };
  for (const auto& [topic, epoch] : claims_.Own()) {
    if (!idle(topic)) continue;
    ownership_.Release(now, topic, epoch, "idle", false, out);
    out.events.push_back({RegistryEvent::Kind::kReapedIdle, topic, "idle"});
  }
  const std::map<std::string, uint64_t> running = ownership_.running();
  for (const auto& [topic, epoch] : running)
    if (ownership_.IsOrphan(topic, epoch)) ownership_.ReapOrphan(topic, "orphan", out);
  ownership_.StartUnserved(out);
  // Unlike the operator's view and Reap, the sweep does not ask whether someone took the topic
  // over: once it has been idle this long, no claim of a down owner is wanted, whatever else
  // claims it.
  for (const std::string& topic : claims_.Topics())
    if (idle(topic)) claims_.ReapDeadOwners(claims_.Hidden(topic), out);
}

}  // namespace livepoll::core
