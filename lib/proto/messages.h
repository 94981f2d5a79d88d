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
  bool operator==(const Join&) const = default;
};
struct Leave {  // unsubscribe; answered by Left or Error
  uint64_t id = 0;
  std::string topic;
  bool operator==(const Leave&) const = default;
};
struct Heartbeat {  // both ways: a client sends it to stay alive, the daemon echoes it
  bool operator==(const Heartbeat&) const = default;
};

// ---- daemon -> client ----
struct Joined {
  uint64_t id = 0;
  std::string topic;
  bool operator==(const Joined&) const = default;
};
struct Left {
  uint64_t id = 0;
  std::string topic;
  bool operator==(const Left&) const = default;
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

using Message =
    std::variant<Join, Leave, Heartbeat, Joined, Left, Update, Error, AdminRequest, AdminReply>;

// The `type` string of a message: "join", "leave", "heartbeat", "joined", "left", "update",
// "error", "admin", "admin_reply".
const char* MessageTypeName(const Message& m);

}  // namespace livepoll::proto
