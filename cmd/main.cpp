// livepoll: the thin main. Everything else is Run() (cli.h), which tests call in-process.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "cli.h"

namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void OnStopSignal(int) { g_stop.store(true); }

void InstallSignalHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a waiting poll returns at once, and `watch` leaves politely
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed stdout (`| head -1`) then shows as a failed write, which `watch` treats as the end.
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int main(int argc, char* argv[]) {
  InstallSignalHandlers();
  livepoll::cli::CliEnv env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  env.stdout_is_terminal = isatty(STDOUT_FILENO) == 1;
  env.stop = &g_stop;
  return livepoll::cli::Run(argc, argv, std::cin, std::cout, std::cerr, env);
}
