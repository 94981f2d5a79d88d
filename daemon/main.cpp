// livepolld: parses its options, sets up logging and the stop signals, and runs the node
// (daemon/run.h) until SIGTERM or SIGINT; SIGHUP reloads the configuration (reload.h). Exit status:
// 0 after a clean stop, 1 on a runtime failure, 2 on bad options, configuration or plugins.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <iostream>

#include "config/config.h"
#include "daemon/logging.h"
#include "daemon/run.h"
#include "daemon/stop_signals.h"
#include "env/env.h"
#include "livepoll/version.h"

int main(int argc, char** argv) {
  using namespace livepoll;
  Env& env = Env::Real();
  Result<config::DaemonArgs> args = config::ParseDaemonArgs(env, argc, argv);
  if (!args.ok()) {
    std::cerr << "livepolld: " << args.status().message() << "\n"
              << "Try 'livepolld --help' for more information.\n";
    return daemon::kExitUsage;
  }
  switch (args->action) {
    case config::DaemonArgs::Action::kHelp:
      std::cout << args->help;
      return daemon::kExitOk;
    case config::DaemonArgs::Action::kVersion:
      std::cout << "livepolld " << Version() << "\n";
      return daemon::kExitOk;
    case config::DaemonArgs::Action::kRun:
      break;
  }
  daemon::SetupLogging(args->config.node.log_level, args->config.node.log_format);
  // Before Run starts any thread, so that no thread but the event loop sees the stop signals.
  Result<int> stop_fd = daemon::OpenStopSignals();
  if (!stop_fd.ok()) {
    spdlog::error("{}", stop_fd.status().message());
    return daemon::kExitFailure;
  }
  Result<int> reload_fd = daemon::OpenReloadSignal();
  if (!reload_fd.ok()) {
    spdlog::error("{}", reload_fd.status().message());
    return daemon::kExitFailure;
  }
  const int status = daemon::Run(*args, env, *stop_fd, *reload_fd);
  close(*reload_fd);
  close(*stop_fd);
  return status;
}
