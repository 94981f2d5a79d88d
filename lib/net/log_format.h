// The JSON-lines log format (`log_format = json`): one object a line, for log shippers.
//
//   {"ts":"2026-11-24T04:25:26.123Z","level":"info","logger":"livepolld","msg":"..."}
//
// ts is UTC with milliseconds; level is one of trace, debug, info, warn, error, critical (the
// names of livepoll.conf's log_level, not spdlog's "warning"); msg and logger are JSON strings.
// Every line is valid JSON whatever the message holds: quotes, backslashes and control characters
// are escaped, and bytes that are not UTF-8 become U+FFFD.
//
// Here rather than in daemon/ so the unit tests can link it (lp_net already links spdlog).
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace livepoll::net {

// `text` as a JSON string literal, quotes included (livepoll/json.h: AppendJsonString).
std::string JsonQuote(std::string_view text);

// Stateless, so one instance may serve any number of sinks; spdlog serialises calls per sink.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// The journal's format, for a daemon whose stderr is a systemd journal stream (JOURNAL_STREAM):
//
//   <4>[livepolld] member n2#17 is down
//
// journald stamps each line with its own time, so there is none here, and takes the `<N>` prefix
// as the line's syslog priority (`journalctl -p warning` filters on it): trace and debug 7, info
// 6, warn 4, error 3, critical 2. A newline inside a message would begin an entry without a
// priority, so it is written as \n.
class JournalLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace livepoll::net
