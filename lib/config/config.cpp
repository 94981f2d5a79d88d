// livepolld's options and catalog. How:
//   * The command line is parsed by Boost.Program_options against option groups built once
//     (Options()), so --help, the parser and man/livepolld.8 list the same options.
//   * The file goes through po::parse_config_file with allow_unregistered: its sections are
//     dynamic ([source.NAME], [query.NAME]), so every key comes back unregistered as
//     "section.key" and is checked here, in file order, against the tables below.
//   * Every [node] key is also a command-line option; both go through the same setter
//     (kNodeKeys), the file first and the command line after, so the command line wins.
//
// Boost's INI reader cuts a line at the first '#', even inside SQL quotes. Before handing it the
// text, ProtectQuotedHashes() swaps each '#' inside '...' or "..." for a placeholder byte, which
// is swapped back in the values. A '#' outside quotes still starts a comment (see
// man/livepoll.conf.5, COMMENTS).
#include "config/config.h"

#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <utility>

namespace livepoll::config {
namespace po = boost::program_options;
namespace {

// ---------------------------------------------------------------------------------------------
// Value checks. Each returns an error message without the "where" prefix, which the caller adds.

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Source and query names end up in topics (`name?param=value`) and logs: keep them plain.
bool IsName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

Result<int> ParseInt(const std::string& text, int lo, int hi) {
  int v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || v < lo || v > hi) {
    return Status::InvalidArgument("'" + text + "' is not a whole number from " +
                                   std::to_string(lo) + " to " + std::to_string(hi));
  }
  return v;
}

// "a, b ,c" -> {a, b, c}; an empty text is an empty list. Empty or repeated items are refused.
Result<std::vector<std::string>> ParseList(const std::string& text, bool identifiers) {
  std::vector<std::string> out;
  if (Trim(text).empty()) return out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    item = Trim(item);
    if (item.empty()) return Status::InvalidArgument("empty item in list '" + text + "'");
    if (identifiers && !IsIdentifier(item)) {
      return Status::InvalidArgument("'" + item + "' is not a name (letters, digits, _)");
    }
    for (const auto& seen : out) {
      if (seen == item) return Status::InvalidArgument("'" + item + "' is listed twice");
    }
    out.push_back(std::move(item));
  }
  if (text.back() == ',') return Status::InvalidArgument("empty item in list '" + text + "'");
  return out;
}

Status CheckEndpoint(const std::string& v) {
  if (v.find("://") == std::string::npos || v.size() < 7) {
    return Status::InvalidArgument("'" + v + "' is not an endpoint (e.g. tcp://127.0.0.1:7470)");
  }
  return Status::Ok();
}

Status SetDuration(milliseconds& out, const std::string& v) {
  auto d = ParseDuration(v);
  if (!d.ok()) return d.status();
  out = *d;
  return Status::Ok();
}

Status SetChoice(std::string& out, const std::string& v, std::initializer_list<const char*> choices) {
  std::string list;
  for (const char* c : choices) {
    if (v == c) {
      out = v;
      return Status::Ok();
    }
    list += (list.empty() ? "" : ", ") + std::string(c);
  }
  return Status::InvalidArgument("'" + v + "' is not one of " + list);
}

// ---------------------------------------------------------------------------------------------
// The [node] keys: one row each, used for the command-line options, the file and --help.

struct NodeKey {
  const char* ini;  // key in [node]
  const char* cli;  // long option
  const char* arg;  // value placeholder shown by --help
  const char* help;
  Status (*set)(NodeConfig&, const std::string&);
};

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
     [](NodeConfig& n, const std::string& v) { return SetDuration(n.client_timeout, v); }},
    {"backoff_max", "backoff-max", "DURATION",
     "longest wait between polls while a source fails (default 10s)",
     [](NodeConfig& n, const std::string& v) { return SetDuration(n.backoff_max, v); }},
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
    {"rpc_bind", "rpc-bind", "ENDPOINT", "endpoint of this node's rpc ROUTER socket (default: none)",
     [](NodeConfig& n, const std::string& v) {
       n.rpc_bind = v;
       return CheckEndpoint(v);
     }},
    {"advertise_host", "advertise-host", "HOST",
     "the host peers dial when a bind address is a wildcard (default 127.0.0.1)",
     [](NodeConfig& n, const std::string& v) {
       if (v.empty()) return Status::InvalidArgument("must not be empty");
       n.advertise_host = v;
       return Status::Ok();
     }},
    {"join", "join", "HOST:PORT,...", "seeds' rpc addresses to join the cluster through (default: none)",
     [](NodeConfig& n, const std::string& v) {
       n.join.clear();
       std::stringstream in(v);
       for (std::string seed; std::getline(in, seed, ',');) {
         seed = Trim(seed);
         if (seed.empty()) continue;
         if (seed.find("://") == std::string::npos) seed = "tcp://" + seed;
         if (Status s = CheckEndpoint(seed); !s.ok()) return s;
         n.join.push_back(seed);
       }
       return Status::Ok();
     }},
    {"gossip_interval", "gossip-interval", "DURATION", "heartbeat period (default 100ms)",
     [](NodeConfig& n, const std::string& v) { return SetDuration(n.gossip_interval, v); }},
    {"suspect_after", "suspect-after", "DURATION",
     "a peer silent this long is suspect and probed through others (default 500ms)",
     [](NodeConfig& n, const std::string& v) { return SetDuration(n.suspect_after, v); }},
    {"dead_after", "dead-after", "DURATION",
     "a peer silent this long is dead, whatever the probes say (default 1s)",
     [](NodeConfig& n, const std::string& v) { return SetDuration(n.dead_after, v); }},
    {"permdown", "permdown", "DURATION",
     "a dead or left node's members and presence entries are forgotten after this (default 5m)",
     [](NodeConfig& n, const std::string& v) { return SetDuration(n.permdown, v); }},
    {"placement", "placement", "POLICY",
     "where a new topic's poller runs: hashed (rendezvous hashing over live members) or local "
     "(the node of its first subscriber) (default hashed)",
     [](NodeConfig& n, const std::string& v) { return SetChoice(n.placement, v, {"hashed", "local"}); }},
    {"clash_policy", "clash-policy", "POLICY",
     "which owner a clash keeps: oldest, hashed or manual (default oldest)",
     [](NodeConfig& n, const std::string& v) {
       return SetChoice(n.clash_policy, v, {"oldest", "hashed", "manual"});
     }},
    {"partition", "partition", "MODE",
     "available (every side of a partition keeps polling) or majority (only a side that sees a "
     "majority owns topics) (default available)",
     [](NodeConfig& n, const std::string& v) {
       return SetChoice(n.partition, v, {"available", "majority"});
     }},
    {"takeover_timeout", "takeover-timeout", "DURATION",
     "when a topic's successor has not registered within this, the next one does (default 1s)",
     [](NodeConfig& n, const std::string& v) { return SetDuration(n.takeover_timeout, v); }},
    {"stall_after", "stall-after", "N",
     "a poller whose last good poll is older than N of its query's intervals is a stalled "
     "zombie for `livepoll zombies` (default 3)",
     [](NodeConfig& n, const std::string& v) {
       Result<int> k = ParseInt(v, 1, 1000000);
       if (!k.ok()) return k.status();
       n.stall_after = static_cast<uint32_t>(*k);
       return Status::Ok();
     }},
    {"fault_injection", "fault-injection", "BOOL",
     "accept the `fault` admin command that cuts this node off from named peers, for tests "
     "(default false)",
     [](NodeConfig& n, const std::string& v) {
       if (v == "true" || v == "yes" || v == "on" || v == "1") n.fault_injection = true;
       else if (v == "false" || v == "no" || v == "off" || v == "0") n.fault_injection = false;
       else return Status::InvalidArgument("'" + v + "' is not a boolean (true or false)");
       return Status::Ok();
     }},
    {"log_level", "log-level", "LEVEL", "trace, debug, info, warn or error (default info)",
     [](NodeConfig& n, const std::string& v) {
       static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
       if (!kLevels.count(v)) {
         return Status::InvalidArgument("'" + v +
                                        "' is not a level (trace, debug, info, warn, "
                                        "error)");
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

// The cluster keys that only make sense together.
Status CheckCluster(const NodeConfig& n) {
  if (n.gossip_bind.empty() != n.rpc_bind.empty())
    return Status::InvalidArgument("gossip_bind and rpc_bind: give both to join a cluster, or neither");
  if (!n.join.empty() && n.gossip_bind.empty())
    return Status::InvalidArgument("join: needs gossip_bind and rpc_bind");
  if (n.suspect_after >= n.dead_after)
    return Status::InvalidArgument("suspect_after must be shorter than dead_after");
  if (n.gossip_interval >= n.suspect_after)
    return Status::InvalidArgument("gossip_interval must be shorter than suspect_after");
  return Status::Ok();
}

const NodeKey* FindNodeKey(const std::string& ini) {
  for (const auto& k : kNodeKeys) {
    if (ini == k.ini) return &k;
  }
  return nullptr;
}

std::string UnknownNodeKey() {
  std::string keys;
  for (const auto& k : kNodeKeys) keys += std::string(keys.empty() ? "" : ", ") + k.ini;
  return "unknown key (expected " + keys + ")";
}

// The option groups, built once: the parser and --help both use this.
const po::options_description& Options() {
  static const po::options_description all = [] {
    po::options_description general("General");
    // clang-format off
    general.add_options()
        ("config", po::value<std::string>()->value_name("FILE"),
         "read node options, sources and queries from FILE (see livepoll.conf(5))")
        ("demo", "serve the built-in demo: a SQLite orders table that changes every second")
        ("demo-db", po::value<std::string>()->value_name("PATH"),
         "with --demo, the SQLite file to create (default: a temporary one)")
        ("demo-plugin", po::value<std::string>()->value_name("NAME"),
         "with --demo, the plugin of the demo's source (default soci)")
        ("demo-dsn", po::value<std::string>()->value_name("DSN"),
         "with --demo, the demo's database instead of SQLite, e.g. a PostgreSQL connection "
         "string with --demo-plugin postgres; its orders table is replaced")
        ("help,h", "print this help and exit")
        ("version", "print the version and exit");
    // clang-format on
    po::options_description node("Node (also the [node] keys of the file; the command line wins)");
    for (const auto& k : kNodeKeys) {
      node.add_options()(k.cli, po::value<std::string>()->value_name(k.arg), k.help);
    }
    po::options_description out;
    out.add(general).add(node);
    return out;
  }();
  return all;
}

std::string Help() {
  std::ostringstream s;
  s << "Usage: livepolld [OPTIONS]\n"
       "Serve live SQL query results to subscribers, as one node of a livepoll cluster.\n\n"
    << Options() << "\nDurations: 500ms, 2s, 1m or 1.5s. See livepolld(8) and livepoll.conf(5).\n";
  // Boost pads wrapped lines with a trailing space and opens each group with a blank line.
  std::string text, line;
  for (std::istringstream in(s.str()); std::getline(in, line);) {
    line.erase(line.find_last_not_of(' ') + 1);
    if (line.empty() && text.ends_with("\n\n")) continue;
    text += line + '\n';
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// The file.

constexpr char kHashStandIn = '\x1f';  // never in a valid file: control bytes are refused
constexpr char kPercentStandIn = '\x1e';  // in ParseDaemonArgs' error path only

Result<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::InvalidArgument(path + ": cannot read: " + std::strerror(errno));
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err) return Status::InvalidArgument(path + ": cannot read: " + std::strerror(err));
  return text;
}

// See the top comment. Also refuses control bytes and records the section headers in order, so
// that an empty section is still seen (Boost reports keys only).
Result<std::string> ProtectQuotedHashes(const std::string& file, const std::string& text,
                                        std::vector<std::string>& sections) {
  std::string out;
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (char c : line) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        return Status::InvalidArgument(file + ": line " + std::to_string(number) +
                                       ": control character in the file");
      }
    }
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '#') {
      out += '\n';
      continue;
    }
    if (t[0] != '[') {  // a section header has no values and is left as it is
      char quote = 0;
      for (char& c : line) {
        if (quote) {
          if (c == quote)
            quote = 0;
          else if (c == '#')
            c = kHashStandIn;
        } else if (c == '\'' || c == '"') {
          quote = c;
        } else if (c == '#') {
          break;  // a comment: Boost cuts here
        }
      }
    }
    // Exactly what Boost reads: the line cut at its first '#', trimmed; a section is the text
    // between the brackets, untrimmed. The lines Boost would refuse are refused here, because
    // its error text cannot be used: what() loops forever on a line holding its placeholder
    // "%invalid_line%" (found by tests/fuzz). "[]" too: Boost reads the byte before its empty
    // name.
    const std::string boost_line = Trim(line.substr(0, line.find('#')));
    const std::string where = file + ": line " + std::to_string(number) + ": ";
    if (boost_line.front() == '[' && boost_line.back() == ']') {
      if (boost_line.size() == 2) return Status::InvalidArgument(where + "empty section name");
      sections.push_back(boost_line.substr(1, boost_line.size() - 2));
    } else if (boost_line.find('=') == std::string::npos) {
      return Status::InvalidArgument(where + "not a [section], a key = value or a # comment");
    }
    out += line + '\n';
  }
  return out;
}

struct FileEntry {
  std::string section;  // "node", "source.main"
  std::string key;
  std::string value;
};

Result<std::vector<FileEntry>> ReadEntries(const std::string& file, const std::string& text,
                                           std::vector<std::string>& sections) {
  auto prepared = ProtectQuotedHashes(file, text, sections);
  if (!prepared.ok()) return prepared.status();
  std::istringstream in(*prepared);
  const po::options_description none;  // every key is unregistered: sections are dynamic
  po::parsed_options parsed(&none);
  try {
    parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
  } catch (const po::error&) {
    // Not reached: ProtectQuotedHashes() refuses every line Boost refuses. Not e.what(), which
    // may never return (see there).
    return Status::InvalidArgument(file + ": not a configuration file");
  }
  std::vector<FileEntry> out;
  for (const auto& o : parsed.options) {
    FileEntry e;
    const auto dot = o.string_key.rfind('.');
    if (dot == std::string::npos) {
      return Status::InvalidArgument(file + ": " + o.string_key +
                                     ": key outside a section (start with [node], "
                                     "[source.NAME] or [query.NAME])");
    }
    e.section = o.string_key.substr(0, dot);
    e.key = o.string_key.substr(dot + 1);
    e.value = o.value.empty() ? std::string() : o.value[0];
    for (char& c : e.value) {
      if (c == kHashStandIn) c = '#';
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string Where(const std::string& file, const std::string& section, const std::string& key) {
  return file + ": [" + section + "] " + key + ": ";
}

Status Prefixed(const std::string& where, const Status& s) {
  return s.ok() ? s : Status::InvalidArgument(where + s.message());
}

Status ApplySourceKey(SourceConfig& s, const std::string& key, const std::string& v) {
  if (key == "plugin") {
    s.plugin = v;
    return v.empty() ? Status::InvalidArgument("must not be empty") : Status::Ok();
  }
  if (key == "dsn") {
    s.dsn = v;
    return v.empty() ? Status::InvalidArgument("must not be empty") : Status::Ok();
  }
  if (key == "max_concurrent") {
    auto n = ParseInt(v, 1, 1024);
    if (!n.ok()) return n.status();
    s.max_concurrent = *n;
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown key (expected plugin, dsn, max_concurrent)");
}

Status ApplyQueryKey(QueryConfig& q, const std::string& key, const std::string& v) {
  if (key == "source") {
    q.source = v;
    return v.empty() ? Status::InvalidArgument("must not be empty") : Status::Ok();
  }
  if (key == "sql") {
    q.sql = v;
    return v.empty() ? Status::InvalidArgument("must not be empty") : Status::Ok();
  }
  if (key == "params" || key == "key") {
    auto list = ParseList(v, /*identifiers=*/key == "params");
    if (!list.ok()) return list.status();
    (key == "params" ? q.params : q.key) = std::move(*list);
    return Status::Ok();
  }
  if (key == "interval") {
    auto s = SetDuration(q.interval, v);
    if (s.ok() && q.interval.count() == 0) return Status::InvalidArgument("must be above 0");
    return s;
  }
  if (key == "jitter") {
    double j = -1;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), j);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || !(j >= 0 && j < 1)) {
      return Status::InvalidArgument("'" + v + "' is not a number in [0, 1)");
    }
    q.jitter = j;
    return Status::Ok();
  }
  return Status::InvalidArgument(
      "unknown key (expected source, sql, params, key, interval, jitter)");
}

// A param the SQL never mentions as :name is a typo that would only show at the first poll.
bool SqlMentions(const std::string& sql, const std::string& param) {
  const std::string needle = ":" + param;
  for (auto pos = sql.find(needle); pos != std::string::npos; pos = sql.find(needle, pos + 1)) {
    const size_t end = pos + needle.size();
    const bool word_ends = end == sql.size() ||
                           !(std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_');
    if (word_ends) return true;
  }
  return false;
}

// Reads the file's text into `config`; node keys from the file are applied before the command
// line's.
Status LoadText(const std::string& file, const std::string& text, Config& config) {
  std::vector<std::string> sections;
  auto entries = ReadEntries(file, text, sections);
  if (!entries.ok()) return entries.status();

  std::set<std::string> seen_sections;
  for (const auto& section : sections) {
    if (!seen_sections.insert(section).second) {
      return Status::InvalidArgument(file + ": [" + section + "]: section appears twice");
    }
    const auto dot = section.find('.');
    const std::string kind = section.substr(0, dot);
    const std::string name = dot == std::string::npos ? "" : section.substr(dot + 1);
    if (section == "node") continue;
    if ((kind == "source" || kind == "query") && dot != std::string::npos) {
      if (!IsName(name)) {
        return Status::InvalidArgument(file + ": [" + section + "]: '" + name +
                                       "' is not a name (letters, digits, _ and -)");
      }
      if (kind == "source")
        config.sources[name].name = name;
      else
        config.queries[name].name = name;
      continue;
    }
    return Status::InvalidArgument(file + ": [" + section +
                                   "]: unknown section (expected [node], [source.NAME] or "
                                   "[query.NAME])");
  }

  std::set<std::pair<std::string, std::string>> seen_keys;
  for (const auto& e : *entries) {
    const std::string where = Where(file, e.section, e.key);
    if (!seen_keys.insert({e.section, e.key}).second) {
      return Status::InvalidArgument(where + "key appears twice");
    }
    Status s;
    if (e.section == "node") {
      const NodeKey* k = FindNodeKey(e.key);
      s = k ? k->set(config.node, e.value) : Status::InvalidArgument(UnknownNodeKey());
    } else if (!seen_sections.count(e.section)) {
      // Boost and ProtectQuotedHashes() disagree on a header: refuse rather than guess.
      return Status::InvalidArgument(file + ": [" + e.section + "]: malformed section header");
    } else if (e.section.starts_with("source.")) {
      s = ApplySourceKey(config.sources[e.section.substr(7)], e.key, e.value);
    } else {
      s = ApplyQueryKey(config.queries[e.section.substr(6)], e.key, e.value);
    }
    if (!s.ok()) return Prefixed(where, s);
  }

  for (const auto& [name, src] : config.sources) {
    for (const char* key : {"plugin", "dsn"}) {
      if (!seen_keys.count({"source." + name, key})) {
        return Status::InvalidArgument(Where(file, "source." + name, key) +
                                       "missing (it is required)");
      }
    }
  }
  for (const auto& [name, q] : config.queries) {
    const std::string section = "query." + name;
    for (const char* key : {"source", "sql"}) {
      if (!seen_keys.count({section, key})) {
        return Status::InvalidArgument(Where(file, section, key) + "missing (it is required)");
      }
    }
    if (!config.sources.count(q.source)) {
      return Status::InvalidArgument(Where(file, section, "source") + "no [source." + q.source +
                                     "] in the file");
    }
    for (const auto& p : q.params) {
      if (!SqlMentions(q.sql, p)) {
        return Status::InvalidArgument(Where(file, section, "params") + "'" + p +
                                       "' does not appear as :" + p + " in sql");
      }
    }
  }
  return Status::Ok();
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "livepolld";
  return buf;
}

}  // namespace

Result<DaemonArgs> ParseDaemonArgs(int argc, const char* const argv[]) {
  po::variables_map vm;
  // No abbreviations: `--log` must not silently mean --log-level today and fail tomorrow.
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  auto parse = [&](const char* const* args) {
    const auto parsed = po::command_line_parser(argc, args).options(Options()).style(style).run();
    po::store(parsed, vm);
    return parsed;
  };
  try {
    const auto parsed = parse(argv);
    // Without a positional description Boost keeps stray words and store() drops them silently.
    const auto extra = po::collect_unrecognized(parsed.options, po::include_positional);
    if (!extra.empty()) {
      return Status::InvalidArgument("unexpected argument '" + extra.front() +
                                     "' (livepolld takes options only)");
    }
  } catch (const po::error&) {
    // Boost's what() substitutes placeholders such as %canonical_option% in a loop that never
    // ends when an argument holds one itself (`--x%canonical_option%`). '%' means nothing to
    // the parser, so the arguments with every '%' swapped for a stand-in fail the same way, and
    // that error's text is safe to build; the stand-in is swapped back.
    std::vector<std::string> safe(argv, argv + argc);
    std::vector<const char*> safe_argv;
    for (auto& a : safe) {
      std::replace(a.begin(), a.end(), '%', kPercentStandIn);
      safe_argv.push_back(a.c_str());
    }
    try {
      vm.clear();
      parse(safe_argv.data());
    } catch (const po::error& e) {
      std::string what = e.what();
      std::replace(what.begin(), what.end(), kPercentStandIn, '%');
      return Status::InvalidArgument(what);
    }
    return Status::InvalidArgument("invalid command line");  // not reached: the same error
  }

  DaemonArgs args;
  if (vm.count("help")) {
    args.action = DaemonArgs::Action::kHelp;
    args.help = Help();
    return args;
  }
  if (vm.count("version")) {
    args.action = DaemonArgs::Action::kVersion;
    return args;
  }
  args.demo = vm.count("demo") > 0;
  for (const char* key : {"demo-db", "demo-plugin", "demo-dsn"}) {
    if (vm.count(key) && !args.demo)
      return Status::InvalidArgument(std::string("--") + key + ": only with --demo");
  }
  if (vm.count("demo-db") && vm.count("demo-dsn"))
    return Status::InvalidArgument("--demo-db and --demo-dsn: give one or the other");
  if (vm.count("demo-plugin")) args.demo_plugin = vm["demo-plugin"].as<std::string>();
  if (vm.count("demo-dsn")) args.demo_dsn = vm["demo-dsn"].as<std::string>();
  if (vm.count("demo-db")) {
    args.demo_db = vm["demo-db"].as<std::string>();
  }
  if (vm.count("config")) {
    args.config_file = vm["config"].as<std::string>();
    auto text = ReadFile(args.config_file);
    if (!text.ok()) return text.status();
    Status s = LoadText(args.config_file, *text, args.config);
    if (!s.ok()) return s;
  }
  for (const auto& k : kNodeKeys) {
    if (!vm.count(k.cli)) continue;
    Status s = k.set(args.config.node, vm[k.cli].as<std::string>());
    if (!s.ok()) return Prefixed(std::string("--") + k.cli + ": ", s);
  }
  if (args.config.node.name.empty()) args.config.node.name = HostName();
  if (Status s = CheckCluster(args.config.node); !s.ok()) return s;
  return args;
}

Result<Config> ParseConfigText(const std::string& file, const std::string& text) {
  Config config;
  if (Status s = LoadText(file, text, config); !s.ok()) return s;
  if (Status s = CheckCluster(config.node); !s.ok()) return s;
  return config;
}

}  // namespace livepoll::config
