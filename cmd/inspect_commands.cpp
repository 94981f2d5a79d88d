// Commands that show one admin table: status, queries, plugins, subs, stats (cluster-wide: every
// node's part, merged by the daemon the CLI talks to) and members (that daemon's view).
#include "inspect_commands.h"

#include <algorithm>
#include <map>
#include <ostream>

#include "admin_client.h"
#include "command.h"
#include "duration.h"

namespace livepoll::cli {

namespace po = boost::program_options;

size_t ColumnIndex(const std::vector<std::string>& columns, const std::string& name) {
  size_t i = 0;
  while (i < columns.size() && columns[i] != name) ++i;
  return i;
}

void DefineNodeFilter(po::options_description& options) {
  options.add_options()("node", po::value<std::vector<std::string>>()->value_name("NODE"),
                        "ask only this node (repeatable; default: every up member)");
}

void KeepRows(proto::AdminReply& reply, const std::string& column,
              const std::vector<std::string>& wanted, bool query_of_topic) {
  const size_t at = ColumnIndex(reply.columns, column);
  if (at == reply.columns.size()) return;
  std::erase_if(reply.rows, [&](const Row& row) {
    const std::string* text = at < row.size() ? std::get_if<std::string>(&row[at]) : nullptr;
    if (text == nullptr) return true;
    const std::string value = query_of_topic ? text->substr(0, text->find('?')) : *text;
    return std::find(wanted.begin(), wanted.end(), value) == wanted.end();
  });
}

void ApplyFilters(const CommandContext& ctx, proto::AdminReply& reply) {
  auto values = [&](const char* option) {
    return ctx.vm.count(option) ? ctx.vm[option].as<std::vector<std::string>>()
                                : std::vector<std::string>{};
  };
  if (ctx.vm.count("query")) {
    const bool catalog = ColumnIndex(reply.columns, "topic") == reply.columns.size();
    KeepRows(reply, catalog ? "name" : "topic", values("query"), !catalog);
  }
  if (ctx.vm.count("state")) KeepRows(reply, "state", values("state"), false);
  if (ctx.vm.count("reason")) KeepRows(reply, "reason", values("reason"), false);
}

namespace {

// On a terminal, `_ms` columns read better as durations: interval_ms 500 -> "500ms",
// last_poll_ms 412 -> "0.4s ago" (nil: "never"), age_ms 12000 -> "12s".
void Humanize(proto::AdminReply& reply) {
  for (size_t at = 0; at < reply.columns.size(); ++at) {
    std::string& column = reply.columns[at];
    if (column.size() < 4 || column.compare(column.size() - 3, 3, "_ms") != 0) continue;
    const std::string name = column;
    column.resize(column.size() - 3);
    const bool ago = name == "last_poll_ms" || name == "last_heard_ms";
    for (Row& row : reply.rows) {
      if (at >= row.size()) continue;
      if (auto* ms = std::get_if<int64_t>(&row[at])) {
        row[at] = name == "interval_ms" ? FormatDuration(std::chrono::milliseconds(*ms))
                  : ago                 ? HumanizeAgo(*ms)
                                        : HumanDuration(std::chrono::milliseconds(*ms));
      } else if (std::holds_alternative<Null>(row[at]) && name == "last_poll_ms") {
        row[at] = std::string("never");
      }
    }
  }
}

}  // namespace

int PrintReply(const CommandContext& ctx, proto::AdminReply& reply, bool partial) {
  ApplyFilters(ctx, reply);
  if (ctx.global.mode == OutputMode::kTable) Humanize(reply);
  WriteRows(ctx.out, reply.columns, reply.rows, ctx.global.mode,
            ctx.global.mode == OutputMode::kTable || ctx.global.header);
  return partial ? kExitPartial : kExitOk;
}

namespace {

// A cluster-wide table, filtered and printed; TSV and JSON stay raw, for scripts.
int PrintClusterTable(const CommandContext& ctx, const std::string& command) {
  zmq::context_t context;
  int code = kExitOk;
  bool partial = false;
  std::optional<proto::AdminReply> reply =
      CallClusterOrReport(ctx, context, command, {}, &code, &partial);
  if (!reply) return code;
  return PrintReply(ctx, *reply, partial);
}

void DefineNode(po::options_description& o, po::positional_options_description&) {
  DefineNodeFilter(o);
}
void DefineQueries(po::options_description& o, po::positional_options_description&) {
  DefineNodeFilter(o);
  o.add_options()("query", po::value<std::vector<std::string>>()->value_name("QUERY"),
                  "only this query (repeatable)");
}
void DefineSubs(po::options_description& o, po::positional_options_description&) {
  DefineNodeFilter(o);
  // clang-format off
  o.add_options()
      ("query", po::value<std::vector<std::string>>()->value_name("QUERY"),
       "only topics of this query (repeatable)")
      ("state", po::value<std::vector<std::string>>()->value_name("STATE"),
       "only topics in this state (repeatable): polling, relayed, waiting, error, ...");
  // clang-format on
}
void DefineMembers(po::options_description& o, po::positional_options_description&) {
  o.add_options()("state", po::value<std::vector<std::string>>()->value_name("STATE"),
                  "only members in this state (repeatable): alive, suspect, dead, left, seed");
}

// `livepoll status`: the nodes' rows, and a warning on stderr when their catalogs differ (a
// SIGHUP sent to some nodes only, or files that drifted apart): `livepoll queries` says which
// node holds which definition.
int RunStatus(const CommandContext& ctx) {
  zmq::context_t context;
  int code = kExitOk;
  bool partial = false;
  std::optional<proto::AdminReply> reply =
      CallClusterOrReport(ctx, context, "info", {}, &code, &partial);
  if (!reply) return code;
  const auto node = std::find(reply->columns.begin(), reply->columns.end(), "node");
  const auto catalog = std::find(reply->columns.begin(), reply->columns.end(), "catalog");
  if (node != reply->columns.end() && catalog != reply->columns.end()) {
    const size_t n = static_cast<size_t>(node - reply->columns.begin());
    const size_t c = static_cast<size_t>(catalog - reply->columns.begin());
    std::map<std::string, std::vector<std::string>> by_digest;
    auto text = [](const Value& v) {
      const std::string* s = std::get_if<std::string>(&v);
      return s ? *s : std::string("?");
    };
    for (const Row& row : reply->rows)
      if (row.size() > std::max(n, c)) by_digest[text(row[c])].push_back(text(row[n]));
    if (by_digest.size() > 1) {
      ctx.err << "livepoll: warning: the nodes' catalogs differ:";
      for (const auto& [digest, nodes] : by_digest) {
        ctx.err << " " << digest << " on";
        for (const std::string& name : nodes) ctx.err << " " << name;
        ctx.err << ";";
      }
      ctx.err << " see livepoll queries\n";
    }
  }
  return PrintReply(ctx, *reply, partial);
}
int RunQueries(const CommandContext& ctx) { return PrintClusterTable(ctx, "queries"); }
int RunPlugins(const CommandContext& ctx) { return PrintClusterTable(ctx, "plugins"); }
int RunSubs(const CommandContext& ctx) { return PrintClusterTable(ctx, "subs"); }
int RunStats(const CommandContext& ctx) { return PrintClusterTable(ctx, "stats"); }

int RunMembers(const CommandContext& ctx) {
  zmq::context_t context;
  int code = kExitOk;
  std::optional<proto::AdminReply> reply = CallAdminOrReport(ctx, context, "members", {}, &code);
  if (!reply) return code;
  return PrintReply(ctx, *reply, false);
}

}  // namespace

std::vector<Command> InspectCommands() {
  return {
      {"status", "[--node NODE]...",
       "show every node: version, endpoints, pid, uptime, topics, subscribers, serving", DefineNode,
       RunStatus},
      {"members", "[--state STATE]...",
       "list the cluster's members (name, incarnation, endpoints, state, last heard) and seeds",
       DefineMembers, RunMembers},
      {"subs", "[--node NODE]... [--query QUERY]... [--state STATE]...",
       "list topics: owner, epoch, subscribers, polls, last poll, state, claims, pollers",
       DefineSubs, RunSubs},
      {"queries", "[--node NODE]... [--query QUERY]...",
       "list the query catalog: name, params, source, interval, key, nodes", DefineQueries,
       RunQueries},
      {"plugins", "[--node NODE]...",
       "list each node's data sources: plugin, version, ABI, connections, file", DefineNode,
       RunPlugins},
      {"stats", "[--node NODE]...",
       "list each node's counters: polls, errors, refused frames, reaped zombies", DefineNode,
       RunStats},
  };
}

}  // namespace livepoll::cli
