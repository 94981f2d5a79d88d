// Commands that show one admin table: status, queries, subs, stats, members.
#include <ostream>

#include "admin_client.h"
#include "command.h"
#include "duration.h"

namespace livepoll::cli {
namespace {

// The index of `name` in `columns`, or columns.size() when the daemon did not send it (an older
// or newer daemon may differ: show what came, never fail on it).
size_t ColumnIndex(const std::vector<std::string>& columns, const std::string& name) {
  size_t i = 0;
  while (i < columns.size() && columns[i] != name) ++i;
  return i;
}

// Calls `command` and prints its reply as-is (TSV and JSON stay raw, for scripts); `for_people`
// may rewrite the reply for the table mode only.
int PrintAdminTable(const CommandContext& ctx, const std::string& command,
                    void (*for_people)(proto::AdminReply&) = nullptr) {
  zmq::context_t context;
  int code = kExitOk;
  std::optional<proto::AdminReply> reply = CallAdminOrReport(ctx, context, command, {}, &code);
  if (!reply) return code;
  if (ctx.global.mode == OutputMode::kTable && for_people) for_people(*reply);
  WriteRows(ctx.out, reply->columns, reply->rows, ctx.global.mode,
            ctx.global.mode == OutputMode::kTable || ctx.global.header);
  return kExitOk;
}

// On a terminal, `ms` columns read better as durations: interval_ms 500 -> "500ms",
// last_poll_ms 412 -> "0.4s ago" (nil: "never").
void HumanizeSubs(proto::AdminReply& reply) {
  const size_t last = ColumnIndex(reply.columns, "last_poll_ms");
  if (last == reply.columns.size()) return;
  reply.columns[last] = "last_poll";
  for (Row& row : reply.rows) {
    if (last >= row.size()) continue;
    if (auto* ms = std::get_if<int64_t>(&row[last])) {
      row[last] = HumanizeAgo(*ms);
    } else if (std::holds_alternative<Null>(row[last])) {
      row[last] = std::string("never");
    }
  }
}

void HumanizeQueries(proto::AdminReply& reply) {
  const size_t interval = ColumnIndex(reply.columns, "interval_ms");
  if (interval == reply.columns.size()) return;
  reply.columns[interval] = "interval";
  for (Row& row : reply.rows) {
    if (interval >= row.size()) continue;
    if (auto* ms = std::get_if<int64_t>(&row[interval])) {
      row[interval] = FormatDuration(std::chrono::milliseconds(*ms));
    }
  }
}

int RunQueries(const CommandContext& ctx) {
  return PrintAdminTable(ctx, "queries", HumanizeQueries);
}

int RunSubs(const CommandContext& ctx) { return PrintAdminTable(ctx, "subs", HumanizeSubs); }

int RunStats(const CommandContext& ctx) { return PrintAdminTable(ctx, "stats"); }

void HumanizeMembers(proto::AdminReply& reply) {
  const size_t last = ColumnIndex(reply.columns, "last_heard_ms");
  if (last == reply.columns.size()) return;
  reply.columns[last] = "last_heard";
  for (Row& row : reply.rows) {
    if (last >= row.size()) continue;
    if (auto* ms = std::get_if<int64_t>(&row[last])) {
      row[last] = HumanizeAgo(*ms);
    } else if (std::holds_alternative<Null>(row[last])) {
      row[last] = std::string("never");
    }
  }
}

int RunMembers(const CommandContext& ctx) { return PrintAdminTable(ctx, "members", HumanizeMembers); }

// `info` is one row; people and `cut`/`grep` read it best as key/value lines. JSON keeps the one
// object, which is already key/value.
int RunStatus(const CommandContext& ctx) {
  zmq::context_t context;
  int code = kExitOk;
  std::optional<proto::AdminReply> reply = CallAdminOrReport(ctx, context, "info", {}, &code);
  if (!reply) return code;
  if (ctx.global.mode == OutputMode::kJson) {
    WriteRows(ctx.out, reply->columns, reply->rows, OutputMode::kJson, false);
    return kExitOk;
  }
  std::vector<Row> pairs;
  for (const Row& row : reply->rows) {
    for (size_t c = 0; c < reply->columns.size(); ++c) {
      Value v = c < row.size() ? row[c] : Value(Null{});
      if (ctx.global.mode == OutputMode::kTable) {
        // Values of different kinds under each other: all left-aligned text reads best.
        auto* ms = std::get_if<int64_t>(&v);
        v = ms && reply->columns[c] == "uptime_ms" ? HumanizeDuration(*ms)
                                                   : CellText(v, OutputMode::kTable);
      }
      pairs.push_back({Value(reply->columns[c]), std::move(v)});
    }
  }
  WriteRows(ctx.out, {"key", "value"}, pairs, ctx.global.mode, ctx.global.header);
  return kExitOk;
}

}  // namespace

std::vector<Command> InspectCommands() {
  return {
      {"status", "", "show the node the CLI talks to (admin command info)", nullptr, RunStatus},
      {"queries", "", "list the query catalog: name, params, source, interval, key", nullptr,
       RunQueries},
      {"subs", "", "list topics: owner, epoch, subscribers, polls, last poll, state", nullptr,
       RunSubs},
      {"stats", "", "list the node's counters: polls, errors, refused frames, dropped clients",
       nullptr, RunStats},
      {"members", "", "list the cluster's members: name, incarnation, endpoints, state, last heard",
       nullptr, RunMembers},
  };
}

}  // namespace livepoll::cli
