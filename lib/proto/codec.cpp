#include "proto/codec.h"

#include <array>
#include <optional>

#include "proto/schema.h"

namespace livepoll::proto {

const char* UpdateKindName(UpdateKind k) {
  switch (k) {
    case UpdateKind::kSnapshot:
      return "snapshot";
    case UpdateKind::kDiff:
      return "diff";
    case UpdateKind::kError:
      return "error";
  }
  return "error";
}

const char* ChangeOpName(Change::Op op) {
  switch (op) {
    case Change::Op::kInsert:
      return "insert";
    case Change::Op::kUpdate:
      return "update";
    case Change::Op::kDelete:
      return "delete";
  }
  return "update";
}

namespace {

using namespace schema;

// Every client and admin message is described once, below, by a table (schema.h says how to
// write one): the tables encode, decode and list the messages (MessageTables), and PROTOCOL.md is
// checked against the list.

// clang-format off
constexpr auto kRow = Named("row", ArrayOf(kValue));  // a result row: values in column order
constexpr auto kChangeOp =
    StrEnum(ChangeOpName, Change::Op::kInsert, Change::Op::kUpdate, Change::Op::kDelete);
constexpr auto kChange = Tuple<Change>("change",
    Field("op",      kChangeOp,    &Change::op),
    Field("row",     kRow,         &Change::row));

bool IsSnapshot(const Update& u) { return u.kind == UpdateKind::kSnapshot; }
bool IsDiff(const Update& u) { return u.kind == UpdateKind::kDiff; }
bool IsError(const Update& u) { return u.kind == UpdateKind::kError; }
constexpr auto kUpdateKind =
    StrEnum(UpdateKindName, UpdateKind::kSnapshot, UpdateKind::kDiff, UpdateKind::kError);

// One MessageType per alternative of proto::Message, in its order.
constexpr auto kMessages = Variant<Message>(
    MessageType<Join>("join",
        Field("id",      kUint,            &Join::id),
        Field("query",   kStr,             &Join::query),
        Field("params",  kParams,          &Join::params),
        Field("resume_owner", kStr,        &Join::resume_owner).Optional(),
        Field("resume_owner_session", kUint, &Join::resume_owner_session).Optional(),
        Field("resume_epoch", kUint,       &Join::resume_epoch).Optional(),
        Field("resume_seq",   kUint,       &Join::resume_seq).Optional()),
    MessageType<Leave>("leave",
        Field("id",      kUint,            &Leave::id),
        Field("topic",   kStr,             &Leave::topic)),
    MessageType<Heartbeat>("heartbeat",
        Field("session", kUint,            &Heartbeat::session).Optional()),
    MessageType<Joined>("joined",
        Field("id",      kUint,            &Joined::id),
        Field("topic",   kStr,             &Joined::topic),
        Field("session", kUint,            &Joined::session).Optional(),
        Field("resumed", kBool,            &Joined::resumed).Optional()),
    MessageType<Left>("left",
        Field("id",      kUint,            &Left::id),
        Field("topic",   kStr,             &Left::topic)),
    MessageType<Update>("update",
        Field("topic",   kStr,             &Update::topic),
        Field("kind",    kUpdateKind,      &Update::kind),
        Field("owner",   kStr,             &Update::owner),
        Field("owner_session", kUint,      &Update::owner_session).Optional(),
        Field("epoch",   kUint,            &Update::epoch),
        Field("seq",     kUint,            &Update::seq),
        Field("columns", ArrayOf(kStr),    &Update::columns),
        Field("rows",    ArrayOf(kRow),    &Update::rows).When("kind is snapshot", IsSnapshot),
        Field("changes", ArrayOf(kChange), &Update::changes).When("kind is diff", IsDiff),
        Field("error",   kStr,             &Update::error).When("kind is error", IsError)),
    MessageType<Error>("error",
        Field("id",      kUint,            &Error::id),
        Field("code",    kStr,             &Error::code),
        Field("message", kStr,             &Error::message)),
    MessageType<AdminRequest>("admin",
        Field("id",      kUint,            &AdminRequest::id),
        Field("command", kStr,             &AdminRequest::command),
        Field("args",    kParams,          &AdminRequest::args)),
    MessageType<AdminReply>("admin_reply",
        Field("id",      kUint,            &AdminReply::id),
        Field("code",    kStr,             &AdminReply::code),
        Field("message", kStr,             &AdminReply::message),
        Field("columns", ArrayOf(kStr),    &AdminReply::columns),
        Field("rows",    ArrayOf(kRow),    &AdminReply::rows),
        Field("missing", ArrayOf(kStr),    &AdminReply::missing).Optional()),
    MessageType<Auth>("auth",
        Field("id",      kUint,            &Auth::id),
        Field("token",   kStr,             &Auth::token)),
    MessageType<Authed>("authed",
        Field("id",      kUint,            &Authed::id),
        Field("claims",  kParams,          &Authed::claims),
        Field("expires", kUint,            &Authed::expires).Optional()));
// clang-format on

// Type names by Message alternative. The tables' names are string literals, so NUL-terminated.
constexpr auto kTypeNames = [] {
  std::array<const char*, std::variant_size_v<Message>> names{};
  size_t i = 0;
  kMessages.ForEachMessage([&](const auto& m) { names[i++] = m.type.data(); });
  return names;
}();

}  // namespace

const char* MessageTypeName(const Message& m) { return kTypeNames[m.index()]; }

std::string Encode(const Message& m) {
  msgpack::sbuffer buf;
  wire::Packer p(buf);
  kMessages.Encode(p, m, PlainEnvelope{});
  return std::string(buf.data(), buf.size());
}

Result<Message> Decode(std::string_view bytes) {
  Result<wire::Envelope> env = wire::OpenEnvelope(bytes);
  if (!env.ok()) return env.status();
  try {
    std::optional<Result<Message>> m = kMessages.Decode(env->type, env->fields());
    if (!m) return Status::InvalidArgument("unknown message type '" + env->type + "'");
    return std::move(*m);
  } catch (const std::exception& e) {  // allocation failure on a huge but legal frame
    return Status::Malformed(std::string("cannot decode: ") + e.what());
  }
}

std::vector<WireTable> MessageTables() { return Tables(kMessages); }

}  // namespace livepoll::proto
