#include "config/node_keys.h"

#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>

#include "config/values.h"
#include "core/policy.h"
#include "livepoll/strings.h"

namespace livepoll::config {
namespace {

// A registry policy by its name in core/policy.h (the one place the names are spelled); the error
// lists the names of `all`.
template <typename E>
Status SetPolicy(E& out, const std::string& v, std::optional<E> (*parse)(std::string_view),
                 const char* (*name)(E), std::initializer_list<E> all) {
  if (std::optional<E> e = parse(v)) {
    out = *e;
    return Status::Ok();
  }
  return Status::InvalidArgument("'" + v + "' is not one of " + Join(all, ", ", name));
}

Status SetBool(bool& out, const std::string& v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1")
    out = true;
  else if (v == "false" || v == "no" || v == "off" || v == "0")
    out = false;
  else
    return Status::InvalidArgument("'" + v + "' is not a boolean (true or false)");
  return Status::Ok();
}

// A size limit, at least `lo` bytes and at most 1 GiB (nothing this node holds should be larger).
Status SetSize(uint64_t& out, const std::string& v, uint64_t lo) {
  Result<uint64_t> n = ParseSize(v, lo, uint64_t{1} << 30);
  if (!n.ok()) return n.status();
  out = *n;
  return Status::Ok();
}

// A count limit, from 1 to 100,000,000.
Status SetCount(uint32_t& out, const std::string& v) {
  Result<int> k = ParseInt(v, 1, 100000000);
  if (!k.ok()) return k.status();
  out = static_cast<uint32_t>(*k);
  return Status::Ok();
}

const NodeKey kNodeKeys[] = {
    {"name", "name", "NAME", "node name, unique in the cluster (default: the host name)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.name = v;
       return Status::Ok();
     }},
    {"client_bind", "client-bind", "ENDPOINT",
     "endpoint for clients (default tcp://127.0.0.1:7470)",
     [](NodeConfig& n, const std::string& v) {
       n.client_bind = v;
       return CheckEndpoint(v);
     }},
    {"admin_bind", "admin-bind", "ENDPOINT",
     "endpoint for the livepoll CLI (default tcp://127.0.0.1:7471)",
     [](NodeConfig& n, const std::string& v) {
       n.admin_bind = v;
       return CheckEndpoint(v);
     }},
    {"ws_bind", "ws-bind", "HOST:PORT",
     "the WebSocket gateway (Phoenix Channels V2, the web page, /metrics, /healthz) listens here "
     "(default: off; with --demo 127.0.0.1:4480; off: none)",
     [](NodeConfig& n, const std::string& v) {
       n.ws_bind = v;
       if (v == "off") return Status::Ok();
       const size_t colon = v.rfind(':');
       if (colon == std::string::npos || colon == 0 || colon + 1 == v.size() ||
           v.find_first_not_of("0123456789", colon + 1) != std::string::npos)
         return Status::InvalidArgument("'" + v + "' is not HOST:PORT (e.g. 127.0.0.1:4480)");
       return Status::Ok();
     }},
    {"ws_idle_timeout", "ws-idle-timeout", "DURATION",
     "close a WebSocket silent this long, heartbeats included (default 60s)",
     [](NodeConfig& n, const std::string& v) { return SetPositiveDuration(n.ws_idle_timeout, v); }},
    {"plugin_dir", "plugin-dir", "DIR",
     "where plugins named without a path are found (default: LIVEPOLL_PLUGIN_PATH, then the "
     "install's plugin folder)",
     [](NodeConfig& n, const std::string& v) {
       n.plugin_dir = v;
       return Status::Ok();
     }},
    {"linger", "linger", "DURATION",
     "stop a poller this long after its last subscriber left (default 5s)",
     [](NodeConfig& n, const std::string& v) { return SetDuration(n.linger, v); }},
    {"client_timeout", "client-timeout", "DURATION",
     "drop a client silent this long, with its subscriptions (default 10s)",
     [](NodeConfig& n, const std::string& v) { return SetPositiveDuration(n.client_timeout, v); }},
    {"backoff_max", "backoff-max", "DURATION",
     "longest wait between polls while a source fails (default 10s)",
     [](NodeConfig& n, const std::string& v) { return SetPositiveDuration(n.backoff_max, v); }},
    {"cluster", "cluster", "NAME",
     "the cluster's name; frames of another cluster are refused (default livepoll)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.cluster = v;
       return Status::Ok();
     }},
    {"gossip_bind", "gossip-bind", "ENDPOINT",
     "endpoint of this node's gossip PUB socket; with rpc_bind, makes the node a cluster member "
     "(default: none, a standalone node)",
     [](NodeConfig& n, const std::string& v) {
       n.gossip_bind = v;
       return CheckEndpoint(v);
     }},
    {"rpc_bind", "rpc-bind", "ENDPOINT",
     "endpoint of this node's rpc ROUTER socket (default: none)",
     [](NodeConfig& n, const std::string& v) {
       n.rpc_bind = v;
       return CheckEndpoint(v);
     }},
    {"advertise_host", "advertise-host", "HOST",
     "the host peers dial when a bind address is a wildcard (default: the local address of the "
     "route to the seeds)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.advertise_host = v;
       return Status::Ok();
     }},
    {"join", "join", "[NAME@]HOST:PORT,...",
     "seeds' rpc addresses to join the cluster through; with keys each must be NAME@HOST:PORT, "
     "NAME the seed's node name (its key is trusted_keys/NAME.pub) (default: none)",
     [](NodeConfig& n, const std::string& v) {
       n.join.clear();
       n.join_names.clear();
       std::stringstream in(v);
       for (std::string seed; std::getline(in, seed, ',');) {
         seed = Trim(seed);
         if (seed.empty()) continue;
         std::string name;
         const auto at = seed.find('@');
         if (at != std::string::npos && at < seed.find("://")) {
           name = seed.substr(0, at);
           seed.erase(0, at + 1);
           if (name.empty()) return Status::InvalidArgument("'@" + seed + "': the name is empty");
         }
         if (seed.find("://") == std::string::npos) seed = "tcp://" + seed;
         if (Status s = CheckEndpoint(seed); !s.ok()) return s;
         n.join.push_back(seed);
         if (!name.empty()) n.join_names[seed] = name;
       }
       return Status::Ok();
     }},
    {"gossip_interval", "gossip-interval", "DURATION", "heartbeat period (default 100ms)",
     [](NodeConfig& n, const std::string& v) { return SetPositiveDuration(n.gossip_interval, v); }},
    {"suspect_after", "suspect-after", "DURATION",
     "a peer silent this long is suspect and probed through others (default 500ms)",
     [](NodeConfig& n, const std::string& v) { return SetPositiveDuration(n.suspect_after, v); }},
    {"dead_after", "dead-after", "DURATION",
     "a peer silent this long is dead, whatever the probes say (default 1s)",
     [](NodeConfig& n, const std::string& v) { return SetPositiveDuration(n.dead_after, v); }},
    {"permdown", "permdown", "DURATION",
     "a dead or left node's members and presence entries are forgotten after this (default 5m)",
     [](NodeConfig& n, const std::string& v) { return SetPositiveDuration(n.permdown, v); }},
    {"placement", "placement", "POLICY",
     "where a new topic's poller runs: hashed (rendezvous hashing over live members) or local "
     "(the node of its first subscriber) (default hashed)",
     [](NodeConfig& n, const std::string& v) {
       return SetPolicy(n.placement, v, core::ParsePlacement, core::PlacementName,
                        {core::Placement::kHashed, core::Placement::kLocal});
     }},
    {"clash_policy", "clash-policy", "POLICY",
     "which owner a clash keeps: oldest, hashed or manual (default oldest)",
     [](NodeConfig& n, const std::string& v) {
       return SetPolicy(
           n.clash_policy, v, core::ParseClashPolicy, core::ClashPolicyName,
           {core::ClashPolicy::kOldest, core::ClashPolicy::kHashed, core::ClashPolicy::kManual});
     }},
    {"partition", "partition", "MODE",
     "available (every side of a partition keeps polling) or majority (only a side that sees a "
     "majority owns topics) (default available)",
     [](NodeConfig& n, const std::string& v) {
       return SetPolicy(n.partition, v, core::ParsePartitionMode, core::PartitionModeName,
                        {core::PartitionMode::kAvailable, core::PartitionMode::kMajority});
     }},
    {"takeover_timeout", "takeover-timeout", "DURATION",
     "when a topic's successor has not registered within this, the next one does (default 1s)",
     [](NodeConfig& n, const std::string& v) {
       return SetPositiveDuration(n.takeover_timeout, v);
     }},
    {"stall_after", "stall-after", "N",
     "a poller whose last good poll is older than N of its query's intervals is a stalled "
     "zombie for `livepoll zombies` (default 3)",
     [](NodeConfig& n, const std::string& v) {
       Result<int> k = ParseInt(v, 1, 1000000);
       if (!k.ok()) return k.status();
       n.stall_after = static_cast<uint32_t>(*k);
       return Status::Ok();
     }},
    {"history", "history", "N",
     "updates kept per topic, by its poller and by every node relaying it, so that a client that "
     "joins again (a daemon restarted, a node died) continues its stream exactly (default 64; 0: "
     "clients that come back get a fresh snapshot)",
     [](NodeConfig& n, const std::string& v) {
       Result<int> k = ParseInt(v, 0, 100000);
       if (!k.ok()) return k.status();
       n.history = static_cast<uint32_t>(*k);
       return Status::Ok();
     }},
    {"fault_injection", "fault-injection", "BOOL",
     "accept the `fault` admin command that cuts this node off from named peers, for tests "
     "(default false)",
     [](NodeConfig& n, const std::string& v) { return SetBool(n.fault_injection, v); }},
    {"secret_key", "secret-key", "FILE",
     "this node's CurveZMQ secret key (livepoll keygen); with trusted_keys, every tcp:// socket "
     "is encrypted and authenticated (default: none)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.secret_key = v;
       return Status::Ok();
     }},
    {"trusted_keys", "trusted-keys", "DIR",
     "a folder of NAME.pub files, the public keys of the nodes allowed into the cluster, this one "
     "included; re-read on SIGHUP (default: none)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.trusted_keys = v;
       return Status::Ok();
     }},
    {"admin_keys", "admin-keys", "DIR",
     "a folder of NAME.pub files, operators' keys allowed every admin command; makes a tcp:// "
     "admin endpoint CurveZMQ; re-read on SIGHUP (default: none)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.admin_keys = v;
       return Status::Ok();
     }},
    {"admin_readonly_keys", "admin-readonly-keys", "DIR",
     "a folder of NAME.pub files, operators' keys allowed the commands that only look (not reap, "
     "resolve, fault); re-read on SIGHUP (default: none)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.admin_readonly_keys = v;
       return Status::Ok();
     }},
    {"insecure", "insecure", "BOOL",
     "allow tcp:// binds off loopback without keys (logged as a warning at every start) "
     "(default false)",
     [](NodeConfig& n, const std::string& v) { return SetBool(n.insecure, v); }, "true"},
    {"token_secret", "token-secret", "FILE",
     "the file of the key (at least 32 bytes, read whole) that client tokens are signed with "
     "(JWT HS256); queries then need a token unless they say auth = none (default: none, no "
     "tokens)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.token_secret = v;
       return Status::Ok();
     }},
    // ---- limits (livepoll.conf(5), LIMITS) ----
    {"max_message_size", "max-message-size", "SIZE",
     "the largest frame any socket of this node accepts; a peer sending a larger one is "
     "disconnected (default 16MiB)",
     [](NodeConfig& n, const std::string& v) { return SetSize(n.max_message_size, v, 1024); }},
    {"max_param_bytes", "max-param-bytes", "SIZE",
     "the longest parameter value a join may carry (default 4KiB)",
     [](NodeConfig& n, const std::string& v) { return SetSize(n.max_param_bytes, v, 1); }},
    {"max_subscriptions_per_client", "max-subscriptions-per-client", "N",
     "topics one client may be subscribed to at once (default 1000)",
     [](NodeConfig& n, const std::string& v) {
       return SetCount(n.max_subscriptions_per_client, v);
     }},
    {"max_clients", "max-clients", "N",
     "client connections this node serves at once (default 10000)",
     [](NodeConfig& n, const std::string& v) { return SetCount(n.max_clients, v); }},
    {"max_result_rows", "max-result-rows", "N",
     "rows of one poll's result; a larger result is an error update \"result too large\" and "
     "the poller goes on (default 1000000)",
     [](NodeConfig& n, const std::string& v) {
       uint32_t k = 0;
       Status s = SetCount(k, v);
       if (s.ok()) n.max_result_rows = k;
       return s;
     }},
    {"max_result_bytes", "max-result-bytes", "SIZE",
     "bytes of one poll's result (as encoded), the same way; at least 64KiB below "
     "max_message_size (default 8MiB)",
     [](NodeConfig& n, const std::string& v) { return SetSize(n.max_result_bytes, v, 1); }},
    {"client_queue_bytes", "client-queue-bytes", "SIZE",
     "updates waiting for one slow client; past it the client loses its pending updates and gets "
     "a fresh snapshot of each topic once it reads again (default 8MiB)",
     [](NodeConfig& n, const std::string& v) { return SetSize(n.client_queue_bytes, v, 1024); }},
    {"log_level", "log-level", "LEVEL", "trace, debug, info, warn or error (default info)",
     [](NodeConfig& n, const std::string& v) {
       static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
       if (!kLevels.count(v)) {
         return Status::InvalidArgument("'" + v +
                                        "' is not a level (trace, debug, info, warn, error)");
       }
       n.log_level = v;
       return Status::Ok();
     }},
    {"log_format", "log-format", "FORMAT",
     "text, or json for one JSON object a line (default text)",
     [](NodeConfig& n, const std::string& v) {
       if (v != "text" && v != "json") {
         return Status::InvalidArgument("'" + v + "' is not a log format (text or json)");
       }
       n.log_format = v;
       return Status::Ok();
     }},
};

}  // namespace

std::span<const NodeKey> NodeKeys() { return kNodeKeys; }

const NodeKey* FindNodeKey(std::string_view ini) {
  for (const auto& k : kNodeKeys) {
    if (ini == k.ini) return &k;
  }
  return nullptr;
}

std::string UnknownNodeKey() {
  return "unknown key (expected " + Join(kNodeKeys, ", ", [](const auto& k) { return k.ini; }) +
         ")";
}

// Room in a frame for an update's envelope and columns besides its rows.
constexpr uint64_t kFrameOverhead = 64 << 10;

Status CheckCluster(const NodeConfig& n) {
  if (n.gossip_bind.empty() != n.rpc_bind.empty())
    return Status::InvalidArgument(
        "gossip_bind and rpc_bind: give both to join a cluster, or neither");
  if (!n.join.empty() && n.gossip_bind.empty())
    return Status::InvalidArgument("join: needs gossip_bind and rpc_bind");
  if (n.suspect_after >= n.dead_after)
    return Status::InvalidArgument("suspect_after must be shorter than dead_after");
  if (n.gossip_interval >= n.suspect_after)
    return Status::InvalidArgument("gossip_interval must be shorter than suspect_after");
  // A result travels in one frame (a snapshot to a client, a d.update to a peer).
  if (n.max_result_bytes + kFrameOverhead > n.max_message_size)
    return Status::InvalidArgument(
        "max_result_bytes must be at least 64KiB below max_message_size: a result must fit in "
        "one frame");
  if (n.secret_key.empty() != n.trusted_keys.empty())
    return Status::InvalidArgument(
        "secret_key and trusted_keys: give both to use keys (CurveZMQ), or neither");
  if (n.secret_key.empty() && (!n.admin_keys.empty() || !n.admin_readonly_keys.empty()))
    return Status::InvalidArgument("admin_keys and admin_readonly_keys need secret_key");
  if (!n.secret_key.empty()) {
    for (const std::string& seed : n.join)
      if (!n.join_names.count(seed))
        return Status::InvalidArgument(
            "join: with keys each seed must be NAME@" + seed +
            " (NAME: the seed's node name; its key is trusted_keys/NAME.pub), not " + seed);
  }
  return Status::Ok();
}

bool IsLoopbackEndpoint(const std::string& endpoint) {
  if (!endpoint.starts_with("tcp://")) return true;  // ipc://, inproc://: local
  std::string host = endpoint.substr(6);
  // tcp://[source;]host:port: the address bound is after a ';'.
  if (auto semi = host.find(';'); semi != std::string::npos) host.erase(0, semi + 1);
  if (auto colon = host.rfind(':'); colon != std::string::npos) host.erase(colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1" || host == "lo") return true;
  // 127.0.0.0/8, as dotted digits only (a name such as 127.example.com is not).
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  }
  return dots == 3;
}

Status CheckExposure(const NodeConfig& n) {
  if (n.insecure) return Status::Ok();
  const bool keys = !n.secret_key.empty();
  const std::pair<const char*, const std::string*> binds[] = {{"gossip_bind", &n.gossip_bind},
                                                              {"rpc_bind", &n.rpc_bind},
                                                              {"client_bind", &n.client_bind},
                                                              {"admin_bind", &n.admin_bind}};
  for (const auto& [key, endpoint] : binds) {
    if (IsLoopbackEndpoint(*endpoint)) continue;
    const bool admin = std::string_view(key) == "admin_bind";
    if (keys && (!admin || !n.admin_keys.empty())) continue;
    return Status::InvalidArgument(
        std::string(key) + " = " + *endpoint + " is reachable from other hosts, and " +
        (admin ? "the admin endpoint needs secret_key, trusted_keys and admin_keys there"
               : "nothing protects it: set secret_key and trusted_keys (livepoll keygen)") +
        "; or bind to loopback, or set insecure = true (--insecure) to allow it anyway");
  }
  return Status::Ok();
}

bool IsLoopbackHostPort(const std::string& host_port) {
  return IsLoopbackEndpoint("tcp://" + host_port);
}

Status CheckWsExposure(const Config& c) {
  const std::string& bind = c.node.ws_bind;
  if (bind.empty() || bind == "off" || c.node.insecure || IsLoopbackHostPort(bind))
    return Status::Ok();
  for (const auto& [name, q] : c.queries) {
    if (NeedsToken(q, c.node)) continue;
    return Status::InvalidArgument(
        "ws_bind = " + bind +
        " is reachable from other hosts, and the WebSocket gateway has no "
        "keys: every query must need a token there, and query '" +
        name +
        "' does not (set token_secret and leave auth unset or = token); or bind it to "
        "loopback, or set insecure = true (--insecure) to allow it anyway");
  }
  return Status::Ok();
}

}  // namespace livepoll::config
