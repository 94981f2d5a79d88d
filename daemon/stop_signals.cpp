#include "daemon/stop_signals.h"

#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace livepoll::daemon {

Result<int> OpenStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (int err = pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); err != 0) {
    return Status::Internal(std::string("cannot block SIGTERM and SIGINT: ") + std::strerror(err));
  }
  signal(SIGPIPE, SIG_IGN);
  const int fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) {
    return Status::Internal(std::string("cannot make the signalfd for SIGTERM and SIGINT: ") +
                            std::strerror(errno));
  }
  return fd;
}

Result<int> OpenReloadSignal() {
  sigset_t reload;
  sigemptyset(&reload);
  sigaddset(&reload, SIGHUP);
  if (int err = pthread_sigmask(SIG_BLOCK, &reload, nullptr); err != 0)
    return Status::Internal(std::string("cannot block SIGHUP: ") + std::strerror(err));
  const int fd = signalfd(-1, &reload, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0)
    return Status::Internal(std::string("cannot make the signalfd for SIGHUP: ") +
                            std::strerror(errno));
  return fd;
}

}  // namespace livepoll::daemon
