// livepolld's logging: everything goes to stderr, through spdlog's default logger.
#pragma once

#include <string>

namespace livepoll::daemon {

// Replaces spdlog's default logger with one named "livepolld" writing to stderr:
//   format "text": human-readable, colored by level when stderr is a terminal, plain otherwise;
//                  on a systemd journal stream (StderrIsJournal) journald's priority prefixes and
//                  no time of its own (net::JournalLineFormatter);
//   format "json": one JSON object a line (lib/net/log_format.h).
// `level` is trace, debug, info, warn or error (already checked by the config); anything else
// means info. Components that want their own name log through
// `spdlog::default_logger()->clone("name")`, which shares the sink and its format.
// REQUIRES: called once at start-up, before other threads log.
void SetupLogging(const std::string& level, const std::string& format);

// Whether stderr is the journal stream systemd named in JOURNAL_STREAM ("DEVICE:INODE").
bool StderrIsJournal();

}  // namespace livepoll::daemon
