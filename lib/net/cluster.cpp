#include "net/cluster.h"

#include <spdlog/spdlog.h>

namespace livepoll::net {

namespace {

core::MemberClaim ClaimOf(const core::NodeId& self, std::string gossip, std::string rpc) {
  return core::MemberClaim{self, std::move(gossip), std::move(rpc), core::MemberState::kAlive, 0};
}

}  // namespace

Cluster::Cluster(zmq::context_t& ctx, ClusterOptions options, core::Subscriptions& subs,
                 std::map<std::string, uint64_t>& counters)
    : options_(std::move(options)),
      subs_(subs),
      counters_(counters),
      transport_(ctx),
      node_(std::make_unique<core::Node>(ClaimOf(options_.self, "", ""), options_.node)) {
  for (const char* name :
       {"cluster_frames_malformed", "cluster_frames_foreign", "cluster_frames_unknown",
        "cluster_frames_cut", "members_down", "gossip_bytes_sent", "gossip_frames_sent",
        "rpc_bytes_sent", "data_updates_sent", "data_updates_received", "updates_fenced",
        "stream_gaps", "snapshot_fetches", "registrations", "takeovers", "releases", "clashes",
        "clashes_resolved", "proposals_denied", "reaped_idle", "reaped_orphan",
        "reaped_dead_owner"})
    counters_[name] = 0;
}

Cluster::~Cluster() = default;

Status Cluster::Start(Time now) {
  if (Status s = transport_.Bind(options_.gossip_bind, options_.rpc_bind, options_.advertise_host);
      !s.ok())
    return s;
  // The claim needs the real endpoints, known only once bound.
  node_ = std::make_unique<core::Node>(
      ClaimOf(options_.self, transport_.gossip_endpoint(), transport_.rpc_endpoint()),
      options_.node);
  core::NodeOutputs nout;
  node_->Start(now, options_.seeds, nout);
  core::Outputs unused;  // nothing of Subscriptions' can happen before the first frame
  Carry(now, nout, unused);
  spdlog::info("cluster '{}': node {} gossips at {}, rpc at {}{}", options_.cluster,
               options_.self.ToString(), transport_.gossip_endpoint(), transport_.rpc_endpoint(),
               options_.seeds.empty() ? ", first node" : ", joining");
  return Status::Ok();
}

void Cluster::OnReadable(Time now, core::Outputs& out) {
  for (int i = 0; i < 1000; ++i) {  // bounded, like the Server's other sockets
    std::optional<ClusterTransport::Frame> f = transport_.Receive();
    if (!f) break;
    Handle(now, f->payload, out);
  }
  for (const std::string& endpoint : transport_.TakeDisconnects()) {
    core::NodeOutputs nout;
    node_->OnDisconnect(now, endpoint, nout);
    Carry(now, nout, out);
  }
}

void Cluster::Handle(Time now, const std::string& payload, core::Outputs& out) {
  Result<ClusterFrame> frame = DecodeCluster(payload, options_.cluster);
  if (!frame.ok()) {
    const Status& s = frame.status();
    counters_[s.code() == Status::Code::kIncompatible      ? "cluster_frames_foreign"
              : s.code() == Status::Code::kInvalidArgument ? "cluster_frames_unknown"
                                                           : "cluster_frames_malformed"]++;
    spdlog::debug("cluster frame refused: {}", s.ToString());
    return;
  }
  if (cut_.count(frame->from)) {
    counters_["cluster_frames_cut"]++;
    return;
  }
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, DataMessage>) {
          HandleData(now, m, out);
        } else if constexpr (std::is_same_v<T, AdminMessage>) {
          admin_inbox_.push_back(m);  // the Server answers (it owns the admin commands)
        } else {
          core::NodeOutputs nout;
          node_->OnMessage(now, core::NodeMessage(m), nout);
          Carry(now, nout, out);
        }
      },
      frame->message);
}

void Cluster::HandleData(Time now, const DataMessage& m, core::Outputs& out) {
  if (const auto* u = std::get_if<DataUpdate>(&m)) {
    counters_["data_updates_received"]++;
    subs_.OnRemoteUpdate(now, u->update, out);
  } else if (const auto* req = std::get_if<SnapshotRequest>(&m)) {
    std::optional<proto::Update> state = subs_.CurrentState(req->topic);
    // No result yet: the requester may not hear the first one on the data plane (its
    // subscription to the topic's channel can still be on its way: ZeroMQ's slow joiner), so it
    // gets the first one from Publish directly.
    if (!state) waiting_fetchers_[req->topic].insert(req->from.name);
    SendTo(req->from.name, SnapshotReply{node_->self(), req->topic, std::move(state)});
  } else if (const auto* rep = std::get_if<SnapshotReply>(&m)) {
    if (rep->update) subs_.OnRemoteUpdate(now, *rep->update, out);
  }
}

void Cluster::Tick(Time now, core::Outputs& out) {
  SyncRunning(now);
  core::NodeOutputs nout;
  node_->Tick(now, nout);
  Carry(now, nout, out);
}

Time Cluster::NextDeadline() const { return node_->NextDeadline(); }

void Cluster::Leave(Time now) {
  core::NodeOutputs nout;
  node_->Leave(now, nout);
  core::Outputs unused;  // the process is about to exit: pollers stop with it
  Carry(now, nout, unused);
}

void Cluster::Subscribed(Time now, const std::string& topic, core::ClientId client,
                         core::Outputs& out) {
  core::NodeOutputs nout;
  node_->Subscribed(now, topic, client, nout);
  Carry(now, nout, out);
}

void Cluster::Unsubscribed(Time now, const std::string& topic, core::ClientId client,
                           core::Outputs& out) {
  core::NodeOutputs nout;
  node_->Unsubscribed(now, topic, client, nout);
  Carry(now, nout, out);
}

Status Cluster::Resolve(Time now, const std::string& topic, const std::optional<std::string>& keep,
                        core::ClashPolicy policy, core::Outputs& out) {
  core::NodeOutputs nout;
  Status s = node_->Resolve(now, topic, keep, policy, nout);
  Carry(now, nout, out);
  return s;
}

std::vector<std::string> Cluster::Reap(Time now, const std::string& topic, bool release_own,
                                       core::Outputs& out) {
  core::NodeOutputs nout;
  std::vector<std::string> done = node_->Reap(now, topic, release_own, nout);
  Carry(now, nout, out);
  return done;
}

std::vector<std::string> Cluster::Peers() const {
  std::vector<std::string> peers;
  for (const core::NodeId& id : node_->membership().Alive())
    if (id.name != options_.self.name) peers.push_back(id.name);
  return peers;
}

bool Cluster::SendAdmin(const std::string& node, const AdminMessage& m) {
  std::optional<core::Membership::Member> member = node_->membership().Find(node);
  if (!member || cut_.count(node) || !node_->membership().IsAlive(member->claim.id)) return false;
  Send(member->claim.rpc_endpoint, EncodeCluster(options_.cluster, options_.self.name, m));
  return true;
}

void Cluster::Publish(const proto::Update& u) {
  const std::string payload = EncodeCluster(options_.cluster, options_.self.name, DataUpdate{u});
  counters_["data_updates_sent"]++;
  counters_["gossip_bytes_sent"] += payload.size();
  transport_.Publish(TopicChannel(u.topic), payload);
  auto waiting = waiting_fetchers_.find(u.topic);
  if (waiting == waiting_fetchers_.end()) return;
  std::optional<proto::Update> state = subs_.CurrentState(u.topic);
  if (!state) return;
  for (const std::string& node : waiting->second)
    SendTo(node, SnapshotReply{node_->self(), u.topic, state});
  waiting_fetchers_.erase(waiting);
}

void Cluster::Watch(const std::string& topic) {
  if (watched_[topic]++ == 0) transport_.Subscribe(TopicChannel(topic));
}

void Cluster::Unwatch(const std::string& topic) {
  auto it = watched_.find(topic);
  if (it == watched_.end()) return;
  if (--it->second == 0) {
    transport_.Unsubscribe(TopicChannel(topic));
    watched_.erase(it);
  }
}

void Cluster::Fetch(const core::SnapshotFetch& f) {
  counters_["snapshot_fetches"]++;
  SendTo(f.owner, SnapshotRequest{node_->self(), f.topic});
}

void Cluster::SendTo(const std::string& node_name, const DataMessage& m) {
  std::optional<core::Membership::Member> member = node_->membership().Find(node_name);
  if (!member || cut_.count(node_name)) return;
  Send(member->claim.rpc_endpoint, EncodeCluster(options_.cluster, options_.self.name, m));
}

Status Cluster::Cut(std::set<std::string> peers) {
  if (!options_.fault_injection)
    return Status::FailedPrecondition(
        "fault injection is disabled on this node (fault_injection = true in [node] enables it)");
  peers.erase(options_.self.name);
  cut_ = std::move(peers);
  std::string names;
  for (const std::string& p : cut_) names += (names.empty() ? "" : ",") + p;
  spdlog::warn("fault injection: {}", cut_.empty() ? "healed" : "cut off from " + names);
  return Status::Ok();
}

void Cluster::SyncRunning(Time now) {
  // The Registry tracks the pollers it starts and stops itself; this only corrects it where the
  // Subscriptions could not follow (a topic this node cannot poll). At most once a second: it
  // costs O(pollers), and a burst of thousands of registrations must not pay it each time.
  if (!running_dirty_ || now < next_running_sync_) return;
  node_->SetRunning(subs_.RunningPollers());
  running_dirty_ = false;
  next_running_sync_ = now + std::chrono::seconds(1);
}

void Cluster::Carry(Time now, core::NodeOutputs& nout, core::Outputs& out) {
  for (const std::string& e : nout.connect) transport_.Connect(e);
  for (const std::string& e : nout.disconnect) transport_.Disconnect(e);
  for (const auto& m : nout.broadcasts) Broadcast(EncodeCluster(options_.cluster, options_.self.name, m));
  for (const auto& [endpoint, m] : nout.sends) {
    bool cut = false;
    for (const std::string& peer : cut_) {
      std::optional<core::Membership::Member> member = node_->membership().Find(peer);
      cut |= member && member->claim.rpc_endpoint == endpoint;
    }
    if (!cut) Send(endpoint, EncodeCluster(options_.cluster, options_.self.name, m));
  }
  for (const core::MembershipEvent& e : nout.member_events) {
    using K = core::MembershipEvent::Kind;
    const std::string node = e.node.ToString();
    switch (e.kind) {
      case K::kJoined: spdlog::info("joined the cluster"); break;
      case K::kJoinRefused:
        refusal_ = e.detail;  // Server::Run ends with it and the daemon reports it
        break;
      case K::kUp: spdlog::info("member up: {}", node); break;
      case K::kSuspect: spdlog::info("member suspect: {}", node); break;
      case K::kAlive: spdlog::info("member alive again: {}", node); break;
      case K::kDown:
        counters_["members_down"]++;
        spdlog::warn("member down: {} ({})", node, e.detail);
        break;
      case K::kForgotten: spdlog::info("member forgotten: {}", node); break;
    }
  }
  // Pollers: stops first, so a re-registration in the same batch starts afresh.
  for (const core::PollerStop& s : nout.stop) {
    subs_.StopPoller(now, s.topic, out);
    waiting_fetchers_.erase(s.topic);  // they will fetch from the next owner
    if (s.stale) subs_.MarkStale(now, s.topic, "this node does not see a majority of the cluster", out);
    running_dirty_ = true;
  }
  for (const core::PollerStart& s : nout.start) {
    if (Status st = subs_.StartPoller(now, s.topic, s.epoch, out); !st.ok())
      spdlog::warn("cannot poll {}: {}", s.topic, st.message());
    running_dirty_ = true;
  }
  for (const std::string& topic : nout.owners_changed) {
    std::optional<core::Claim> owner = node_->registry().Owner(topic);
    if (owner) subs_.SetOwner(now, topic, std::make_pair(owner->owner.name, owner->epoch), out);
    else subs_.SetOwner(now, topic, std::nullopt, out);
  }
  for (const core::RegistryEvent& e : nout.registry_events) {
    using K = core::RegistryEvent::Kind;
    switch (e.kind) {
      case K::kRegistered:
        counters_["registrations"]++;
        spdlog::info("registered {} ({})", e.topic, e.detail);
        break;
      case K::kReleased:
        counters_["releases"]++;
        spdlog::info("released {} ({})", e.topic, e.detail);
        break;
      case K::kTakeover:
        counters_["takeovers"]++;
        spdlog::info("took over {} from {}", e.topic, e.detail);
        break;
      case K::kClash:
        counters_["clashes"]++;
        spdlog::warn("clash on {}: {}", e.topic, e.detail);
        break;
      case K::kClashResolved:
        counters_["clashes_resolved"]++;
        spdlog::info("clash on {} resolved: {}", e.topic, e.detail);
        break;
      case K::kReaped:
        counters_[e.detail == "idle"     ? "reaped_idle"
                  : e.detail == "orphan" ? "reaped_orphan"
                                         : "reaped_dead_owner"]++;
        spdlog::warn("reaped a zombie on {}: {}", e.topic, e.detail);
        break;
      case K::kDenied:
        counters_["proposals_denied"]++;
        spdlog::debug("registration of {} denied: {}", e.topic, e.detail);
        break;
    }
  }
}

void Cluster::Broadcast(const std::string& payload) {
  counters_["gossip_frames_sent"]++;
  counters_["gossip_bytes_sent"] += payload.size();
  transport_.Broadcast(payload);
}

void Cluster::Send(const std::string& endpoint, const std::string& payload) {
  counters_["rpc_bytes_sent"] += payload.size();
  transport_.Send(endpoint, payload);
}

}  // namespace livepoll::net
