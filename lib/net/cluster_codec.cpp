#include "net/cluster_codec.h"

#include <array>

#include "proto/codec.h"
#include "proto/wire.h"

namespace livepoll::net {
namespace {

using namespace proto::wire;
using core::MemberClaim;
using core::NodeId;

// The replication messages' wire names, indexed by core::ReplicaMessage alternative. Presence and
// the registry's claims (both a core::ReplicatedSet, replicated_set.h) share the bodies; only the
// prefix tells which replica a frame feeds, so both tables are written once, here, for both
// directions.
using ReplicationTypes = std::array<const char*, std::variant_size_v<core::PresenceMessage>>;
constexpr ReplicationTypes kPresenceTypes = {"p.delta", "p.clock", "p.transfer_request", "p.transfer"};
constexpr ReplicationTypes kClaimsTypes = {"r.delta", "r.clock", "r.transfer_request", "r.transfer"};

// ------------------------------------------------------------------------------------ encoding
// Compact arrays for the repeated shapes (nodes, claims, entries); maps for the message bodies.

void PackNode(Packer& p, const NodeId& n) {
  p.pack_array(2);
  PackStr(p, n.name);
  p.pack_uint64(n.incarnation);
}
void PackClaim(Packer& p, const MemberClaim& c) {
  p.pack_array(6);
  PackStr(p, c.id.name);
  p.pack_uint64(c.id.incarnation);
  PackStr(p, c.gossip_endpoint);
  PackStr(p, c.rpc_endpoint);
  p.pack_uint8(static_cast<uint8_t>(c.state));
  p.pack_uint64(c.version);
}
void PackClaims(Packer& p, const std::vector<MemberClaim>& v) {
  p.pack_array(static_cast<uint32_t>(v.size()));
  for (const auto& c : v) PackClaim(p, c);
}
// A replicated entry is [topic, uint]: a presence entry's subscriber, a claim's epoch.
template <typename Entry>
void PackEntries(Packer& p, const std::vector<Entry>& v) {
  p.pack_array(static_cast<uint32_t>(v.size()));
  for (const auto& [topic, value] : v) {
    p.pack_array(2);
    PackStr(p, topic);
    p.pack_uint64(value);
  }
}
// An update travels as its client-protocol frame (proto::Encode) in a bin: its shape is defined
// once (PROTOCOL.md, `update`) and checked by the client codec's bounds-checked decoder, and the
// bytes are the ones a node sends its clients.
void PackUpdate(Packer& p, const proto::Update& u) {
  const std::string bytes = proto::Encode(proto::Message(u));
  p.pack_bin(static_cast<uint32_t>(bytes.size()));
  p.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
}

// An admin request or reply travels as its admin-protocol frame, like an update.
void PackAdmin(Packer& p, const proto::Message& m) {
  const std::string bytes = proto::Encode(m);
  p.pack_bin(static_cast<uint32_t>(bytes.size()));
  p.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
}

// Writes one frame: Begin (the envelope), then the body's fields.
struct Writer {
  Writer(const std::string& cluster, const std::string& from) : cluster(cluster), from(from) {}

  // `fields` counts the body's fields only.
  void Begin(const char* type, uint32_t fields) {
    PackEnvelope(p, type, fields + 2);
    Str("cluster", cluster);
    Str("from", from);
  }
  void Key(const char* k) { PackStr(p, k); }
  void Node(const char* k, const NodeId& n) { Key(k); PackNode(p, n); }
  void U64(const char* k, uint64_t v) { Key(k); p.pack_uint64(v); }
  void Str(const char* k, std::string_view v) { Key(k); PackStr(p, v); }
  void Bool(const char* k, bool v) { Key(k); p.pack(v); }
  std::string Done() const { return std::string(buf.data(), buf.size()); }

  msgpack::sbuffer buf;
  Packer p{buf};  // after buf, which it writes to
  const std::string& cluster;
  const std::string& from;
};

// One Put per message; a body field that names a node is `sender` where the struct says `from`,
// because `from` is the envelope's (the sender's name).
void Put(Writer& w, const core::Heartbeat& m) {
  w.Begin("m.heartbeat", 2);
  w.Key("self"); PackClaim(w.p, m.self);
  w.Key("members"); PackClaims(w.p, m.members);
}
void Put(Writer& w, const core::JoinRequest& m) {
  w.Begin("m.join", 1);
  w.Key("self"); PackClaim(w.p, m.self);
}
void Put(Writer& w, const core::JoinReply& m) {
  w.Begin("m.join_reply", 4);
  w.Node("sender", m.from);
  w.Bool("accepted", m.accepted);
  w.Str("reason", m.reason);
  w.Key("members"); PackClaims(w.p, m.members);
}
void Put(Writer& w, const core::ProbeRequest& m) {
  w.Begin("m.probe", 3);
  w.Node("sender", m.from);
  w.Node("target", m.target);
  w.U64("probe_id", m.probe_id);
}
void Put(Writer& w, const core::ProbeReply& m) {
  w.Begin("m.probe_reply", 4);
  w.Node("sender", m.from);
  w.Node("target", m.target);
  w.U64("probe_id", m.probe_id);
  w.Bool("heard", m.heard);
}
void Put(Writer& w, const core::LeaveNotice& m) {
  w.Begin("m.leave", 1);
  w.Node("sender", m.from);
}

template <typename Entry>
void Put(Writer& w, const core::ReplicaMessage<Entry>& msg, const ReplicationTypes& types) {
  const char* type = types[msg.index()];
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, core::ReplicaDelta<Entry>>) {
          w.Begin(type, 5);
          w.Node("origin", m.origin);
          w.U64("from_version", m.from_version);
          w.U64("to_version", m.to_version);
          w.Key("joins"); PackEntries(w.p, m.joins);
          w.Key("leaves"); PackEntries(w.p, m.leaves);
        } else if constexpr (std::is_same_v<T, core::ReplicaClock>) {
          w.Begin(type, 2);
          w.Node("origin", m.origin);
          w.U64("version", m.version);
        } else if constexpr (std::is_same_v<T, core::ReplicaTransferRequest>) {
          w.Begin(type, 1);
          w.Node("sender", m.from);
        } else {
          static_assert(std::is_same_v<T, core::ReplicaTransfer<Entry>>);
          w.Begin(type, 3);
          w.Node("origin", m.origin);
          w.U64("version", m.version);
          w.Key("entries"); PackEntries(w.p, m.entries);
        }
      },
      msg);
}
void Put(Writer& w, const core::PresenceMessage& m) { Put(w, m, kPresenceTypes); }

void Put(Writer& w, const core::RegistryPropose& m) {
  w.Begin("r.propose", 4);
  w.Node("sender", m.from);
  w.U64("proposal_id", m.proposal_id);
  w.Str("topic", m.topic);
  w.U64("epoch", m.epoch);
}
void Put(Writer& w, const core::RegistryVote& m) {
  w.Begin("r.vote", 6);
  w.Node("sender", m.from);
  w.U64("proposal_id", m.proposal_id);
  w.Str("topic", m.topic);
  w.Bool("granted", m.granted);
  w.Node("owner", m.owner);
  w.U64("owner_epoch", m.owner_epoch);
}
void Put(Writer& w, const core::ClaimsMessage& m) { Put(w, m.m, kClaimsTypes); }

void Put(Writer& w, const DataUpdate& m) {
  w.Begin("d.update", 1);
  w.Key("update"); PackUpdate(w.p, m.update);
}
void Put(Writer& w, const SnapshotRequest& m) {
  w.Begin("d.snapshot_request", 2);
  w.Node("sender", m.from);
  w.Str("topic", m.topic);
}
void Put(Writer& w, const SnapshotReply& m) {
  w.Begin("d.snapshot_reply", 3);
  w.Node("sender", m.from);
  w.Str("topic", m.topic);
  w.Key("update");  // nil: no state yet; the key is always there, so a missing one is malformed
  if (m.update) PackUpdate(w.p, *m.update);
  else w.p.pack_nil();
}

void Put(Writer& w, const AdminCall& m) {
  w.Begin("a.request", 2);
  w.Node("sender", m.from);
  w.Key("request"); PackAdmin(w.p, m.request);
}
void Put(Writer& w, const AdminAnswer& m) {
  w.Begin("a.reply", 2);
  w.Node("sender", m.from);
  w.Key("reply"); PackAdmin(w.p, m.reply);
}

// The group variants (MembershipMessage, RegistryMessage, DataMessage) put their alternative;
// PresenceMessage has its own Put above because claims share its bodies under other names.
template <typename... Ts>
void Put(Writer& w, const std::variant<Ts...>& v) {
  std::visit([&](const auto& m) { Put(w, m); }, v);
}

// ------------------------------------------------------------------------------------ decoding

Status Bad(const char* what) { return Status::Malformed(std::string("malformed ") + what); }

Status ReadU64(const msgpack::object& o, uint64_t* out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) return Bad("integer");
  *out = o.via.u64;
  return Status::Ok();
}
Status ReadStr(const msgpack::object& o, std::string* out) {
  if (o.type != msgpack::type::STR) return Bad("string");
  out->assign(o.via.str.ptr, o.via.str.size);
  return Status::Ok();
}
// The elements of an array of exactly n, or null: the caller reads t[0..n) only after this check.
const msgpack::object* Tuple(const msgpack::object& o, uint32_t n) {
  return o.type == msgpack::type::ARRAY && o.via.array.size == n ? o.via.array.ptr : nullptr;
}
Status ReadNode(const msgpack::object& o, NodeId* n) {
  const msgpack::object* t = Tuple(o, 2);
  if (t == nullptr) return Bad("node");
  return All([&] { return ReadStr(t[0], &n->name); }, [&] { return ReadU64(t[1], &n->incarnation); });
}
Status ReadClaim(const msgpack::object& o, MemberClaim* c) {
  const msgpack::object* t = Tuple(o, 6);
  if (t == nullptr) return Bad("member claim");
  uint64_t state = 0;
  Status s = All([&] { return ReadStr(t[0], &c->id.name); },
                 [&] { return ReadU64(t[1], &c->id.incarnation); },
                 [&] { return ReadStr(t[2], &c->gossip_endpoint); },
                 [&] { return ReadStr(t[3], &c->rpc_endpoint); }, [&] { return ReadU64(t[4], &state); },
                 [&] { return ReadU64(t[5], &c->version); });
  if (!s.ok()) return s;
  if (state > static_cast<uint64_t>(core::MemberState::kLeft)) return Bad("member state");
  c->state = static_cast<core::MemberState>(state);
  return Status::Ok();
}
template <typename Entry>
Status ReadEntry(const msgpack::object& o, Entry* e) {
  const msgpack::object* t = Tuple(o, 2);
  if (t == nullptr) return Bad("presence entry");
  auto& [topic, value] = *e;
  return All([&] { return ReadStr(t[0], &topic); }, [&] { return ReadU64(t[1], &value); });
}
// The embedded client frame of PackUpdate. Its protocol version is checked again (Incompatible,
// like the envelope's); anything else wrong with it, another message type included, is this
// frame's shape being wrong: Malformed, not the unknown-type InvalidArgument.
Status ReadUpdate(const msgpack::object& o, proto::Update* out) {
  if (o.type != msgpack::type::BIN) return Fields::Bad("update", "an embedded update (bin)");
  Result<proto::Message> m = proto::Decode(std::string_view(o.via.bin.ptr, o.via.bin.size));
  if (!m.ok()) {
    if (m.status().code() == Status::Code::kIncompatible) return m.status();
    return Status::Malformed("field 'update': " + m.status().message());
  }
  auto* u = std::get_if<proto::Update>(&*m);
  if (u == nullptr)
    return Status::Malformed("field 'update' holds a '" + std::string(proto::MessageTypeName(*m)) +
                             "', not an update");
  *out = std::move(*u);
  return Status::Ok();
}

// The embedded admin frame of PackAdmin: as ReadUpdate, for an admin request or reply.
template <typename T>
Status ReadAdmin(const Fields& f, const char* key, T* out) {
  const msgpack::object* o = f.Find(key);
  if (o == nullptr || o->type != msgpack::type::BIN)
    return Fields::Bad(key, "an embedded admin frame (bin)");
  Result<proto::Message> m = proto::Decode(std::string_view(o->via.bin.ptr, o->via.bin.size));
  if (!m.ok()) {
    if (m.status().code() == Status::Code::kIncompatible) return m.status();
    return Status::Malformed(std::string("field '") + key + "': " + m.status().message());
  }
  auto* a = std::get_if<T>(&*m);
  if (a == nullptr)
    return Status::Malformed(std::string("field '") + key + "' holds a '" +
                             proto::MessageTypeName(*m) + "'");
  *out = std::move(*a);
  return Status::Ok();
}

template <typename T, typename ReadOne>
Status ArrayField(const Fields& f, const char* key, std::vector<T>* out, ReadOne read) {
  const msgpack::object* a = f.Array(key);
  if (a == nullptr) return Fields::Bad(key, "an array");
  // Not larger than the frame: OpenEnvelope's limit caps an array at the frame's byte count.
  out->resize(a->via.array.size);
  for (uint32_t i = 0; i < a->via.array.size; ++i) {
    if (Status s = read(a->via.array.ptr[i], &(*out)[i]); !s.ok()) return s;
  }
  return Status::Ok();
}
Status NodeField(const Fields& f, const char* key, NodeId* n) {
  const msgpack::object* o = f.Find(key);
  if (o == nullptr) return Fields::Bad(key, "a node");
  return ReadNode(*o, n);
}
Status ClaimField(const Fields& f, const char* key, MemberClaim* c) {
  const msgpack::object* o = f.Find(key);
  if (o == nullptr) return Fields::Bad(key, "a member claim");
  return ReadClaim(*o, c);
}
Status BoolField(const Fields& f, const char* key, bool* b) {
  const msgpack::object* o = f.Find(key);
  if (o == nullptr || o->type != msgpack::type::BOOLEAN) return Fields::Bad(key, "a boolean");
  *b = o->via.boolean;
  return Status::Ok();
}

// One Read per message, the mirror of its Put.
Status Read(const Fields& f, core::Heartbeat* m) {
  return All([&] { return ClaimField(f, "self", &m->self); },
             [&] { return ArrayField(f, "members", &m->members, ReadClaim); });
}
Status Read(const Fields& f, core::JoinRequest* m) { return ClaimField(f, "self", &m->self); }
Status Read(const Fields& f, core::JoinReply* m) {
  return All([&] { return NodeField(f, "sender", &m->from); },
             [&] { return BoolField(f, "accepted", &m->accepted); },
             [&] { return f.Str("reason", &m->reason); },
             [&] { return ArrayField(f, "members", &m->members, ReadClaim); });
}
Status Read(const Fields& f, core::ProbeRequest* m) {
  return All([&] { return NodeField(f, "sender", &m->from); },
             [&] { return NodeField(f, "target", &m->target); },
             [&] { return f.U64("probe_id", &m->probe_id); });
}
Status Read(const Fields& f, core::ProbeReply* m) {
  return All([&] { return NodeField(f, "sender", &m->from); },
             [&] { return NodeField(f, "target", &m->target); },
             [&] { return f.U64("probe_id", &m->probe_id); },
             [&] { return BoolField(f, "heard", &m->heard); });
}
Status Read(const Fields& f, core::LeaveNotice* m) { return NodeField(f, "sender", &m->from); }

template <typename Entry>
Status Read(const Fields& f, core::ReplicaDelta<Entry>* m) {
  return All([&] { return NodeField(f, "origin", &m->origin); },
             [&] { return f.U64("from_version", &m->from_version); },
             [&] { return f.U64("to_version", &m->to_version); },
             [&] { return ArrayField(f, "joins", &m->joins, ReadEntry<Entry>); },
             [&] { return ArrayField(f, "leaves", &m->leaves, ReadEntry<Entry>); });
}
Status Read(const Fields& f, core::ReplicaClock* m) {
  return All([&] { return NodeField(f, "origin", &m->origin); },
             [&] { return f.U64("version", &m->version); });
}
Status Read(const Fields& f, core::ReplicaTransferRequest* m) {
  return NodeField(f, "sender", &m->from);
}
template <typename Entry>
Status Read(const Fields& f, core::ReplicaTransfer<Entry>* m) {
  return All([&] { return NodeField(f, "origin", &m->origin); },
             [&] { return f.U64("version", &m->version); },
             [&] { return ArrayField(f, "entries", &m->entries, ReadEntry<Entry>); });
}

Status Read(const Fields& f, core::RegistryPropose* m) {
  return All([&] { return NodeField(f, "sender", &m->from); },
             [&] { return f.U64("proposal_id", &m->proposal_id); },
             [&] { return f.Str("topic", &m->topic); },
             [&] { return f.U64("epoch", &m->epoch); });
}
Status Read(const Fields& f, core::RegistryVote* m) {
  return All([&] { return NodeField(f, "sender", &m->from); },
             [&] { return f.U64("proposal_id", &m->proposal_id); },
             [&] { return f.Str("topic", &m->topic); },
             [&] { return BoolField(f, "granted", &m->granted); },
             [&] { return NodeField(f, "owner", &m->owner); },
             [&] { return f.U64("owner_epoch", &m->owner_epoch); });
}

Status Read(const Fields& f, DataUpdate* m) {
  const msgpack::object* o = f.Find("update");
  if (o == nullptr) return Fields::Bad("update", "an embedded update (bin)");
  return ReadUpdate(*o, &m->update);
}
Status Read(const Fields& f, SnapshotRequest* m) {
  return All([&] { return NodeField(f, "sender", &m->from); },
             [&] { return f.Str("topic", &m->topic); });
}
Status Read(const Fields& f, SnapshotReply* m) {
  Status s = All([&] { return NodeField(f, "sender", &m->from); },
                 [&] { return f.Str("topic", &m->topic); });
  if (!s.ok()) return s;
  const msgpack::object* o = f.Find("update");
  if (o == nullptr) return Fields::Bad("update", "nil or an embedded update (bin)");
  if (o->type == msgpack::type::NIL) {
    m->update.reset();
    return Status::Ok();
  }
  return ReadUpdate(*o, &m->update.emplace());
}

Status Read(const Fields& f, AdminCall* m) {
  return All([&] { return NodeField(f, "sender", &m->from); },
             [&] { return ReadAdmin(f, "request", &m->request); });
}
Status Read(const Fields& f, AdminAnswer* m) {
  return All([&] { return NodeField(f, "sender", &m->from); },
             [&] { return ReadAdmin(f, "reply", &m->reply); });
}

// Which ClusterMessage alternative a decoded struct goes into.
enum class Group { kMembership, kPresence, kRegistry, kClaims, kData, kAdmin };

template <Group G, typename T>
Result<ClusterMessage> ReadMessage(const Fields& f) {
  T m;
  if (Status s = Read(f, &m); !s.ok()) return s;
  if constexpr (G == Group::kMembership) return ClusterMessage(core::MembershipMessage(std::move(m)));
  else if constexpr (G == Group::kPresence) return ClusterMessage(core::PresenceMessage(std::move(m)));
  else if constexpr (G == Group::kRegistry) return ClusterMessage(core::RegistryMessage(std::move(m)));
  else if constexpr (G == Group::kClaims)
    return ClusterMessage(core::RegistryMessage(core::ClaimsMessage{core::ClaimMessage(std::move(m))}));
  else if constexpr (G == Group::kAdmin) return ClusterMessage(AdminMessage(std::move(m)));
  else return ClusterMessage(DataMessage(std::move(m)));
}

struct Decoder {
  const char* type;
  Result<ClusterMessage> (*read)(const Fields&);
};
template <Group G, typename Entry>
constexpr std::array<Decoder, 4> ReplicationDecoders(const ReplicationTypes& types) {
  return {{{types[0], ReadMessage<G, core::ReplicaDelta<Entry>>},
           {types[1], ReadMessage<G, core::ReplicaClock>},
           {types[2], ReadMessage<G, core::ReplicaTransferRequest>},
           {types[3], ReadMessage<G, core::ReplicaTransfer<Entry>>}}};
}
static_assert(std::variant_size_v<core::PresenceMessage> == 4, "ReplicationDecoders lists them");

constexpr std::array<Decoder, 6> kMembershipDecoders = {{
    {"m.heartbeat", ReadMessage<Group::kMembership, core::Heartbeat>},
    {"m.join", ReadMessage<Group::kMembership, core::JoinRequest>},
    {"m.join_reply", ReadMessage<Group::kMembership, core::JoinReply>},
    {"m.probe", ReadMessage<Group::kMembership, core::ProbeRequest>},
    {"m.probe_reply", ReadMessage<Group::kMembership, core::ProbeReply>},
    {"m.leave", ReadMessage<Group::kMembership, core::LeaveNotice>},
}};
constexpr std::array<Decoder, 7> kOtherDecoders = {{
    {"r.propose", ReadMessage<Group::kRegistry, core::RegistryPropose>},
    {"r.vote", ReadMessage<Group::kRegistry, core::RegistryVote>},
    {"d.update", ReadMessage<Group::kData, DataUpdate>},
    {"d.snapshot_request", ReadMessage<Group::kData, SnapshotRequest>},
    {"d.snapshot_reply", ReadMessage<Group::kData, SnapshotReply>},
    {"a.request", ReadMessage<Group::kAdmin, AdminCall>},
    {"a.reply", ReadMessage<Group::kAdmin, AdminAnswer>},
}};
constexpr auto kPresenceDecoders =
    ReplicationDecoders<Group::kPresence, core::PresenceEntry>(kPresenceTypes);
constexpr auto kClaimsDecoders =
    ReplicationDecoders<Group::kClaims, core::ClaimEntry>(kClaimsTypes);

Result<ClusterMessage> DecodeBody(std::string_view type, const Fields& f) {
  auto find = [&](const auto& table) -> const Decoder* {
    for (const Decoder& d : table)
      if (type == d.type) return &d;
    return nullptr;
  };
  const Decoder* d = find(kMembershipDecoders);
  if (d == nullptr) d = find(kPresenceDecoders);
  if (d == nullptr) d = find(kClaimsDecoders);
  if (d == nullptr) d = find(kOtherDecoders);
  if (d == nullptr) return Status::InvalidArgument("unknown cluster message type '" + std::string(type) + "'");
  return d->read(f);
}

}  // namespace

std::string EncodeCluster(const std::string& cluster, const std::string& from,
                          const core::PeerMessage& m) {
  Writer w(cluster, from);
  std::visit([&](const auto& group) { Put(w, group); }, m);
  return w.Done();
}

std::string EncodeCluster(const std::string& cluster, const std::string& from,
                          const AdminMessage& m) {
  Writer w(cluster, from);
  Put(w, m);
  return w.Done();
}

Result<ClusterFrame> DecodeCluster(std::string_view bytes, const std::string& cluster) {
  Result<Envelope> env = OpenEnvelope(bytes);
  if (!env.ok()) return env.status();
  Fields f = env->fields();
  // The cluster first: a foreign frame is refused as foreign whatever else is wrong with it.
  std::string theirs;
  if (Status s = f.Str("cluster", &theirs); !s.ok()) return s;
  if (theirs != cluster)
    return Status::Incompatible("a frame of cluster '" + theirs + "', this node is in '" + cluster + "'");
  ClusterFrame frame{{}, core::MembershipMessage{}};
  if (Status s = f.Str("from", &frame.from); !s.ok()) return s;
  try {
    Result<ClusterMessage> m = DecodeBody(env->type, f);
    if (!m.ok()) return m.status();
    frame.message = std::move(m).value();
    return frame;
  } catch (const std::exception& e) {  // allocation failure on a huge but legal frame
    return Status::Malformed(std::string("cannot decode: ") + e.what());
  }
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
