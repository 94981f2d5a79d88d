// The msgpack codec of the messages between livepolld nodes: the cluster state machines'
// (membership, presence, registry) and the data plane's (topic updates, snapshot fetches), sent on
// the gossip PUB/SUB and rpc ROUTER/DEALER sockets. The envelope is the client protocol's
// ({v, type, ...}, PROTOCOL.md) plus `cluster`, the cluster's name, so that a frame from another
// cluster sharing a network is refused rather than merged, and `from`, the sending node's name,
// so that fault injection (and a log line) can tell who sent a frame before decoding the rest.
// Because the envelope has `from`, a body field that a struct below calls `from` (a NodeId) is
// `sender` on the wire. PROTOCOL.md, "Cluster messages", lists every type and field.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/peer_message.h"
#include "livepoll/status.h"
#include "proto/codec.h"
#include "proto/messages.h"

namespace livepoll::net {

// The data plane's messages (DataUpdate, SnapshotRequest, SnapshotReply) are the core's
// (core/peer_message.h); an update travels as its client-protocol frame (see DecodeCluster).
using core::DataMessage;
using core::DataUpdate;
using core::SnapshotReply;
using core::SnapshotRequest;

// ---- the admin fan-out (lib/net/admin_fanout.h) ----
// rpc to a member: run this admin command here and answer. `request` is the CLI's request (its
// `id` is the asking node's fan-out id), carried as its admin-protocol frame like an update.
struct AdminCall {
  core::NodeId from;
  proto::AdminRequest request;
};
// rpc back: this node's answer (`reply.id` is the call's `request.id`).
struct AdminAnswer {
  core::NodeId from;
  proto::AdminReply reply;
};
using AdminMessage = std::variant<AdminCall, AdminAnswer>;

using ClusterMessage = std::variant<core::MembershipMessage, core::PresenceMessage,
                                    core::RegistryMessage, DataMessage, AdminMessage>;

// A decoded frame: who sent it (the envelope's `from`) and what.
struct ClusterFrame {
  std::string from;
  ClusterMessage message;
};

// `from` is this node's name.
std::string EncodeCluster(const std::string& cluster, const std::string& from,
                          const core::PeerMessage& m);
std::string EncodeCluster(const std::string& cluster, const std::string& from,
                          const AdminMessage& m);

// Errors: Malformed (bytes, shape, fields), Incompatible (another protocol version, or a frame
// of another cluster: the message names it), InvalidArgument (an unknown type).
// The cluster is checked first, so a foreign frame is Incompatible whatever else is wrong with it.
// An update travels as its client-protocol frame (proto::Encode) in a bin field and is decoded by
// proto::Decode: an embedded frame of another version is Incompatible; one that is not msgpack,
// not an update, or of an unknown client type is Malformed (the cluster type itself is known).
// Never throws; any input, however hostile, gets an answer.
Result<ClusterFrame> DecodeCluster(std::string_view bytes, const std::string& cluster);

// The tables the codec encodes and decodes with: every cluster message type with its fields, in
// the order of ClusterMessage's alternatives, and the shapes repeated inside them (node,
// member_claim, presence_entry, claim_entry). PROTOCOL.md's tables are checked against them.
std::vector<proto::WireTable> ClusterMessageTables();
std::vector<proto::WireTable> ClusterShapeTables();

// The gossip channel of `topic`'s updates: a prefix no other topic's channel starts with (a
// ZeroMQ subscription matches prefixes), and never the cluster channel "c".
//
// It is 't' + topic + NUL. 't', not 'c': a SUB subscribed to "c" receives every frame whose first
// frame starts with 'c', so no topic channel may start with it (and "c" cannot start with 't').
// The NUL terminator makes channels prefix-free: if channel A were a proper prefix of channel B,
// A's NUL would be a NUL inside B's topic. A topic made by core::MakeTopic never holds one: it
// percent-encodes every byte below 0x21 in keys and values and refuses them in the query name. So
// that the guarantee does not rest on that, a NUL in `topic` is written 0x01 0x01 and a 0x01 (the
// escape) 0x01 0x02: for any string the channel is injective and prefix-free, and for every real
// topic it is exactly 't' + topic + NUL, readable in a capture.
std::string TopicChannel(const std::string& topic);

}  // namespace livepoll::net
