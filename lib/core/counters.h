// Counters: what a node counts, as `livepoll stats` shows it. One field per counter, so a typo
// fails to compile instead of making a new counter; kCounters names each field once.
// The core Node counts what it decides; its drivers (the daemon's transport, the simulator) count
// what only they see (frames refused, bytes sent).
#pragma once

#include <array>
#include <cstdint>

namespace livepoll::core {

struct Counters {
  // ---- frames refused (the transport counts these) ----
  uint64_t frames_malformed = 0;     // client and admin frames that do not decode
  uint64_t frames_incompatible = 0;  // ... of another protocol version
  uint64_t frames_unknown = 0;       // ... of an unknown or misplaced type
  uint64_t cluster_frames_malformed = 0;
  uint64_t cluster_frames_foreign = 0;  // another cluster's, or another protocol version
  uint64_t cluster_frames_unknown = 0;
  uint64_t cluster_frames_cut = 0;  // dropped by fault injection
  // ---- security (PROTOCOL.md, "Security"; only with keys) ----
  uint64_t auth_refused = 0;    // CurveZMQ handshakes refused by the ZAP handler (unknown keys)
  uint64_t auth_malformed = 0;  // ZAP requests that did not parse (answered 500)
  uint64_t cluster_frames_forged = 0;        // from/sender/origin is not the authenticated node
  uint64_t cluster_frames_wrong_socket = 0;  // a gossip type on rpc, or an rpc type on gossip
  uint64_t cluster_frames_not_member = 0;    // admin or data messages from a node not up
  // Well-formed, but a value no honest peer sends (an epoch or seq near 2^64), or a data-plane
  // request from a node that is not an up member.
  uint64_t cluster_frames_refused = 0;
  // ---- traffic (the transport) ----
  uint64_t gossip_bytes_sent = 0;
  uint64_t gossip_frames_sent = 0;
  uint64_t rpc_bytes_sent = 0;
  uint64_t updates_sent = 0;                 // to clients
  uint64_t updates_dropped_slow_client = 0;  // a client's send queue was full
  uint64_t slow_consumer_resets = 0;  // ... so it lost its pending updates (a snapshot follows)
  // ---- clients and pollers ----
  uint64_t joins = 0;
  // Over a limit: max_param_bytes, max_subscriptions_per_client or max_clients.
  uint64_t joins_refused = 0;
  uint64_t resumes = 0;             // joins with a resume position that continued the stream
  uint64_t resumes_refused = 0;     // ... that could not: the client got the current state
  uint64_t sessions_lost = 0;       // heartbeats of a client whose subscriptions are not here
  uint64_t tokens_accepted = 0;     // `auth` messages whose token verified (the transport)
  uint64_t tokens_refused = 0;      // ... whose token did not: malformed, signature, expired ...
  uint64_t joins_unauthorized = 0;  // joins refused by the query's access rule (access.h)
  uint64_t leaves = 0;
  uint64_t clients_dropped = 0;  // silent for client_timeout
  uint64_t polls = 0;            // results of topics' polls
  uint64_t poll_errors = 0;
  // Statements sent to the sources (the poller runtime counts): one per poll, or one per
  // multiplexed batch of polls (a query's `multiplex`), so polls / poll_statements is the saving.
  uint64_t poll_statements = 0;
  uint64_t results_too_large = 0;  // polls over max_result_rows or max_result_bytes
  uint64_t updates_fenced = 0;
  uint64_t stream_gaps = 0;
  // ---- the configuration (SIGHUP; the daemon counts these) ----
  uint64_t config_reloads = 0;          // reloads applied
  uint64_t config_reload_failures = 0;  // ... refused: the running configuration was kept
  // ---- the cluster ----
  uint64_t members_down = 0;
  // Membership's digest exchange (membership.h): tables asked of a peer whose digest differed,
  // tables sent to an asker, and asks over the answer limits or answers nobody asked for.
  uint64_t member_syncs_asked = 0;
  uint64_t member_syncs_answered = 0;
  uint64_t member_syncs_refused = 0;
  uint64_t data_updates_sent = 0;
  uint64_t data_updates_received = 0;
  uint64_t snapshot_fetches = 0;
  uint64_t registrations = 0;
  uint64_t takeovers = 0;
  uint64_t releases = 0;
  uint64_t clashes = 0;
  uint64_t clashes_resolved = 0;
  uint64_t proposals_denied = 0;
  uint64_t reaped_idle = 0;
  uint64_t reaped_orphan = 0;
  uint64_t reaped_dead_owner = 0;
  // ---- the WebSocket gateway (its thread counts; the event loop copies them here) ----
  uint64_t ws_connections = 0;           // WebSockets accepted
  uint64_t ws_upgrades_refused = 0;      // a wrong vsn or path, or too many sockets
  uint64_t ws_frames_malformed = 0;      // not a Phoenix V2 frame, bad JSON, binary, too big
  uint64_t ws_frames_unknown = 0;        // an event or topic the gateway does not serve
  uint64_t ws_idle_closed = 0;           // silent past ws_idle_timeout
  uint64_t ws_http_requests = 0;         // plain HTTP requests (the page, /metrics, /healthz)
  uint64_t ws_slow_consumer_resets = 0;  // a socket's queue passed client_queue_bytes
  uint64_t ws_updates_dropped_slow_client = 0;
};

struct CounterName {
  const char* name;
  uint64_t Counters::*field;
  bool cluster_only;  // meaningless for a standalone node, which does not show it
};

// Every counter by name, sorted by name (the order `livepoll stats` lists them in).
inline constexpr std::array kCounters = {
    CounterName{"auth_malformed", &Counters::auth_malformed, false},
    CounterName{"auth_refused", &Counters::auth_refused, false},
    CounterName{"clashes", &Counters::clashes, true},
    CounterName{"clashes_resolved", &Counters::clashes_resolved, true},
    CounterName{"clients_dropped", &Counters::clients_dropped, false},
    CounterName{"cluster_frames_cut", &Counters::cluster_frames_cut, true},
    CounterName{"cluster_frames_foreign", &Counters::cluster_frames_foreign, true},
    CounterName{"cluster_frames_forged", &Counters::cluster_frames_forged, true},
    CounterName{"cluster_frames_malformed", &Counters::cluster_frames_malformed, true},
    CounterName{"cluster_frames_not_member", &Counters::cluster_frames_not_member, true},
    CounterName{"cluster_frames_refused", &Counters::cluster_frames_refused, true},
    CounterName{"cluster_frames_unknown", &Counters::cluster_frames_unknown, true},
    CounterName{"cluster_frames_wrong_socket", &Counters::cluster_frames_wrong_socket, true},
    CounterName{"config_reload_failures", &Counters::config_reload_failures, false},
    CounterName{"config_reloads", &Counters::config_reloads, false},
    CounterName{"data_updates_received", &Counters::data_updates_received, true},
    CounterName{"data_updates_sent", &Counters::data_updates_sent, true},
    CounterName{"frames_incompatible", &Counters::frames_incompatible, false},
    CounterName{"frames_malformed", &Counters::frames_malformed, false},
    CounterName{"frames_unknown", &Counters::frames_unknown, false},
    CounterName{"gossip_bytes_sent", &Counters::gossip_bytes_sent, true},
    CounterName{"gossip_frames_sent", &Counters::gossip_frames_sent, true},
    CounterName{"joins", &Counters::joins, false},
    CounterName{"joins_refused", &Counters::joins_refused, false},
    CounterName{"joins_unauthorized", &Counters::joins_unauthorized, false},
    CounterName{"leaves", &Counters::leaves, false},
    CounterName{"member_syncs_answered", &Counters::member_syncs_answered, true},
    CounterName{"member_syncs_asked", &Counters::member_syncs_asked, true},
    CounterName{"member_syncs_refused", &Counters::member_syncs_refused, true},
    CounterName{"members_down", &Counters::members_down, true},
    CounterName{"poll_errors", &Counters::poll_errors, false},
    CounterName{"poll_statements", &Counters::poll_statements, false},
    CounterName{"polls", &Counters::polls, false},
    CounterName{"proposals_denied", &Counters::proposals_denied, true},
    CounterName{"reaped_dead_owner", &Counters::reaped_dead_owner, true},
    CounterName{"reaped_idle", &Counters::reaped_idle, true},
    CounterName{"reaped_orphan", &Counters::reaped_orphan, true},
    CounterName{"registrations", &Counters::registrations, true},
    CounterName{"releases", &Counters::releases, true},
    CounterName{"results_too_large", &Counters::results_too_large, false},
    CounterName{"resumes", &Counters::resumes, false},
    CounterName{"resumes_refused", &Counters::resumes_refused, false},
    CounterName{"rpc_bytes_sent", &Counters::rpc_bytes_sent, true},
    CounterName{"sessions_lost", &Counters::sessions_lost, false},
    CounterName{"slow_consumer_resets", &Counters::slow_consumer_resets, false},
    CounterName{"snapshot_fetches", &Counters::snapshot_fetches, true},
    CounterName{"stream_gaps", &Counters::stream_gaps, false},
    CounterName{"takeovers", &Counters::takeovers, true},
    CounterName{"tokens_accepted", &Counters::tokens_accepted, false},
    CounterName{"tokens_refused", &Counters::tokens_refused, false},
    CounterName{"updates_dropped_slow_client", &Counters::updates_dropped_slow_client, false},
    CounterName{"updates_fenced", &Counters::updates_fenced, false},
    CounterName{"updates_sent", &Counters::updates_sent, false},
    CounterName{"ws_connections", &Counters::ws_connections, false},
    CounterName{"ws_frames_malformed", &Counters::ws_frames_malformed, false},
    CounterName{"ws_frames_unknown", &Counters::ws_frames_unknown, false},
    CounterName{"ws_http_requests", &Counters::ws_http_requests, false},
    CounterName{"ws_idle_closed", &Counters::ws_idle_closed, false},
    CounterName{"ws_slow_consumer_resets", &Counters::ws_slow_consumer_resets, false},
    CounterName{"ws_updates_dropped_slow_client", &Counters::ws_updates_dropped_slow_client, false},
    CounterName{"ws_upgrades_refused", &Counters::ws_upgrades_refused, false},
};

}  // namespace livepoll::core
