#include "net/cluster_codec.h"

#include "proto/wire.h"

namespace livepoll::net {
namespace {

using namespace proto::wire;
using core::MemberClaim;
using core::NodeId;
using core::PresenceEntry;

// ---- encoding: compact arrays for the repeated shapes ----

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
void PackEntries(Packer& p, const std::vector<PresenceEntry>& v) {
  p.pack_array(static_cast<uint32_t>(v.size()));
  for (const auto& e : v) {
    p.pack_array(2);
    PackStr(p, e.topic);
    p.pack_uint64(e.subscriber);
  }
}

struct Writer {
  msgpack::sbuffer buf;
  Packer p{buf};
  void Begin(const char* type, uint32_t fields, const std::string& cluster) {
    PackEnvelope(p, type, fields + 1);
    Key("cluster");
    PackStr(p, cluster);
  }
  void Key(const char* k) { PackStr(p, k); }
  void Node(const char* k, const NodeId& n) { Key(k); PackNode(p, n); }
  void U64(const char* k, uint64_t v) { Key(k); p.pack_uint64(v); }
  std::string Done() { return std::string(buf.data(), buf.size()); }
};

// ---- decoding ----

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
template <typename T, typename ReadOne>
Status ReadArray(const Fields& f, const char* key, std::vector<T>* out, ReadOne read) {
  const msgpack::object* a = f.Array(key);
  if (a == nullptr) return Fields::Bad(key, "an array");
  out->resize(a->via.array.size);
  for (uint32_t i = 0; i < a->via.array.size; ++i) {
    if (Status s = read(a->via.array.ptr[i], &(*out)[i]); !s.ok()) return s;
  }
  return Status::Ok();
}
Status ReadEntry(const msgpack::object& o, PresenceEntry* e) {
  const msgpack::object* t = Tuple(o, 2);
  if (t == nullptr) return Bad("presence entry");
  return All([&] { return ReadStr(t[0], &e->topic); }, [&] { return ReadU64(t[1], &e->subscriber); });
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

// Takes the message by reference, so that in Made(All(...), std::move(m)) the fields are read into
// `m` before it is moved (a by-value parameter could be moved from first).
template <typename M>
Result<ClusterMessage> Made(Status s, M&& m) {
  if (!s.ok()) return s;
  using T = std::decay_t<M>;
  if constexpr (std::is_constructible_v<core::MembershipMessage, T>)
    return ClusterMessage(core::MembershipMessage(std::forward<M>(m)));
  else
    return ClusterMessage(core::PresenceMessage(std::forward<M>(m)));
}

Result<ClusterMessage> DecodeBody(const std::string& type, const Fields& f) {
  if (type == "m.heartbeat") {
    core::Heartbeat m;
    return Made(All([&] { return ClaimField(f, "self", &m.self); },
                    [&] { return ReadArray(f, "members", &m.members, ReadClaim); }),
                std::move(m));
  }
  if (type == "m.join") {
    core::JoinRequest m;
    return Made(ClaimField(f, "self", &m.self), std::move(m));
  }
  if (type == "m.join_reply") {
    core::JoinReply m;
    return Made(All([&] { return NodeField(f, "from", &m.from); },
                    [&] { return BoolField(f, "accepted", &m.accepted); },
                    [&] { return f.Str("reason", &m.reason); },
                    [&] { return ReadArray(f, "members", &m.members, ReadClaim); }),
                std::move(m));
  }
  if (type == "m.probe" || type == "m.probe_reply") {
    NodeId from, target;
    uint64_t id = 0;
    Status s = All([&] { return NodeField(f, "from", &from); },
                   [&] { return NodeField(f, "target", &target); },
                   [&] { return f.U64("probe_id", &id); });
    if (type == "m.probe") return Made(s, core::ProbeRequest{from, target, id});
    bool heard = false;
    if (s.ok()) s = BoolField(f, "heard", &heard);
    return Made(s, core::ProbeReply{from, target, id, heard});
  }
  if (type == "m.leave") {
    core::LeaveNotice m;
    return Made(NodeField(f, "from", &m.from), std::move(m));
  }
  if (type == "p.delta") {
    core::PresenceDelta m;
    return Made(All([&] { return NodeField(f, "origin", &m.origin); },
                    [&] { return f.U64("from_version", &m.from_version); },
                    [&] { return f.U64("to_version", &m.to_version); },
                    [&] { return ReadArray(f, "joins", &m.joins, ReadEntry); },
                    [&] { return ReadArray(f, "leaves", &m.leaves, ReadEntry); }),
                std::move(m));
  }
  if (type == "p.clock") {
    core::PresenceClock m;
    return Made(All([&] { return NodeField(f, "origin", &m.origin); },
                    [&] { return f.U64("version", &m.version); }),
                std::move(m));
  }
  if (type == "p.transfer_request") {
    core::PresenceTransferRequest m;
    return Made(NodeField(f, "from", &m.from), std::move(m));
  }
  if (type == "p.transfer") {
    core::PresenceTransfer m;
    return Made(All([&] { return NodeField(f, "origin", &m.origin); },
                    [&] { return f.U64("version", &m.version); },
                    [&] { return ReadArray(f, "entries", &m.entries, ReadEntry); }),
                std::move(m));
  }
  return Status::InvalidArgument("unknown cluster message type '" + type + "'");
}

}  // namespace

std::string EncodeCluster(const std::string& cluster, const core::MembershipMessage& msg) {
  Writer w;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, core::Heartbeat>) {
          w.Begin("m.heartbeat", 2, cluster);
          w.Key("self"); PackClaim(w.p, m.self);
          w.Key("members"); PackClaims(w.p, m.members);
        } else if constexpr (std::is_same_v<T, core::JoinRequest>) {
          w.Begin("m.join", 1, cluster);
          w.Key("self"); PackClaim(w.p, m.self);
        } else if constexpr (std::is_same_v<T, core::JoinReply>) {
          w.Begin("m.join_reply", 4, cluster);
          w.Node("from", m.from);
          w.Key("accepted"); w.p.pack(m.accepted);
          w.Key("reason"); PackStr(w.p, m.reason);
          w.Key("members"); PackClaims(w.p, m.members);
        } else if constexpr (std::is_same_v<T, core::ProbeRequest>) {
          w.Begin("m.probe", 3, cluster);
          w.Node("from", m.from);
          w.Node("target", m.target);
          w.U64("probe_id", m.probe_id);
        } else if constexpr (std::is_same_v<T, core::ProbeReply>) {
          w.Begin("m.probe_reply", 4, cluster);
          w.Node("from", m.from);
          w.Node("target", m.target);
          w.U64("probe_id", m.probe_id);
          w.Key("heard"); w.p.pack(m.heard);
        } else if constexpr (std::is_same_v<T, core::LeaveNotice>) {
          w.Begin("m.leave", 1, cluster);
          w.Node("from", m.from);
        }
      },
      msg);
  return w.Done();
}

std::string EncodeCluster(const std::string& cluster, const core::PresenceMessage& msg) {
  Writer w;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, core::PresenceDelta>) {
          w.Begin("p.delta", 5, cluster);
          w.Node("origin", m.origin);
          w.U64("from_version", m.from_version);
          w.U64("to_version", m.to_version);
          w.Key("joins"); PackEntries(w.p, m.joins);
          w.Key("leaves"); PackEntries(w.p, m.leaves);
        } else if constexpr (std::is_same_v<T, core::PresenceClock>) {
          w.Begin("p.clock", 2, cluster);
          w.Node("origin", m.origin);
          w.U64("version", m.version);
        } else if constexpr (std::is_same_v<T, core::PresenceTransferRequest>) {
          w.Begin("p.transfer_request", 1, cluster);
          w.Node("from", m.from);
        } else if constexpr (std::is_same_v<T, core::PresenceTransfer>) {
          w.Begin("p.transfer", 3, cluster);
          w.Node("origin", m.origin);
          w.U64("version", m.version);
          w.Key("entries"); PackEntries(w.p, m.entries);
        }
      },
      msg);
  return w.Done();
}

Result<ClusterMessage> DecodeCluster(std::string_view bytes, const std::string& cluster) {
  Result<Envelope> env = OpenEnvelope(bytes);
  if (!env.ok()) return env.status();
  Fields f = env->fields();
  std::string theirs;
  if (Status s = f.Str("cluster", &theirs); !s.ok()) return s;
  if (theirs != cluster)
    return Status::Incompatible("a frame of cluster '" + theirs + "', this node is in '" + cluster + "'");
  try {
    return DecodeBody(env->type, f);
  } catch (const std::exception& e) {
    return Status::Malformed(std::string("cannot decode: ") + e.what());
  }
}

}  // namespace livepoll::net
