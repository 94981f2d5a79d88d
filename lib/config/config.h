// livepolld's configuration: node options, data sources and the query catalog, read from an INI
// file (`--config FILE`, syntax in ini.h) and the command line (Boost.Program_options).
// Command-line values win over the file. See man/livepoll.conf.5 for every key and its default.
//
//   [node]                       # every key here is also a command-line option: --client-bind ...
//   name = n1
//   client_bind = tcp://127.0.0.1:7470
//   admin_bind = tcp://127.0.0.1:7471
//   [source.main]
//   plugin = soci                # a plugin name (<dir>/<name>.so) or a path to a .so
//   dsn = sqlite3://db=demo.db
//   max_concurrent = 4           # the cap on concurrent queries against this source
//   [query.revenue_by_region]
//   source = main
//   sql = SELECT region, SUM(total) AS revenue FROM orders WHERE region = :region GROUP BY region
//   params = region              # comma-separated, the `:name`s of the SQL, in order
//   key = region                 # optional: key columns -> row diffs instead of snapshots
//   interval = 500ms
//   multiplex = 100              # topics polled as one statement per batch (0: one per topic)
//   [query.my_orders]            # with [node] token_secret = FILE: clients prove who they are
//   source = main
//   sql = SELECT id, total FROM orders WHERE user_id = :user_id
//   params = user_id
//   auth = token                 # the default once token_secret is set; none: anyone may join
//   bind.user_id = sub           # user_id is the token's claim `sub`: each user sees their own
//   allow = role=customer, role=admin   # only tokens with one of these claim values
#pragma once

#include <chrono>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/policy.h"
#include "env/env.h"
#include "livepoll/duration.h"
#include "livepoll/status.h"

namespace livepoll::config {

using std::chrono::milliseconds;

struct SourceConfig {
  std::string name;    // from the section name [source.NAME]
  std::string plugin;  // required
  std::string dsn;     // required
  int max_concurrent = 4;
};

// Whether a query needs a token (`auth =`).
enum class QueryAuth {
  kDefault,  // not said: token when [node] token_secret is set, else none (NeedsToken)
  kNone,
  kToken,
};

struct QueryConfig {
  std::string name;                 // from [query.NAME]
  std::string source;               // required; must name a [source.*]
  std::string sql;                  // required
  std::vector<std::string> params;  // default none
  std::vector<std::string> key;     // default none: snapshots
  milliseconds interval{1000};
  double jitter = 0.1;  // each wait is interval * (1 +- jitter), 0 <= jitter < 1
  // multiplex = N: a node polls up to N of the query's topics as one statement (0: one each).
  int multiplex = 100;
  QueryAuth auth = QueryAuth::kDefault;
  // bind.PARAM = CLAIM: the parameter comes from the token's claim; sorted by parameter.
  std::vector<std::pair<std::string, std::string>> bind;
  // allow = CLAIM=VALUE, ...: a token must carry one of these claim values (OR).
  std::vector<std::pair<std::string, std::string>> allow;
};

struct NodeConfig {
  std::string name;  // default: the host name
  std::string client_bind = "tcp://127.0.0.1:7470";
  std::string admin_bind = "tcp://127.0.0.1:7471";
  std::string plugin_dir;     // default empty: see source::PluginSearchPath
  milliseconds linger{5000};  // a poller stops this long after its last subscriber left
  milliseconds client_timeout{
      10000};                       // a client silent this long is dropped with its subscriptions
  milliseconds backoff_max{10000};  // the longest wait between polls while a source fails
  // The cluster (empty gossip_bind/rpc_bind: a standalone node).
  std::string cluster = "livepoll";
  std::string gossip_bind;
  std::string rpc_bind;
  // Empty: derived (net/advertise.h): the bind address, or for a wildcard bind the local address
  // of the route to the seeds.
  std::string advertise_host;
  std::vector<std::string> join;  // seeds' rpc endpoints, tcp://host:port
  // The seeds' names by rpc endpoint, for those written NAME@tcp://host:port (needed with keys:
  // the seed's public key is trusted_keys/NAME.pub).
  std::map<std::string, std::string> join_names;
  milliseconds gossip_interval{100};
  milliseconds suspect_after{500};
  milliseconds dead_after{1000};
  milliseconds permdown{300000};
  // The registry (DESIGN.md, "Registry", "Placement and failover").
  core::Placement placement = core::Placement::kHashed;
  core::ClashPolicy clash_policy = core::ClashPolicy::kOldest;
  core::PartitionMode partition = core::PartitionMode::kAvailable;
  milliseconds takeover_timeout{1000};  // the next successor registers after this
  uint32_t stall_after = 3;             // intervals without a good poll: a stalled poller
  uint32_t history = 64;                // updates kept per topic for clients that resume
  bool fault_injection = false;         // the `fault` admin command, for tests only
  // Security (PROTOCOL.md, "Security"): CurveZMQ on every tcp:// socket when both are set.
  std::string secret_key;           // this node's key file (livepoll keygen)
  std::string trusted_keys;         // a folder of NAME.pub: the nodes allowed into the cluster
  std::string admin_keys;           // a folder of NAME.pub: operators with every admin command
  std::string admin_readonly_keys;  // ... operators who may only look
  bool insecure = false;            // allow non-loopback binds without keys (logged at start)
  std::string log_level = "info";   // trace, debug, info, warn, error
  std::string log_format = "text";  // text or json
  // The file of the HMAC-SHA256 key client tokens are signed with; empty: no tokens.
  std::string token_secret;
  // Its bytes, as read by ParseDaemonArgs (at least 32). ParseConfigText reads no file: empty.
  std::string token_key;
  // Limits on what clients and peers can make this node hold (livepoll.conf(5), LIMITS).
  uint64_t max_message_size = 16 << 20;  // ZMQ_MAXMSGSIZE of every socket
  uint64_t max_param_bytes = 4096;       // one parameter value of a join
  uint32_t max_subscriptions_per_client = 1000;
  uint32_t max_clients = 10000;           // client connections of this node
  uint64_t max_result_rows = 1000000;     // rows of one poll's result
  uint64_t max_result_bytes = 8 << 20;    // bytes of one poll's result, under max_message_size
  uint64_t client_queue_bytes = 8 << 20;  // updates waiting for one client
  // The WebSocket gateway (PROTOCOL.md, "WebSocket gateway"): HOST:PORT; empty: off (--demo
  // sets 127.0.0.1:4480 then); "off": off, also with --demo.
  std::string ws_bind;
  milliseconds ws_idle_timeout{60000};  // a WebSocket silent this long is closed
};

struct Config {
  NodeConfig node;
  std::map<std::string, SourceConfig> sources;  // by name
  std::map<std::string, QueryConfig> queries;   // the catalog, by name
};

// What the command line asked for.
struct DaemonArgs {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  Config config;
  std::string config_file;  // empty when none was given
  bool demo = false;        // --demo: serve the built-in demo catalog (daemon/demo.h)
  std::string demo_db;      // --demo-db PATH: the demo's SQLite file (default: a temporary one)
  std::string demo_plugin = "soci";  // --demo-plugin NAME
  std::string demo_dsn;  // --demo-dsn DSN: another database for the demo (default: SQLite)
  std::string help;      // the --help text, when action == kHelp
  // The command line as given, so that a reload (SIGHUP) parses it again with the file.
  std::vector<std::string> argv;
};

// Whether joins of `q` need a token: auth = token, or auth not said and a token_secret is set.
bool NeedsToken(const QueryConfig& q, const NodeConfig& node);

// Parses livepolld's command line and, with --config, the file, read through `env`. Errors are
// InvalidArgument with a message naming the file and the key (or the option), e.g.
//   "demo.conf: [query.top] interval: 'fast' is not a duration (use 500ms, 2s or 1m)".
// Checks: required keys present, unknown keys and sections refused, numbers and durations valid,
// each query's source exists, log_level/log_format known, the queries' access keys fit the
// token_secret (CheckAccess), whose file is read into token_key: an error when it cannot be read
// or holds fewer than 32 bytes. It does not load plugins.
Result<DaemonArgs> ParseDaemonArgs(Env& env, int argc, const char* const argv[]);

// Reads a configuration file's text as `livepolld --config FILE` does with no other option: the
// same checks and errors, `file` naming it in the messages. The node name stays empty when the
// text gives none (ParseDaemonArgs then uses the host name). For tests and the fuzzer
// (tests/fuzz): no file is read.
Result<Config> ParseConfigText(const std::string& file, const std::string& text);

// A digest of what a query's stream depends on beyond the core's catalog: its SQL, source,
// parameters, key columns, interval and jitter (FNV-1a, stable across processes and builds, so
// nodes compare theirs). Never 0.
uint64_t QueryDigest(const QueryConfig& q);

using livepoll::ParseDuration;  // livepoll/duration.h

}  // namespace livepoll::config
