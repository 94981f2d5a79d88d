// A livepolld node's life, from parsed options to a clean stop: what main() calls once it has
// parsed the command line, set up logging and turned the stop signals into a file descriptor
// (stop_signals.h). A test calls Run() in process with an eventfd as the stop signal.
#pragma once

#include "config/config.h"
#include "env/env.h"

namespace livepoll::daemon {

// livepolld's exit statuses (man/livepolld.8, EXIT STATUS).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // at run time: a bind, the demo database, the cluster
inline constexpr int kExitUsage = 2;    // options, configuration, plugins, the catalog

// Runs the node `args` describes (args.action is kRun) and returns livepolld's exit status. In
// order, it:
//   1. with args.demo, adds the demo's source and queries (demo.h), on a SQLite file in a new
//      temporary folder unless --demo-db or --demo-dsn says otherwise;
//   2. loads every source's plugin through `env`;
//   3. with args.demo, seeds the demo database and starts changing it every second;
//   4. checks every query against its source;
//   5. binds the client and admin endpoints and, with gossip_bind, the cluster's (then joins);
//   6. starts the pollers and serves on the calling thread until `stop_fd` becomes readable,
//      then leaves the cluster gracefully, stops the pollers and the demo writer, and returns.
// Under systemd (NOTIFY_SOCKET set) it tells the manager READY=1 when step 6's event loop first
// runs, STATUS= lines and WATCHDOG=1 from that loop, and STOPPING=1 when the stop begins
// (service_notify.h).
// Returns kExitOk after that stop; kExitUsage when step 1, 2 or 4 refuses the configuration;
// kExitFailure when the demo's folder or database (1, 3) or a bind (5) fails, when the cluster
// refuses the node, or on any other failure (an exception is logged, not thrown). Every error is
// logged (spdlog's default logger) before the return. On return nothing is left bound and the
// temporary demo folder is gone.
// `stop_fd` is only polled for readability (a signalfd, an eventfd...): Run neither reads nor
// closes it. Signals are the caller's: main() blocks SIGTERM and SIGINT and ignores SIGPIPE.
// `reload_fd` (a signalfd for SIGHUP, or -1) is drained by Run when readable, and the
// configuration is reloaded (reload.h: the file again, the key folders again).
int Run(const config::DaemonArgs& args, Env& env, int stop_fd, int reload_fd = -1);

}  // namespace livepoll::daemon
