// What a peer may make this node hold or count: the checks of a decoded PeerMessage's numbers
// before any state machine sees it.
//
// Epochs, seqs, versions and incarnations only grow by one at a time (an incarnation is the
// start's wall-clock microseconds), so an honest node never comes near 2^63 of any. A value above
// kMaxCounter is a peer's bug or an attack: taken, an epoch of 2^64-1 makes the topic's next one
// wrap to 0 (every later claim is then "older" and the topic is dead until restart), and a
// version of 2^64-1 can never be passed by the node's real next one. Such a message is refused
// whole (Node counts it in cluster_frames_refused) rather than clamped: no part of it is trusted.
// So is a presence entry whose key or meta is over its bound (presence.h: kMaxPresenceKeyBytes,
// kMaxPresenceMetaBytes): what one client says of itself is held by every node.
#pragma once

#include <cstdint>

#include "core/peer_message.h"

namespace livepoll::core {

inline constexpr uint64_t kMaxCounter = uint64_t{1} << 63;

// True when every epoch, seq, version and incarnation in `m` is at most kMaxCounter, and every
// presence entry in it within the presence bounds.
bool WithinPeerLimits(const PeerMessage& m);

}  // namespace livepoll::core
