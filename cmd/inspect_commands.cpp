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
// last_poll_ms 412 -> "0.4s ago" (nil: "never"). `column` is renamed `shown`.
void HumanizeAgoColumn(proto::AdminReply& reply, const std::string& column, const std::string& shown) {
  const size_t at = ColumnIndex(reply.columns, column);
  if (at == reply.columns.size()) return;
  reply.columns[at] = shown;
  for (Row& row : reply.rows) {
    if (at >= row.size()) continue;
    if (auto* ms = std::get_if<int64_t>(&row[at])) {
      row[at] = HumanizeAgo(*ms);
    } else if (std::holds_alternative<Null>(row[at])) {
      row[at] = std::string("never");
    }
  }
}

void HumanizeSubs(proto::AdminReply& reply) { HumanizeAgoColumn(reply, "last_poll_ms", "last_poll"); }
void HumanizeMembers(proto::AdminReply& reply) {
  HumanizeAgoColumn(reply, "last_heard_ms", "last_heard");
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
