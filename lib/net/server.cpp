#include "net/server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "livepoll/version.h"
#include "net/admin_zombies.h"
#include "proto/codec.h"

namespace livepoll::net {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

Server::Server(Env& env, ServerOptions options, core::Subscriptions& subs,
               source::PollRunner& runner)
    : env_(env),
      options_(std::move(options)),
      subs_(subs),
      runner_(runner),
      ctx_(1),
      client_(ctx_, "client"),
      admin_(ctx_, "admin"),
      started_(env.Now()) {
  for (const char* name :
       {"frames_malformed", "frames_incompatible", "frames_unknown", "polls", "poll_errors",
        "clients_dropped", "updates_sent", "updates_dropped_slow_client", "joins", "leaves"})
    counters_[name] = 0;
  for (const char* name : {"updates_fenced", "stream_gaps"}) counters_[name] = 0;
  if (options_.cluster)
    cluster_ = std::make_unique<Cluster>(ctx_, *options_.cluster, subs_, counters_);
}

Status Server::Bind() {
  if (Status s = client_.Bind(options_.client_bind); !s.ok()) return s;
  if (Status s = admin_.Bind(options_.admin_bind); !s.ok()) return s;
  return cluster_ ? cluster_->Start(env_.Now()) : Status::Ok();
}

Status Server::Run(int stop_fd) {
  std::vector<zmq::pollitem_t> items = {
      {static_cast<void*>(client_.socket()), 0, ZMQ_POLLIN, 0},
      {static_cast<void*>(admin_.socket()), 0, ZMQ_POLLIN, 0},
      {nullptr, runner_.wake_fd(), ZMQ_POLLIN, 0},
      {nullptr, stop_fd, ZMQ_POLLIN, 0},
  };
  const size_t cluster_items = items.size();
  if (cluster_) {
    for (const zmq::pollitem_t& i : cluster_->PollItems()) items.push_back(i);
  }
  for (;;) {
    Time now = env_.Now();
    Time deadline = subs_.NextDeadline();
    if (cluster_) deadline = std::min(deadline, cluster_->NextDeadline());
    deadline = std::min(deadline, fanout_.NextDeadline());
    // Wake for the core's next deadline, and at least once a second regardless.
    milliseconds wait(1000);
    if (deadline != Time::max())
      wait = std::clamp(duration_cast<milliseconds>(deadline - now + milliseconds(1)),
                        milliseconds(0), milliseconds(1000));
    zmq::poll(items.data(), items.size(), wait);
    if (items[3].revents & ZMQ_POLLIN) {
      if (cluster_) cluster_->Leave(env_.Now());
      return Status::Ok();
    }
    if (cluster_) {
      bool readable = false;
      for (size_t i = cluster_items; i < items.size(); ++i) readable |= items[i].revents != 0;
      core::Outputs out;
      if (readable) cluster_->OnReadable(env_.Now(), out);
      cluster_->Tick(env_.Now(), out);
      Carry(out);
      if (!cluster_->refusal().empty())
        return Status::InvalidArgument("the cluster refused this node: " + cluster_->refusal());
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
    if (items[2].revents & ZMQ_POLLIN) {
      for (source::PollCompletion& c : runner_.TakeCompletions()) {
        counters_["polls"]++;
        if (!c.result.ok()) counters_["poll_errors"]++;
        core::Outputs out;
        subs_.PollDone(env_.Now(), c.poll_id, std::move(c.result), out);
        Carry(out);
      }
    }
    ServeFanout(env_.Now());
    core::Outputs out;
    subs_.Tick(env_.Now(), out);
    Carry(out);
  }
}

void Server::ServeFanout(Time now) {
  if (cluster_) {
    for (AdminMessage& m : cluster_->TakeAdmin()) {
      if (auto* call = std::get_if<AdminCall>(&m)) {
        proto::AdminReply reply = Admin(call->request);
        reply.id = call->request.id;
        cluster_->SendAdmin(call->from.name, AdminAnswer{cluster_->node().self(), std::move(reply)});
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
  auto fail = [&](const Status& s) {
    ReplyError(admin_, peer, req.id, s);
  };
  // nodes=A,B (--node): only those; node_timeout=MS: how long to wait for each.
  std::optional<std::set<std::string>> only;
  Duration timeout = milliseconds(1000);
  proto::AdminRequest local{req.id, req.command, {}};
  for (const auto& [key, value] : req.args) {
    if (key == "nodes") {
      only.emplace();
      std::string name;
      for (char ch : value + ",") {
        if (ch != ',') name += ch;
        else if (!name.empty()) only->insert(std::exchange(name, ""));
      }
    } else if (key == "local") {
      only = std::set<std::string>{options_.node};  // this node's answer alone
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
    Result<proto::AdminReply> p = PlanResolve(
        AdminScope{now, options_.node, subs_, cluster_.get(), options_.stall_after}, local.args,
        &peer_args);
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
      if (n != options_.node && std::find(peers.begin(), peers.end(), n) == peers.end())
        unreachable.push_back(n + ": not an up member of the cluster");
  }
  std::optional<proto::AdminReply> self_answer;
  if (!only || only->count(options_.node)) {
    self_answer = Admin(local);
    if (!self_answer->code.empty()) {
      self_answer->id = req.id;
      admin_.Send(peer, proto::Encode(*self_answer));
      return;
    }
  }
  const uint64_t id = fanout_.Start(now, peer, req, options_.node, std::move(self_answer), asked,
                                    std::move(unreachable), timeout, std::move(plan));
  for (const std::string& p : asked) {
    proto::AdminRequest call = local;
    call.id = id;
    if (!cluster_->SendAdmin(p, AdminCall{cluster_->node().self(), std::move(call)}))
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
  switch (s.code()) {
    case Status::Code::kIncompatible: counters_["frames_incompatible"]++; break;
    case Status::Code::kInvalidArgument: counters_["frames_unknown"]++; break;
    default: counters_["frames_malformed"]++; break;
  }
}

void Server::ReplyError(RouterEndpoint& ep, const std::string& peer, uint64_t id, const Status& s) {
  ep.Send(peer, proto::Encode(proto::Error{id, std::string(Status::CodeName(s.code())), s.message()}));
}

void Server::OnClientFrame(const RouterEndpoint::Frame& f) {
  Time now = env_.Now();
  core::ClientId client = ClientFor(f.peer);
  subs_.ClientSeen(now, client);
  Result<proto::Message> msg =
      f.well_formed ? proto::Decode(f.payload)
                    : Result<proto::Message>(Status::Malformed("expected exactly one frame"));
  if (!msg.ok()) {
    CountRefused(msg.status());
    spdlog::debug("client frame refused: {}", msg.status().ToString());
    ReplyError(client_, f.peer, 0, msg.status());
    return;
  }
  core::Outputs out;
  if (auto* join = std::get_if<proto::Join>(&*msg)) {
    Result<std::string> topic = subs_.Join(now, client, join->query, join->params, out);
    if (!topic.ok()) {
      ReplyError(client_, f.peer, join->id, topic.status());
    } else {
      counters_["joins"]++;
      SendToClient(f.peer, proto::Encode(proto::Joined{join->id, *topic}));
    }
  } else if (auto* leave = std::get_if<proto::Leave>(&*msg)) {
    Status s = subs_.Leave(now, client, leave->topic, out);
    if (!s.ok()) {
      ReplyError(client_, f.peer, leave->id, s);
    } else {
      counters_["leaves"]++;
      SendToClient(f.peer, proto::Encode(proto::Left{leave->id, leave->topic}));
    }
  } else if (std::holds_alternative<proto::Heartbeat>(*msg)) {
    SendToClient(f.peer, proto::Encode(proto::Heartbeat{}));
  } else {
    Status s = Status::InvalidArgument(std::string("a client may not send '") +
                                       proto::MessageTypeName(*msg) + "'");
    CountRefused(s);
    ReplyError(client_, f.peer, 0, s);
  }
  Carry(out);
}

RouterEndpoint::SendResult Server::SendToClient(const std::string& peer,
                                                const std::string& payload) {
  const RouterEndpoint::SendResult result = client_.Send(peer, payload);
  switch (result) {
    case RouterEndpoint::SendResult::kSent: break;
    case RouterEndpoint::SendResult::kPeerSlow: counters_["updates_dropped_slow_client"]++; break;
    case RouterEndpoint::SendResult::kPeerGone: {
      // Its subscriptions end now rather than at client_timeout.
      auto it = client_ids_.find(peer);
      if (it == client_ids_.end()) break;
      core::Outputs out;
      subs_.ClientGone(env_.Now(), it->second, out);
      Carry(out);
      break;
    }
  }
  return result;
}

void Server::Carry(core::Outputs& out) {
  for (core::PollRequest& p : out.polls)
    runner_.Submit({p.poll_id, std::move(p.query), std::move(p.source), std::move(p.params)});
  for (const core::Delivery& d : out.deliveries) {
    const std::string payload = proto::Encode(d.message);  // once, however many subscribers
    for (core::ClientId c : d.clients) {
      auto peer = client_peers_.find(c);
      if (peer == client_peers_.end()) continue;
      if (SendToClient(peer->second, payload) == RouterEndpoint::SendResult::kSent)
        counters_["updates_sent"]++;
    }
  }
  counters_["updates_fenced"] += out.updates_fenced;
  counters_["stream_gaps"] += out.stream_gaps;
  if (cluster_) {
    // The data plane first: an update published now reaches peers before anything the cluster
    // decides below. What the cluster's calls decide in turn is carried at the end.
    for (const proto::Update& u : out.published) cluster_->Publish(u);
    for (const std::string& topic : out.watch) cluster_->Watch(topic);
    for (const std::string& topic : out.unwatch) cluster_->Unwatch(topic);
    for (const core::SnapshotFetch& f : out.fetches) cluster_->Fetch(f);
    if (!out.subscribed.empty() || !out.unsubscribed.empty()) {
      core::Outputs more;  // presence changes may start or stop pollers here
      for (const auto& [topic, client] : out.subscribed)
        cluster_->Subscribed(env_.Now(), topic, client, more);
      for (const auto& [topic, client] : out.unsubscribed)
        cluster_->Unsubscribed(env_.Now(), topic, client, more);
      Carry(more);
    }
  }
  for (core::ClientId c : out.dropped_clients) {
    auto peer = client_peers_.find(c);
    if (peer == client_peers_.end()) continue;
    client_ids_.erase(peer->second);
    client_peers_.erase(peer);
  }
  for (const core::Event& e : out.events) {
    switch (e.kind) {
      case core::Event::Kind::kPollerStarted:
        spdlog::info("poller started: {} ({})", e.topic, e.detail);
        break;
      case core::Event::Kind::kPollerStopped: spdlog::info("poller stopped: {}", e.topic); break;
      case core::Event::Kind::kPollFailed:
        spdlog::warn("poll failed: {}: {}", e.topic, e.detail);
        break;
      case core::Event::Kind::kPollRecovered: spdlog::info("poll recovered: {}", e.topic); break;
      case core::Event::Kind::kClientDropped:
        counters_["clients_dropped"]++;
        spdlog::info("client {} dropped: {}", e.client, e.detail);
        break;
    }
  }
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
  if (IsClusterWide(req->command)) {
    StartFanout(f.peer, *req);
    return;
  }
  proto::AdminReply reply = Admin(*req);
  reply.id = req->id;
  admin_.Send(f.peer, proto::Encode(reply));
}

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}
Value Int(uint64_t n) { return Value(static_cast<int64_t>(n)); }
Value Ms(Duration d) { return Value(static_cast<int64_t>(duration_cast<milliseconds>(d).count())); }

}  // namespace

proto::AdminReply Server::Admin(const proto::AdminRequest& req) {
  proto::AdminReply r;
  Time now = env_.Now();
  if (req.command == "info") {
    r.columns = {"node", "version", "client_endpoint", "admin_endpoint", "pid", "uptime_ms", "topics",
                 "subscribers"};
    r.rows.push_back({options_.node, std::string(Version()), client_.endpoint(), admin_.endpoint(),
                      Int(static_cast<uint64_t>(getpid())), Ms(now - started_),
                      Int(subs_.topic_count()), Int(subs_.subscription_count())});
  } else if (req.command == "queries") {
    r.columns = {"name", "params", "source", "interval_ms", "key"};
    for (const auto& [name, q] : subs_.catalog().queries)
      r.rows.push_back({name, Join(q.params), q.source, Ms(q.interval), Join(q.key)});
  } else if (req.command == "subs") {
    r = Subs(now);
  } else if (req.command == "members") {
    r = Members(now);
  } else if (req.command == "fault") {
    r = Fault(req);
  } else if (req.command == "stats") {
    r.columns = {"node", "name", "value"};
    for (const auto& [name, n] : counters_) r.rows.push_back({options_.node, name, Int(n)});
    r.rows.push_back({options_.node, std::string("clients"), Int(subs_.client_count())});
  } else if (req.command == "plugins") {
    r = Plugins();
  } else if (req.command == "zombies" || req.command == "reap" || req.command == "resolve") {
    const AdminScope scope{now, options_.node, subs_, cluster_.get(), options_.stall_after};
    core::Outputs out;
    r = req.command == "zombies" ? ListZombies(scope)
        : req.command == "reap"  ? ReapTopics(scope, req.args, out)
                                 : ResolveClashes(scope, req.args, out);
    Carry(out);
  } else {
    r.code = std::string(Status::CodeName(Status::Code::kInvalidArgument));
    r.message = "unknown admin command '" + req.command + "'";
  }
  return r;
}

proto::AdminReply Server::Subs(Time now) const {
  proto::AdminReply r;
  // subscribers: this node's. In a cluster, every topic the registry or presence knows of, with
  // its owner and epoch (the registry's), cluster_subscribers and nodes (presence's), and claims:
  // every claim "node@epoch", marked "(down)" while its owner is down.
  r.columns = {"topic", "owner", "epoch", "seq", "subscribers", "polls", "errors", "last_poll_ms",
               "state", "cluster_subscribers", "nodes", "claims"};
  std::map<std::string, core::TopicInfo> local;
  for (core::TopicInfo& t : subs_.Topics(now)) local.emplace(t.topic, std::move(t));
  std::set<std::string> topics;
  for (const auto& [topic, info] : local) topics.insert(topic);
  std::set<std::string> clashes;
  if (cluster_) {
    for (const std::string& t : cluster_->presence().Topics()) topics.insert(t);
    for (const std::string& t : cluster_->registry().Topics()) topics.insert(t);
    for (const std::string& t : cluster_->registry().Clashes()) clashes.insert(t);
  }
  const Value null{Null{}};
  for (const std::string& topic : topics) {
    auto info = local.find(topic);
    const core::TopicInfo* t = info == local.end() ? nullptr : &info->second;
    Row row = {topic, null, null, t ? Int(t->seq) : null, Int(t ? t->subscribers : 0),
               t && t->polling ? Int(t->polls) : null, t && t->polling ? Int(t->errors) : null,
               t && t->since_last_poll ? Ms(*t->since_last_poll) : null, null, null, null, null};
    std::string state = t ? t->state : "";
    if (!cluster_) {
      row[1] = t->owner;
      row[2] = Int(t->epoch);
      row[8] = state;
      r.rows.push_back(std::move(row));
      continue;
    }
    const core::Registry& reg = cluster_->registry();
    std::optional<core::Claim> owner = reg.Owner(topic);
    if (owner) {
      row[1] = owner->owner.name;
      row[2] = Int(owner->epoch);
    }
    std::string claims;
    bool hidden = false;
    for (const core::Claim& c : reg.Claims(topic)) {
      claims += (claims.empty() ? "" : ",") + c.owner.name + "@" + std::to_string(c.epoch) +
                (c.visible ? "" : "(down)");
      hidden |= !c.visible;
    }
    const size_t everyone = cluster_->presence().SubscriberCount(topic);
    if (clashes.count(topic)) state = "clash";
    else if (state.empty()) state = owner ? "remote" : hidden ? "dead-owner" : everyone ? "ownerless" : "idle";
    row[8] = state;
    std::string nodes;
    for (const auto& [node, n] : cluster_->presence().SubscribersByNode(topic))
      nodes += (nodes.empty() ? "" : ",") + node + "=" + std::to_string(n);
    row[9] = Int(everyone);
    row[10] = nodes;
    row[11] = claims;
    r.rows.push_back(std::move(row));
  }
  return r;
}

proto::AdminReply Server::Plugins() const {
  proto::AdminReply r;
  r.columns = {"node", "source", "plugin", "version", "abi", "connections", "path"};
  for (const source::SourceSpec& s : runner_.Sources()) {
    r.rows.push_back({options_.node, s.name, s.plugin->name(), s.plugin->version(),
                      std::to_string(s.plugin->abi_major()) + "." +
                          std::to_string(s.plugin->abi_minor()),
                      Int(static_cast<uint64_t>(s.connections)), s.plugin->path()});
  }
  return r;
}

proto::AdminReply Server::Fault(const proto::AdminRequest& req) {
  proto::AdminReply r;
  auto fail = [&](const Status& s) {
    r.code = std::string(Status::CodeName(s.code()));
    r.message = s.message();
    return r;
  };
  if (!cluster_) return fail(Status::FailedPrecondition("fault: this node is not in a cluster"));
  // args: cut=NODE,NODE... (replaces the set) or heal.
  std::set<std::string> peers;
  bool given = false;
  for (const auto& [key, value] : req.args) {
    if (key == "heal") {
      given = true;
    } else if (key == "cut") {
      given = true;
      std::string name;
      for (char ch : value + ",") {
        if (ch != ',') name += ch;
        else if (!name.empty()) peers.insert(std::exchange(name, ""));
      }
    } else {
      return fail(Status::InvalidArgument("fault: unknown argument '" + key + "' (cut or heal)"));
    }
  }
  if (!given) return fail(Status::InvalidArgument("fault: give cut=NODE,... or heal"));
  if (Status s = cluster_->Cut(std::move(peers)); !s.ok()) return fail(s);
  r.columns = {"cut"};
  for (const std::string& p : cluster_->cut()) r.rows.push_back({p});
  return r;
}

proto::AdminReply Server::Members(Time now) const {
  proto::AdminReply r;
  r.columns = {"name", "incarnation", "gossip_endpoint", "rpc_endpoint", "state", "version",
               "last_heard_ms"};
  if (!cluster_) {  // a standalone node is a cluster of one
    r.rows.push_back({options_.node, Value(Null{}), Value(Null{}), Value(Null{}),
                      std::string("alive"), Value(Null{}), Value(Null{})});
    return r;
  }
  for (const core::Membership::Member& m : cluster_->membership().Members()) {
    const bool self = m.claim.id == cluster_->membership().self();
    r.rows.push_back({m.claim.id.name, Int(m.claim.id.incarnation), m.claim.gossip_endpoint,
                      m.claim.rpc_endpoint, std::string(core::MemberStateName(m.claim.state)),
                      Int(m.claim.version),
                      self ? Int(0) : m.last_heard ? Ms(now - *m.last_heard) : Value(Null{})});
  }
  return r;
}

}  // namespace livepoll::net
