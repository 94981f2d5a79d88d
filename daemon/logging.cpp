#include "logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "net/log_format.h"

namespace livepoll::daemon {

bool StderrIsJournal() {
  // systemd's rule (systemd.exec(5), JOURNAL_STREAM): "DEVICE:INODE" of the stream it connected
  // stderr to. Checked against stderr itself, so a child that inherited the variable but writes
  // elsewhere (a redirect to a file) keeps its own format.
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void SetupLogging(const std::string& level, const std::string& format) {
  // UTC, like the JSON lines, so the logs of a cluster's nodes line up.
  constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v";
  spdlog::sink_ptr sink;
  if (format == "json") {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_formatter(std::make_unique<net::JsonLineFormatter>());
  } else if (StderrIsJournal()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_formatter(std::make_unique<net::JournalLineFormatter>());
  } else {
    // The color sink also checks TERM, so TERM=dumb gets no escapes either.
    if (isatty(STDERR_FILENO)) {
      sink = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    sink->set_formatter(
        std::make_unique<spdlog::pattern_formatter>(kTextPattern, spdlog::pattern_time_type::utc));
  }
  auto logger = std::make_shared<spdlog::logger>("livepolld", std::move(sink));
  auto lvl = spdlog::level::from_str(level);
  // from_str maps unknown names to off; a typo must not silence the daemon.
  if (lvl == spdlog::level::off) lvl = spdlog::level::info;
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace livepoll::daemon
