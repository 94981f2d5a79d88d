#include "sim_cluster.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace livepoll::sim {

using namespace std::chrono_literals;
using core::MembershipEvent;

namespace {

const char* KindName(MembershipEvent::Kind k) {
  switch (k) {
    case MembershipEvent::Kind::kUp:
      return "up";
    case MembershipEvent::Kind::kSuspect:
      return "suspect";
    case MembershipEvent::Kind::kAlive:
      return "alive";
    case MembershipEvent::Kind::kDown:
      return "down";
    case MembershipEvent::Kind::kForgotten:
      return "forgotten";
    case MembershipEvent::Kind::kJoined:
      return "joined";
    case MembershipEvent::Kind::kJoinRefused:
      return "join-refused";
  }
  return "?";
}

std::string Gossip(const std::string& name) { return name + ":gossip"; }
std::string Rpc(const std::string& name) { return name + ":rpc"; }

}  // namespace

SimOptions::SimOptions() {
  membership.gossip_interval = 100ms;
  membership.suspect_after = 500ms;
  membership.dead_after = 1s;
  membership.probe_timeout = 200ms;
  membership.indirect_probes = 3;
  membership.permdown = 2s;
  membership.join_retry = 200ms;
  presence.gossip_interval = 100ms;
  presence.permdown = 2s;
  presence.transfer_retry = 300ms;
  // The registry scaled like membership (production: linger 5 s, takeover 1 s, ...).
  registry.linger = 1s;
  registry.takeover_timeout = 300ms;
  registry.propose_timeout = 600ms;
  registry.propose_retry = 100ms;
  registry.sweep_interval = 250ms;
  registry.reap_margin = 500ms;
  registry.claims = presence;
}

SimCluster::SimCluster(SimOptions options, uint64_t seed)
    : options_(std::move(options)), rng_(seed), network_(rng_) {
  const char* trace = std::getenv("LIVEPOLL_SIM_TRACE");
  verbose_ = trace && std::string(trace) == "2";
  nodes_.resize(options_.nodes);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].name = "n";  // not "n" + to_string(i): GCC 12 -O3 warns (-Wrestrict)
    nodes_[i].name += std::to_string(i);
  }
  unhealthy_.resize(nodes_.size());
  lives_.resize(nodes_.size());
  paused_since_.resize(nodes_.size());
}

void SimCluster::Log(const std::string& line) {
  char t[32];
  std::snprintf(t, sizeof t, "%10.6f ", std::chrono::duration<double>(now_).count());
  trace_.push_back(t + line);
}

std::string SimCluster::Trace(size_t n) const {
  std::string s;
  for (size_t i = trace_.size() > n ? trace_.size() - n : 0; i < trace_.size(); ++i)
    s += trace_[i] + "\n";
  return s;
}

void SimCluster::At(Duration at, std::function<void()> fn) {
  queue_.push({std::max(at, now_).count(), seq_++, std::move(fn)});
}

void SimCluster::RunUntil(Duration until) {
  while (!queue_.empty() && queue_.top().at <= until.count()) {
    Scheduled s = queue_.top();
    queue_.pop();
    now_ = Duration(s.at);
    s.fn();
  }
  now_ = std::max(now_, until);
}

Time SimCluster::LocalAt(const Node& n, Duration virtual_time) const {
  auto scaled =
      static_cast<int64_t>(std::llround(static_cast<double>(virtual_time.count()) * n.rate));
  return Time(n.offset + Duration(scaled));
}

void SimCluster::SetClock(size_t i, double rate, Duration offset) {
  nodes_[i].rate = rate;
  nodes_[i].offset = offset;
}

void SimCluster::Reschedule(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return;
  uint64_t generation = ++n.tick_generation;
  Time deadline = n.core->NextDeadline();
  if (n.subs) deadline = std::min(deadline, n.subs->NextDeadline());
  if (deadline == Time::max()) return;
  // The first virtual instant at which the node's clock reads `deadline`.
  double local = static_cast<double>((deadline.time_since_epoch() - n.offset).count());
  auto v = Duration(static_cast<int64_t>(std::ceil(local / n.rate)));
  while (LocalAt(n, v) < deadline) v += 1ns;  // rounding
  v = std::max(v, now_ + Duration(1us));      // something due already: right after this input
  At(v, [this, i, generation] { OnTick(i, generation); });
}

void SimCluster::OnTick(size_t i, uint64_t generation) {
  Node& n = nodes_[i];
  if (!n.running || n.paused || generation != n.tick_generation) return;
  if (n.subs) {
    // The daemon's loop: Cluster::Tick (SyncRunning, the node's tick), then Subscriptions::Tick.
    if (n.running_dirty) {
      n.core->SetRunning(n.subs->RunningPollers());
      n.running_dirty = false;
    }
    core::NodeOutputs out;
    core::Outputs data;
    n.core->Tick(LocalNow(n), out);
    Apply(i, out, data);
    CarryData(i, data);
    if (n.running) {
      core::Outputs more;
      n.subs->Tick(LocalNow(n), more);
      CarryData(i, more);
    }
    Reschedule(i);
    return;
  }
  core::NodeOutputs out;
  n.core->Tick(LocalNow(n), out);
  Apply(i, out);
  Reschedule(i);
}

void SimCluster::Deliver(size_t i, uint64_t incarnation, std::function<void()> fn) {
  Node& n = nodes_[i];
  if (!n.running || n.incarnation != incarnation) return;
  if (n.paused) {
    n.inbox.push_back(std::move(fn));
    return;
  }
  fn();
  Reschedule(i);
}

void SimCluster::Receive(size_t i, const core::NodeMessage& m) {
  Node& n = nodes_[i];
  if (verbose_) {
    static const char* const kMembership[] = {"heartbeat",     "join-request", "join-reply",
                                              "probe-request", "probe-reply",  "leave-notice"};
    static const char* const kPresence[] = {"delta", "clock", "transfer-request", "transfer"};
    static const char* const kRegistry[] = {"propose", "vote", "claims"};
    std::string what;
    if (auto* mm = std::get_if<core::MembershipMessage>(&m)) {
      what = kMembership[mm->index()];
      if (auto* hb = std::get_if<core::Heartbeat>(mm)) what += " from " + hb->self.id.ToString();
      if (auto* pr = std::get_if<core::ProbeReply>(mm))
        what += " from " + pr->from.ToString() + " about " + pr->target.ToString() +
                (pr->heard ? ": heard" : ": not heard");
    } else if (auto* pm = std::get_if<core::PresenceMessage>(&m)) {
      what = kPresence[pm->index()];
    } else {
      const auto& rm = std::get<core::RegistryMessage>(m);
      what = std::string(kRegistry[rm.index()]) + " from " + core::SenderOf(rm).ToString();
      if (auto* p = std::get_if<core::RegistryPropose>(&rm))
        what += ": " + p->topic + " epoch " + std::to_string(p->epoch);
      if (auto* v = std::get_if<core::RegistryVote>(&rm))
        what += ": " + v->topic + (v->granted ? " granted" : " denied");
      if (auto* c = std::get_if<core::ClaimsMessage>(&rm)) what += std::string(": ") + kPresence[c->m.index()];
    }
    Log(n.core->self().ToString() + " <- " + what);
  }
  core::NodeOutputs out;
  n.core->OnMessage(LocalNow(n), m, out);
  Apply(i, out);
}

void SimCluster::Transmit(size_t from, size_t to, core::NodeMessage m) {
  uint64_t incarnation = nodes_[to].incarnation;
  for (Duration d : network_.Transit(from, to)) {
    At(now_ + d, [this, from, to, incarnation, m] {
      if (!network_.CanTalk(from, to)) return;  // cut while in flight
      Deliver(to, incarnation, [this, to, m] { Receive(to, m); });
    });
  }
}

void SimCluster::Broadcast(size_t from, const core::NodeMessage& m) {
  const std::string endpoint = Gossip(nodes_[from].name);
  for (size_t j = 0; j < nodes_.size(); ++j)
    if (j != from && nodes_[j].running && nodes_[j].subscriptions.count(endpoint))
      Transmit(from, j, m);
}

std::optional<size_t> SimCluster::NodeAt(const std::string& endpoint) const {
  for (size_t j = 0; j < nodes_.size(); ++j)
    if (Rpc(nodes_[j].name) == endpoint || Gossip(nodes_[j].name) == endpoint) return j;
  return std::nullopt;
}

void SimCluster::Apply(size_t i, core::NodeOutputs& out) {
  core::Outputs data;
  Apply(i, out, data);
  if (nodes_[i].subs) CarryData(i, data);
}

void SimCluster::Apply(size_t i, core::NodeOutputs& out, core::Outputs& data) {
  Node& n = nodes_[i];
  const std::string me = n.core->self().ToString();
  for (const std::string& e : out.connect) n.subscriptions.insert(e);
  for (const std::string& e : out.disconnect) n.subscriptions.erase(e);
  for (auto& m : out.broadcasts) Broadcast(i, m);
  for (auto& [endpoint, m] : out.sends)
    if (auto j = NodeAt(endpoint); j && nodes_[*j].running) Transmit(i, *j, std::move(m));
  for (const MembershipEvent& e : out.member_events) {
    events_.push_back({now_, i, n.core->self(), e});
    Log(me + ": " + KindName(e.kind) + " " + e.node.ToString() +
        (e.detail.empty() ? "" : " (" + e.detail + ")"));
    if (e.kind == MembershipEvent::Kind::kJoined) {
      n.joined_at = now_;
      lives_[i].back().joined = now_;
    }
  }
  if (n.subs) {
    // net::Cluster::Carry: stops first, then starts, then the owners (the fencing tokens).
    const Time now = LocalNow(n);
    for (const core::PollerStop& s : out.stop) {
      n.subs->StopPoller(now, s.topic, data);
      if (s.stale)
        n.subs->MarkStale(now, s.topic, "this node does not see a majority of the cluster", data);
      n.running_dirty = true;
      Log(me + ": stop poller " + s.topic + " (" + s.reason + ")");
    }
    for (const core::PollerStart& s : out.start) {
      Status st = n.subs->StartPoller(now, s.topic, s.epoch, data);
      n.running_dirty = true;
      Log(me + ": start poller " + s.topic + " epoch " + std::to_string(s.epoch) +
          (st.ok() ? "" : ": " + st.ToString()));
      std::optional<proto::Update> state = n.subs->CurrentState(s.topic);
      if (on_owner_update && state && state->kind == proto::UpdateKind::kSnapshot &&
          state->seq == 0) {
        const ResultSet rs{state->columns, state->rows};
        on_owner_update(i, *state, &rs);
      }
    }
    n.pollers = n.subs->RunningPollers();
    for (const std::string& topic : out.owners_changed) {
      std::optional<core::Claim> owner = n.core->registry().Owner(topic);
      if (owner) {
        n.subs->SetOwner(now, topic, std::make_pair(owner->owner.name, owner->epoch), data);
        Log(me + ": owner of " + topic + " " + owner->owner.ToString() + " epoch " +
            std::to_string(owner->epoch));
      } else {
        n.subs->SetOwner(now, topic, std::nullopt, data);
        Log(me + ": owner of " + topic + " none");
      }
    }
  }
  // The poller runtime: stops first (registry.h), then starts (or re-epochs).
  for (const core::PollerStop& s : out.stop) {
    if (n.subs) break;
    n.pollers.erase(s.topic);
    Log(me + ": stop poller " + s.topic + " (" + s.reason + ")");
  }
  for (const core::PollerStart& s : out.start) {
    if (n.subs) break;
    n.pollers[s.topic] = s.epoch;
    Log(me + ": start poller " + s.topic + " epoch " + std::to_string(s.epoch));
  }
  if (!n.subs && (!out.start.empty() || !out.stop.empty())) n.core->SetRunning(n.pollers);
  for (const core::RegistryEvent& e : out.registry_events) {
    static const char* const kKinds[] = {"registered", "released",   "takeover", "clash",
                                         "clash-resolved", "reaped", "denied"};
    Log(me + ": " + kKinds[static_cast<int>(e.kind)] + " " + e.topic +
        (e.detail.empty() ? "" : " (" + e.detail + ")"));
    registry_events_.push_back({now_, i, e});
  }
  if (on_owners_changed && !out.owners_changed.empty()) on_owners_changed(i, out.owners_changed);
  out = {};
}

void SimCluster::Disconnected(size_t observer, const core::NodeId& peer, Duration after) {
  uint64_t incarnation = nodes_[observer].incarnation;
  At(now_ + after, [this, observer, incarnation, peer] {
    Deliver(observer, incarnation, [this, observer, peer] {
      Node& n = nodes_[observer];
      core::NodeOutputs out;
      if (verbose_) Log(n.core->self().ToString() + " <- disconnect of " + peer.ToString());
      // The transport names an endpoint, not an incarnation (as ZeroMQ's socket monitor does).
      n.core->OnDisconnect(LocalNow(n), Gossip(peer.name), out);
      Apply(observer, out);
    });
  });
}

void SimCluster::Start(size_t i, const std::vector<size_t>& seeds) {
  Node& n = nodes_[i];
  if (n.running) return;
  n.incarnation++;
  n.running = true;
  n.paused = false;
  n.left = false;
  n.joined_at.reset();
  n.subscriptions.clear();
  n.inbox.clear();
  n.entries.clear();
  n.pollers.clear();
  n.watched.clear();
  n.running_dirty = false;
  n.subs.reset();
  if (options_.catalog) {
    core::SubscriptionsOptions so = options_.subscriptions;
    so.node = n.name;  // the owner named in updates: the Registry's owner name (fencing)
    so.standalone = false;
    so.seed = rng_();
    n.subs = std::make_unique<core::Subscriptions>(*options_.catalog, so);
  }
  lives_[i].push_back({n.incarnation, std::nullopt, std::nullopt});
  core::MemberClaim self{
      {n.name, n.incarnation}, Gossip(n.name), Rpc(n.name), core::MemberState::kAlive, 0};
  core::NodeOptions no{options_.membership, options_.presence, options_.registry};
  no.membership.seed = rng_();
  no.registry.seed = no.membership.seed + 1;
  n.core = std::make_unique<core::Node>(self, no);
  Log("start " + self.id.ToString());
  std::vector<std::string> endpoints;
  for (size_t s : seeds)
    if (s != i) endpoints.push_back(Rpc(nodes_[s].name));
  core::NodeOutputs out;
  n.core->Start(LocalNow(n), endpoints, out);
  Apply(i, out);
  Reschedule(i);
}

void SimCluster::Crash(size_t i) {
  Node& n = nodes_[i];
  if (!n.running) return;
  Log(std::string(n.left ? "exit " : "crash ") + n.core->self().ToString());
  if (paused_since_[i]) {
    Unhealthy(i, *paused_since_[i], now_);
    paused_since_[i].reset();
  }
  lives_[i].back().ended = now_;
  n.running = false;
  n.paused = false;
  n.inbox.clear();
  n.subscriptions.clear();
  n.pollers.clear();  // the process is gone, and its pollers with it
  n.watched.clear();
  n.subs.reset();    // and its clients, and its polls in flight
  const core::NodeId id = n.core->self();
  // Subscribers see the TCP close after whatever was already on the wire.
  for (size_t j = 0; j < nodes_.size(); ++j)
    if (j != i && nodes_[j].running && nodes_[j].subscriptions.count(Gossip(n.name)))
      Disconnected(j, id, network_.faults.max_delay + 1ms);
}

void SimCluster::Leave(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return;
  Log("leave " + n.core->self().ToString());
  core::NodeOutputs out;
  n.core->Leave(LocalNow(n), out);
  Apply(i, out);
  n.left = true;
  Crash(i);
}

void SimCluster::Pause(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return;
  Log("pause " + n.core->self().ToString());
  n.paused = true;
  paused_since_[i] = now_;
}

void SimCluster::Resume(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || !n.paused) return;
  Log("resume " + n.core->self().ToString());
  n.paused = false;
  Unhealthy(i, *paused_since_[i], now_);
  paused_since_[i].reset();
  // An event loop may see its overdue timers before its readable sockets, or the other way round.
  const bool timers_first = std::uniform_int_distribution<int>(0, 1)(rng_) == 1;
  if (timers_first) OnTick(i, n.tick_generation);
  std::deque<std::function<void()>> inbox;
  inbox.swap(n.inbox);
  for (auto& fn : inbox) {
    if (!n.running || n.paused) break;
    fn();
  }
  if (!timers_first && n.running) OnTick(i, n.tick_generation);
  Reschedule(i);
}

void SimCluster::Partition(const std::vector<int>& group_of) {
  std::string groups;
  for (int g : group_of) groups += std::to_string(g);
  Log("partition " + groups);
  network_.Partition(group_of);
  if (!partitioned_since_) partitioned_since_ = now_;
  for (size_t j = 0; j < nodes_.size(); ++j) {
    if (!nodes_[j].running) continue;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (i == j || !nodes_[i].running || network_.CanTalk(i, j)) continue;
      if (nodes_[j].subscriptions.count(Gossip(nodes_[i].name)))
        Disconnected(j, nodes_[i].core->self(), 1ms);
    }
  }
}

void SimCluster::Heal() {
  if (!partitioned_since_) return;
  Log("heal");
  network_.Heal();
  for (size_t i = 0; i < nodes_.size(); ++i) Unhealthy(i, *partitioned_since_, now_);
  partitioned_since_.reset();
}

void SimCluster::SetLoss(double loss) {
  Log("loss " + std::to_string(loss));
  network_.faults.loss = loss;
  if (loss > max_healthy_loss && !lossy_since_) lossy_since_ = now_;
  if (loss <= max_healthy_loss && lossy_since_) {
    for (size_t i = 0; i < nodes_.size(); ++i) Unhealthy(i, *lossy_since_, now_);
    lossy_since_.reset();
  }
}

void SimCluster::SetDuplicate(double duplicate) {
  Log("duplicate " + std::to_string(duplicate));
  network_.faults.duplicate = duplicate;
}

void SimCluster::Blip(size_t observer, size_t peer) {
  if (observer == peer || !nodes_[observer].running || !nodes_[peer].running) return;
  if (!nodes_[observer].subscriptions.count(Gossip(nodes_[peer].name))) return;
  Log("blip " + nodes_[observer].name + " -> " + nodes_[peer].core->self().ToString());
  Disconnected(observer, nodes_[peer].core->self(), 0ns);
}

void SimCluster::PresenceJoin(size_t i, const core::PresenceEntry& e) {
  Node& n = nodes_[i];
  if (!n.running || n.paused || !n.entries.insert(e).second) return;
  core::NodeOutputs out;
  n.core->Subscribed(LocalNow(n), e.topic, e.subscriber, out);
  Apply(i, out);
  Reschedule(i);
}

void SimCluster::PresenceLeave(size_t i, const core::PresenceEntry& e) {
  Node& n = nodes_[i];
  if (!n.running || n.paused || !n.entries.erase(e)) return;
  core::NodeOutputs out;
  n.core->Unsubscribed(LocalNow(n), e.topic, e.subscriber, out);
  Apply(i, out);
  Reschedule(i);
}

Status SimCluster::Resolve(size_t i, const std::string& topic,
                           const std::optional<std::string>& keep, core::ClashPolicy policy) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return Status::Unavailable("not running");
  core::NodeOutputs out;
  Status s = n.core->Resolve(LocalNow(n), topic, keep, policy, out);
  Apply(i, out);
  Reschedule(i);
  return s;
}

bool SimCluster::Healthy(size_t i, uint64_t inc, Duration from, Duration to) const {
  bool lived = false;
  for (const Life& l : lives_[i])
    if (l.incarnation == inc && l.joined && *l.joined <= from && (!l.ended || *l.ended >= to))
      lived = true;
  if (!lived) return false;
  auto overlaps = [&](Duration a, Duration b) { return a <= to && b >= from; };
  for (const Interval& u : unhealthy_[i])
    if (overlaps(u.from, u.to)) return false;
  const Duration open = Duration::max();
  if (paused_since_[i] && overlaps(*paused_since_[i], open)) return false;
  if (partitioned_since_ && overlaps(*partitioned_since_, open)) return false;
  if (lossy_since_ && overlaps(*lossy_since_, open)) return false;
  return true;
}

// ---- the data plane ----

bool SimCluster::Watching(size_t i, const std::string& topic) const {
  auto it = nodes_[i].watched.find(topic);
  return it != nodes_[i].watched.end() && it->second > 0;
}

void SimCluster::TransmitData(size_t from, size_t to, const std::function<void()>& arrive) {
  uint64_t incarnation = nodes_[to].incarnation;
  for (Duration d : network_.Transit(from, to)) {
    At(now_ + d, [this, from, to, incarnation, arrive] {
      if (!network_.CanTalk(from, to)) return;  // cut while in flight
      Deliver(to, incarnation, [this, to, arrive] {
        if (nodes_[to].subs) arrive();
      });
    });
  }
}

void SimCluster::SendData(size_t from, const std::string& to_name,
                          std::function<void(size_t to)> arrive) {
  std::optional<core::Membership::Member> member = nodes_[from].core->membership().Find(to_name);
  if (!member) return;
  std::optional<size_t> to = NodeAt(member->claim.rpc_endpoint);
  if (!to || !nodes_[*to].running) return;
  const size_t j = *to;
  TransmitData(from, j, [j, arrive] { arrive(j); });
}

void SimCluster::PublishData(size_t from, const proto::Update& u) {
  const std::string endpoint = Gossip(nodes_[from].name);
  for (size_t j = 0; j < nodes_.size(); ++j) {
    if (j == from || !nodes_[j].running || !nodes_[j].subscriptions.count(endpoint) ||
        !Watching(j, u.topic))
      continue;
    TransmitData(from, j, [this, j, u] {
      if (!Watching(j, u.topic)) return;  // the SUB's filter
      Node& n = nodes_[j];
      if (verbose_)
        Log(n.core->self().ToString() + " <- data " + u.topic + " " + proto::UpdateKindName(u.kind) +
            " " + u.owner + "@" + std::to_string(u.epoch) + "/" + std::to_string(u.seq));
      core::Outputs out;
      n.subs->OnRemoteUpdate(LocalNow(n), u, out);
      CarryData(j, out);
    });
  }
}

void SimCluster::CarryData(size_t i, core::Outputs& out) {
  Node& n = nodes_[i];
  if (!n.subs) return;
  const std::string me = n.core->self().ToString();
  for (const core::PollRequest& p : out.polls)
    if (on_poll) on_poll(i, p);
  for (const core::Delivery& d : out.deliveries)
    if (on_delivery) on_delivery(i, d);
  // The data plane first, as Server::Carry.
  for (const proto::Update& u : out.published) PublishData(i, u);
  for (const std::string& topic : out.watch) n.watched[topic]++;
  for (const std::string& topic : out.unwatch) {
    auto it = n.watched.find(topic);
    if (it != n.watched.end() && --it->second == 0) n.watched.erase(it);
  }
  for (const core::SnapshotFetch& f : out.fetches) {
    Log(me + ": fetch " + f.topic + " from " + f.owner);
    const std::string topic = f.topic;
    const std::string self = n.name;
    SendData(i, f.owner, [this, topic, self](size_t owner) {
      // The owner answers a SnapshotRequest (Cluster::HandleData).
      std::optional<proto::Update> state = nodes_[owner].subs->CurrentState(topic);
      SendData(owner, self, [this, state](size_t asker) {
        if (!state) return;
        Node& a = nodes_[asker];
        Log(a.core->self().ToString() + " <- snapshot reply " + state->topic + " " +
            proto::UpdateKindName(state->kind) + " " + state->owner + "@" +
            std::to_string(state->epoch) + "/" + std::to_string(state->seq));
        core::Outputs o;
        a.subs->OnRemoteUpdate(LocalNow(a), *state, o);
        CarryData(asker, o);
      });
    });
  }
  if (!out.subscribed.empty() || !out.unsubscribed.empty()) {
    core::Outputs more;  // presence changes may start or stop pollers here
    for (const auto& [topic, client] : out.subscribed) {
      n.entries.insert({topic, client});
      core::NodeOutputs nout;
      n.core->Subscribed(LocalNow(n), topic, client, nout);
      Apply(i, nout, more);
    }
    for (const auto& [topic, client] : out.unsubscribed) {
      n.entries.erase({topic, client});
      core::NodeOutputs nout;
      n.core->Unsubscribed(LocalNow(n), topic, client, nout);
      Apply(i, nout, more);
    }
    CarryData(i, more);
  }
  out = {};
}

Result<std::string> SimCluster::Join(size_t i, core::ClientId client, const std::string& query,
                                     const proto::Params& params) {
  Node& n = nodes_[i];
  if (!n.running || n.paused || !n.subs) return Status::Unavailable("not running");
  core::Outputs out;
  Result<std::string> topic = n.subs->Join(LocalNow(n), client, query, params, out);
  if (topic.ok()) Log(n.core->self().ToString() + ": client " + std::to_string(client) + " joins " + *topic);
  CarryData(i, out);
  Reschedule(i);
  return topic;
}

Status SimCluster::Leave(size_t i, core::ClientId client, const std::string& topic) {
  Node& n = nodes_[i];
  if (!n.running || n.paused || !n.subs) return Status::Unavailable("not running");
  core::Outputs out;
  Status s = n.subs->Leave(LocalNow(n), client, topic, out);
  if (s.ok()) Log(n.core->self().ToString() + ": client " + std::to_string(client) + " leaves " + topic);
  CarryData(i, out);
  Reschedule(i);
  return s;
}

void SimCluster::PollDone(size_t i, uint64_t incarnation, uint64_t poll_id,
                          Result<ResultSet> result) {
  Deliver(i, incarnation, [this, i, poll_id, result] {
    Node& n = nodes_[i];
    if (!n.subs) return;
    core::Outputs out;
    n.subs->PollDone(LocalNow(n), poll_id, result, out);
    for (const proto::Update& u : out.published) {
      Log(n.core->self().ToString() + ": publish " + u.topic + " " + proto::UpdateKindName(u.kind) +
          " @" + std::to_string(u.epoch) + "/" + std::to_string(u.seq));
      if (on_owner_update) on_owner_update(i, u, result.ok() ? &result.value() : nullptr);
    }
    CarryData(i, out);
  });
}

}  // namespace livepoll::sim
