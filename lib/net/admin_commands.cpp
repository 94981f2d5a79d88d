#include "net/admin_commands.h"

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <set>

#include "livepoll/strings.h"
#include "livepoll/version.h"
#include "net/admin_zombies.h"

namespace livepoll::net {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

Value Int(uint64_t n) { return Value(static_cast<int64_t>(n)); }

// A bucket's bound (seconds) in milliseconds, shortest: 0.0005 -> "0.5", 2.5 -> "2500".
std::string MsBound(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds * 1000);
  return text;
}
Value Ms(Duration d) { return Value(static_cast<int64_t>(duration_cast<milliseconds>(d).count())); }

proto::AdminReply Failure(const Status& s) {
  proto::AdminReply r;
  r.code = std::string(Status::CodeName(s.code()));
  r.message = s.message();
  return r;
}

// Whether the node serves its clients' topics, and if not, why: "yes", "yes, as a cluster of
// one: ...", "no: partition = majority and ...".
std::string Serving(const core::Node& node) {
  const core::ClusterState* cluster = node.cluster();
  if (cluster == nullptr) return "yes";
  if (std::string why = cluster->registry().WhyNotOwning(); !why.empty()) return "no: " + why;
  const core::Membership& membership = cluster->membership();
  if (!membership.alone()) return "yes";
  const size_t unmet = membership.UnansweredSeeds();
  if (unmet == 0) return "yes, as a cluster of one";
  return "yes, as a cluster of one: " + std::to_string(unmet) +
         (unmet == 1 ? " seed has" : " seeds have") + " not answered";
}

proto::AdminReply Info(AdminContext& ctx, const proto::AdminRequest&) {
  proto::AdminReply r;
  r.columns = {"node",   "version",     "client_endpoint", "admin_endpoint", "pid",    "uptime_ms",
               "topics", "subscribers", "serving",         "config",         "catalog"};
  const core::Subscriptions& subs = ctx.node.subscriptions();
  r.rows.push_back({ctx.node.name(), std::string(Version()), ctx.client_endpoint,
                    ctx.admin_endpoint, Int(static_cast<uint64_t>(getpid())),
                    Ms(ctx.now - ctx.started), Int(subs.topic_count()),
                    Int(subs.subscription_count()), Serving(ctx.node), ctx.config,
                    core::DigestText(core::CatalogDigest(subs.catalog()))});
  return r;
}

proto::AdminReply Queries(AdminContext& ctx, const proto::AdminRequest&) {
  proto::AdminReply r;
  r.columns = {"name", "params", "source", "interval_ms", "key", "digest"};
  for (const auto& [name, q] : ctx.node.subscriptions().catalog().queries)
    r.rows.push_back(
        {name, Join(q.params), q.source, Ms(q.interval), Join(q.key), core::DigestText(q.digest)});
  return r;
}

proto::AdminReply Stats(AdminContext& ctx, const proto::AdminRequest&) {
  proto::AdminReply r;
  r.columns = {"node", "name", "value"};
  const core::Counters& c = ctx.node.counters();
  for (const core::CounterName& n : core::kCounters) {
    if (n.cluster_only && ctx.node.standalone()) continue;
    r.rows.push_back({ctx.node.name(), std::string(n.name), Int(c.*n.field)});
  }
  r.rows.push_back(
      {ctx.node.name(), std::string("clients"), Int(ctx.node.subscriptions().client_count())});
  if (ctx.histograms != nullptr) {
    // The event loop's turns by how long they worked (/metrics: livepoll_loop_busy_seconds):
    // cumulative counts per bound, as Prometheus buckets are, and the longest.
    const Histogram& h = ctx.histograms->loop_busy;
    uint64_t upto = 0;
    for (size_t i = 0; i < h.bounds().size(); ++i) {
      upto += h.counts()[i];
      r.rows.push_back({ctx.node.name(), "loop_busy_ms_le_" + MsBound(h.bounds()[i]), Int(upto)});
    }
    r.rows.push_back({ctx.node.name(), std::string("loop_busy_count"), Int(h.count())});
    r.rows.push_back({ctx.node.name(), std::string("loop_busy_ms_max"),
                      Int(static_cast<uint64_t>(std::llround(h.max() * 1000)))});
  }
  return r;
}

proto::AdminReply Plugins(AdminContext& ctx, const proto::AdminRequest&) {
  proto::AdminReply r;
  r.columns = {"node", "source", "plugin", "version", "abi", "connections", "path"};
  for (const source::SourceSpec& s : ctx.runner.Sources()) {
    r.rows.push_back(
        {ctx.node.name(), s.name, s.plugin->name(), s.plugin->version(),
         std::to_string(s.plugin->abi_major()) + "." + std::to_string(s.plugin->abi_minor()),
         Int(static_cast<uint64_t>(s.connections)), s.plugin->path()});
  }
  return r;
}

// Fault injection for tests (ClusterOptions::fault_injection): cut=NODE,... replaces the set of
// peers cut off; heal empties it.
proto::AdminReply Fault(AdminContext& ctx, const proto::AdminRequest& req) {
  if (!ctx.cluster)
    return Failure(Status::FailedPrecondition("fault: this node is not in a cluster"));
  std::set<std::string> peers;
  bool given = false;
  for (const auto& [key, value] : req.args) {
    if (key == "heal") {
      given = true;
    } else if (key == "cut") {
      given = true;
      std::string name;
      for (char ch : value + ",") {
        if (ch != ',')
          name += ch;
        else if (!name.empty())
          peers.insert(std::exchange(name, ""));
      }
    } else {
      return Failure(
          Status::InvalidArgument("fault: unknown argument '" + key + "' (cut or heal)"));
    }
  }
  if (!given) return Failure(Status::InvalidArgument("fault: give cut=NODE,... or heal"));
  if (Status s = ctx.cluster->Cut(ctx.now, std::move(peers), ctx.out); !s.ok()) return Failure(s);
  proto::AdminReply r;
  r.columns = {"cut"};
  for (const std::string& p : ctx.cluster->cut()) r.rows.push_back({p});
  return r;
}

proto::AdminReply Subs(AdminContext& ctx, const proto::AdminRequest&) { return SubsView(ctx); }
proto::AdminReply Members(AdminContext& ctx, const proto::AdminRequest&) {
  return MembersView(ctx);
}
proto::AdminReply Zombies(AdminContext& ctx, const proto::AdminRequest&) {
  return ListZombies(ctx);
}
proto::AdminReply Reap(AdminContext& ctx, const proto::AdminRequest& req) {
  return ReapTopics(ctx, req.args);
}
proto::AdminReply Resolve(AdminContext& ctx, const proto::AdminRequest& req) {
  return ResolveClashes(ctx, req.args);
}

constexpr std::array kCommands = {
    AdminCommand{"info", true, true, Info},     AdminCommand{"queries", true, true, Queries},
    AdminCommand{"subs", true, true, Subs},     AdminCommand{"members", false, true, Members},
    AdminCommand{"stats", true, true, Stats},   AdminCommand{"plugins", true, true, Plugins},
    AdminCommand{"fault", false, false, Fault}, AdminCommand{"zombies", true, true, Zombies},
    AdminCommand{"reap", true, false, Reap},    AdminCommand{"resolve", true, false, Resolve},
};

}  // namespace

const AdminCommand* FindAdminCommand(std::string_view name) {
  for (const AdminCommand& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

bool IsClusterWide(std::string_view command) {
  const AdminCommand* c = FindAdminCommand(command);
  return c != nullptr && c->cluster_wide;
}

bool IsReadOnly(std::string_view command) {
  const AdminCommand* c = FindAdminCommand(command);
  return c != nullptr && c->read_only;
}

proto::AdminReply RunAdmin(AdminContext& ctx, const proto::AdminRequest& req) {
  const AdminCommand* c = FindAdminCommand(req.command);
  if (c == nullptr)
    return Failure(Status::InvalidArgument("unknown admin command '" + req.command + "'"));
  return c->run(ctx, req);
}

}  // namespace livepoll::net
