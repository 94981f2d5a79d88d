#include "core/node.h"

#include <algorithm>
#include <tuple>
#include <type_traits>

#include "core/peer_limits.h"
#include "core/topic.h"

namespace livepoll::core {
namespace {

SubscriptionsOptions ModeOf(SubscriptionsOptions o, bool standalone) {
  o.standalone = standalone;
  return o;
}

constexpr auto kRunningSyncPeriod = std::chrono::seconds(1);

}  // namespace

Node::Node(Catalog catalog, NodeOptions options)
    : options_(std::move(options)),
      subs_(std::move(catalog), ModeOf(options_.subscriptions, !options_.cluster)) {}

Node::~Node() = default;

// ---- the cluster ----

void Node::Start(Time now, const std::string& gossip_endpoint, const std::string& rpc_endpoint,
                 const std::vector<std::string>& seeds, Actions& out) {
  const MemberClaim self{options_.cluster->self, gossip_endpoint, rpc_endpoint, MemberState::kAlive,
                         0};
  // Placement never chooses this node for a topic whose query its catalog lacks (registry.h).
  options_.cluster->state.registry.can_poll = [this](const std::string& topic) {
    return subs_.CanPoll(topic);
  };
  cluster_ = std::make_unique<ClusterState>(self, options_.cluster->state);
  ClusterOutputs co;
  cluster_->Start(now, seeds, co);
  Carry(now, co, out);
}

void Node::OnPeerMessage(Time now, const PeerMessage& m, Actions& out) {
  if (!cluster_) return;
  if (!WithinPeerLimits(m)) {
    counters_.cluster_frames_refused++;
    return;
  }
  if (const auto* data = std::get_if<DataMessage>(&m)) {
    OnData(now, *data, out);
    return;
  }
  ClusterOutputs co;
  std::visit(
      [&](const auto& message) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(message)>, DataMessage>)
          cluster_->OnMessage(now, message, co);
      },
      m);
  Carry(now, co, out);
}

void Node::OnPeerDisconnect(Time now, const std::string& gossip_endpoint, Actions& out) {
  if (!cluster_) return;
  ClusterOutputs co;
  cluster_->OnDisconnect(now, gossip_endpoint, co);
  Carry(now, co, out);
}

void Node::OnPeerRelink(Time now, const std::string& gossip_endpoint, Actions& out) {
  if (!cluster_) return;
  for (const Membership::Member& m : cluster_->membership().Members()) {
    if (m.claim.gossip_endpoint != gossip_endpoint || m.claim.id == cluster_->self()) continue;
    Outputs so;
    subs_.Refetch(now, m.claim.id.name, so);
    Carry(now, so, out);
    relink_rechecks_[m.claim.id.name] = now + kRelinkRecheck;
  }
}

void Node::LeaveCluster(Time now, Actions& out) {
  if (!cluster_) return;
  ClusterOutputs co;
  cluster_->Leave(now, co);
  Carry(now, co, out);
}

void Node::OnData(Time now, const DataMessage& m, Actions& out) {
  if (const auto* u = std::get_if<DataUpdate>(&m)) {
    counters_.data_updates_received++;
    Outputs so;
    subs_.OnRemoteUpdate(now, u->update, so);
    Carry(now, so, out);
  } else if (const auto* req = std::get_if<SnapshotRequest>(&m)) {
    // Answered to members only (SendData; without keys the name is the requester's word), so
    // waiting_fetchers_ holds no more names than membership does. A member this node thinks dead
    // is answered too: the verdict may be stale (it is back from a stop or a partition and asks
    // before its refutation arrives), and an unanswered ask is not repeated until the next gap.
    if (!IsMember(req->from)) {
      counters_.cluster_frames_refused++;
      return;
    }
    std::optional<proto::Update> state = subs_.CurrentState(req->topic);
    // No result yet: the requester may not hear the first one on the data plane, so it gets it
    // from here too (see Carry). Only for a poller that runs here, or the map would grow with
    // whatever topics peers ask about.
    if (!state && subs_.Polls(req->topic)) waiting_fetchers_[req->topic].insert(req->from.name);
    SendData(req->from.name, SnapshotReply{cluster_->self(), req->topic, std::move(state)}, out);
  } else if (const auto* rep = std::get_if<SnapshotReply>(&m)) {
    if (!rep->update) return;
    Outputs so;
    subs_.OnRemoteUpdate(now, *rep->update, so);
    Carry(now, so, out);
  }
}

bool Node::IsMember(const NodeId& id) const {
  std::optional<Membership::Member> member = cluster_->membership().Find(id.name);
  // By name: a restart not yet seen (a new incarnation at the same endpoints) is answered there.
  return member && member->claim.state != MemberState::kLeft;
}

void Node::SendData(const std::string& name, DataMessage m, Actions& out) {
  std::optional<Membership::Member> member = cluster_->membership().Find(name);
  if (!member || member->claim.rpc_endpoint.empty()) return;
  out.transport.push_back(Send{member->claim.rpc_endpoint, PeerMessage(std::move(m))});
}

void Node::SyncRunning(Time now) {
  // The Registry tracks the pollers it starts and stops itself; this only corrects it where the
  // pollers could not follow (a topic this node cannot poll). At most once a second: it costs
  // O(pollers), and a burst of thousands of registrations must not pay it each time.
  if (!cluster_ || !running_dirty_ || now < next_running_sync_) return;
  cluster_->SetRunning(subs_.RunningPollers());
  running_dirty_ = false;
  next_running_sync_ = now + kRunningSyncPeriod;
}

// ---- clients and pollers ----

Result<Subscriptions::Joined> Node::Join(Time now, ClientId client, const std::string& query,
                                         const proto::Params& params, Actions& out,
                                         const std::optional<StreamPosition>& resume,
                                         const std::optional<PresenceMeta>& presence) {
  if (presence) {
    if (Status s = CheckPresenceMeta(*presence); !s.ok()) {
      counters_.joins_refused++;
      return s;
    }
  }
  Outputs so;
  Result<Subscriptions::Joined> joined = subs_.Join(now, client, query, params, so, resume);
  if (so.join_over_limit) counters_.joins_refused++;
  if (!joined.ok()) {
    Carry(now, so, out);
    return joined;
  }
  counters_.joins++;
  if (resume) (joined->resumed ? counters_.resumes : counters_.resumes_refused)++;
  std::optional<PresenceEntry> replaced;
  if (presence) {
    // Recorded before Carry, so that the subscription's entry carries the presence.
    const PresenceEntry e{joined->topic, client, presence->key, presence->meta,
                          next_presence_ref_++};
    const bool fresh = std::find(so.subscribed.begin(), so.subscribed.end(),
                                 std::pair(joined->topic, client)) != so.subscribed.end();
    if (fresh)
      own_presence_[{joined->topic, client}] = e;
    else
      replaced = e;
  }
  Carry(now, so, out);
  if (presence) {
    if (replaced) ReplacePresence(now, *replaced, out);
    // After the diffs its arrival made: the client follows, and gets the whole list.
    feed_.Follow(
        joined->topic, client,
        feed_.Follows(joined->topic) ? std::vector<PresenceItem>{} : PresenceOf(joined->topic),
        out.presence);
  }
  return joined;
}

Result<proto::Params> Node::AuthorizeJoin(const std::string& query, const ClientIdentity& who,
                                          const proto::Params& params, int64_t now_unix) {
  auto q = subs_.catalog().queries.find(query);
  if (q == subs_.catalog().queries.end()) return params;
  Result<proto::Params> effective = Authorize(query, q->second.access, who, params, now_unix);
  if (!effective.ok()) counters_.joins_unauthorized++;
  return effective;
}

Status Node::Leave(Time now, ClientId client, const std::string& topic, Actions& out) {
  Outputs so;
  Status s = subs_.Leave(now, client, topic, so);
  if (s.ok()) counters_.leaves++;
  Carry(now, so, out);
  return s;
}

void Node::ClientSeen(Time now, ClientId client) { subs_.ClientSeen(now, client); }

void Node::Resend(Time now, ClientId client, const std::string& topic, Actions& out) {
  Outputs so;
  subs_.Resend(topic, client, so);
  Carry(now, so, out);
}

void Node::ClientGone(Time now, ClientId client, Actions& out) {
  Outputs so;
  subs_.ClientGone(now, client, so);
  Carry(now, so, out);
}

void Node::PollDone(Time now, uint64_t poll_id, Result<ResultSet> result, Actions& out,
                    std::optional<ResultDigest> digest) {
  counters_.polls++;
  if (!result.ok()) counters_.poll_errors++;
  Outputs so;
  subs_.PollDone(now, poll_id, std::move(result), so, std::move(digest));
  Carry(now, so, out);
}

void Node::Tick(Time now, Actions& out) {
  if (cluster_) {
    SyncRunning(now);
    for (auto it = relink_rechecks_.begin(); it != relink_rechecks_.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      Outputs so;
      subs_.Refetch(now, it->first, so);
      Carry(now, so, out);
      it = relink_rechecks_.erase(it);
    }
    ClusterOutputs co;
    cluster_->Tick(now, co);
    Carry(now, co, out);
  }
  Outputs so;
  subs_.Tick(now, so);
  Carry(now, so, out);
}

Time Node::NextDeadline() const {
  Time next = subs_.NextDeadline();
  if (cluster_) {
    next = std::min(next, cluster_->NextDeadline());
    if (running_dirty_) next = std::min(next, next_running_sync_);
    for (const auto& [peer, at] : relink_rechecks_) next = std::min(next, at);
  }
  return next;
}

// ---- the operator ----

Status Node::Resolve(Time now, const std::string& topic, const std::optional<std::string>& keep,
                     ClashPolicy policy, Actions& out) {
  if (!cluster_) return Status::FailedPrecondition("a standalone node has no clashes");
  ClusterOutputs co;
  Status s = cluster_->Resolve(now, topic, keep, policy, co);
  Carry(now, co, out);
  return s;
}

std::vector<std::string> Node::Reap(Time now, const std::string& topic, bool release_own,
                                    Actions& out) {
  if (cluster_) {
    ClusterOutputs co;
    std::vector<std::string> done = cluster_->Reap(now, topic, release_own, co);
    Carry(now, co, out);
    return done;
  }
  if (!release_own) return {};
  Outputs so;
  std::optional<uint64_t> epoch = subs_.RestartPoller(now, topic, so);
  Carry(now, so, out);
  if (!epoch) return {};
  return {"restarted its poller at epoch " + std::to_string(*epoch)};
}

// ---- the catalog ----

Node::CatalogReplaced Node::ReplaceCatalog(Time now, Catalog next, Actions& out) {
  CatalogReplaced r;
  r.changes = DiffCatalogs(subs_.catalog(), next);
  if (cluster_ && (!r.changes.changed.empty() || !r.changes.removed.empty())) {
    // Released before the catalog changes: the pollers stop (PollerStop) while their queries are
    // still in it; a changed topic's next PollerStart (a new registration) finds the new one.
    ClusterOutputs co;
    for (const auto& [topic, epoch] : subs_.RunningPollers()) {
      Result<ParsedTopic> parsed = ParseTopic(topic);
      if (!parsed.ok()) continue;
      if (!r.changes.changed.count(parsed->query) && !r.changes.removed.count(parsed->query))
        continue;
      if (!cluster_->Reap(now, topic, true, co).empty()) r.restarted++;
    }
    Carry(now, co, out);
  }
  Outputs so;
  r.restarted += subs_.ReplaceCatalog(now, std::move(next), r.changes, so);
  running_dirty_ = true;
  Carry(now, so, out);
  return r;
}

// ---- carrying the parts' decisions ----

void Node::Carry(Time now, Outputs& so, Actions& out) {
  for (PollRequest& p : so.pollers.polls) out.polls.push_back(std::move(p));
  for (PollerEvent& e : so.pollers.events) out.events.emplace_back(std::move(e));
  for (Delivery& d : so.relay.deliveries) out.deliveries.push_back(std::move(d));
  counters_.updates_fenced += so.relay.updates_fenced;
  counters_.stream_gaps += so.relay.stream_gaps;
  if (cluster_) {
    // The data plane first: an update published now reaches peers before anything decided
    // below (an owner's last update before it releases the topic, say).
    for (proto::Update& u : so.published) {
      counters_.data_updates_sent++;
      auto waiting = waiting_fetchers_.find(u.topic);
      if (waiting != waiting_fetchers_.end()) {
        if (std::optional<proto::Update> state = subs_.CurrentState(u.topic)) {
          for (const std::string& node : waiting->second)
            SendData(node, SnapshotReply{cluster_->self(), u.topic, state}, out);
          waiting_fetchers_.erase(waiting);
        }
      }
      out.transport.push_back(Publish{std::move(u)});
    }
    for (std::string& topic : so.watch) out.transport.push_back(Watch{std::move(topic)});
    for (std::string& topic : so.unwatch) out.transport.push_back(Unwatch{std::move(topic)});
    for (const SnapshotFetch& f : so.relay.fetches) {
      counters_.snapshot_fetches++;
      SendData(f.owner, SnapshotRequest{cluster_->self(), f.topic}, out);
    }
  }
  // Presence: may start or stop pollers, carried in turn.
  if (!so.subscribed.empty() || !so.unsubscribed.empty()) {
    CarryPresence(now, so, out);
    // A new subscriber of a topic nobody may own here learns why at once (TellNotOwning covers
    // the topics that were subscribed when the node stopped owning).
    if (cluster_ && !not_owning_.empty()) {
      Outputs stale;
      for (const auto& [topic, client] : so.subscribed)
        if (!subs_.Stale(topic) && !cluster_->registry().Owner(topic))
          subs_.MarkStale(now, topic, not_owning_, stale);
      Carry(now, stale, out);
    }
  }
  for (ClientId c : so.dropped_clients) out.dropped_clients.push_back(c);
  for (ClientId c : so.timed_out) {
    counters_.clients_dropped++;
    out.events.emplace_back(ClientTimedOut{c});
  }
}

void Node::Carry(Time now, ClusterOutputs& co, Actions& out) {
  for (std::string& e : co.connect) out.transport.push_back(Connect{std::move(e)});
  for (std::string& e : co.disconnect) out.transport.push_back(Disconnect{std::move(e)});
  for (std::string& e : co.forget) out.transport.push_back(Forget{std::move(e)});
  for (PeerMessage& m : co.broadcasts) out.transport.push_back(Broadcast{std::move(m)});
  for (auto& [endpoint, m] : co.sends) out.transport.push_back(Send{endpoint, std::move(m)});
  counters_.member_syncs_asked += co.member_tally.syncs_asked;
  counters_.member_syncs_answered += co.member_tally.syncs_answered;
  counters_.member_syncs_refused += co.member_tally.syncs_refused;
  for (MembershipEvent& e : co.member_events) {
    if (e.kind == MembershipEvent::Kind::kJoinRefused) refusal_ = e.detail;
    if (e.kind == MembershipEvent::Kind::kDown) counters_.members_down++;
    out.events.emplace_back(std::move(e));
  }
  FeedPresence(co.presence_changes, out);
  Outputs so;
  // Stops first, so a re-registration in the same batch starts afresh.
  for (const PollerStop& s : co.stop) {
    subs_.StopPoller(now, s.topic, so);
    waiting_fetchers_.erase(s.topic);  // they will fetch from the next owner
    if (s.stale) {
      const std::string why = cluster_->registry().WhyNotOwning();
      subs_.MarkStale(now, s.topic,
                      why.empty() ? "this node does not see a majority of the cluster" : why, so);
    }
    running_dirty_ = true;
  }
  for (const PollerStart& s : co.start) {
    if (Status st = subs_.StartPoller(now, s.topic, s.epoch, so); !st.ok())
      out.events.emplace_back(PollerRefused{s.topic, st});
    running_dirty_ = true;
  }
  out.owners_changed.insert(co.owners_changed.begin(), co.owners_changed.end());
  for (const std::string& topic : co.owners_changed) {
    const std::optional<StreamOwner> following = subs_.Owner(topic);
    std::optional<Claim> owner =
        cluster_->registry().FollowedOwner(topic, following ? following->node : std::string());
    subs_.SetOwner(now, topic,
                   owner ? std::optional<StreamOwner>(StreamOwner{owner->owner.name, owner->epoch})
                         : std::nullopt,
                   so);
  }
  for (RegistryEvent& e : co.registry_events) {
    using K = RegistryEvent::Kind;
    switch (e.kind) {
      case K::kRegistered:
        counters_.registrations++;
        break;
      case K::kReleased:
        counters_.releases++;
        break;
      case K::kTakeover:
        counters_.takeovers++;
        break;
      case K::kClash:
        counters_.clashes++;
        break;
      case K::kClashResolved:
        counters_.clashes_resolved++;
        break;
      case K::kDenied:
        counters_.proposals_denied++;
        break;
      case K::kReapedIdle:
        counters_.reaped_idle++;
        break;
      case K::kReapedOrphan:
        counters_.reaped_orphan++;
        break;
      case K::kReapedDeadOwner:
        counters_.reaped_dead_owner++;
        break;
    }
    out.events.emplace_back(std::move(e));
  }
  TellNotOwning(now, so);
  Carry(now, so, out);
}

// ---- presence ----

NodeId Node::SelfId() const { return cluster_ ? cluster_->self() : NodeId{name(), session()}; }

PresenceEntry Node::OwnEntry(const std::string& topic, ClientId client) const {
  auto it = own_presence_.find({topic, client});
  return it != own_presence_.end() ? it->second : PresenceEntry{topic, client};
}

void Node::CarryPresence(Time now, Outputs& so, Actions& out) {
  // A client that leaves is not told of its own leave.
  for (const auto& [topic, client] : so.unsubscribed) feed_.Unfollow(topic, client);
  std::vector<Held<PresenceEntry>> local;  // without a cluster: this node's entries are all
  ClusterOutputs co;
  for (const auto& [topic, client] : so.subscribed) {
    PresenceEntry e = OwnEntry(topic, client);
    if (cluster_)
      cluster_->Subscribed(now, e, co);
    else if (e.has_presence())
      local.push_back({SelfId(), std::move(e), true});
  }
  for (const auto& [topic, client] : so.unsubscribed) {
    PresenceEntry e = OwnEntry(topic, client);
    own_presence_.erase({topic, client});
    if (cluster_)
      cluster_->Unsubscribed(now, e, co);
    else if (e.has_presence())
      local.push_back({SelfId(), std::move(e), false});
  }
  if (cluster_)
    Carry(now, co, out);
  else
    FeedPresence(local, out);
}

void Node::ReplacePresence(Time now, const PresenceEntry& e, Actions& out) {
  const PresenceEntry old = OwnEntry(e.topic, e.subscriber);
  own_presence_[{e.topic, e.subscriber}] = e;
  if (cluster_) {
    // One batch: the followers get the leave and the join in one diff.
    ClusterOutputs co;
    cluster_->Unsubscribed(now, old, co);
    cluster_->Subscribed(now, e, co);
    Carry(now, co, out);
    return;
  }
  std::vector<Held<PresenceEntry>> local;
  if (old.has_presence()) local.push_back({SelfId(), old, false});
  local.push_back({SelfId(), e, true});
  FeedPresence(local, out);
}

void Node::FeedPresence(const std::vector<Held<PresenceEntry>>& changes, Actions& out) {
  std::vector<PresenceChange> followed;
  for (const Held<PresenceEntry>& h : changes) {
    if (!h.entry.has_presence() || !feed_.Follows(h.entry.topic)) continue;
    followed.push_back({h.entry.topic,
                        {h.entry.key, h.entry.meta, PresenceRef(h.origin, h.entry), h.origin.name},
                        h.visible});
  }
  if (!followed.empty()) feed_.Apply(followed, out.presence);
}

std::vector<PresenceItem> Node::PresenceOf(const std::string& topic) const {
  std::vector<PresenceItem> items;
  auto add = [&](const NodeId& origin, const PresenceEntry& e) {
    if (e.has_presence()) items.push_back({e.key, e.meta, PresenceRef(origin, e), origin.name});
  };
  if (cluster_) {
    for (const Held<PresenceEntry>& h : cluster_->presence().EntriesOfTopic(topic))
      if (h.visible) add(h.origin, h.entry);
  } else {
    const NodeId self = SelfId();
    for (auto it = own_presence_.lower_bound({topic, 0});
         it != own_presence_.end() && it->first.first == topic; ++it)
      add(self, it->second);
  }
  std::sort(items.begin(), items.end(), [](const PresenceItem& a, const PresenceItem& b) {
    return std::tie(a.key, a.ref) < std::tie(b.key, b.ref);
  });
  return items;
}

void Node::TellNotOwning(Time now, Outputs& so) {
  const Registry& registry = cluster_->registry();
  if (registry.options().partition != PartitionMode::kMajority) return;
  std::string why = registry.WhyNotOwning();
  if (why == not_owning_) return;
  not_owning_ = std::move(why);
  if (not_owning_.empty()) return;  // topics get owners again, and their subscribers snapshots
  for (const TopicInfo& t : subs_.Topics(now))
    if (t.subscribers > 0 && !registry.Owner(t.topic))
      subs_.MarkStale(now, t.topic, not_owning_, so);
}

}  // namespace livepoll::core
