#include "config/config_file.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "config/ini.h"
#include "config/node_keys.h"
#include "config/values.h"

namespace livepoll::config {
namespace {

std::string Where(const std::string& file, const std::string& section, const std::string& key) {
  return file + ": [" + section + "] " + key + ": ";
}

Status Prefixed(const std::string& where, const Status& s) {
  return s.ok() ? s : Status::InvalidArgument(where + s.message());
}

// A key as this file files it: its section and its name.
struct Key {
  std::string section;
  std::string name;
};

// Boost.Program_options, which read these files before ini.h, knew no sections: it named a key
// "SECTION.KEY" (or just "KEY" before the first section), and the section was what came before
// the last '.'. So a dotted key `a.b` in [node] is the key b of a section [node.a], an error; and
// before any section, `node.name = n1` sets [node] name. Kept, so that every file reads as it did.
// nullopt: a key outside any section.
std::optional<Key> KeyOf(const ini::Entry& e) {
  // Except a query's `bind.PARAM`, which came after Boost and is dotted on purpose.
  if (e.section.starts_with("query.") && e.key.starts_with("bind.") &&
      e.key.find('.', 5) == std::string::npos)
    return Key{e.section, e.key};
  const std::string full = e.section.empty() ? e.key : e.section + "." + e.key;
  const auto dot = full.rfind('.');
  if (dot == std::string::npos) return std::nullopt;
  return Key{full.substr(0, dot), full.substr(dot + 1)};
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

// The largest batch: PostgreSQL takes a statement of any size, but one set's failure fails the
// whole batch, and Hasura's 100 is the tried figure; ten times that leaves room to measure.
constexpr int kMaxMultiplex = 1000;

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
  if (key == "multiplex") {
    auto n = ParseInt(v, 0, kMaxMultiplex);
    if (!n.ok()) return n.status();
    q.multiplex = *n;
    return Status::Ok();
  }
  if (key == "auth") {
    if (v == "none")
      q.auth = QueryAuth::kNone;
    else if (v == "token")
      q.auth = QueryAuth::kToken;
    else
      return Status::InvalidArgument("'" + v + "' is not none or token");
    return Status::Ok();
  }
  if (key.starts_with("bind.")) {
    const std::string param = key.substr(5);
    if (param.empty()) return Status::InvalidArgument("names no parameter (bind.PARAM = CLAIM)");
    if (v.empty()) return Status::InvalidArgument("names no claim (bind.PARAM = CLAIM)");
    q.bind.emplace_back(param, v);
    std::sort(q.bind.begin(), q.bind.end());
    return Status::Ok();
  }
  if (key == "allow") {
    q.allow.clear();
    std::stringstream in(v);
    for (std::string item; std::getline(in, item, ',');) {
      item = Trim(item);
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
        return Status::InvalidArgument("'" + item + "' is not CLAIM=VALUE");
      q.allow.emplace_back(Trim(item.substr(0, eq)), Trim(item.substr(eq + 1)));
    }
    if (q.allow.empty()) return Status::InvalidArgument("names no CLAIM=VALUE");
    return Status::Ok();
  }
  return Status::InvalidArgument(
      "unknown key (expected source, sql, params, key, interval, jitter, multiplex, auth, "
      "bind.PARAM, allow)");
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

// Declares the sources and queries of the file's section headers in `config`.
Status ApplySections(const std::string& file, const std::vector<ini::Section>& sections,
                     std::set<std::string>& seen, Config& config) {
  for (const auto& header : sections) {
    const std::string& section = header.name;
    if (!seen.insert(section).second) {
      return Status::InvalidArgument(file + ": [" + section + "]: section appears twice");
    }
    if (section == "node") continue;
    const auto dot = section.find('.');
    const std::string kind = section.substr(0, dot);
    if ((kind == "source" || kind == "query") && dot != std::string::npos) {
      const std::string name = section.substr(dot + 1);
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
  return Status::Ok();
}

// What a section needs once all its keys are read: the required keys, a source for each query,
// and params its sql uses.
Status CheckComplete(const std::string& file,
                     const std::set<std::pair<std::string, std::string>>& keys,
                     const Config& config) {
  for (const auto& [name, src] : config.sources) {
    for (const char* key : {"plugin", "dsn"}) {
      if (!keys.count({"source." + name, key})) {
        return Status::InvalidArgument(Where(file, "source." + name, key) +
                                       "missing (it is required)");
      }
    }
  }
  for (const auto& [name, q] : config.queries) {
    const std::string section = "query." + name;
    for (const char* key : {"source", "sql"}) {
      if (!keys.count({section, key})) {
        return Status::InvalidArgument(Where(file, section, key) + "missing (it is required)");
      }
    }
    if (!config.sources.count(q.source)) {
      return Status::InvalidArgument(Where(file, section, "source") + "no [source." + q.source +
                                     "] in the file");
    }
    for (const auto& [param, claim] : q.bind) {
      if (std::find(q.params.begin(), q.params.end(), param) == q.params.end()) {
        return Status::InvalidArgument(Where(file, section, "bind." + param) + "'" + param +
                                       "' is not one of the query's params");
      }
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

}  // namespace

Status ApplyFileText(const std::string& file, std::string_view text, Config& config) {
  Result<ini::Document> doc = ini::Read(file, text);
  if (!doc.ok()) return doc.status();

  std::vector<Key> keys;
  for (const ini::Entry& e : doc->entries) {
    std::optional<Key> key = KeyOf(e);
    if (!key) {
      return Status::InvalidArgument(file + ": " + e.key +
                                     ": key outside a section (start with [node], "
                                     "[source.NAME] or [query.NAME])");
    }
    keys.push_back(std::move(*key));
  }

  std::set<std::string> sections;
  if (Status s = ApplySections(file, doc->sections, sections, config); !s.ok()) return s;

  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& [section, key] = keys[i];
    const std::string& value = doc->entries[i].value;
    const std::string where = Where(file, section, key);
    if (!seen.insert({section, key}).second) {
      return Status::InvalidArgument(where + "key appears twice");
    }
    Status s;
    if (section == "node") {
      const NodeKey* k = FindNodeKey(key);
      s = k ? k->set(config.node, value) : Status::InvalidArgument(UnknownNodeKey());
    } else if (!sections.count(section)) {
      // A dotted key's made-up section (see KeyOf).
      return Status::InvalidArgument(file + ": [" + section + "]: malformed section header");
    } else if (section.starts_with("source.")) {
      s = ApplySourceKey(config.sources[section.substr(7)], key, value);
    } else {
      s = ApplyQueryKey(config.queries[section.substr(6)], key, value);
    }
    if (!s.ok()) return Prefixed(where, s);
  }
  return CheckComplete(file, seen, config);
}

Status CheckAccess(const Config& config) {
  for (const auto& [name, q] : config.queries) {
    const std::string where = "[query." + name + "] ";
    const std::string needs = " needs [node] token_secret (--token-secret): it comes from a token";
    if (q.auth == QueryAuth::kNone) {
      if (!q.bind.empty())
        return Status::InvalidArgument(where + "bind." + q.bind.front().first +
                                       ": a parameter bound to a claim needs auth = token");
      if (!q.allow.empty()) return Status::InvalidArgument(where + "allow: needs auth = token");
      continue;
    }
    if (!config.node.token_secret.empty()) continue;
    if (q.auth == QueryAuth::kToken)
      return Status::InvalidArgument(where +
                                     "auth: token needs [node] token_secret "
                                     "(--token-secret), the key tokens are signed with");
    if (!q.bind.empty())
      return Status::InvalidArgument(where + "bind." + q.bind.front().first + ":" + needs);
    if (!q.allow.empty()) return Status::InvalidArgument(where + "allow:" + needs);
  }
  return Status::Ok();
}

bool NeedsToken(const QueryConfig& q, const NodeConfig& node) {
  return q.auth == QueryAuth::kToken ||
         (q.auth == QueryAuth::kDefault && !node.token_secret.empty());
}

Result<Config> ParseConfigText(const std::string& file, const std::string& text) {
  Config config;
  if (Status s = ApplyFileText(file, text, config); !s.ok()) return s;
  if (Status s = CheckCluster(config.node); !s.ok()) return s;
  if (Status s = CheckAccess(config); !s.ok()) return s;
  return config;
}

}  // namespace livepoll::config
