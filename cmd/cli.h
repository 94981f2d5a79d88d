// The livepoll CLI as a function: main() only builds a CliEnv and calls Run(), so every command is
// tested in-process with string streams and a fake daemon (STYLE.md, "Thin mains").
#pragma once

#include <atomic>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

namespace livepoll::cli {

// The process's exit status. Scripts branch on it, so the values are part of the interface
// (man/livepoll.1, EXIT STATUS).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // the daemon answered with an error, or a reply made no sense
  kExitUsage = 2,        // unknown command or option, bad option value
  kExitUnreachable = 3,  // no answer from livepolld within --timeout
  kExitPartial = 4,      // a cluster-wide answer lacks the nodes named on stderr
};

// Everything Run() would otherwise take from the process, so tests can set it.
struct CliEnv {
  // Looks up an environment variable; nullopt when unset. Unset function: no environment.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Whether stdout is a terminal: a table for people, else TSV for pipelines.
  bool stdout_is_terminal = false;
  // Set (from a signal handler, or by a test) to ask a long-running command such as `watch` to
  // leave politely and return. May be null: then only the command's own end condition stops it.
  const std::atomic<bool>* stop = nullptr;
};

// Runs `livepoll argv[1..]`. Data goes to `out`, diagnostics to `err`; returns an ExitCode.
// Thread safety: Run() owns its sockets and may be called from several threads at once.
// REQUIRES: argv[0..argc) are valid strings; the streams outlive the call.
int Run(int argc, const char* const argv[], std::istream& in, std::ostream& out, std::ostream& err,
        const CliEnv& env);

}  // namespace livepoll::cli
