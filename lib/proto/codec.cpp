#include "proto/codec.h"

#include "proto/wire.h"

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

using namespace wire;

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
    PackEnvelope(p, "admin_reply", m.missing.empty() ? 5 : 6);
    Key("id"); p.pack_uint64(m.id);
    Key("code"); PackStr(p, m.code);
    Key("message"); PackStr(p, m.message);
    Key("columns"); PackStrings(p, m.columns);
    Key("rows"); PackRows(p, m.rows);
    if (!m.missing.empty()) { Key("missing"); PackStrings(p, m.missing); }
  }
};

// ------------------------------------------------------------------------------------ decoding

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
                   [&] { return DecodeRows(f, "rows", &m.rows); },
                   [&] { return f.Find("missing") ? f.Strings("missing", &m.missing) : Status::Ok(); });
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
  Result<Envelope> env = OpenEnvelope(bytes);
  if (!env.ok()) return env.status();
  try {
    return DecodeBody(env->type, env->fields());
  } catch (const std::exception& e) {  // allocation failure on a huge but legal frame
    return Status::Malformed(std::string("cannot decode: ") + e.what());
  }
}

}  // namespace livepoll::proto
