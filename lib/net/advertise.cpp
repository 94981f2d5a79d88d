#include "net/advertise.h"

#include <charconv>
#include <optional>

namespace livepoll::net {
namespace {

struct TcpEndpoint {
  std::string host;  // IPv6 without its brackets
  uint16_t port = 0;
};

// "tcp://HOST:PORT" or "tcp://[V6]:PORT"; nullopt for anything else (ipc://, no port).
std::optional<TcpEndpoint> ParseTcp(const std::string& endpoint) {
  const std::string scheme = "tcp://";
  if (endpoint.rfind(scheme, 0) != 0) return std::nullopt;
  const std::string rest = endpoint.substr(scheme.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  TcpEndpoint e;
  e.host = rest.substr(0, colon);
  if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);
  const std::string port = rest.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
  if (ec != std::errc() || end != port.data() + port.size()) return std::nullopt;
  return e;
}

bool IsWildcard(const std::string& host) {
  return host == "*" || host == "0.0.0.0" || host == "::";
}

bool IsLoopbackAddress(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

// A host name is on loopback when it resolves there; one that does not resolve is not.
bool IsLoopbackHost(Env& env, const std::string& host) {
  if (IsLoopbackAddress(host) || host == "localhost") return true;
  Result<Route> r = env.RouteTo(host, 0);
  return r.ok() && IsLoopbackAddress(r->remote);
}

}  // namespace

std::string AdvertisedEndpoint(const std::string& bound, const std::string& host) {
  std::optional<TcpEndpoint> e = ParseTcp(bound);
  if (!e || !IsWildcard(e->host)) return bound;
  const bool v6 = host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(e->port);
}

Result<std::string> AdvertiseHost(Env& env, const std::vector<std::string>& binds,
                                  const std::string& advertise_host,
                                  const std::vector<std::string>& seeds) {
  struct Seed {
    std::string endpoint;
    Result<Route> route;
  };
  std::vector<Seed> routed;
  std::string unrouted;  // why each seed has no route, for the message
  for (const std::string& s : seeds) {
    std::optional<TcpEndpoint> e = ParseTcp(s);
    Result<Route> r = e ? env.RouteTo(e->host, e->port)
                        : Result<Route>(Status::InvalidArgument("not a tcp:// endpoint"));
    if (r.ok())
      routed.push_back({s, std::move(r)});
    else
      unrouted += (unrouted.empty() ? "" : "; ") + s + ": " + r.status().message();
  }

  bool wildcard = false;
  for (const std::string& b : binds)
    if (std::optional<TcpEndpoint> e = ParseTcp(b); e && IsWildcard(e->host)) wildcard = true;
  std::string host = advertise_host;
  std::string derived_from;  // the seed whose route gave `host`
  if (host.empty()) {
    if (!routed.empty()) {
      // A seed off loopback first: its route is the one peers on other hosts can take back.
      const Seed* pick = &routed.front();
      for (const Seed& s : routed)
        if (!IsLoopbackAddress(s.route->remote)) {
          pick = &s;
          break;
        }
      host = pick->route->local;
      derived_from = pick->endpoint;
    } else if (seeds.empty() || !wildcard) {
      host = "127.0.0.1";
    } else {
      return Status::InvalidArgument(
          "a wildcard bind needs an address for peers to dial, and no seed has a route to derive "
          "it from (" +
          unrouted + "): set advertise_host (--advertise-host) to this host's address");
    }
  }

  for (const std::string& b : binds) {
    std::optional<TcpEndpoint> e = ParseTcp(b);
    if (!e) continue;
    const bool from_bind = !IsWildcard(e->host);
    const std::string advertised = from_bind ? e->host : host;
    if (!IsLoopbackHost(env, advertised)) continue;
    for (const Seed& s : routed) {
      if (IsLoopbackAddress(s.route->remote)) continue;
      std::string what = from_bind ? "bound to " + b
                         : derived_from.empty()
                             ? "advertise_host " + advertised
                             : "the route to seed " + derived_from + " leaves from " + advertised;
      std::string fix = from_bind
                            ? "bind to this host's address or to a wildcard (tcp://*:PORT) instead"
                            : "set advertise_host (--advertise-host) to this host's address";
      return Status::InvalidArgument(
          "will not advertise the loopback address " + advertised + " (" + what + ") to seed " +
          s.endpoint + " (" + s.route->remote +
          "), which is not on loopback: peers on other hosts would dial themselves; " + fix +
          " as the seeds reach it (the route to that seed leaves from " + s.route->local + ")");
    }
  }
  return host;
}

}  // namespace livepoll::net
