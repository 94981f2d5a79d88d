#include "daemon/catalog_load.h"

#include <spdlog/spdlog.h>

#include "source/plugin_path.h"

namespace livepoll::daemon {

core::Catalog MakeCatalog(const config::Config& cfg, const config::NodeConfig& node) {
  core::Catalog catalog;
  for (const auto& [name, q] : cfg.queries) {
    core::CatalogQuery& c = catalog.queries[name];
    c = {name, q.source, q.params, q.key, q.interval, q.jitter};
    c.access.token_required = config::NeedsToken(q, node);
    c.access.bind = q.bind;
    c.access.allow = q.allow;
    c.digest = config::QueryDigest(q);
    c.multiplex = static_cast<size_t>(q.multiplex);
  }
  for (const auto& [name, s] : cfg.sources) catalog.source_caps[name] = s.max_concurrent;
  return catalog;
}

std::vector<source::QuerySpec> MakeQuerySpecs(const config::Config& cfg) {
  std::vector<source::QuerySpec> queries;
  for (const auto& [name, q] : cfg.queries) queries.push_back({name, q.source, q.sql, q.params});
  return queries;
}

Result<std::vector<source::SourceSpec>> LoadSources(Env& env, const config::Config& cfg,
                                                    PluginCache& cache) {
  const std::vector<std::string> path = source::PluginSearchPath(env, cfg.node.plugin_dir);
  std::vector<source::SourceSpec> specs;
  for (const auto& [name, s] : cfg.sources) {
    Result<std::string> file = source::FindPlugin(s.plugin, path);
    if (!file.ok())
      return Status::InvalidArgument("source '" + name + "': " + file.status().message());
    auto& plugin = cache[*file];
    if (!plugin) {
      Result<std::shared_ptr<source::Plugin>> p = source::Plugin::Load(env, *file);
      if (!p.ok()) {
        cache.erase(*file);
        return Status::InvalidArgument("source '" + name + "': " + p.status().message());
      }
      plugin = *p;
      spdlog::info("loaded plugin {} {} (ABI {}.{}) from {}", plugin->name(), plugin->version(),
                   plugin->abi_major(), plugin->abi_minor(), plugin->path());
    }
    specs.push_back({name, plugin, s.dsn, s.max_concurrent});
  }
  return specs;
}

}  // namespace livepoll::daemon
