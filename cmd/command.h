// The command table: each command group (one .cpp file) contributes Commands; Run() finds the
// command by name, builds its options next to the global ones and calls it. Adding a command is a
// new entry in a group file; adding a group is one line in commands.cpp.
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli.h"
#include "connection.h"
#include "output.h"

namespace livepoll::cli {

// The global options, resolved (defaults and LIVEPOLL_CONNECT applied).
struct GlobalOptions {
  // The admin endpoints of livepolld nodes (-c A,B,C): a command asks the first that answers;
  // `watch` moves to the next when its node dies.
  std::vector<std::string> endpoints;
  std::chrono::milliseconds timeout{2000};       // how long to wait for an answer
  std::chrono::milliseconds node_timeout{1000};  // how long the daemon waits for each other node
  OutputMode mode = OutputMode::kTsv;            // table on a terminal, TSV piped, --json
  bool header = false;                           // --header: a header line on TSV too
  // --server-key (and --key, or a fresh keypair): CurveZMQ on tcp:// endpoints.
  std::optional<CurveClient> curve;
};

// What a command runs with.
struct CommandContext {
  const GlobalOptions& global;
  const boost::program_options::variables_map& vm;  // global and command options, parsed
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  const CliEnv& env;
};

struct Command {
  const char* name;      // "subs"
  const char* synopsis;  // the part after the name: "QUERY [NAME=VALUE ...] [--count N]"
  const char* summary;   // one line for `livepoll --help`
  // Adds the command's own options and positional arguments. May be null (none).
  void (*define)(boost::program_options::options_description& options,
                 boost::program_options::positional_options_description& positional);
  // Runs the command; returns an ExitCode. Errors are reported on ctx.err by the command.
  int (*run)(const CommandContext& ctx);
};

// The command groups (one file each) and the table made of them, in `--help` order.
std::vector<Command> InspectCommands();  // inspect_commands.cpp: status, queries, subs
std::vector<Command> WatchCommands();    // watch_command.cpp: watch
std::vector<Command> ZombieCommands();   // zombie_commands.cpp: zombies, reap, resolve
std::vector<Command> ClusterCommands();  // cluster_commands.cpp: fault
std::vector<Command> KeyCommands();      // key_commands.cpp: keygen
std::vector<Command> TokenCommands();    // token_command.cpp: token
const std::vector<Command>& AllCommands();

}  // namespace livepoll::cli
