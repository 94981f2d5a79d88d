#include "daemon/service_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

namespace livepoll::daemon {

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  if (!enabled_) return;
  uint64_t usec = 0;
  // > 0: a watchdog for this process; 0: none (or another process's); < 0: a malformed variable.
  const int r = sd_watchdog_enabled(0, &usec);
  if (r > 0 && usec > 0)
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
  else if (r < 0)
    spdlog::warn("systemd: ignoring the watchdog: WATCHDOG_USEC or WATCHDOG_PID: {}",
                 std::strerror(-r));
}

std::optional<Duration> ServiceNotifier::max_tick_gap() const {
  if (!watchdog_interval_) return std::nullopt;
  return *watchdog_interval_ / 2;
}

void ServiceNotifier::Tick(Time now, const std::function<std::string()>& status) {
  if (!enabled_ || stopping_sent_) return;
  if (!ready_sent_) {
    ready_sent_ = true;
    last_watchdog_ = now;
    last_status_check_ = now;
    last_status_ = status();
    Send("READY=1\nSTATUS=" + last_status_ + (watchdog_interval_ ? "\nWATCHDOG=1" : ""));
    return;
  }
  std::string state;
  if (watchdog_interval_ && now - last_watchdog_ >= *watchdog_interval_) {
    last_watchdog_ = now;
    state = "WATCHDOG=1";
  }
  if (now - last_status_check_ >= kStatusEvery) {
    last_status_check_ = now;
    if (std::string line = status(); line != last_status_) {
      last_status_ = std::move(line);
      state += (state.empty() ? "STATUS=" : "\nSTATUS=") + last_status_;
    }
  }
  if (!state.empty()) Send(state);
}

void ServiceNotifier::Stopping() {
  if (!enabled_ || stopping_sent_) return;
  stopping_sent_ = true;
  Send("STOPPING=1\nSTATUS=stopping");
}

void ServiceNotifier::Send(const std::string& state) {
  const int r = sd_notify(0, state.c_str());
  if (r < 0 && !send_failed_) {
    send_failed_ = true;
    spdlog::warn("systemd: cannot notify at NOTIFY_SOCKET: {}", std::strerror(-r));
  }
}

}  // namespace livepoll::daemon
