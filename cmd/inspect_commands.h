// What the table commands share (inspect_commands.cpp, zombie_commands.cpp): --node, the filters
// and the printing of a reply.
#pragma once

#include <string>
#include <vector>

#include "command.h"
#include "proto/messages.h"

namespace livepoll::cli {

// The index of `name` in `columns`, or columns.size() when the daemon did not send it (an older
// or newer daemon may differ: show what came, never fail on it).
size_t ColumnIndex(const std::vector<std::string>& columns, const std::string& name);

// --node NODE (repeatable): the nodes a cluster-wide command asks (admin_client.h).
void DefineNodeFilter(boost::program_options::options_description& options);

// Keeps the rows whose text in `column` is one of `wanted` (`query_of_topic`: compares the query
// name of a topic, the part before '?'). A reply without that column is left as it is.
void KeepRows(proto::AdminReply& reply, const std::string& column,
              const std::vector<std::string>& wanted, bool query_of_topic);

// The command's --query, --state and --reason, where it defines them.
void ApplyFilters(const CommandContext& ctx, proto::AdminReply& reply);

// Filters and prints `reply` (on a terminal: a table with durations for people; else raw TSV or
// JSON). Returns kExitPartial when `partial`, else kExitOk.
int PrintReply(const CommandContext& ctx, proto::AdminReply& reply, bool partial);

}  // namespace livepoll::cli
