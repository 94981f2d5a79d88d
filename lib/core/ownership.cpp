#include "core/ownership.h"

#include <vector>

#include "core/claims.h"

namespace livepoll::core {

Ownership::Ownership(const Membership& membership, const RegistryOptions& options,
                     ClaimsReplica& claims)
    : membership_(membership), options_(options), claims_(claims) {}

Ownership::Count Ownership::Majority() const {
  Count c;
  for (const Membership::Member& m : membership_.Members()) {
    if (m.claim.state == MemberState::kLeft) continue;
    ++c.known;
    if (membership_.IsAlive(m.claim.id)) ++c.up;
  }
  c.unmet_seeds = membership_.UnansweredSeeds();
  c.known += c.unmet_seeds;
  return c;
}

bool Ownership::HasMajority() const {
  const Count c = Majority();
  return 2 * c.up > c.known;
}

std::string Ownership::WhyNotOwning() const {
  if (MayOwn()) return "";
  const Count c = Majority();
  std::string why = "partition = majority and this node sees " + std::to_string(c.up) + " of " +
                    std::to_string(c.known) + " members up";
  if (c.unmet_seeds > 0)
    why += " (" + std::to_string(c.unmet_seeds) +
           (c.unmet_seeds == 1 ? " seed has" : " seeds have") + " not answered)";
  return why;
}

bool Ownership::MayOwn() const {
  return options_.partition == PartitionMode::kAvailable || HasMajority();
}

void Ownership::CheckMajority(Time now, RegistryOutputs& out) {
  if (options_.partition != PartitionMode::kMajority || HasMajority()) return;
  for (const auto& [topic, epoch] : claims_.Own())
    Release(now, topic, epoch, "majority-lost", true, out);
  for (const auto& [topic, epoch] : running_) out.stop.push_back({topic, "majority-lost", true});
  running_.clear();
}

void Ownership::Register(Time now, const std::string& topic, uint64_t epoch, RegistryOutputs& out) {
  const std::vector<Claim> replaced = claims_.Of(topic);  // all hidden: their owners are down
  claims_.Add(now, topic, epoch, out);
  out.start.push_back({topic, epoch});
  running_[topic] = epoch;
  out.events.push_back({RegistryEvent::Kind::kRegistered, topic, "epoch " + std::to_string(epoch)});
  for (const Claim& c : replaced)
    out.events.push_back({RegistryEvent::Kind::kTakeover, topic, Describe(c)});
}

void Ownership::Release(Time now, const std::string& topic, uint64_t epoch, const char* why,
                        bool stale, RegistryOutputs& out) {
  claims_.Remove(now, topic, epoch, out);
  out.stop.push_back({topic, why, stale});
  running_.erase(topic);
  out.events.push_back({RegistryEvent::Kind::kReleased, topic, why});
}

void Ownership::ReEpoch(Time now, const std::string& topic, uint64_t old_epoch,
                        RegistryOutputs& out) {
  const uint64_t epoch = claims_.NextEpoch(topic);
  claims_.Replace(now, topic, old_epoch, epoch, out);
  out.start.push_back({topic, epoch});
  running_[topic] = epoch;
  out.events.push_back(
      {RegistryEvent::Kind::kRegistered, topic,
       "epoch " + std::to_string(epoch) + " (re-epoch from " + std::to_string(old_epoch) + ")"});
}

void Ownership::SetRunning(std::map<std::string, uint64_t> running) {
  running_ = std::move(running);
}

bool Ownership::IsOrphan(const std::string& topic, uint64_t poller_epoch) const {
  // Own claims are always visible (this node is never down to itself): an own claim is enough.
  const std::optional<uint64_t> own = claims_.OwnEpoch(topic);
  return !own || *own != poller_epoch;
}

void Ownership::ReapOrphan(const std::string& topic, const char* stop_reason,
                           RegistryOutputs& out) {
  out.stop.push_back({topic, stop_reason, false});
  running_.erase(topic);
  out.events.push_back({RegistryEvent::Kind::kReapedOrphan, topic, "orphan"});
}

void Ownership::StartUnserved(RegistryOutputs& out) {
  for (const auto& [topic, epoch] : claims_.Own()) {
    if (running_.count(topic)) continue;
    out.start.push_back({topic, epoch});
    running_[topic] = epoch;
  }
}

}  // namespace livepoll::core
