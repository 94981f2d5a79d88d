// The query catalog as the core sees it: what a topic may be built from and how often it polls.
// Built from the configuration by the daemon; the core never reads files. A running node's
// catalog can be replaced (SIGHUP): DiffCatalogs says what changed, Node::ReplaceCatalog applies
// it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/access.h"
#include "livepoll/time.h"

namespace livepoll::core {

struct CatalogQuery {
  std::string name;
  std::string source;
  std::vector<std::string> params;  // the parameter names a join must give, no more, no fewer
  std::vector<std::string> key;     // key columns: diffs instead of snapshots when non-empty
  Duration interval = std::chrono::seconds(1);
  double jitter = 0.1;  // each wait is interval * (1 + jitter * u), u uniform in [-1, 1]
  QueryAccess access;   // who may join it (access.h); by default anyone
  // Multiplexed polling: at most this many of the query's topics polled here run as one statement
  // (Pollers). 0 or 1: one statement per topic. The configuration's default is 100; a catalog
  // built by hand (tests) polls one statement per topic unless it says otherwise. Not part of the
  // stream (PollsDiffer ignores it): a reload changes it without restarting a poller.
  size_t multiplex = 0;
  // A digest of what the query's stream depends on that the core does not hold itself (its SQL),
  // computed by the daemon (config::QueryDigest); two definitions with different digests poll
  // differently. 0: not computed (tests), only the fields above are compared.
  uint64_t digest = 0;
};

struct Catalog {
  std::map<std::string, CatalogQuery> queries;
  std::map<std::string, int> source_caps;  // source name -> max concurrent queries (>= 1)
};

// Whether a running poller of `a` must restart to follow `b`: its source, parameters, key
// columns, interval, jitter or digest differ. Access rules do not change a stream.
bool PollsDiffer(const CatalogQuery& a, const CatalogQuery& b);

// A digest of the whole catalog (each query's name and digest, by name), for nodes to compare:
// two nodes with the same catalog file have the same digest. Shown by `livepoll status`.
uint64_t CatalogDigest(const Catalog& catalog);
// A digest as 16 hex digits, as the admin views show them.
std::string DigestText(uint64_t digest);

// What replacing catalog `from` by `to` changes, by query name.
struct CatalogChanges {
  std::set<std::string> added;
  std::set<std::string> removed;
  std::set<std::string> changed;  // in both, PollsDiffer
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
CatalogChanges DiffCatalogs(const Catalog& from, const Catalog& to);

}  // namespace livepoll::core
