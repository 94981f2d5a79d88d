// Every cluster message is described once, below, by a table (proto/schema.h): its wire type and
// its fields in order, each with its key, its codec and its struct member. The tables encode,
// decode and list the messages (ClusterMessageTables); PROTOCOL.md is checked against the list.
//
// To add a message: add its struct to its group's variant (core/*.h, or cluster_codec.h), then a
// MessageType for it at the same place in that group's Variant below:
//
//   MessageType<core::ProbeRequest>("m.probe",
//       Field("sender",   kNode, &core::ProbeRequest::from),
//       Field("probe_id", kUint, &core::ProbeRequest::probe_id)),
//
// (the build fails while a variant's alternatives and its table disagree), and a row to the table
// of its group in PROTOCOL.md (protocol_doc_test names what is missing there). A body field naming
// the node a message comes from is `sender` where the struct says `from`: `from` is the envelope's.
#include "net/cluster_codec.h"

#include <array>
#include <string_view>

#include "proto/codec.h"
#include "proto/schema.h"

namespace livepoll::net {
namespace {

using namespace proto::schema;
using core::ClaimEntry;
using core::MemberClaim;
using core::NodeId;
using core::PresenceEntry;

// ------------------------------------------------------------------------------------ shapes
// Compact arrays for the shapes repeated inside messages; maps for the message bodies.

// clang-format off
constexpr auto kNode = Tuple<NodeId>("node",
    Field("name",            kStr,  &NodeId::name),
    Field("incarnation",     kUint, &NodeId::incarnation));
constexpr auto kMemberClaim = Tuple<MemberClaim>("member_claim",
    Field("name",            kStr,  &MemberClaim::id, &NodeId::name),
    Field("incarnation",     kUint, &MemberClaim::id, &NodeId::incarnation),
    Field("gossip_endpoint", kStr,  &MemberClaim::gossip_endpoint),
    Field("rpc_endpoint",    kStr,  &MemberClaim::rpc_endpoint),
    Field("state",           UintEnum(core::MemberState::kLeft), &MemberClaim::state),
    Field("version",         kUint, &MemberClaim::version));
// The entries of the two replicated sets (core/replicated_set.h): presence, the registry's claims.
// A presence entry's key, meta and ref are there only for a subscriber that joined with presence.
constexpr auto kPresenceEntry = Tuple<PresenceEntry>("presence_entry",
    Field("topic",           kStr,  &PresenceEntry::topic),
    Field("subscriber",      kUint, &PresenceEntry::subscriber),
    Field("key",             kStr,  &PresenceEntry::key).Optional(),
    Field("meta",            kStr,  &PresenceEntry::meta).Optional(),
    Field("ref",             kUint, &PresenceEntry::ref).Optional());
constexpr auto kClaimEntry = Tuple<ClaimEntry>("claim_entry",
    Field("topic",           kStr,  &ClaimEntry::topic),
    Field("epoch",           kUint, &ClaimEntry::epoch));
// clang-format on

// An update travels as its client-protocol frame (proto::Encode) in a bin: its shape is defined
// once (PROTOCOL.md, `update`) and checked by the client codec's bounds-checked decoder, and the
// bytes are the ones a node sends its clients. An admin request or reply travels the same way.
//
// Reading one, its protocol version is checked again (Incompatible, like the envelope's); anything
// else wrong with it, another message type included, is this frame's shape being wrong:
// Malformed, not the unknown-type InvalidArgument.
template <typename T>  // an alternative of proto::Message
struct EmbeddedCodec {
  using Value = T;

  void Pack(Packer& p, const T& v) const {
    const std::string bytes = proto::Encode(proto::Message(v));
    p.pack_bin(static_cast<uint32_t>(bytes.size()));
    p.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
  }
  Status Read(const msgpack::object& o, T* out) const {
    if (o.type != msgpack::type::BIN) return NotA("an " + Name() + " (bin)");
    Result<proto::Message> m = proto::Decode(std::string_view(o.via.bin.ptr, o.via.bin.size));
    if (!m.ok()) {
      if (m.status().code() == Status::Code::kIncompatible) return m.status();
      return Status::Malformed(m.status().message());
    }
    auto* v = std::get_if<T>(&*m);
    if (v == nullptr)
      return Status::Malformed("holds a '" + std::string(proto::MessageTypeName(*m)) +
                               "', not an " + Name());
    *out = std::move(*v);
    return Status::Ok();
  }
  std::string Name() const {
    return "embedded " + std::string(proto::MessageTypeName(proto::Message(T{})));
  }
};
constexpr EmbeddedCodec<proto::Update> kUpdate;
constexpr EmbeddedCodec<proto::AdminRequest> kAdminRequest;
constexpr EmbeddedCodec<proto::AdminReply> kAdminReply;

// ------------------------------------------------------------------------------------ messages
// Each group in its variant's order.

// clang-format off
constexpr auto kMembership = Variant<core::MembershipMessage>(
    MessageType<core::Heartbeat>("m.heartbeat",
        Field("self",        kMemberClaim,          &core::Heartbeat::self),
        Field("members",     ArrayOf(kMemberClaim), &core::Heartbeat::members),
        Field("digest",      kUint,                 &core::Heartbeat::digest).Optional()),
    MessageType<core::JoinRequest>("m.join",
        Field("self",        kMemberClaim,          &core::JoinRequest::self),
        Field("seed",        kStr,                  &core::JoinRequest::seed).Optional()),
    MessageType<core::JoinReply>("m.join_reply",
        Field("sender",      kNode,                 &core::JoinReply::from),
        Field("accepted",    kBool,                 &core::JoinReply::accepted),
        Field("reason",      kStr,                  &core::JoinReply::reason),
        Field("members",     ArrayOf(kMemberClaim), &core::JoinReply::members),
        Field("seed",        kStr,                  &core::JoinReply::seed).Optional()),
    MessageType<core::ProbeRequest>("m.probe",
        Field("sender",      kNode,                 &core::ProbeRequest::from),
        Field("target",      kNode,                 &core::ProbeRequest::target),
        Field("probe_id",    kUint,                 &core::ProbeRequest::probe_id)),
    MessageType<core::ProbeReply>("m.probe_reply",
        Field("sender",      kNode,                 &core::ProbeReply::from),
        Field("target",      kNode,                 &core::ProbeReply::target),
        Field("probe_id",    kUint,                 &core::ProbeReply::probe_id),
        Field("heard",       kBool,                 &core::ProbeReply::heard)),
    MessageType<core::LeaveNotice>("m.leave",
        Field("sender",      kNode,                 &core::LeaveNotice::from)),
    MessageType<core::SyncRequest>("m.sync_request",
        Field("self",        kMemberClaim,          &core::SyncRequest::self),
        Field("digest",      kUint,                 &core::SyncRequest::digest)),
    MessageType<core::SyncReply>("m.sync",
        Field("sender",      kNode,                 &core::SyncReply::from),
        Field("members",     ArrayOf(kMemberClaim), &core::SyncReply::members)));

// The messages of one core::ReplicatedSet (replicated_set.h), whatever its entry: `types` are
// their wire names in core::ReplicaMessage's order, `entry` the entry's shape. Presence and the
// registry's claims have the same bodies but for their entries; only the prefix of the type tells
// which replica a frame feeds.
template <typename EntryShape>
consteval auto Replication(const std::array<std::string_view, 4>& types, EntryShape entry) {
  using Entry = typename EntryShape::Value;
  using Delta = core::ReplicaDelta<Entry>;
  using Transfer = core::ReplicaTransfer<Entry>;
  using core::ReplicaClock, core::ReplicaTransferRequest;
  return Variant<core::ReplicaMessage<Entry>>(
      MessageType<Delta>(types[0],
          Field("origin",       kNode,          &Delta::origin),
          Field("from_version", kUint,          &Delta::from_version),
          Field("to_version",   kUint,          &Delta::to_version),
          Field("joins",        ArrayOf(entry), &Delta::joins),
          Field("leaves",       ArrayOf(entry), &Delta::leaves)),
      MessageType<ReplicaClock>(types[1],
          Field("origin",       kNode,          &ReplicaClock::origin),
          Field("version",      kUint,          &ReplicaClock::version)),
      MessageType<ReplicaTransferRequest>(types[2],
          Field("sender",       kNode,          &ReplicaTransferRequest::from)),
      MessageType<Transfer>(types[3],
          Field("origin",       kNode,          &Transfer::origin),
          Field("version",      kUint,          &Transfer::version),
          Field("entries",      ArrayOf(entry), &Transfer::entries)));
}

constexpr auto kPresence =
    Replication({"p.delta", "p.clock", "p.transfer_request", "p.transfer"}, kPresenceEntry);

constexpr auto kRegistry = Variant<core::RegistryMessage>(
    MessageType<core::RegistryPropose>("r.propose",
        Field("sender",      kNode,                 &core::RegistryPropose::from),
        Field("proposal_id", kUint,                 &core::RegistryPropose::proposal_id),
        Field("topic",       kStr,                  &core::RegistryPropose::topic),
        Field("epoch",       kUint,                 &core::RegistryPropose::epoch)),
    MessageType<core::RegistryVote>("r.vote",
        Field("sender",      kNode,                 &core::RegistryVote::from),
        Field("proposal_id", kUint,                 &core::RegistryVote::proposal_id),
        Field("topic",       kStr,                  &core::RegistryVote::topic),
        Field("granted",     kBool,                 &core::RegistryVote::granted),
        Field("owner",       kNode,                 &core::RegistryVote::owner),
        Field("owner_epoch", kUint,                 &core::RegistryVote::owner_epoch)),
    Inside(&core::ClaimsMessage::m,
        Replication({"r.delta", "r.clock", "r.transfer_request", "r.transfer"}, kClaimEntry)));

constexpr auto kData = Variant<DataMessage>(
    MessageType<DataUpdate>("d.update",
        Field("update",      kUpdate,               &DataUpdate::update)),
    MessageType<SnapshotRequest>("d.snapshot_request",
        Field("sender",      kNode,                 &SnapshotRequest::from),
        Field("topic",       kStr,                  &SnapshotRequest::topic)),
    MessageType<SnapshotReply>("d.snapshot_reply",
        Field("sender",      kNode,                 &SnapshotReply::from),
        Field("topic",       kStr,                  &SnapshotReply::topic),
        // nil: no state yet. The key is always there, so a missing one is malformed.
        Field("update",      NilOr(kUpdate),        &SnapshotReply::update)));

constexpr auto kAdmin = Variant<AdminMessage>(
    MessageType<AdminCall>("a.request",
        Field("sender",      kNode,                 &AdminCall::from),
        Field("request",     kAdminRequest,         &AdminCall::request)),
    MessageType<AdminAnswer>("a.reply",
        Field("sender",      kNode,                 &AdminAnswer::from),
        Field("reply",       kAdminReply,           &AdminAnswer::reply)));
// clang-format on

// Every cluster message, by ClusterMessage's groups.
constexpr auto kClusterMessages =
    Variant<ClusterMessage>(kMembership, kPresence, kRegistry, kData, kAdmin);

// ------------------------------------------------------------------------------------ envelope

// {v, type, cluster, from, ...body}
struct ClusterEnvelope {
  const std::string& cluster;
  const std::string& from;

  void Begin(Packer& p, std::string_view type, uint32_t body_fields) const {
    proto::wire::PackEnvelope(p, type, body_fields + 2);
    proto::wire::PackStr(p, "cluster");
    proto::wire::PackStr(p, cluster);
    proto::wire::PackStr(p, "from");
    proto::wire::PackStr(p, from);
  }
};

template <typename Group>
std::string Encode(const std::string& cluster, const std::string& from, const Group& m) {
  msgpack::sbuffer buf;
  Packer p(buf);
  kClusterMessages.Of<Group>().Encode(p, m, ClusterEnvelope{cluster, from});
  return std::string(buf.data(), buf.size());
}

}  // namespace

std::string EncodeCluster(const std::string& cluster, const std::string& from,
                          const core::PeerMessage& m) {
  return std::visit([&](const auto& group) { return Encode(cluster, from, group); }, m);
}

std::string EncodeCluster(const std::string& cluster, const std::string& from,
                          const AdminMessage& m) {
  return Encode(cluster, from, m);
}

Result<ClusterFrame> DecodeCluster(std::string_view bytes, const std::string& cluster) {
  Result<proto::wire::Envelope> env = proto::wire::OpenEnvelope(bytes);
  if (!env.ok()) return env.status();
  proto::wire::Fields f = env->fields();
  // The cluster first: a foreign frame is refused as foreign whatever else is wrong with it.
  std::string theirs;
  if (Status s = f.Str("cluster", &theirs); !s.ok()) return s;
  if (theirs != cluster)
    return Status::Incompatible("a frame of cluster '" + theirs + "', this node is in '" + cluster +
                                "'");
  ClusterFrame frame{{}, core::MembershipMessage{}};
  if (Status s = f.Str("from", &frame.from); !s.ok()) return s;
  try {
    std::optional<Result<ClusterMessage>> m = kClusterMessages.Decode(env->type, f);
    if (!m) return Status::InvalidArgument("unknown cluster message type '" + env->type + "'");
    if (!m->ok()) return m->status();
    frame.message = std::move(*m).value();
    return frame;
  } catch (const std::exception& e) {  // allocation failure on a huge but legal frame
    return Status::Malformed(std::string("cannot decode: ") + e.what());
  }
}

std::vector<proto::WireTable> ClusterMessageTables() { return Tables(kClusterMessages); }

std::vector<proto::WireTable> ClusterShapeTables() {
  return {kNode.Info(), kMemberClaim.Info(), kPresenceEntry.Info(), kClaimEntry.Info()};
}

std::string TopicChannel(const std::string& topic) {
  std::string out;
  out.reserve(topic.size() + 2);
  out += 't';
  for (char c : topic) {
    // Escapes keep the NUL terminator unique (see the header); 0x01 is the escape itself.
    if (c == '\0') {
      out += '\x01';
      out += '\x01';
    } else if (c == '\x01') {
      out += '\x01';
      out += '\x02';
    } else {
      out += c;
    }
  }
  out += '\0';
  return out;
}

}  // namespace livepoll::net
