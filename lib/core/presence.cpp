#include "core/presence.h"

#include "core/replicated_set_impl.h"

namespace livepoll::core {

template class ReplicatedSet<PresenceEntry>;

}  // namespace livepoll::core
