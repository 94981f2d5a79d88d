// From a parsed configuration to what the node and its pollers run: the core's catalog and the
// poll runner's sources and queries. Used at start (run.cpp) and by every reload (reload.h), so
// that a reloaded file means exactly what it meant at start.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/catalog.h"
#include "env/env.h"
#include "livepoll/status.h"
#include "source/plugin.h"
#include "source/poll_runner.h"

namespace livepoll::daemon {

// The core's catalog: `cfg`'s queries (each with its config::QueryDigest) and sources' caps;
// whether a query needs a token is judged by `node` (the running node's token_secret).
core::Catalog MakeCatalog(const config::Config& cfg, const config::NodeConfig& node);

// The poll runner's queries.
std::vector<source::QuerySpec> MakeQuerySpecs(const config::Config& cfg);

// Plugins loaded so far, by file: a reload reuses them, so an unchanged source keeps its plugin.
using PluginCache = std::map<std::string, std::shared_ptr<source::Plugin>>;

// Loads each source's plugin (from `cache` when that file was loaded before, else through `env`,
// then kept in `cache`); the error names the source, the file and the reason.
Result<std::vector<source::SourceSpec>> LoadSources(Env& env, const config::Config& cfg,
                                                    PluginCache& cache);

}  // namespace livepoll::daemon
