#include "proto/codec.h"

#include <msgpack.hpp>

#include <limits>
#include <optional>

namespace livepoll::proto {

const char* UpdateKindName(UpdateKind k) {
  switch (k) {
    case UpdateKind::kSnapshot: return "snapshot";
    case UpdateKind::kDiff: return "diff";
    case UpdateKind::kError: return "error";
  }
  return "error";
}

const char* ChangeOpName(Change::Op op) {
  switch (op) {
    case Change::Op::kInsert: return "insert";
    case Change::Op::kUpdate: return "update";
    case Change::Op::kDelete: return "delete";
  }
  return "update";
}

namespace {

// Type names on the wire; index = Message alternative.
constexpr const char* kTypeNames[] = {"join", "leave", "heartbeat", "joined",     "left",
                                      "update", "error", "admin",   "admin_reply"};
static_assert(std::size(kTypeNames) == std::variant_size_v<Message>);

// ------------------------------------------------------------------------------------ encoding

using Packer = msgpack::packer<msgpack::sbuffer>;

void PackStr(Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void PackValue(Packer& p, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Null>) p.pack_nil();
        else if constexpr (std::is_same_v<T, int64_t>) p.pack_int64(x);
        else if constexpr (std::is_same_v<T, double>) p.pack_double(x);
        else if constexpr (std::is_same_v<T, std::string>) PackStr(p, x);
        else if constexpr (std::is_same_v<T, Blob>) {
          p.pack_bin(static_cast<uint32_t>(x.bytes.size()));
          p.pack_bin_body(x.bytes.data(), static_cast<uint32_t>(x.bytes.size()));
        } else if constexpr (std::is_same_v<T, bool>) {
          if (x) p.pack_true(); else p.pack_false();
        }
      },
      v);
}

void PackRow(Packer& p, const Row& row) {
  p.pack_array(static_cast<uint32_t>(row.size()));
  for (const Value& v : row) PackValue(p, v);
}

void PackRows(Packer& p, const std::vector<Row>& rows) {
  p.pack_array(static_cast<uint32_t>(rows.size()));
  for (const Row& r : rows) PackRow(p, r);
}

void PackStrings(Packer& p, const std::vector<std::string>& v) {
  p.pack_array(static_cast<uint32_t>(v.size()));
  for (const auto& s : v) PackStr(p, s);
}

void PackParams(Packer& p, const Params& params) {
  p.pack_map(static_cast<uint32_t>(params.size()));
  for (const auto& [k, v] : params) {
    PackStr(p, k);
    PackStr(p, v);
  }
}

// Writes the map header and the envelope fields; `fields` is the number of message fields.
void PackEnvelope(Packer& p, const char* type, uint32_t fields) {
  p.pack_map(fields + 2);
  PackStr(p, "v");
  p.pack_uint32(kProtocolVersion);
  PackStr(p, "type");
  PackStr(p, type);
}

struct EncodeVisitor {
  Packer& p;
  void Key(const char* k) { PackStr(p, k); }

  void operator()(const Join& m) {
    PackEnvelope(p, "join", 3);
    Key("id"); p.pack_uint64(m.id);
    Key("query"); PackStr(p, m.query);
    Key("params"); PackParams(p, m.params);
  }
  void operator()(const Leave& m) {
    PackEnvelope(p, "leave", 2);
    Key("id"); p.pack_uint64(m.id);
    Key("topic"); PackStr(p, m.topic);
  }
  void operator()(const Heartbeat&) { PackEnvelope(p, "heartbeat", 0); }
  void operator()(const Joined& m) {
    PackEnvelope(p, "joined", 2);
    Key("id"); p.pack_uint64(m.id);
    Key("topic"); PackStr(p, m.topic);
  }
  void operator()(const Left& m) {
    PackEnvelope(p, "left", 2);
    Key("id"); p.pack_uint64(m.id);
    Key("topic"); PackStr(p, m.topic);
  }
  void operator()(const Update& m) {
    uint32_t n = 6;
    if (m.kind == UpdateKind::kSnapshot) ++n;
    if (m.kind == UpdateKind::kDiff) ++n;
    if (m.kind == UpdateKind::kError) ++n;
    PackEnvelope(p, "update", n);
    Key("topic"); PackStr(p, m.topic);
    Key("kind"); PackStr(p, UpdateKindName(m.kind));
    Key("owner"); PackStr(p, m.owner);
    Key("epoch"); p.pack_uint64(m.epoch);
    Key("seq"); p.pack_uint64(m.seq);
    Key("columns"); PackStrings(p, m.columns);
    switch (m.kind) {
      case UpdateKind::kSnapshot:
        Key("rows"); PackRows(p, m.rows);
        break;
      case UpdateKind::kDiff:
        Key("changes");
        p.pack_array(static_cast<uint32_t>(m.changes.size()));
        for (const Change& c : m.changes) {
          p.pack_array(2);
          PackStr(p, ChangeOpName(c.op));
          PackRow(p, c.row);
        }
        break;
      case UpdateKind::kError:
        Key("error"); PackStr(p, m.error);
        break;
    }
  }
  void operator()(const Error& m) {
    PackEnvelope(p, "error", 3);
    Key("id"); p.pack_uint64(m.id);
    Key("code"); PackStr(p, m.code);
    Key("message"); PackStr(p, m.message);
  }
  void operator()(const AdminRequest& m) {
    PackEnvelope(p, "admin", 3);
    Key("id"); p.pack_uint64(m.id);
    Key("command"); PackStr(p, m.command);
    Key("args"); PackParams(p, m.args);
  }
  void operator()(const AdminReply& m) {
    PackEnvelope(p, "admin_reply", 5);
    Key("id"); p.pack_uint64(m.id);
    Key("code"); PackStr(p, m.code);
    Key("message"); PackStr(p, m.message);
    Key("columns"); PackStrings(p, m.columns);
    Key("rows"); PackRows(p, m.rows);
  }
};

// ------------------------------------------------------------------------------------ decoding

// Reads the fields of one msgpack map, bounds- and type-checked. Every getter returns a Malformed
// Status naming the field on a missing or mistyped value.
class Fields {
 public:
  explicit Fields(const msgpack::object_map& map) : map_(map) {}

  const msgpack::object* Find(std::string_view key) const {
    for (uint32_t i = 0; i < map_.size; ++i) {
      const auto& kv = map_.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
        return &kv.val;
    }
    return nullptr;
  }

  Status Str(std::string_view key, std::string* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr || o->type != msgpack::type::STR) return Bad(key, "a string");
    out->assign(o->via.str.ptr, o->via.str.size);
    return Status::Ok();
  }
  Status U64(std::string_view key, uint64_t* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr || o->type != msgpack::type::POSITIVE_INTEGER) return Bad(key, "an unsigned integer");
    *out = o->via.u64;
    return Status::Ok();
  }
  Status Strings(std::string_view key, std::vector<std::string>* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr || o->type != msgpack::type::ARRAY) return Bad(key, "an array of strings");
    out->clear();
    for (uint32_t i = 0; i < o->via.array.size; ++i) {
      const auto& e = o->via.array.ptr[i];
      if (e.type != msgpack::type::STR) return Bad(key, "an array of strings");
      out->emplace_back(e.via.str.ptr, e.via.str.size);
    }
    return Status::Ok();
  }
  Status ParamMap(std::string_view key, Params* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr || o->type != msgpack::type::MAP) return Bad(key, "a map of strings");
    out->clear();
    for (uint32_t i = 0; i < o->via.map.size; ++i) {
      const auto& kv = o->via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR)
        return Bad(key, "a map of strings");
      out->emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                        std::string(kv.val.via.str.ptr, kv.val.via.str.size));
    }
    return Status::Ok();
  }
  const msgpack::object* Array(std::string_view key) const {
    const msgpack::object* o = Find(key);
    return (o != nullptr && o->type == msgpack::type::ARRAY) ? o : nullptr;
  }

  static Status Bad(std::string_view key, std::string_view what) {
    return Status::Malformed("field '" + std::string(key) + "' is missing or not " + std::string(what));
  }

 private:
  const msgpack::object_map& map_;
};

Status DecodeValue(const msgpack::object& o, Value* out) {
  switch (o.type) {
    case msgpack::type::NIL: *out = Null{}; return Status::Ok();
    case msgpack::type::BOOLEAN: *out = o.via.boolean; return Status::Ok();
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Status::Malformed("integer value out of int64 range");
      *out = static_cast<int64_t>(o.via.u64);
      return Status::Ok();
    case msgpack::type::NEGATIVE_INTEGER: *out = o.via.i64; return Status::Ok();
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: *out = o.via.f64; return Status::Ok();
    case msgpack::type::STR: *out = std::string(o.via.str.ptr, o.via.str.size); return Status::Ok();
    case msgpack::type::BIN: *out = Blob{std::string(o.via.bin.ptr, o.via.bin.size)}; return Status::Ok();
    default: return Status::Malformed("a value is not null, integer, real, text, blob or boolean");
  }
}

Status DecodeRow(const msgpack::object& o, Row* row) {
  if (o.type != msgpack::type::ARRAY) return Status::Malformed("a row is not an array");
  row->resize(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    Status s = DecodeValue(o.via.array.ptr[i], &(*row)[i]);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status DecodeRows(const Fields& f, std::string_view key, std::vector<Row>* rows) {
  const msgpack::object* a = f.Array(key);
  if (a == nullptr) return Fields::Bad(key, "an array of rows");
  rows->resize(a->via.array.size);
  for (uint32_t i = 0; i < a->via.array.size; ++i) {
    Status s = DecodeRow(a->via.array.ptr[i], &(*rows)[i]);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Runs each step in order and returns the first failure; keeps the per-type decoders flat.
template <typename... Steps>
Status All(Steps&&... steps) {
  Status s;
  ((s.ok() ? (void)(s = steps()) : void()), ...);
  return s;
}

Result<Message> DecodeUpdate(const Fields& f) {
  Update m;
  std::string kind;
  Status s = All([&] { return f.Str("topic", &m.topic); }, [&] { return f.Str("kind", &kind); },
                 [&] { return f.Str("owner", &m.owner); }, [&] { return f.U64("epoch", &m.epoch); },
                 [&] { return f.U64("seq", &m.seq); },
                 [&] { return f.Strings("columns", &m.columns); });
  if (!s.ok()) return s;
  if (kind == "snapshot") {
    m.kind = UpdateKind::kSnapshot;
    s = DecodeRows(f, "rows", &m.rows);
  } else if (kind == "diff") {
    m.kind = UpdateKind::kDiff;
    const msgpack::object* a = f.Array("changes");
    if (a == nullptr) return Fields::Bad("changes", "an array");
    for (uint32_t i = 0; i < a->via.array.size && s.ok(); ++i) {
      const auto& c = a->via.array.ptr[i];
      if (c.type != msgpack::type::ARRAY || c.via.array.size != 2 ||
          c.via.array.ptr[0].type != msgpack::type::STR)
        return Status::Malformed("a change is not [op, row]");
      std::string_view op(c.via.array.ptr[0].via.str.ptr, c.via.array.ptr[0].via.str.size);
      Change ch;
      if (op == "insert") ch.op = Change::Op::kInsert;
      else if (op == "update") ch.op = Change::Op::kUpdate;
      else if (op == "delete") ch.op = Change::Op::kDelete;
      else return Status::Malformed("unknown change op '" + std::string(op) + "'");
      s = DecodeRow(c.via.array.ptr[1], &ch.row);
      m.changes.push_back(std::move(ch));
    }
  } else if (kind == "error") {
    m.kind = UpdateKind::kError;
    s = f.Str("error", &m.error);
  } else {
    return Status::Malformed("unknown update kind '" + kind + "'");
  }
  if (!s.ok()) return s;
  return Message(std::move(m));
}

Result<Message> DecodeBody(std::string_view type, const Fields& f) {
  auto done = [](Status s, Message m) -> Result<Message> {
    if (!s.ok()) return s;
    return m;
  };
  if (type == "join") {
    Join m;
    Status s = All([&] { return f.U64("id", &m.id); }, [&] { return f.Str("query", &m.query); },
                   [&] { return f.ParamMap("params", &m.params); });
    return done(s, std::move(m));
  }
  if (type == "leave" || type == "joined" || type == "left") {
    uint64_t id = 0;
    std::string topic;
    Status s = All([&] { return f.U64("id", &id); }, [&] { return f.Str("topic", &topic); });
    if (type == "leave") return done(s, Leave{id, std::move(topic)});
    if (type == "joined") return done(s, Joined{id, std::move(topic)});
    return done(s, Left{id, std::move(topic)});
  }
  if (type == "heartbeat") return Message(Heartbeat{});
  if (type == "update") return DecodeUpdate(f);
  if (type == "error") {
    Error m;
    Status s = All([&] { return f.U64("id", &m.id); }, [&] { return f.Str("code", &m.code); },
                   [&] { return f.Str("message", &m.message); });
    return done(s, std::move(m));
  }
  if (type == "admin") {
    AdminRequest m;
    Status s = All([&] { return f.U64("id", &m.id); }, [&] { return f.Str("command", &m.command); },
                   [&] { return f.ParamMap("args", &m.args); });
    return done(s, std::move(m));
  }
  if (type == "admin_reply") {
    AdminReply m;
    Status s = All([&] { return f.U64("id", &m.id); }, [&] { return f.Str("code", &m.code); },
                   [&] { return f.Str("message", &m.message); },
                   [&] { return f.Strings("columns", &m.columns); },
                   [&] { return DecodeRows(f, "rows", &m.rows); });
    return done(s, std::move(m));
  }
  return Status::InvalidArgument("unknown message type '" + std::string(type) + "'");
}

}  // namespace

const char* MessageTypeName(const Message& m) { return kTypeNames[m.index()]; }

std::string Encode(const Message& m) {
  msgpack::sbuffer buf;
  Packer p(buf);
  std::visit(EncodeVisitor{p}, m);
  return std::string(buf.data(), buf.size());
}

Result<Message> Decode(std::string_view bytes) {
  if (bytes.size() > kMaxFrameBytes) return Status::Malformed("frame larger than the limit");
  // Containers may not claim more elements than the frame has bytes: a 5-byte array header
  // cannot make the decoder reserve four billion slots.
  const size_t n = bytes.size();
  const msgpack::unpack_limit limit(n, n, n, n, 0, 16);
  msgpack::object_handle oh;
  try {
    size_t off = 0;
    oh = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
    if (off != bytes.size()) return Status::Malformed("trailing bytes after the message");
  } catch (const std::exception& e) {
    return Status::Malformed(std::string("not msgpack: ") + e.what());
  }
  const msgpack::object& root = oh.get();
  if (root.type != msgpack::type::MAP) return Status::Malformed("the envelope is not a map");
  Fields f(root.via.map);
  uint64_t v = 0;
  if (Status s = f.U64("v", &v); !s.ok()) return s;
  if (v != kProtocolVersion)
    return Status::Incompatible("protocol version " + std::to_string(v) + ", this node speaks " +
                                std::to_string(kProtocolVersion));
  std::string type;
  if (Status s = f.Str("type", &type); !s.ok()) return s;
  try {
    return DecodeBody(type, f);
  } catch (const std::exception& e) {  // allocation failure on a huge but legal frame
    return Status::Malformed(std::string("cannot decode: ") + e.what());
  }
}

}  // namespace livepoll::proto
