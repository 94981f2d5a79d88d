// How livepolld is told to stop: SIGTERM and SIGINT, turned into a file descriptor that Run()
// (run.h) polls along with its sockets, so that the event loop, not a signal handler, stops it.
#pragma once

#include "livepoll/status.h"

namespace livepoll::daemon {

// Blocks SIGTERM and SIGINT in the calling thread, so that the threads it starts later inherit
// the mask and none of them takes the signals, ignores SIGPIPE (a peer that went away is an
// error return, not a death), and returns a signalfd (non-blocking, close-on-exec) that becomes
// readable when SIGTERM or SIGINT arrives. The caller owns it.
// An error (Internal) names the call that failed and why; then nothing can stop the daemon
// but SIGKILL, so the caller must not serve.
// REQUIRES: called before any thread starts.
Result<int> OpenStopSignals();

// The same for SIGHUP ("read your keys again"): blocked in the calling thread and returned as a
// signalfd (non-blocking, close-on-exec) that the event loop drains and acts on.
// REQUIRES: called before any thread starts.
Result<int> OpenReloadSignal();

}  // namespace livepoll::daemon
