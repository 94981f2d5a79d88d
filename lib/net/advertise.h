// The address a cluster node advertises in its endpoints (DESIGN.md, "Membership"): what peers
// dial to reach its gossip and rpc sockets, decided once at start.
//
// A bind to a specific address (tcp://10.0.0.5:7473) is advertised as bound. A wildcard bind
// (tcp://*:N, tcp://0.0.0.0:N, tcp://[::]:N) is advertised with the host AdvertiseHost returns:
//  - `advertise_host`, when given;
//  - else the local address of the route to the first seed off loopback that has one (else to
//    the first that has one; Env::RouteTo): the address the seeds see this node's traffic come
//    from, so peers on other hosts reach it;
//  - else, with no seeds at all, 127.0.0.1 (nobody to derive it from: a node that peers on other
//    hosts name as their seed, and which names none, must set advertise_host).
// Refused (InvalidArgument, the message saying what to set):
//  - a loopback address advertised to a seed that is not on loopback: its peers, on other hosts,
//    would dial themselves;
//  - a wildcard bind without advertise_host whose seeds all lack a route (none resolves).
// Seeds that do not resolve are not checked (nothing is known of them).
#pragma once

#include <string>
#include <vector>

#include "env/env.h"
#include "livepoll/status.h"

namespace livepoll::net {

// The host to put in place of a wildcard in `binds` (the gossip and rpc bind endpoints); `seeds`
// are rpc endpoints (tcp://HOST:PORT).
Result<std::string> AdvertiseHost(Env& env, const std::vector<std::string>& binds,
                                  const std::string& advertise_host,
                                  const std::vector<std::string>& seeds);

// "tcp://*:7472", "tcp://0.0.0.0:7472" or "tcp://[::]:7472" -> "tcp://HOST:7472" (an IPv6 HOST
// in brackets); any other endpoint unchanged.
std::string AdvertisedEndpoint(const std::string& bound, const std::string& host);

}  // namespace livepoll::net
