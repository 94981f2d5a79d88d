#include "core/presence.h"

#include "core/replicated_set_impl.h"

namespace livepoll::core {

template class ReplicatedSet<PresenceEntry>;

Status CheckPresenceMeta(const PresenceMeta& p) {
  if (p.key.empty()) return Status::InvalidArgument("a presence needs a key");
  if (p.key.size() > kMaxPresenceKeyBytes)
    return Status::InvalidArgument("the presence key is " + std::to_string(p.key.size()) +
                                   " bytes, over " + std::to_string(kMaxPresenceKeyBytes));
  if (p.meta.size() > kMaxPresenceMetaBytes)
    return Status::InvalidArgument("the presence meta is " + std::to_string(p.meta.size()) +
                                   " bytes, over " + std::to_string(kMaxPresenceMetaBytes));
  return Status::Ok();
}

std::string PresenceRef(const NodeId& origin, const PresenceEntry& e) {
  return origin.name + "." + std::to_string(origin.incarnation) + "." + std::to_string(e.ref);
}

bool PresenceWithinBounds(const PresenceEntry& e) {
  return e.key.size() <= kMaxPresenceKeyBytes && e.meta.size() <= kMaxPresenceMetaBytes;
}

}  // namespace livepoll::core
