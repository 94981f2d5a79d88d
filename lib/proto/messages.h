// The messages of livepoll's client and admin protocols, as plain structs. PROTOCOL.md beside this
// file is their specification; codec.h turns them into bytes and back.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "livepoll/value.h"

namespace livepoll::proto {

// The protocol version carried in every envelope as `v`.
inline constexpr uint32_t kProtocolVersion = 1;

// Query parameters as a client gives them: name -> text. The daemon canonicalises them (topic.h).
using Params = std::vector<std::pair<std::string, std::string>>;

// ---- client -> daemon (client endpoint) ----
struct Join {  // subscribe to query(params); answered by Joined or Error, then Updates
  uint64_t id = 0;
  std::string query;
  Params params;
  // Resume (PROTOCOL.md, "Sessions and resume"): the last update the client applied of this
  // topic, in an earlier session or on another node. resume_epoch 0: a plain join.
  std::string resume_owner;
  uint64_t resume_owner_session = 0;
  uint64_t resume_epoch = 0;
  uint64_t resume_seq = 0;
  bool operator==(const Join&) const = default;
};
struct Leave {  // unsubscribe; answered by Left or Error
  uint64_t id = 0;
  std::string topic;
  bool operator==(const Leave&) const = default;
};
struct Heartbeat {  // both ways: a client sends it to stay alive, the daemon answers it
  // The daemon's session: the process (a new one at every start). From the daemon: its own; from
  // a client: the session its subscriptions were made in (0: none yet).
  uint64_t session = 0;
  bool operator==(const Heartbeat&) const = default;
};

// Proves who the client is, once per connection, before its joins (PROTOCOL.md, "Tokens");
// answered by Authed or Error. A later Auth replaces what an earlier one proved.
struct Auth {
  uint64_t id = 0;
  std::string token;  // a JWT signed with HS256 under the daemon's token_secret
  bool operator==(const Auth&) const = default;
};

// ---- daemon -> client ----
struct Joined {
  uint64_t id = 0;
  std::string topic;
  uint64_t session = 0;  // the daemon's session (Heartbeat)
  bool resumed = false;  // a resuming join's stream continues: no snapshot comes first
  bool operator==(const Joined&) const = default;
};
struct Left {
  uint64_t id = 0;
  std::string topic;
  bool operator==(const Left&) const = default;
};
struct Authed {  // the token verified: the claims joins of this connection are judged by
  uint64_t id = 0;
  Params claims;         // the token's claims, flat, sorted by name
  uint64_t expires = 0;  // the token's `exp` (seconds since 1970); 0: none
  bool operator==(const Authed&) const = default;
};

enum class UpdateKind { kSnapshot, kDiff, kError };
const char* UpdateKindName(UpdateKind k);  // "snapshot", "diff", "error"

struct Change {
  enum class Op { kInsert, kUpdate, kDelete };
  Op op = Op::kInsert;
  Row row;  // the new row (insert, update) or the removed row (delete)
  bool operator==(const Change&) const = default;
};
const char* ChangeOpName(Change::Op op);  // "insert", "update", "delete"

// One message of a topic's stream. (owner, epoch, seq) orders it: epoch is the fencing token of
// the owner's registration, seq counts the owner's messages for the topic within that epoch.
struct Update {
  std::string topic;
  UpdateKind kind = UpdateKind::kSnapshot;
  std::string owner;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  std::vector<std::string> columns;
  std::vector<Row> rows;        // kSnapshot: the whole result
  std::vector<Change> changes;  // kDiff: keyed changes against the previous message
  std::string error;            // kError: why the poll failed; subscribers keep their last data
  uint64_t owner_session = 0;   // the owner's session (Heartbeat): tells its processes apart
  bool operator==(const Update&) const = default;
};

// An error answer to a request (id != 0) or about the connection (id == 0).
struct Error {
  uint64_t id = 0;
  std::string code;  // Status::CodeName, e.g. "invalid-argument", "malformed"
  std::string message;
  bool operator==(const Error&) const = default;
};

// ---- CLI <-> daemon (admin endpoint) ----
// A command with named arguments; the answer is a table, so every command's reply has one shape
// and the CLI can print any of them as a table, TSV or JSON lines.
struct AdminRequest {
  uint64_t id = 0;
  std::string command;  // "info", "queries", "subs", "stats"
  Params args;
  bool operator==(const AdminRequest&) const = default;
};
struct AdminReply {
  uint64_t id = 0;
  std::string code;  // empty on success, else a Status code name
  std::string message;
  std::vector<std::string> columns;
  std::vector<Row> rows;
  // A cluster-wide answer's nodes that did not answer, each "NAME: why" (sent only when any).
  std::vector<std::string> missing;
  bool operator==(const AdminReply&) const = default;
};

// New types are added at the end: a variant's index is no wire value, but it keeps tables and
// tests that list the messages in order stable.
using Message = std::variant<Join, Leave, Heartbeat, Joined, Left, Update, Error, AdminRequest,
                             AdminReply, Auth, Authed>;

// The `type` string of a message: "join", "leave", "heartbeat", "joined", "left", "update",
// "error", "admin", "admin_reply", "auth", "authed".
const char* MessageTypeName(const Message& m);

}  // namespace livepoll::proto
