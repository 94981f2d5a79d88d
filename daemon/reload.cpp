#include "daemon/reload.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <functional>
#include <set>

#include "daemon/demo.h"
#include "livepoll/strings.h"

namespace livepoll::daemon {
namespace {

using config::NodeConfig;

// One [node] key as text, for comparing and for the warning.
struct NodeValue {
  const char* key;
  std::function<std::string(const NodeConfig&)> get;
};

std::string Text(const std::string& s) { return s.empty() ? "(none)" : s; }
// Exact, not HumanDuration: 5000ms and 5050ms must differ.
std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }
std::string Bool(bool b) { return b ? "true" : "false"; }

// Every [node] key: all of them size, bind or name something at start.
const std::vector<NodeValue>& NodeValues() {
  static const std::vector<NodeValue> values = {
      {"name", [](const NodeConfig& n) { return Text(n.name); }},
      {"client_bind", [](const NodeConfig& n) { return Text(n.client_bind); }},
      {"admin_bind", [](const NodeConfig& n) { return Text(n.admin_bind); }},
      {"plugin_dir", [](const NodeConfig& n) { return Text(n.plugin_dir); }},
      {"linger", [](const NodeConfig& n) { return Ms(n.linger); }},
      {"client_timeout", [](const NodeConfig& n) { return Ms(n.client_timeout); }},
      {"backoff_max", [](const NodeConfig& n) { return Ms(n.backoff_max); }},
      {"cluster", [](const NodeConfig& n) { return Text(n.cluster); }},
      {"gossip_bind", [](const NodeConfig& n) { return Text(n.gossip_bind); }},
      {"rpc_bind", [](const NodeConfig& n) { return Text(n.rpc_bind); }},
      {"advertise_host", [](const NodeConfig& n) { return Text(n.advertise_host); }},
      {"join", [](const NodeConfig& n) { return Text(Join(n.join)); }},
      {"gossip_interval", [](const NodeConfig& n) { return Ms(n.gossip_interval); }},
      {"suspect_after", [](const NodeConfig& n) { return Ms(n.suspect_after); }},
      {"dead_after", [](const NodeConfig& n) { return Ms(n.dead_after); }},
      {"permdown", [](const NodeConfig& n) { return Ms(n.permdown); }},
      {"placement",
       [](const NodeConfig& n) { return std::string(core::PlacementName(n.placement)); }},
      {"clash_policy",
       [](const NodeConfig& n) { return std::string(core::ClashPolicyName(n.clash_policy)); }},
      {"partition",
       [](const NodeConfig& n) { return std::string(core::PartitionModeName(n.partition)); }},
      {"takeover_timeout", [](const NodeConfig& n) { return Ms(n.takeover_timeout); }},
      {"stall_after", [](const NodeConfig& n) { return std::to_string(n.stall_after); }},
      {"history", [](const NodeConfig& n) { return std::to_string(n.history); }},
      {"fault_injection", [](const NodeConfig& n) { return Bool(n.fault_injection); }},
      {"secret_key", [](const NodeConfig& n) { return Text(n.secret_key); }},
      {"trusted_keys", [](const NodeConfig& n) { return Text(n.trusted_keys); }},
      {"admin_keys", [](const NodeConfig& n) { return Text(n.admin_keys); }},
      {"admin_readonly_keys", [](const NodeConfig& n) { return Text(n.admin_readonly_keys); }},
      {"insecure", [](const NodeConfig& n) { return Bool(n.insecure); }},
      {"log_level", [](const NodeConfig& n) { return Text(n.log_level); }},
      {"log_format", [](const NodeConfig& n) { return Text(n.log_format); }},
      {"token_secret", [](const NodeConfig& n) { return Text(n.token_secret); }},
      {"max_message_size", [](const NodeConfig& n) { return std::to_string(n.max_message_size); }},
      {"max_param_bytes", [](const NodeConfig& n) { return std::to_string(n.max_param_bytes); }},
      {"max_subscriptions_per_client",
       [](const NodeConfig& n) { return std::to_string(n.max_subscriptions_per_client); }},
      {"max_clients", [](const NodeConfig& n) { return std::to_string(n.max_clients); }},
      {"max_result_rows", [](const NodeConfig& n) { return std::to_string(n.max_result_rows); }},
      {"max_result_bytes", [](const NodeConfig& n) { return std::to_string(n.max_result_bytes); }},
      {"client_queue_bytes",
       [](const NodeConfig& n) { return std::to_string(n.client_queue_bytes); }},
  };
  return values;
}

std::string Names(const std::set<std::string>& names) {
  return names.empty() ? "none" : Join(std::vector<std::string>(names.begin(), names.end()));
}

}  // namespace

std::vector<std::string> RestartOnlyChanges(const NodeConfig& running, const NodeConfig& next) {
  std::vector<std::string> changed;
  for (const NodeValue& v : NodeValues()) {
    const std::string was = v.get(running);
    const std::string now = v.get(next);
    if (was != now) changed.push_back(std::string(v.key) + " (" + was + " -> " + now + ")");
  }
  // The token key's bytes: the file may be the same path with a new key in it.
  if (running.token_key != next.token_key && running.token_secret == next.token_secret)
    changed.push_back("token_secret (the key in " + running.token_secret + ")");
  return changed;
}

struct Reloader::Candidate {
  config::Config config;  // [node] as running; sources and queries from the file
  std::vector<source::SourceSpec> sources;
  std::vector<std::string> warnings;
};

Reloader::Reloader(Env& env, config::DaemonArgs args, std::string demo_dsn, config::Config running,
                   PluginCache plugins, net::Server& server, source::PollRunner& runner)
    : env_(env),
      args_(std::move(args)),
      demo_dsn_(std::move(demo_dsn)),
      running_(std::move(running)),
      plugins_(std::move(plugins)),
      server_(server),
      runner_(runner) {
  server_.SetConfigState("loaded at " + Clock() +
                         (args_.config_file.empty() ? " (no file)" : " from " + args_.config_file));
  server_.OnReload([this] { Reload(); });
}

Reloader::~Reloader() { server_.OnReload(nullptr); }

std::string Reloader::Clock() const {
  const std::time_t t = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::system_clock::duration>(env_.WallNow()));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

Result<Reloader::Candidate> Reloader::Read() {
  std::vector<const char*> argv;
  for (const std::string& a : args_.argv) argv.push_back(a.c_str());
  Result<config::DaemonArgs> parsed =
      config::ParseDaemonArgs(env_, static_cast<int>(argv.size()), argv.data());
  if (!parsed.ok()) return parsed.status();
  Candidate c;
  c.config = std::move(parsed->config);
  if (args_.demo) {
    if (Status s = AddDemoCatalog(args_.demo_plugin, demo_dsn_, c.config); !s.ok()) return s;
  }
  for (const std::string& k : RestartOnlyChanges(running_.node, c.config.node))
    c.warnings.push_back("[node] " + k + " needs a restart: the running value is kept");
  c.config.node = running_.node;
  Result<std::vector<source::SourceSpec>> sources = LoadSources(env_, c.config, plugins_);
  if (!sources.ok()) return sources.status();
  c.sources = std::move(*sources);
  source::CatalogCheck check =
      source::PollRunner::CheckCatalog(c.sources, MakeQuerySpecs(c.config));
  if (!check.errors.empty()) return Status::InvalidArgument(check.errors.front());
  for (std::string& w : check.warnings) c.warnings.push_back(std::move(w));
  return c;
}

Status Reloader::Reload() {
  const Time started = env_.Now();
  Result<Candidate> c = Read();
  Status keys = c.ok() ? server_.ReloadKeys() : Status::Ok();
  if (!c.ok() || !keys.ok()) {
    const Status why = c.ok() ? keys : c.status();
    server_.counters().config_reload_failures++;
    server_.SetConfigState("reload failed at " + Clock() + ": " + why.message());
    spdlog::error("SIGHUP: keeping the running configuration: {}", why.message());
    return why;
  }
  for (const std::string& w : c->warnings) spdlog::warn("SIGHUP: {}", w);
  const Time applying = env_.Now();
  std::vector<std::string> reopened =
      runner_.Replace(std::move(c->sources), MakeQuerySpecs(c->config));
  core::Node::CatalogReplaced r = server_.ReplaceCatalog(MakeCatalog(c->config, running_.node));
  running_ = std::move(c->config);
  const Time done = env_.Now();
  server_.counters().config_reloads++;
  server_.SetConfigState("reloaded at " + Clock());
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  spdlog::info(
      "SIGHUP: configuration reloaded in {:.1f} ms ({:.1f} ms applying): queries added {}, "
      "removed {}, changed {}; sources reopened {}; {} pollers restarted",
      duration_cast<microseconds>(done - started).count() / 1000.0,
      duration_cast<microseconds>(done - applying).count() / 1000.0, Names(r.changes.added),
      Names(r.changes.removed), Names(r.changes.changed),
      Names(std::set<std::string>(reopened.begin(), reopened.end())), r.restarted);
  return Status::Ok();
}

}  // namespace livepoll::daemon
