#include "core/zombies.h"

#include <algorithm>
#include <optional>

#include "core/claims.h"
#include "core/lifecycle.h"
#include "core/ownership.h"
#include "livepoll/duration.h"
#include "livepoll/strings.h"

namespace livepoll::core {
OperatorView::OperatorView(const Presence& presence, const RegistryOptions& options,
                           ClaimsReplica& claims, Ownership& ownership, Lifecycle& lifecycle)
    : presence_(presence),
      options_(options),
      claims_(claims),
      ownership_(ownership),
      lifecycle_(lifecycle) {}

void OperatorView::OnMemberDown(Time now, const NodeId& node) {
  down_since_.emplace(node.name, now);
}

void OperatorView::OnMemberUp(const NodeId& node) { down_since_.erase(node.name); }

std::vector<RegistryZombie> OperatorView::Zombies(Time now) const {
  std::vector<RegistryZombie> zombies;
  const std::string& self = claims_.self().name;
  const std::map<std::string, uint64_t> own = claims_.Own();
  for (const auto& [topic, epoch] : own) {
    // Reported as soon as its teardown is overdue (due at linger, and every topic is examined at
    // least every sweep_interval); the sweep waits reap_margin before it counts and reaps one.
    const std::optional<Duration> empty = lifecycle_.EmptyFor(now, topic);
    if (!empty || *empty <= options_.linger + options_.sweep_interval) continue;
    zombies.push_back({topic, "idle", self, *empty,
                       "no subscriber anywhere for " + HumanDuration(*empty) + " (linger " +
                           HumanDuration(options_.linger) + "), claim epoch " +
                           std::to_string(epoch)});
  }
  for (const auto& [topic, epoch] : ownership_.running()) {
    if (!ownership_.IsOrphan(topic, epoch)) continue;
    auto claim = own.find(topic);
    zombies.push_back(
        {topic, "orphan", self, std::nullopt,
         "poller at epoch " + std::to_string(epoch) + ", " +
             (claim == own.end() ? std::string("no own claim")
                                 : "own claim at epoch " + std::to_string(claim->second))});
  }
  for (const std::string& topic : claims_.Topics()) {
    std::vector<Claim> visible = claims_.Visible(topic);
    if (visible.size() >= 2) {
      const Claim keep = Winner(topic, visible, options_.clash_policy);
      std::sort(visible.begin(), visible.end(), [](const Claim& a, const Claim& b) {
        return Wins(a.epoch, a.owner.name, b.epoch, b.owner.name);
      });
      const std::string claims = Join(visible, ",", [](const Claim& c) {
        return c.owner.name + "@" + std::to_string(c.epoch);
      });
      std::optional<Duration> age;
      if (std::optional<Time> since = lifecycle_.ClashSince(topic)) age = now - *since;
      for (const Claim& c : visible) {
        if (c.owner == keep.owner) continue;
        zombies.push_back({topic, "clash", c.owner.name, age,
                           "claims " + claims + " (clash_policy " +
                               ClashPolicyName(options_.clash_policy) + ")"});
      }
    }
    const size_t subscribers = presence_.SubscriberCount(topic);
    for (const Claim& c : claims_.DeadOwnerClaims(topic)) {
      auto down = down_since_.find(c.owner.name);
      std::optional<Duration> age;
      if (down != down_since_.end()) age = now - down->second;
      // Reported earlier than the sweep reaps (only once the topic is idle): at once when nobody
      // subscribes, and, with subscribers, once a takeover is overdue (2 takeover_timeouts after
      // the owner went down) — the case the sweep never reaps and only an operator can settle.
      if (subscribers > 0 && (!age || *age <= 2 * options_.takeover_timeout)) continue;
      zombies.push_back(
          {topic, "dead-owner", c.owner.name, age,
           "owner down, claim epoch " + std::to_string(c.epoch) + ", " +
               (subscribers ? std::to_string(subscribers) + " subscriber(s) and nobody took over"
                            : std::string("no subscriber anywhere"))});
    }
  }
  return zombies;
}

std::vector<std::string> OperatorView::Reap(Time now, const std::string& topic, bool release_own,
                                            RegistryOutputs& out) {
  std::vector<std::string> done;
  const std::optional<uint64_t> own = claims_.OwnEpoch(topic);
  auto running = ownership_.running().find(topic);
  if (running != ownership_.running().end() && ownership_.IsOrphan(topic, running->second)) {
    done.push_back("stopped an orphan poller at epoch " + std::to_string(running->second));
    ownership_.ReapOrphan(topic, "reap", out);
  }
  for (const Claim& c : claims_.ReapDeadOwners(claims_.DeadOwnerClaims(topic), out))
    done.push_back("dropped the claim of down owner " + c.owner.name + " at epoch " +
                   std::to_string(c.epoch));
  if (own && release_own) {
    ownership_.Release(now, topic, *own, "reap", false, out);
    done.push_back("released its claim at epoch " + std::to_string(*own) +
                   " and stopped its poller");
  }
  if (!done.empty()) lifecycle_.Examine(now, topic, out);
  return done;
}

}  // namespace livepoll::core
