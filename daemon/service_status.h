// The one-line summary of a node that livepolld sends systemd as STATUS= (service_notify.h), so
// `systemctl status livepolld` says how the node is doing without the admin endpoint:
//   "standalone: 12 topics, 40 subscribers, no source failing"
//   "cluster: 2/3 members up, 12 topics, 40 subscribers, sources failing: pg, sales"
#pragma once

#include <string>

#include "core/node.h"
#include "livepoll/time.h"

namespace livepoll::daemon {

// Members: up (alive or suspect, this node included) out of those known and not left. Topics and
// subscribers: this node's (as `livepoll status` shows them). A source is failing when one of
// the topics of its queries is in the `error` state (`livepoll subs`: its last poll failed, or
// in a cluster its owner's did). Costs a walk over the node's topics: call it about once a
// second, not per event.
std::string ServiceStatusLine(const core::Node& node, Time now);

}  // namespace livepoll::daemon
