// The msgpack codec of the cluster's messages (membership and presence), sent between livepolld
// nodes on the gossip PUB/SUB and rpc ROUTER/DEALER sockets. The envelope is the client
// protocol's ({v, type, ...}, PROTOCOL.md) plus `cluster`, the cluster's name, so that a frame
// from another cluster sharing a network is refused rather than merged.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "core/membership.h"
#include "core/presence.h"
#include "livepoll/status.h"

namespace livepoll::net {

using ClusterMessage = std::variant<core::MembershipMessage, core::PresenceMessage>;

std::string EncodeCluster(const std::string& cluster, const core::MembershipMessage& m);
std::string EncodeCluster(const std::string& cluster, const core::PresenceMessage& m);

// Errors: Malformed (bytes, shape, fields), Incompatible (another protocol version, or a frame
// of another cluster: the message names it), InvalidArgument (an unknown type).
Result<ClusterMessage> DecodeCluster(std::string_view bytes, const std::string& cluster);

}  // namespace livepoll::net
