// livepolld's side of systemd's notify protocol (sd_notify(3)) for a Type=notify unit
// (man/livepolld.8, SYSTEMD): READY=1 once the event loop serves, STATUS= lines for
// `systemctl status`, WATCHDOG=1 from the event loop itself, STOPPING=1 when it stops.
// Without NOTIFY_SOCKET in the environment (not started by systemd) every call does nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "livepoll/time.h"

namespace livepoll::daemon {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET and, through sd_watchdog_enabled(3), WATCHDOG_USEC and WATCHDOG_PID
  // (a watchdog meant for another process is none of this one's). The environment is left as
  // it is: livepolld starts no child that could take the socket for its own.
  ServiceNotifier();

  bool enabled() const { return enabled_; }
  // How often WATCHDOG=1 is sent: half the period systemd asked for; nullopt without a watchdog.
  std::optional<Duration> watchdog_interval() const { return watchdog_interval_; }
  // The longest the event loop may wait between two Ticks for the watchdog to be kept on time (a
  // quarter of the period: a ping is then never later than three quarters of it); nullopt
  // without a watchdog.
  std::optional<Duration> max_tick_gap() const;

  // Called by the event loop at every iteration (net::ServerOptions::on_loop), on its thread.
  // The first call sends READY=1 with the first STATUS=. Then WATCHDOG=1 once watchdog_interval
  // has passed since the last one, and `status()` is asked at most once per kStatusEvery and its
  // line sent only when it changed. Sends nothing when not enabled (and never calls `status`).
  void Tick(Time now, const std::function<std::string()>& status);
  // STOPPING=1, once: the daemon has begun to stop (systemd then waits for its exit).
  void Stopping();

  static constexpr Duration kStatusEvery = std::chrono::seconds(1);

 private:
  // sd_notify; a failure is logged once (the manager went away: nothing else to do).
  void Send(const std::string& state);

  bool enabled_ = false;
  std::optional<Duration> watchdog_interval_;
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
  bool send_failed_ = false;
  Time last_watchdog_{};
  Time last_status_check_{};
  std::string last_status_;
};

}  // namespace livepoll::daemon
