// The query catalog as the core sees it: what a topic may be built from and how often it polls.
// Built from the configuration by the daemon; the core never reads files.
#pragma once

#include <map>
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
};

struct Catalog {
  std::map<std::string, CatalogQuery> queries;
  std::map<std::string, int> source_caps;  // source name -> max concurrent queries (>= 1)
};

}  // namespace livepoll::core
