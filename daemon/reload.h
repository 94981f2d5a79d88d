// Reloader: what SIGHUP does to a running livepolld — the configuration file read again by the
// same parser as at start (the command line's options still win over it), and what changed
// applied without dropping a client:
//  - queries added, removed or changed: the node's catalog is replaced (core::Node::
//    ReplaceCatalog says what their subscribers see), the poll runner prepares the new SQL;
//  - sources added or changed (plugin, dsn, max_concurrent): new connections (PollRunner::Replace);
//  - the key folders (trusted_keys, admin_keys, admin_readonly_keys) read again
//  (Server::ReloadKeys);
//  - every [node] key needs a restart: a changed one is kept as it runs, with a warning naming it.
// Nothing is applied unless everything reads well: a file that does not parse, a plugin that
// does not load, a query its source refuses, a key folder that does not read — each keeps the
// running configuration, says why in the log and in `livepoll status` (AdminContext::config),
// and counts in config_reload_failures. A later good reload clears it (config_reloads).
//
// Thread safety: none; it runs on the Server's event loop (Server::OnReload).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/catalog_load.h"
#include "env/env.h"
#include "net/server.h"
#include "source/poll_runner.h"

namespace livepoll::daemon {

// The [node] keys whose values differ between `running` and `next`, each "KEY (OLD -> NEW)":
// none of them changes without a restart.
std::vector<std::string> RestartOnlyChanges(const config::NodeConfig& running,
                                            const config::NodeConfig& next);

class Reloader {
 public:
  // `args`: the command line as started; `demo_dsn`: the demo's database when args.demo;
  // `running`: the configuration in use (with the demo's catalog when args.demo); `plugins`: the
  // plugins loaded at start. Installs itself as `server`'s reload handler; `server` and `runner`
  // must outlive it.
  Reloader(Env& env, config::DaemonArgs args, std::string demo_dsn, config::Config running,
           PluginCache plugins, net::Server& server, source::PollRunner& runner);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Reads and applies the file now; the error says why nothing was applied.
  Status Reload();

 private:
  // Everything that may refuse the new file, nothing applied yet.
  struct Candidate;
  Result<Candidate> Read();
  std::string Clock() const;  // HH:MM:SS UTC, now

  Env& env_;
  config::DaemonArgs args_;
  std::string demo_dsn_;
  config::Config running_;
  PluginCache plugins_;
  net::Server& server_;
  source::PollRunner& runner_;
};

}  // namespace livepoll::daemon
