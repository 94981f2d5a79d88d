#include "net/server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "auth/token.h"
#include "net/admin_commands.h"
#include "net/admin_zombies.h"
#include "net/catalog_json.h"
#include "net/event_log.h"
#include "proto/codec.h"
#include "source/collector.h"

namespace livepoll::net {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

Server::Server(Env& env, ServerOptions options, core::Node& node, source::PollRunner& runner)
    : env_(env),
      options_(std::move(options)),
      node_(node),
      runner_(runner),
      ctx_(1),
      client_(ctx_, "client"),
      admin_(ctx_, "admin"),
      started_(env.Now()),
      session_(node.session() != 0 ? node.session() : env.RandomSeed() | 1) {
  if (options_.security) {
    zap_ = std::make_unique<ZapHandler>(ctx_, options_.security->sets);
    if (options_.cluster) {
      options_.cluster->curve = ClusterTransport::Curve{options_.security->keys.public_key,
                                                        options_.security->keys.secret_key};
      options_.cluster->keys = [zap = zap_.get()] { return zap->keys(); };
    }
  }
  if (options_.cluster) cluster_ = std::make_unique<Cluster>(ctx_, *options_.cluster, node_);
  if (options_.gateway) {
    options_.gateway->queue_bytes = options_.client_queue_bytes;
    gateway_ = std::make_unique<gateway::Gateway>(*options_.gateway);
  }
  client_.SetLimits(options_.max_message_size, kClientSndhwm);
  admin_.SetLimits(options_.max_message_size);
}

Status Server::Bind() {
  if (!node_.standalone() && !cluster_)
    return Status::InvalidArgument("a cluster node needs its cluster's endpoints");
  std::string secret;
  if (zap_) {
    // Before any CURVE socket binds: without a ZAP handler a CURVE server admits any key.
    if (Status s = zap_->Start(); !s.ok()) return s;
    secret = options_.security->keys.secret_key;
  }
  if (Status s = client_.Bind(options_.client_bind, secret, kZapDomainClient); !s.ok()) return s;
  const bool admin_keys = zap_ && !options_.security->dirs.admin_keys.empty();
  if (Status s = admin_.Bind(options_.admin_bind, admin_keys ? secret : "", kZapDomainAdmin);
      !s.ok())
    return s;
  if (gateway_) {
    if (Status s = gateway_->Start(); !s.ok()) return s;
  }
  if (!cluster_) return Status::Ok();
  core::Actions out;
  Status s = cluster_->Start(env_.Now(), out);
  Carry(out);
  return s;
}

Status Server::ReloadKeys() {
  if (!zap_) return Status::Ok();
  const SecurityOptions& sec = *options_.security;
  Result<KeySets> sets = LoadKeySets(sec.dirs, node_.name(), sec.keys.public_key);
  if (!sets.ok()) {
    spdlog::error("SIGHUP: keeping the keys in use: {}", sets.status().message());
    return sets.status();
  }
  spdlog::info("SIGHUP: keys read again: {} trusted nodes, {} admin keys, {} read-only admin keys",
               sets->nodes.size(), sets->admin.size(), sets->readonly.size());
  zap_->Replace(std::move(*sets));
  return Status::Ok();
}

core::Node::CatalogReplaced Server::ReplaceCatalog(core::Catalog catalog) {
  core::Actions out;
  core::Node::CatalogReplaced r = node_.ReplaceCatalog(env_.Now(), std::move(catalog), out);
  Carry(out);
  return r;
}

Status Server::Run(int stop_fd, int reload_fd) {
  std::vector<zmq::pollitem_t> items = {
      {static_cast<void*>(client_.socket()), 0, ZMQ_POLLIN, 0},
      {static_cast<void*>(admin_.socket()), 0, ZMQ_POLLIN, 0},
      {nullptr, runner_.wake_fd(), ZMQ_POLLIN, 0},
      {nullptr, stop_fd, ZMQ_POLLIN, 0},
      {nullptr, reload_fd, static_cast<short>(reload_fd >= 0 ? ZMQ_POLLIN : 0), 0},
      {nullptr, gateway_ ? gateway_->wake_fd() : -1, static_cast<short>(gateway_ ? ZMQ_POLLIN : 0),
       0},
  };
  const size_t cluster_items = items.size();
  for (;;) {
    // The cluster's sockets change as peers come and go (a SUB each).
    items.resize(cluster_items);
    if (cluster_) {
      for (const zmq::pollitem_t& i : cluster_->PollItems()) items.push_back(i);
    }
    if (options_.on_loop) options_.on_loop();
    Time now = env_.Now();
    const Time deadline = std::min(node_.NextDeadline(), fanout_.NextDeadline());
    // Wake for the node's next deadline, and at least every max_wait (a second) regardless.
    milliseconds wait = options_.max_wait;
    if (deadline != Time::max())
      wait = std::clamp(duration_cast<milliseconds>(deadline - now + milliseconds(1)),
                        milliseconds(0), options_.max_wait);
    // Slow clients' queues are retried often: ZeroMQ tells no one when a peer's pipe has room.
    if (clients_waiting_) wait = std::min(wait, milliseconds(10));
    zmq::poll(items.data(), items.size(), wait);
    const Time woke = env_.Now();
    if (items[3].revents & ZMQ_POLLIN) {
      core::Actions out;
      node_.LeaveCluster(env_.Now(), out);
      Carry(out);  // the leave goes out; the process is about to exit
      return Status::Ok();
    }
    if (items[4].revents & ZMQ_POLLIN) {
      char drain[128 * 16];  // signalfd_siginfo is 128 bytes
      while (read(reload_fd, drain, sizeof drain) > 0) {
      }
      if (reload_) {
        reload_();
      } else {
        ReloadKeys();
      }
    }
    if (cluster_) {
      bool readable = false;
      for (size_t i = cluster_items; i < items.size(); ++i) readable |= items[i].revents != 0;
      core::Actions out;
      const Time read_at = env_.Now();
      if (readable) cluster_->OnReadable(read_at, out);
      Carry(out, read_at);
      if (!node_.refusal().empty())
        return Status::InvalidArgument("the cluster refused this node: " + node_.refusal());
    }

    // Bounded batches so one busy socket cannot starve the others or the timers.
    for (int i = 0; i < 1000; ++i) {
      auto f = client_.Receive();
      if (!f) break;
      OnClientFrame(*f);
    }
    for (int i = 0; i < 100; ++i) {
      auto f = admin_.Receive();
      if (!f) break;
      OnAdminFrame(*f);
    }
    if (items[5].revents & ZMQ_POLLIN) OnGatewayEvents();
    if (items[2].revents & ZMQ_POLLIN) {
      for (source::PollCompletion& c : runner_.TakeCompletions()) {
        if (!c.result.ok() && source::IsResultTooLarge(c.result.status()))
          node_.counters().results_too_large++;
        node_.counters().poll_statements += c.statements;
        core::Actions out;
        const Time done_at = env_.Now();
        std::optional<core::ResultDigest> digest;
        if (auto inflight = polls_in_flight_.find(c.poll_id); inflight != polls_in_flight_.end()) {
          histograms_.poll_duration.Observe(done_at - inflight->second.started);
          digest = std::move(*inflight->second.digest);
          polls_in_flight_.erase(inflight);
        }
        node_.PollDone(done_at, c.poll_id, std::move(c.result), out, std::move(digest));
        Carry(out, done_at);
      }
    }
    ServeFanout(env_.Now());
    RefreshWsClients(env_.Now());
    core::Actions out;
    node_.Tick(env_.Now(), out);
    Carry(out);
    FlushClients();
    histograms_.loop_busy.Observe(env_.Now() - woke);
    if (!node_.refusal().empty())
      return Status::InvalidArgument("the cluster refused this node: " + node_.refusal());
  }
}

AdminContext Server::Context(Time now, core::Actions& out) {
  return AdminContext{now,
                      node_,
                      cluster_.get(),
                      runner_,
                      client_.endpoint(),
                      admin_.endpoint(),
                      started_,
                      options_.stall_after,
                      config_state_,
                      out,
                      &histograms_};
}

proto::AdminReply Server::Admin(const proto::AdminRequest& req) {
  if (zap_) {  // the ZAP handler's thread counts; stats shows them as the node's
    node_.counters().auth_refused = zap_->refused();
    node_.counters().auth_malformed = zap_->malformed();
  }
  CopyGatewayCounters();
  core::Actions out;
  AdminContext ctx = Context(env_.Now(), out);
  proto::AdminReply reply = RunAdmin(ctx, req);
  Carry(out);
  return reply;
}

void Server::ServeFanout(Time now) {
  if (cluster_) {
    for (AdminMessage& m : cluster_->TakeAdmin()) {
      if (auto* call = std::get_if<AdminCall>(&m)) {
        proto::AdminReply reply = Admin(call->request);
        reply.id = call->request.id;
        cluster_->SendAdmin(call->from.name,
                            AdminAnswer{node_.cluster()->self(), std::move(reply)});
      } else {
        const auto& answer = std::get<AdminAnswer>(m);
        fanout_.OnAnswer(answer.from.name, answer.reply);
      }
    }
  }
  for (AdminFanout::Done& d : fanout_.TakeDone(now)) admin_.Send(d.peer, proto::Encode(d.reply));
}

void Server::StartFanout(const std::string& peer, const proto::AdminRequest& req) {
  const Time now = env_.Now();
  auto fail = [&](const Status& s) { ReplyError(admin_, peer, req.id, s); };
  // nodes=A,B (--node): only those; node_timeout=MS: how long to wait for each.
  std::optional<std::set<std::string>> only;
  Duration timeout = milliseconds(1000);
  proto::AdminRequest local{req.id, req.command, {}};
  for (const auto& [key, value] : req.args) {
    if (key == "nodes") {
      only.emplace();
      std::string name;
      for (char ch : value + ",") {
        if (ch != ',')
          name += ch;
        else if (!name.empty())
          only->insert(std::exchange(name, ""));
      }
    } else if (key == "local") {
      only = std::set<std::string>{node_.name()};  // this node's answer alone
    } else if (key == "node_timeout") {
      try {
        timeout = milliseconds(std::clamp<int64_t>(std::stoll(value), 1, 600000));
      } catch (const std::exception&) {
        return fail(Status::InvalidArgument("node_timeout: '" + value + "' is not milliseconds"));
      }
    } else {
      local.args.emplace_back(key, value);
    }
  }
  proto::AdminReply plan;
  if (req.command == "resolve") {
    // The winner is chosen here, once, and the nodes resolve for it (admin_zombies.h).
    proto::Params peer_args;
    core::Actions unused;  // planning decides nothing
    AdminContext ctx = Context(now, unused);
    Result<proto::AdminReply> p = PlanResolve(ctx, local.args, &peer_args);
    if (!p.ok()) return fail(p.status());
    plan = std::move(*p);
    local.args = std::move(peer_args);
    only.reset();  // every claimant must hear of it
  }
  const std::vector<std::string> peers = cluster_ ? cluster_->Peers() : std::vector<std::string>{};
  std::vector<std::string> asked, unreachable;
  for (const std::string& p : peers)
    if (!only || only->count(p)) asked.push_back(p);
  if (only) {
    for (const std::string& n : *only)
      if (n != node_.name() && std::find(peers.begin(), peers.end(), n) == peers.end())
        unreachable.push_back(n + ": not an up member of the cluster");
  }
  std::optional<proto::AdminReply> self_answer;
  if (!only || only->count(node_.name())) {
    self_answer = Admin(local);
    if (!self_answer->code.empty()) {
      self_answer->id = req.id;
      admin_.Send(peer, proto::Encode(*self_answer));
      return;
    }
  }
  const uint64_t id = fanout_.Start(now, peer, req, node_.name(), std::move(self_answer), asked,
                                    std::move(unreachable), timeout, std::move(plan));
  for (const std::string& p : asked) {
    proto::AdminRequest call = local;
    call.id = id;
    if (!cluster_->SendAdmin(p, AdminCall{node_.cluster()->self(), std::move(call)}))
      fanout_.OnAnswer(p, proto::AdminReply{id, "unavailable", "cut off", {}, {}, {}});
  }
  ServeFanout(now);  // a cluster of one, or nobody asked: done at once
}

core::ClientId Server::ClientFor(const std::string& peer) {
  auto [it, inserted] = client_ids_.try_emplace(peer, next_client_);
  if (inserted) client_peers_[next_client_++] = peer;
  return it->second;
}

void Server::CountRefused(const Status& s) {
  core::Counters& c = node_.counters();
  switch (s.code()) {
    case Status::Code::kIncompatible:
      c.frames_incompatible++;
      break;
    case Status::Code::kInvalidArgument:
      c.frames_unknown++;
      break;
    default:
      c.frames_malformed++;
      break;
  }
}

void Server::ReplyError(RouterEndpoint& ep, const std::string& peer, uint64_t id, const Status& s) {
  ep.Send(peer,
          proto::Encode(proto::Error{id, std::string(Status::CodeName(s.code())), s.message()}));
}

void Server::OnClientFrame(const RouterEndpoint::Frame& f) {
  Time now = env_.Now();
  const bool known = client_ids_.count(f.peer) > 0;
  core::ClientId client = ClientFor(f.peer);
  node_.ClientSeen(now, client);
  Result<proto::Message> msg =
      f.well_formed ? proto::Decode(f.payload)
                    : Result<proto::Message>(Status::Malformed("expected exactly one frame"));
  if (!msg.ok()) {
    CountRefused(msg.status());
    spdlog::debug("client frame refused: {}", msg.status().ToString());
    ReplyError(client_, f.peer, 0, msg.status());
    return;
  }
  core::Actions out;
  if (auto* join = std::get_if<proto::Join>(&*msg)) {
    std::optional<core::StreamPosition> resume;
    if (join->resume_epoch > 0)
      resume = core::StreamPosition{join->resume_owner, join->resume_owner_session,
                                    join->resume_epoch, join->resume_seq};
    static const core::ClientIdentity kNobody;
    auto who = identities_.find(client);
    Result<proto::Params> params = node_.AuthorizeJoin(
        join->query, who == identities_.end() ? kNobody : who->second, join->params, UnixNow());
    Result<core::Subscriptions::Joined> joined =
        params.ok() ? node_.Join(now, client, join->query, *params, out, resume)
                    : Result<core::Subscriptions::Joined>(params.status());
    if (!joined.ok()) {
      ReplyError(client_, f.peer, join->id, joined.status());
    } else {
      // Before the updates the join decided (carried below), so the client knows whether a
      // snapshot comes first.
      SendToClient(
          f.peer, proto::Encode(proto::Joined{join->id, joined->topic, session_, joined->resumed}));
    }
  } else if (auto* leave = std::get_if<proto::Leave>(&*msg)) {
    Status s = node_.Leave(now, client, leave->topic, out);
    if (!s.ok()) {
      ReplyError(client_, f.peer, leave->id, s);
    } else {
      SendToClient(f.peer, proto::Encode(proto::Left{leave->id, leave->topic}));
    }
  } else if (auto* hb = std::get_if<proto::Heartbeat>(&*msg)) {
    SendToClient(f.peer, proto::Encode(proto::Heartbeat{session_}));
    // A client that says it joined, but in another process (a restart) or here and was dropped
    // since (silent for client_timeout): its subscriptions are not here, so it must join again.
    if (hb->session != 0 && (hb->session != session_ || !known)) {
      node_.counters().sessions_lost++;
      ReplyError(client_, f.peer, 0,
                 Status::NotFound("this livepolld (session " + std::to_string(session_) +
                                  ") does not know this client (session " +
                                  std::to_string(hb->session) + "): join again"));
    }
  } else if (auto* auth = std::get_if<proto::Auth>(&*msg)) {
    OnAuth(f.peer, client, *auth);
  } else {
    Status s = Status::InvalidArgument(std::string("a client may not send '") +
                                       proto::MessageTypeName(*msg) + "'");
    CountRefused(s);
    ReplyError(client_, f.peer, 0, s);
  }
  Carry(out);
}

void Server::OnAuth(const std::string& peer, core::ClientId client, const proto::Auth& auth) {
  core::ClientIdentity& who = identities_[client];
  who = {};  // a new token replaces what the connection proved, also when it is refused
  Result<auth::Token> token = options_.token_secret.empty()
                                  ? Result<auth::Token>(Status::FailedPrecondition(
                                        "this livepolld takes no tokens: it has no token_secret"))
                                  : auth::VerifyToken(auth.token, options_.token_secret, UnixNow());
  if (!token.ok()) {
    node_.counters().tokens_refused++;
    who.refusal = token.status().message();
    spdlog::debug("client token refused: {}", who.refusal);
    ReplyError(client_, peer, auth.id, token.status());
    return;
  }
  node_.counters().tokens_accepted++;
  proto::Authed reply{auth.id, {}, token->expires ? static_cast<uint64_t>(*token->expires) : 0};
  for (const auto& [name, value] : token->claims) reply.claims.emplace_back(name, value);
  who.claims = std::move(token->claims);
  who.expires = token->expires;
  SendToClient(peer, proto::Encode(reply));
}

int64_t Server::UnixNow() const {
  return std::chrono::duration_cast<std::chrono::seconds>(env_.WallNow().time_since_epoch())
      .count();
}

void Server::SendToClient(const std::string& peer, const std::string& payload) {
  SendToClient(peer, Outgoing{std::make_shared<const std::string>(payload), "", false});
}

void Server::SendToClient(const std::string& peer, Outgoing m) {
  core::Counters& c = node_.counters();
  auto q = queues_.find(peer);
  if (q != queues_.end() && !m.topic.empty() && q->second.needs_snapshot.count(m.topic)) {
    if (!m.snapshot) {
      c.updates_dropped_slow_client++;
      return;
    }
    q->second.needs_snapshot.erase(m.topic);
  }
  if (q == queues_.end() || q->second.items.empty()) {
    switch (client_.Send(peer, *m.payload)) {
      case RouterEndpoint::SendResult::kSent:
        if (!m.topic.empty()) c.updates_sent++;
        return;
      case RouterEndpoint::SendResult::kPeerGone:
        PeerGone(peer);
        return;
      case RouterEndpoint::SendResult::kPeerSlow:
        break;
    }
    q = queues_.try_emplace(peer).first;
  }
  ClientQueue& queue = q->second;
  queue.bytes += m.payload->size();
  queue.items.push_back(std::move(m));
  if (queue.bytes <= options_.client_queue_bytes || queue.items.size() == 1) return;
  // Over: the client loses its queued updates, and gets each topic's current state once it reads.
  c.slow_consumer_resets++;
  std::deque<Outgoing> kept;
  queue.bytes = 0;
  for (Outgoing& o : queue.items) {
    if (o.topic.empty()) {
      queue.bytes += o.payload->size();
      kept.push_back(std::move(o));
    } else {
      c.updates_dropped_slow_client++;
      queue.needs_snapshot.insert(o.topic);
    }
  }
  queue.items = std::move(kept);
  queue.resend = true;
  // Replies alone past the limit (a client that sends and never reads): they go too.
  if (queue.bytes > options_.client_queue_bytes) {
    queue.items.clear();
    queue.bytes = 0;
  }
}

void Server::FlushClients() {
  clients_waiting_ = false;
  std::vector<std::string> peers;
  peers.reserve(queues_.size());
  for (const auto& [peer, q] : queues_) peers.push_back(peer);
  for (const std::string& peer : peers) {
    auto q = queues_.find(peer);
    if (q == queues_.end()) continue;
    ClientQueue& queue = q->second;
    bool gone = false;
    while (!queue.items.empty()) {
      const RouterEndpoint::SendResult r = client_.Send(peer, *queue.items.front().payload);
      if (r == RouterEndpoint::SendResult::kPeerSlow) break;
      if (r == RouterEndpoint::SendResult::kPeerGone) {
        gone = true;
        break;
      }
      if (!queue.items.front().topic.empty()) node_.counters().updates_sent++;
      queue.bytes -= queue.items.front().payload->size();
      queue.items.pop_front();
    }
    if (gone) {
      PeerGone(peer);
      continue;
    }
    if (!queue.items.empty()) {
      clients_waiting_ = true;
      continue;
    }
    if (queue.resend) {
      queue.resend = false;
      auto id = client_ids_.find(peer);
      if (id != client_ids_.end()) {
        const std::vector<std::string> topics(queue.needs_snapshot.begin(),
                                              queue.needs_snapshot.end());
        for (const std::string& topic : topics) {
          core::Actions out;
          node_.Resend(env_.Now(), id->second, topic, out);
          Carry(out);  // the snapshot clears the topic's mark (SendToClient)
        }
      }
    }
    q = queues_.find(peer);
    // Kept while a topic still waits for its snapshot (a stream without a valid state yet: the
    // next snapshot taken clears it), so that its diffs stay dropped.
    if (q != queues_.end() && q->second.items.empty() && q->second.needs_snapshot.empty())
      queues_.erase(q);
  }
}

void Server::PeerGone(const std::string& peer) {
  queues_.erase(peer);
  auto it = client_ids_.find(peer);
  if (it == client_ids_.end()) return;
  core::Actions out;
  node_.ClientGone(env_.Now(), it->second, out);
  Carry(out);
}

void Server::Carry(core::Actions& out, std::optional<Time> data_since) {
  // Peers first: an update published reaches them before anything decided after it.
  if (cluster_) cluster_->Carry(out.transport);
  // A multiplexed batch's requests follow each other with one `batch` id: one job for the runner.
  std::vector<source::PollJob> batch;
  uint64_t batch_id = 0;
  for (core::PollRequest& p : out.polls) {
    // The result's hash and diff are worked out on the poll worker (issue 15 §3): a large result
    // must not stall the loop that sends heartbeats.
    auto digest = std::make_shared<std::optional<core::ResultDigest>>();
    polls_in_flight_[p.poll_id] = {env_.Now(), digest};
    if (!batch.empty() && (p.batch == 0 || p.batch != batch_id)) {
      runner_.SubmitBatch(std::move(batch));
      batch.clear();  // a moved-from vector is valid but unspecified
    }
    batch_id = p.batch;
    batch.push_back({p.poll_id, std::move(p.query), std::move(p.source), std::move(p.params),
                     [digest, base = std::move(p.base)](const ResultSet& rs) {
                       *digest = core::DigestResult(rs, base);
                     }});
  }
  if (!batch.empty()) runner_.SubmitBatch(std::move(batch));
  for (const core::Delivery& d : out.deliveries) {
    const auto* u = std::get_if<proto::Update>(&d.message);
    bool handed = gateway_ && u != nullptr && CarryToWs(*u, d.clients);
    Outgoing m;
    for (core::ClientId c : d.clients) {
      auto peer = client_peers_.find(c);
      if (peer == client_peers_.end()) continue;
      if (!m.payload) {  // once for all, and only when a ZeroMQ client gets it
        m.payload = std::make_shared<const std::string>(proto::Encode(d.message));
        if (u != nullptr) {
          m.topic = u->topic;
          m.snapshot = u->kind == proto::UpdateKind::kSnapshot;
        }
      }
      SendToClient(peer->second, m);
      handed = true;
    }
    if (handed && data_since && !m.topic.empty())
      histograms_.poll_to_delivery.Observe(env_.Now() - *data_since);
  }
  if (gateway_) {
    for (const core::PresenceDelivery& p : out.presence) CarryPresenceToWs(p);
  }
  for (core::ClientId c : out.dropped_clients) {
    if (auto ws = ws_clients_.find(c); ws != ws_clients_.end()) {
      gateway_->Close(ws->second.conn);  // its Closed event finds nothing left to do
      ws_ids_.erase(ws->second.conn);
      ws_clients_.erase(ws);
      continue;
    }
    auto peer = client_peers_.find(c);
    if (peer == client_peers_.end()) continue;
    queues_.erase(peer->second);
    client_ids_.erase(peer->second);
    client_peers_.erase(peer);
    identities_.erase(c);
  }
  for (const core::NodeEvent& e : out.events) LogEvent(e);
  out = {};
}

HttpResponse Server::HttpGet(std::string_view path, uint64_t ws_clients) {
  path = path.substr(0, path.find('?'));
  const Time now = env_.Now();
  HttpResponse r;
  if (path == "/metrics") {
    MetricsView v = MetricsOf(node_, now);
    v.clients_by_protocol = {{"ws", ws_clients}, {"zmq", client_peers_.size()}};
    v.histograms = &histograms_;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderMetrics(v);
  } else if (path == "/healthz") {
    Health h = CheckHealth(HealthOf(node_, now));
    r.status = h.status;
    r.body = h.reason + "\n";
  } else if (path == "/api/queries") {  // the live page's list of queries (catalog_json.h)
    r.content_type = "application/json";
    r.body = CatalogJson(node_.subscriptions().catalog());
  } else {
    r.status = 404;
    r.body = "not found\n";
  }
  return r;
}

void Server::OnAdminFrame(const RouterEndpoint::Frame& f) {
  Result<proto::Message> msg =
      f.well_formed ? proto::Decode(f.payload)
                    : Result<proto::Message>(Status::Malformed("expected exactly one frame"));
  if (!msg.ok()) {
    CountRefused(msg.status());
    ReplyError(admin_, f.peer, 0, msg.status());
    return;
  }
  auto* req = std::get_if<proto::AdminRequest>(&*msg);
  if (req == nullptr) {
    Status s = Status::InvalidArgument(std::string("the admin endpoint takes 'admin', not '") +
                                       proto::MessageTypeName(*msg) + "'");
    CountRefused(s);
    ReplyError(admin_, f.peer, 0, s);
    return;
  }
  if (f.user_id.starts_with("readonly:") && !IsReadOnly(req->command)) {
    ReplyError(
        admin_, f.peer, req->id,
        Status::FailedPrecondition(
            "'" + req->command + "' changes the cluster, and the key of " + f.user_id.substr(9) +
            " is a read-only admin key (admin_readonly_keys): it may only look"));
    return;
  }
  if (IsClusterWide(req->command)) {
    StartFanout(f.peer, *req);
    return;
  }
  proto::AdminReply reply = Admin(*req);
  reply.id = req->id;
  admin_.Send(f.peer, proto::Encode(reply));
}

}  // namespace livepoll::net
