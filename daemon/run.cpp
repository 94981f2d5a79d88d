#include "daemon/run.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "config/node_keys.h"
#include "core/node.h"
#include "daemon/catalog_load.h"
#include "daemon/demo.h"
#include "daemon/reload.h"
#include "daemon/service_notify.h"
#include "daemon/service_status.h"
#include "livepoll/version.h"
#include "net/advertise.h"
#include "net/curve_keys.h"
#include "net/server.h"
#include "source/dsn_mask.h"
#include "source/plugin.h"
#include "source/poll_runner.h"

namespace livepoll::daemon {
namespace {

// The cluster's sockets; InvalidArgument when there is no address to advertise (advertise.h).
Result<net::ClusterOptions> ClusterTransportFrom(Env& env, const config::NodeConfig& node) {
  net::ClusterOptions c;
  c.cluster = node.cluster;
  c.gossip_bind = node.gossip_bind;
  c.rpc_bind = node.rpc_bind;
  Result<std::string> host =
      net::AdvertiseHost(env, {node.gossip_bind, node.rpc_bind}, node.advertise_host, node.join);
  if (!host.ok()) return host.status();
  c.advertise_host = *host;
  c.seeds = node.join;
  c.seed_names = node.join_names;
  c.fault_injection = node.fault_injection;
  c.max_message_size = static_cast<int64_t>(node.max_message_size);
  return c;
}

// With keys: this node's keypair and the key sets; the error says which file or folder is wrong.
Result<std::optional<net::SecurityOptions>> SecurityFrom(const config::NodeConfig& node) {
  if (node.secret_key.empty()) return std::optional<net::SecurityOptions>();
  net::SecurityOptions sec;
  Result<net::CurveKeyPair> keys = net::LoadSecretKey(node.secret_key);
  if (!keys.ok()) return Status::InvalidArgument("secret_key: " + keys.status().message());
  sec.keys = *keys;
  sec.dirs = {node.trusted_keys, node.admin_keys, node.admin_readonly_keys};
  Result<net::KeySets> sets = net::LoadKeySets(sec.dirs, node.name, sec.keys.public_key);
  if (!sets.ok()) return sets.status();
  sec.sets = std::move(*sets);
  return std::optional<net::SecurityOptions>(std::move(sec));
}

// Who this node is in the cluster, and how its state machines behave.
core::NodeClusterOptions NodeClusterFrom(Env& env, const config::NodeConfig& node,
                                         uint64_t incarnation) {
  core::NodeClusterOptions c;
  c.self = {node.name, incarnation};
  core::ClusterOptions& n = c.state;
  n.membership.gossip_interval = node.gossip_interval;
  n.membership.suspect_after = node.suspect_after;
  n.membership.dead_after = node.dead_after;
  n.membership.permdown = node.permdown;
  n.membership.seed = env.RandomSeed();
  n.presence.gossip_interval = node.gossip_interval;
  n.presence.permdown = node.permdown;
  core::RegistryOptions& r = n.registry;
  r.placement = node.placement;
  r.clash_policy = node.clash_policy;
  r.partition = node.partition;
  r.linger = node.linger;
  r.takeover_timeout = node.takeover_timeout;
  r.claims = n.presence;
  r.seed = env.RandomSeed();
  return c;
}

// A temporary folder for the demo database when --demo-db is not given; removed at exit.
struct TempDir {
  std::string path;
  ~TempDir() {
    if (!path.empty()) std::filesystem::remove_all(path);
  }
};

int Serve(const config::DaemonArgs& args, Env& env, int stop_fd, int reload_fd) {
  config::Config cfg = args.config;

  if (Status s = config::CheckExposure(cfg.node); !s.ok()) {
    spdlog::error("refusing to start: {}", s.message());
    return kExitUsage;
  }
  if (cfg.node.insecure)
    spdlog::warn(
        "insecure = true: endpoints off loopback are allowed without keys; anyone who "
        "can reach them can read and change this node's state");
  Result<std::optional<net::SecurityOptions>> security = SecurityFrom(cfg.node);
  if (!security.ok()) {
    spdlog::error("refusing to start: {}", security.status().message());
    return kExitUsage;
  }

  TempDir demo_dir;
  std::string demo_dsn;  // the demo's database, as a reload must add it again
  if (args.demo) {
    std::string dsn = args.demo_dsn;
    if (dsn.empty()) {
      std::string db = args.demo_db;
      if (db.empty()) {
        char tmpl[] = "/tmp/livepolld-demo-XXXXXX";
        if (mkdtemp(tmpl) == nullptr) {
          spdlog::error("--demo: cannot create a temporary folder: {}", strerror(errno));
          return kExitFailure;
        }
        demo_dir.path = tmpl;
        db = demo_dir.path + "/demo.db";
      }
      dsn = "sqlite3://db=" + db;
    }
    demo_dsn = dsn;
    if (Status s = AddDemoCatalog(args.demo_plugin, dsn, cfg); !s.ok()) {
      spdlog::error("{}", s.message());
      return kExitUsage;
    }
  }

  PluginCache plugins;
  Result<std::vector<source::SourceSpec>> sources = LoadSources(env, cfg, plugins);
  if (!sources.ok()) {
    spdlog::error("{}", sources.status().message());
    return kExitUsage;
  }
  std::unique_ptr<DemoWriter> writer;
  if (args.demo) {
    auto demo = std::find_if(sources->begin(), sources->end(),
                             [](const source::SourceSpec& s) { return s.name == kDemoSource; });
    Result<std::unique_ptr<DemoWriter>> w =
        DemoWriter::Start(env, demo->plugin, demo->dsn, std::chrono::seconds(1));
    if (!w.ok()) {
      spdlog::error("--demo: {}", w.status().message());
      return kExitFailure;
    }
    writer = std::move(*w);
    spdlog::info("demo database: {} ({})", source::MaskDsnSecrets(demo->dsn), demo->plugin->name());
  }
  source::PollRunner runner(env, std::move(*sources), MakeQuerySpecs(cfg),
                            {cfg.node.max_result_rows, cfg.node.max_result_bytes});
  source::CatalogCheck check = runner.Check();
  for (const std::string& w : check.warnings) spdlog::warn("{}", w);
  for (const std::string& e : check.errors) spdlog::error("{}", e);
  if (!check.errors.empty()) return kExitUsage;

  core::NodeOptions node_options;
  core::SubscriptionsOptions& so = node_options.subscriptions;
  so.node = cfg.node.name;
  so.linger = cfg.node.linger;
  so.client_timeout = cfg.node.client_timeout;
  so.backoff_max = cfg.node.backoff_max;
  so.seed = env.RandomSeed();
  so.history = cfg.node.history;
  so.max_param_bytes = cfg.node.max_param_bytes;
  so.max_subscriptions_per_client = cfg.node.max_subscriptions_per_client;
  so.max_clients = cfg.node.max_clients;
  // A new incarnation at every start, larger than the last one's (wall-clock microseconds): peers
  // take a higher incarnation of a name as a restart, and clients a new session (PROTOCOL.md).
  // Clock skew only delays that until the old incarnation is declared dead; ordering of anything
  // else never uses it.
  so.session = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(env.WallNow().time_since_epoch())
          .count());
  net::ServerOptions server_options{cfg.node.client_bind, cfg.node.admin_bind, {}};
  server_options.stall_after = cfg.node.stall_after;
  if (*security) {
    spdlog::info("CurveZMQ: public key {}, {} trusted nodes{}", (*security)->keys.public_key,
                 (*security)->sets.nodes.size(),
                 cfg.node.admin_keys.empty() ? "" : ", admin endpoint with keys");
    server_options.security = std::move(*security);
  }
  server_options.token_secret = cfg.node.token_key;
  server_options.max_message_size = static_cast<int64_t>(cfg.node.max_message_size);
  server_options.client_queue_bytes = cfg.node.client_queue_bytes;
  if (!cfg.node.gossip_bind.empty()) {  // in a cluster the registry starts pollers
    Result<net::ClusterOptions> transport = ClusterTransportFrom(env, cfg.node);
    if (!transport.ok()) {
      spdlog::error("{}", transport.status().message());
      return kExitUsage;
    }
    node_options.cluster = NodeClusterFrom(env, cfg.node, so.session);
    server_options.cluster = std::move(*transport);
  }
  if (args.demo && cfg.node.ws_bind.empty()) cfg.node.ws_bind = kDemoWsBind;
  if (Status s = config::CheckWsExposure(cfg); !s.ok()) {
    spdlog::error("refusing to start: {}", s.message());
    return kExitUsage;
  }
  if (!cfg.node.ws_bind.empty() && cfg.node.ws_bind != "off") {
    gateway::GatewayOptions ws;
    ws.bind = cfg.node.ws_bind;
    ws.idle_timeout = cfg.node.ws_idle_timeout;
    ws.max_connections = cfg.node.max_clients;
    server_options.gateway = std::move(ws);
  }
  core::Catalog catalog = MakeCatalog(cfg, cfg.node);
  if (!cfg.node.token_secret.empty()) {
    size_t need = 0;
    for (const auto& [name, q] : catalog.queries) need += q.access.token_required ? 1 : 0;
    spdlog::info("client tokens: signed with the key in {}; {} of {} queries need one",
                 cfg.node.token_secret, need, catalog.queries.size());
  }
  core::Node node(std::move(catalog), std::move(node_options));
  // Under systemd (Type=notify): READY=1 from the loop's first iteration, the endpoints bound; in
  // a cluster that is as a cluster of one, as the node serves then (membership.h, cold start).
  ServiceNotifier notifier;
  if (notifier.enabled()) {
    server_options.on_loop = [&notifier, &node, &env] {
      const Time now = env.Now();
      notifier.Tick(now, [&] { return ServiceStatusLine(node, now); });
    };
    if (std::optional<Duration> gap = notifier.max_tick_gap())
      server_options.max_wait =
          std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(*gap),
                     std::chrono::milliseconds(1), server_options.max_wait);
  }
  net::Server server(env, std::move(server_options), node, runner);
  if (Status s = server.Bind(); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitFailure;
  }
  if (Status s = runner.Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitFailure;
  }
  // SIGHUP: the configuration file again, and the key folders (reload.h).
  Reloader reloader(env, args, demo_dsn, cfg, std::move(plugins), server, runner);
  spdlog::info("livepolld {} node {}: clients at {}, admin at {}, {} queries", Version(),
               cfg.node.name, server.client_endpoint(), server.admin_endpoint(),
               cfg.queries.size());
  if (!server.ws_endpoint().empty())
    spdlog::info(
        "WebSocket gateway and web page at http://{}/ (Phoenix Channels V2 at "
        "ws://{}/socket/websocket?vsn=2.0.0)",
        server.ws_endpoint(), server.ws_endpoint());
  Status s = server.Run(stop_fd, reload_fd);
  notifier.Stopping();
  spdlog::info("stopping");
  writer.reset();
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int Run(const config::DaemonArgs& args, Env& env, int stop_fd, int reload_fd) {
  try {
    return Serve(args, env, stop_fd, reload_fd);
  } catch (const std::exception& e) {
    spdlog::critical("unexpected failure: {}", e.what());
    return kExitFailure;
  }
}

}  // namespace livepoll::daemon
