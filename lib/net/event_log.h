// The daemon's log lines for what its core::Node reports (core::NodeEvent): one line per event,
// at a level an operator can filter on (members down, clashes and reaped zombies are warnings).
#pragma once

#include "core/node.h"

namespace livepoll::net {

void LogEvent(const core::NodeEvent& e);

}  // namespace livepoll::net
