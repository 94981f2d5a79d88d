#include "core/peer_limits.h"

#include <type_traits>

namespace livepoll::core {
namespace {

bool Ok(uint64_t v) { return v <= kMaxCounter; }
bool Ok(const NodeId& n) { return Ok(n.incarnation); }
bool Ok(const MemberClaim& c) { return Ok(c.id) && Ok(c.version); }
bool Ok(const PresenceEntry& e) { return Ok(e.ref) && PresenceWithinBounds(e); }
bool Ok(const ClaimEntry& e) { return Ok(e.epoch); }
bool Ok(const proto::Update& u) { return Ok(u.epoch) && Ok(u.seq) && Ok(u.owner_session); }
template <typename T>
bool Ok(const std::vector<T>& v) {
  for (const T& x : v)
    if (!Ok(x)) return false;
  return true;
}
template <typename T>
bool Ok(const std::optional<T>& v) {
  return !v || Ok(*v);
}

bool Check(const Heartbeat& m) { return Ok(m.self) && Ok(m.members); }
bool Check(const JoinRequest& m) { return Ok(m.self); }
bool Check(const JoinReply& m) { return Ok(m.from) && Ok(m.members); }
bool Check(const ProbeRequest& m) { return Ok(m.from) && Ok(m.target); }
bool Check(const ProbeReply& m) { return Ok(m.from) && Ok(m.target); }
bool Check(const LeaveNotice& m) { return Ok(m.from); }
bool Check(const SyncRequest& m) { return Ok(m.self); }
bool Check(const SyncReply& m) { return Ok(m.from) && Ok(m.members); }
template <typename E>
bool Check(const ReplicaDelta<E>& m) {
  return Ok(m.origin) && Ok(m.from_version) && Ok(m.to_version) && Ok(m.joins) && Ok(m.leaves);
}
bool Check(const ReplicaClock& m) { return Ok(m.origin) && Ok(m.version); }
bool Check(const ReplicaTransferRequest& m) { return Ok(m.from); }
template <typename E>
bool Check(const ReplicaTransfer<E>& m) {
  return Ok(m.origin) && Ok(m.version) && Ok(m.entries);
}
bool Check(const RegistryPropose& m) { return Ok(m.from) && Ok(m.epoch); }
bool Check(const RegistryVote& m) { return Ok(m.from) && Ok(m.owner) && Ok(m.owner_epoch); }
bool Check(const ClaimsMessage& m) {
  return std::visit([](const auto& x) { return Check(x); }, m.m);
}
bool Check(const DataUpdate& m) { return Ok(m.update); }
bool Check(const SnapshotRequest& m) { return Ok(m.from); }
bool Check(const SnapshotReply& m) { return Ok(m.from) && Ok(m.update); }
template <typename... Ts>
bool Check(const std::variant<Ts...>& v) {
  return std::visit([](const auto& x) { return Check(x); }, v);
}

}  // namespace

bool WithinPeerLimits(const PeerMessage& m) { return Check(m); }

}  // namespace livepoll::core
