// The admin commands one node answers (`livepoll status`, `subs`, `reap`, ...): a table of
// commands, each a function of an AdminContext, as cmd/command.h is for the CLI. The Server
// dispatches its own admin requests and other nodes' AdminCalls through it; cluster-wide
// commands are also asked of every up member and the answers merged (admin_fanout.h).
//
// Tables (a row per node in a cluster-wide answer; PROTOCOL.md, "admin"):
//   info      node, version, client_endpoint, admin_endpoint, pid, uptime_ms, topics, subscribers,
//             serving ("yes", "yes, as a cluster of one: ...", "no: <why>"), config (the
//             configuration file's last load or reload: "loaded at HH:MM:SS", "reload failed
//             at HH:MM:SS: <why>"), catalog (core::CatalogDigest, 16 hex digits: nodes with
//             different ones hold different catalogs)
//   queries   name, params, source, interval_ms, key, digest (config::QueryDigest: the SQL too);
//             cluster-wide, one row per definition with the nodes holding it (admin_fanout.cpp)
//   subs      topic, owner, epoch, seq, subscribers, polls, errors, last_poll_ms, state,
//             cluster_subscribers, nodes, claims (admin_views.cpp)
//   members   name, incarnation, gossip_endpoint, rpc_endpoint, state, version, last_heard_ms,
//             seed, answer (a row of state "seed" for each seed not met as a member)
//   stats     node, name, value (every counter of core::Counters, and `clients`)
//   plugins   node, source, plugin, version, abi, connections, path
//   fault     cut (fault injection: cut=NODE,... or heal)
//   zombies, reap, resolve: admin_zombies.h
//
// Thread safety: none; the Server's event loop calls them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/node.h"
#include "livepoll/time.h"
#include "net/cluster.h"
#include "net/metrics.h"
#include "proto/messages.h"
#include "source/poll_runner.h"

namespace livepoll::net {

// What the commands look at and act on.
struct AdminContext {
  Time now;
  core::Node& node;
  Cluster* cluster;  // null: a standalone node
  const source::PollRunner& runner;
  const std::string& client_endpoint;
  const std::string& admin_endpoint;
  Time started;          // when the node started, for uptime
  uint32_t stall_after;  // [node] stall_after
  // The configuration's state: "loaded HH:MM:SS" or "reload failed at HH:MM:SS: <why>".
  const std::string& config;
  core::Actions& out;  // what a command makes the node decide, for the Server to carry out
  const NodeHistograms* histograms = nullptr;  // the Server's (stats shows loop_busy)
};

struct AdminCommand {
  const char* name;
  bool cluster_wide;  // asked of every up member too, the answers merged (admin_fanout.h)
  bool read_only;     // changes nothing: allowed to a read-only admin key (admin_readonly_keys)
  proto::AdminReply (*run)(AdminContext& ctx, const proto::AdminRequest& req);
};

// The command named `name`, or null.
const AdminCommand* FindAdminCommand(std::string_view name);
bool IsClusterWide(std::string_view command);
// Whether `command` only looks (info, members, subs, ...); false for reap, resolve, fault and
// unknown commands.
bool IsReadOnly(std::string_view command);

// Runs `req` on this node: its reply, or an error reply for an unknown command.
proto::AdminReply RunAdmin(AdminContext& ctx, const proto::AdminRequest& req);

// The views that take more than a few lines (admin_views.cpp).
proto::AdminReply SubsView(const AdminContext& ctx);
proto::AdminReply MembersView(const AdminContext& ctx);

}  // namespace livepoll::net
