// Metrics and health: what a node tells a scraper (`GET /metrics`, the Prometheus text format
// 0.0.4) and a load balancer (`GET /healthz`). Pure functions of a view of the node, so they are
// tested without sockets; net::Server fills the views (Server::HttpGet) and records the
// histograms where polls finish, where updates are handed to clients, and around each turn of its
// event loop.
//
// /metrics, every sample labelled node="NAME":
//  - livepoll_NAME_total: every counter of `livepoll stats` (core::kCounters; a standalone node
//    leaves the cluster-only ones out, as `livepoll stats` does);
//  - gauges livepoll_clients{protocol}, livepoll_subscriptions, livepoll_topics,
//    livepoll_pollers, livepoll_members{state} (a cluster node only);
//  - histograms livepoll_poll_duration_seconds, livepoll_poll_to_delivery_seconds and
//    livepoll_loop_busy_seconds (their HELP says what is measured).
// /healthz: 200 "ok" when the node serves; else 503 and why (CheckHealth).
// Thread safety: none; the Server's event loop owns its histograms.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/counters.h"
#include "core/node.h"
#include "livepoll/time.h"

namespace livepoll::net {

// A Prometheus histogram: counts per bucket, the sum and the count of what was observed.
class Histogram {
 public:
  // `bounds`: the buckets' upper bounds in seconds, ascending (+Inf is implied).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double seconds);
  void Observe(Duration d);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket, what fell in it and not in the one before (not cumulative); one more than
  // bounds(): the last is above every bound.
  const std::vector<uint64_t>& counts() const { return counts_; }
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }
  double max() const { return max_; }  // the largest observed (0 before any)

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
  double max_ = 0;
};

// Buckets from 0.5 ms to 10 s, for both histograms: a poll of an embedded SQLite takes well under
// a millisecond, a PostgreSQL one over a network several, and a slow one seconds.
std::vector<double> LatencyBuckets();

// What the node measures over time (the Server keeps them).
struct NodeHistograms {
  // From the submission of a poll to the workers to its result back on the event loop: the
  // query's run plus the wait for its source's cap and for a worker.
  Histogram poll_duration{LatencyBuckets()};
  // On this node, from the moment the event loop has the data an update carries (a poll's
  // result of this node's poller, or a peer's frame carrying another owner's update, or a
  // snapshot reply) to the moment the update is handed to the client transport, once per update
  // that reaches at least one client. Not the time since the database changed: the poll interval
  // and, for a relayed update, the owner's share and the network are not in it.
  Histogram poll_to_delivery{LatencyBuckets()};
  // How long each turn of the event loop worked, from the poll's wake-up to its next wait: what
  // delays heartbeats, rpc and every client (issue 15 §3). In `livepoll stats` too.
  Histogram loop_busy{LatencyBuckets()};
};

struct MetricsView {
  std::string node;
  core::Counters counters;
  bool cluster = false;  // with the cluster-only counters and the members gauge
  std::map<std::string, uint64_t> clients_by_protocol;  // "zmq", "ws": every protocol, 0 too
  uint64_t subscriptions = 0;
  uint64_t topics = 0;
  uint64_t pollers = 0;                              // this node's pollers
  std::map<std::string, uint64_t> members_by_state;  // alive, suspect, dead, left: each, 0 too
  const NodeHistograms* histograms = nullptr;        // none: no histogram
};

// The view of `node` (its counters, subscriptions, pollers and members); clients_by_protocol and
// histograms are the caller's.
MetricsView MetricsOf(const core::Node& node, Time now);

// The Prometheus text format 0.0.4 of `v`: HELP and TYPE lines, then the samples.
std::string RenderMetrics(const MetricsView& v);

// A label value as the text format writes it between quotes: \ " and newline escaped.
std::string EscapeLabelValue(const std::string& value);

struct HealthView {
  bool cluster = false;
  // A cluster node: a member from Start until refused or left, and, when seeds were given, one
  // of them answered or another member is up.
  bool joining = false;
  std::string joining_why;  // how far it got ("2 seeds have not answered")
  std::string not_owning;   // Registry::WhyNotOwning (partition = majority); empty: may own
  // Sources every one of whose pollers on this node is in error (at least one poller).
  std::vector<std::string> failing_sources;
};

HealthView HealthOf(const core::Node& node, Time now);

struct Health {
  int status = 200;           // 200 or 503
  std::string reason = "ok";  // "ok", or why not, one line
};

// 503 while the node joins ("joining: ..."), is stale ("stale: " and WhyNotOwning) or its sources
// fail ("source failing: NAME"), in that order; the reason names each that holds, "; " between.
Health CheckHealth(const HealthView& v);

}  // namespace livepoll::net
