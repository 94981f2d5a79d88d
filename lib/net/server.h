// Server: one node's event loop, the daemon's driver of its core::Node. It owns the client and
// admin endpoints and, in a cluster, the cluster's sockets (net::Cluster); it hands the Node what
// arrives (client frames, peers' frames, poll results, the time) and carries out the Actions it
// decides: frames to clients and peers, polls to the PollRunner, log lines. Everything runs on
// the thread that calls Run(); only the PollRunner's workers run elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <zmq.hpp>

#include "core/access.h"
#include "core/node.h"
#include "env/env.h"
#include "gateway/gateway.h"
#include "livepoll/status.h"
#include "net/admin_commands.h"
#include "net/admin_fanout.h"
#include "net/cluster.h"
#include "net/curve_keys.h"
#include "net/metrics.h"
#include "net/router_endpoint.h"
#include "net/zap_handler.h"
#include "proto/messages.h"
#include "source/poll_runner.h"

namespace livepoll::net {

// With keys (PROTOCOL.md, "Security"): this node's keypair and who may connect.
struct SecurityOptions {
  CurveKeyPair keys;  // this node's
  KeyDirs dirs;       // where the key sets come from: ReloadKeys() reads them again
  KeySets sets;       // as read at start (LoadKeySets)
};

struct ServerOptions {
  std::string client_bind;
  std::string admin_bind;
  // The cluster's sockets: given exactly when the Node is not standalone.
  std::optional<ClusterOptions> cluster;
  uint32_t stall_after = 3;  // a poller without a good poll for this many intervals: stalled
  // Given: every tcp:// socket speaks CurveZMQ, judged by a ZAP handler (the admin endpoint only
  // when dirs.admin_keys is set: else it stays plain, and loopback or ipc:// alone).
  std::optional<SecurityOptions> security;
  // The key client tokens are signed with (auth/token.h); empty: `auth` is refused.
  std::string token_secret;
  // ZMQ_MAXMSGSIZE of the client and admin endpoints (the cluster's: ClusterOptions).
  int64_t max_message_size = -1;
  // Bytes of messages waiting for one client (see "Slow clients" below), WebSockets too.
  size_t client_queue_bytes = 8 << 20;
  // Called by Run on its own thread at the start of every iteration of the event loop, before it
  // waits: the endpoints are bound and served from the first call on. livepolld's systemd
  // notifier (daemon/service_notify.h) hangs on it, so that its watchdog pings come from the
  // event loop itself and stop when the loop is wedged. It must be quick; it may read the Node.
  std::function<void()> on_loop;
  // The longest the loop waits with nothing to do: on_loop runs at least this often.
  std::chrono::milliseconds max_wait{1000};
  // Given: the WebSocket gateway listens at gateway->bind (ws_clients.cpp; its queue_bytes is
  // client_queue_bytes).
  std::optional<gateway::GatewayOptions> gateway;
};

// Slow clients. ZeroMQ holds at most kClientSndhwm messages for a client; past that, what the
// client is sent waits in this server's queue for it, counted in bytes. When that queue passes
// client_queue_bytes (and holds more than one message: a single large snapshot may wait alone),
// the client loses its queued updates (slow_consumer_resets, updates_dropped_slow_client) and
// every topic they were of "needs a snapshot": its later diffs and errors are dropped too, until
// the queue has drained and the node has sent the topic's current state again (Node::Resend).
// So a slow client sees its stream jump to a fresh snapshot, never a diff stream with a hole in
// it. What a client can make the server hold: client_queue_bytes plus one message, plus
// kClientSndhwm messages in ZeroMQ.

// An answer of the node's HTTP side (what the WebSocket gateway's listener sends back).
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class Server {
 public:
  // `node` and `runner` must outlive the Server; `runner` must be started before Run.
  Server(Env& env, ServerOptions options, core::Node& node, source::PollRunner& runner);

  // Binds the endpoints (and the cluster's, which then starts joining); errors name the endpoint.
  Status Bind();
  // Serves until `stop_fd` (a signalfd or eventfd) becomes readable; then a cluster member leaves
  // gracefully. An error when the cluster refused this node. When `reload_fd` (a signalfd for
  // SIGHUP; -1: none) becomes readable, it is drained and the reload handler runs (OnReload;
  // without one, ReloadKeys()).
  Status Run(int stop_fd, int reload_fd = -1);
  // What SIGHUP does, on the event loop: the daemon's reload of its configuration file, which
  // applies what changed through ReplaceCatalog, the PollRunner and ReloadKeys.
  void OnReload(std::function<void()> reload) { reload_ = std::move(reload); }
  // Replaces the node's catalog now (core::Node::ReplaceCatalog) and carries out what it decided:
  // errors to the subscribers of removed queries, restarted pollers, released claims.
  core::Node::CatalogReplaced ReplaceCatalog(core::Catalog catalog);
  // The configuration's state for `livepoll status` (AdminContext::config).
  void SetConfigState(std::string state) { config_state_ = std::move(state); }
  // The node's counters (the reload counts config_reloads and config_reload_failures).
  core::Counters& counters() { return node_.counters(); }
  // Reads the key folders again (SecurityOptions::dirs) and, when all of them read well, judges
  // new connections by them; else keeps the old sets and says why. Ok without keys.
  Status ReloadKeys();

  // GET `path` (a query string is ignored) on the node's HTTP side: `/metrics`, the Prometheus
  // text format 0.0.4 (metrics.h); `/healthz`, 200 "ok" when the node serves, else 503 and why
  // (CheckHealth), one line; 404 for any other path. `ws_clients`: the WebSocket gateway's
  // connected clients, for livepoll_clients{protocol="ws"}. Call on the event loop's thread.
  HttpResponse HttpGet(std::string_view path, uint64_t ws_clients = 0);
  const NodeHistograms& histograms() const { return histograms_; }

  const std::string& client_endpoint() const { return client_.endpoint(); }
  const std::string& admin_endpoint() const { return admin_.endpoint(); }
  // The gateway's HOST:PORT; "" without one.
  std::string ws_endpoint() const { return gateway_ ? gateway_->endpoint() : ""; }
  uint64_t session() const { return session_; }

 private:
  void OnClientFrame(const RouterEndpoint::Frame& f);
  void OnAdminFrame(const RouterEndpoint::Frame& f);
  // A client's token: verified, kept as what the client proved (or why not), answered.
  void OnAuth(const std::string& peer, core::ClientId client, const proto::Auth& auth);
  // Wall-clock seconds since 1970, what token times are in.
  int64_t UnixNow() const;
  // This node's answer to an admin command (its own part of a cluster-wide one).
  proto::AdminReply Admin(const proto::AdminRequest& req);
  AdminContext Context(Time now, core::Actions& out);
  // A cluster-wide command from the CLI at `peer`: answered here, asked of the other nodes,
  // replied to once merged (admin_fanout.h).
  void StartFanout(const std::string& peer, const proto::AdminRequest& req);
  // Other nodes' calls and answers, and the fan-outs that are done.
  void ServeFanout(Time now);
  // Carries out what the node decided (and empties `out`). `data_since`: when the event loop got
  // the data the decision was made of (a poll's result, peers' frames), for the poll -> delivery
  // histogram.
  void Carry(core::Actions& out, std::optional<Time> data_since = std::nullopt);
  // A message for a client, as queued: its encoding (shared by every client it goes to) and, for
  // an update, its topic and whether it is a snapshot.
  struct Outgoing {
    std::shared_ptr<const std::string> payload;
    std::string topic;  // empty: not an update (joined, left, heartbeat, error)
    bool snapshot = false;
  };
  struct ClientQueue {
    std::deque<Outgoing> items;
    size_t bytes = 0;
    std::set<std::string> needs_snapshot;  // topics whose updates were dropped (see above)
    bool resend = false;                   // ask the node for those snapshots once drained
  };
  static constexpr int kClientSndhwm = 64;
  // Sends (or queues) `m` for `peer`, in order after what waits for it.
  void SendToClient(const std::string& peer, Outgoing m);
  void SendToClient(const std::string& peer, const std::string& payload);
  // Hands queued messages to ZeroMQ while it takes them; asks for the snapshots of drained queues.
  void FlushClients();
  // The client at `peer` disconnected: its subscriptions end now rather than at client_timeout.
  void PeerGone(const std::string& peer);
  void ReplyError(RouterEndpoint& ep, const std::string& peer, uint64_t id, const Status& s);
  // Counts a refused frame under frames_malformed, frames_incompatible or frames_unknown.
  void CountRefused(const Status& s);
  core::ClientId ClientFor(const std::string& peer);

  // ---- WebSocket clients (ws_clients.cpp): the gateway's events, and what goes to them ----
  // A Phoenix channel of a WebSocket client, by the core topic it joined.
  struct WsChannel {
    std::string topic;              // the channel topic, as the client wrote it ("live:q?a=1")
    std::string join_ref;           // of the phx_join (JSON text, as the frame had it)
    std::string join_ref_of_reply;  // the phx_join's ref, while its reply waits (pending)
    bool pending = false;           // the join's reply waits for the topic's first update
    bool asked_resume = false;
    // Presence pushes decided while the reply waits: they follow it.
    std::vector<std::shared_ptr<const gateway::OutMessage>> held;
  };
  struct WsClient {
    gateway::ConnId conn = 0;
    // What the connect URL's token proved; null without one (most sockets: an idle socket's entry
    // stays small, ~80 bytes instead of ~180).
    std::unique_ptr<const core::ClientIdentity> identity;
    std::map<std::string, WsChannel> channels;  // by core topic
  };
  void OnGatewayEvents();
  void OnWsJoin(gateway::JoinAsked& j);
  void OnWsLeave(const gateway::LeaveAsked& l);
  // What a token proves; counted in tokens_accepted or tokens_refused.
  core::ClientIdentity VerifyClientToken(const std::string& token);
  // The deliveries' part for WebSocket clients, `u` encoded once per channel topic. Whether any
  // socket got it.
  bool CarryToWs(const proto::Update& u, const std::vector<core::ClientId>& clients);
  // presence_state or presence_diff to the WebSocket clients of `p`, once per channel topic.
  void CarryPresenceToWs(const core::PresenceDelivery& p);
  // Keeps the WebSocket clients alive in the core: their liveness is the gateway's idle timeout.
  void RefreshWsClients(Time now);
  // The gateway thread's counts, into the node's counters.
  void CopyGatewayCounters();

  Env& env_;
  ServerOptions options_;
  core::Node& node_;
  source::PollRunner& runner_;
  zmq::context_t ctx_;
  std::unique_ptr<ZapHandler> zap_;  // with keys; before the sockets it judges, after ctx_
  RouterEndpoint client_;
  RouterEndpoint admin_;
  Time started_;
  uint64_t session_;
  std::unordered_map<std::string, core::ClientId> client_ids_;  // ROUTER identity -> client
  std::unordered_map<core::ClientId, std::string> client_peers_;
  // What each client proved with `auth` on its connection; none: no `auth` yet.
  std::unordered_map<core::ClientId, core::ClientIdentity> identities_;
  std::unordered_map<std::string, ClientQueue> queues_;  // by peer: clients with messages waiting
  bool clients_waiting_ = false;  // a queue held messages ZeroMQ did not take at the last flush
  core::ClientId next_client_ = 1;
  std::unique_ptr<Cluster> cluster_;  // null: a standalone node
  AdminFanout fanout_;
  std::unique_ptr<gateway::Gateway> gateway_;  // null: no ws_bind
  std::unordered_map<core::ClientId, WsClient> ws_clients_;
  std::unordered_map<gateway::ConnId, core::ClientId> ws_ids_;
  Time next_ws_refresh_{};
  NodeHistograms histograms_;
  struct PollInFlight {
    Time started;  // its submission to the runner
    // Filled by the worker (PollJob::after) before the completion is queued; read after it.
    std::shared_ptr<std::optional<core::ResultDigest>> digest;
  };
  std::unordered_map<uint64_t, PollInFlight> polls_in_flight_;  // by poll id
  std::function<void()> reload_;
  std::string config_state_;
};

}  // namespace livepoll::net
