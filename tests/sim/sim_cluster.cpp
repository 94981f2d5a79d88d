#include "sim_cluster.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "sim_seeds.h"

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

core::Catalog ModelledCatalog(const std::vector<std::string>& topics) {
  core::Catalog catalog;
  for (const std::string& t : topics) catalog.queries[t] = {t, "modelled", {}, {}, 1s, 0.1};
  catalog.source_caps["modelled"] = 1000;
  return catalog;
}

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
  // The clients of the tests stay until they leave.
  subscriptions.client_timeout = std::chrono::hours(1);
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
  const Time deadline = n.core->NextDeadline();
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
  core::Actions out;
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

namespace {

std::string Describe(const core::PeerMessage& m) {
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
  } else if (auto* rm = std::get_if<core::RegistryMessage>(&m)) {
    what = std::string(kRegistry[rm->index()]) + " from " + core::SenderOf(*rm).ToString();
    if (auto* p = std::get_if<core::RegistryPropose>(rm))
      what += ": " + p->topic + " epoch " + std::to_string(p->epoch);
    if (auto* v = std::get_if<core::RegistryVote>(rm))
      what += ": " + v->topic + (v->granted ? " granted" : " denied");
    if (auto* c = std::get_if<core::ClaimsMessage>(rm))
      what += std::string(": ") + kPresence[c->m.index()];
  } else {
    const auto& dm = std::get<core::DataMessage>(m);
    auto update = [](const proto::Update& u) {
      return u.topic + " " + proto::UpdateKindName(u.kind) + " " + u.owner + "@" +
             std::to_string(u.epoch) + "/" + std::to_string(u.seq);
    };
    if (auto* u = std::get_if<core::DataUpdate>(&dm)) what = "data " + update(u->update);
    if (auto* r = std::get_if<core::SnapshotRequest>(&dm))
      what = "snapshot request " + r->topic + " from " + r->from.ToString();
    if (auto* r = std::get_if<core::SnapshotReply>(&dm))
      what = "snapshot reply " + r->topic + (r->update ? " " + update(*r->update) : " (none)");
  }
  return what;
}

}  // namespace

void SimCluster::Receive(size_t i, const core::PeerMessage& m) {
  Node& n = nodes_[i];
  if (verbose_ || std::holds_alternative<core::DataMessage>(m))
    if (verbose_ || !std::holds_alternative<core::DataUpdate>(std::get<core::DataMessage>(m)))
      Log(n.core->name() + " <- " + Describe(m));
  core::Actions out;
  n.core->OnPeerMessage(LocalNow(n), m, out);
  Apply(i, out);
}

void SimCluster::Carry(size_t from, size_t to, Duration delay, std::function<void()> deliver) {
  At(now_ + delay, [this, from, to, deliver = std::move(deliver)] {
    if (network_.CanTalk(from, to)) {
      deliver();
    } else if (network_.holding()) {
      held_[{from, to}].push_back(deliver);  // TCP keeps it for after the heal
    }                                        // else cut while in flight
  });
}

void SimCluster::Transmit(size_t from, size_t to, const core::PeerMessage& m) {
  uint64_t incarnation = nodes_[to].incarnation;
  auto deliver = [this, to, incarnation, m] {
    if (nodes_[to].links_closed) return;  // closed by the heartbeat timeout: lost
    Deliver(to, incarnation, [this, to, m] { Receive(to, m); });
  };
  if (network_.holding() && !network_.CanTalk(from, to)) {
    held_[{from, to}].push_back(deliver);  // no loss, no duplicate: a TCP stream
    return;
  }
  for (Duration d : network_.Transit(from, to)) Carry(from, to, d, deliver);
}

std::optional<size_t> SimCluster::NodeAt(const std::string& endpoint) const {
  for (size_t j = 0; j < nodes_.size(); ++j)
    if (Rpc(nodes_[j].name) == endpoint || Gossip(nodes_[j].name) == endpoint) return j;
  return std::nullopt;
}

bool SimCluster::Watching(size_t i, const std::string& topic) const {
  auto it = nodes_[i].watched.find(topic);
  return it != nodes_[i].watched.end() && it->second > 0;
}

void SimCluster::Publish(size_t from, const proto::Update& u) {
  const std::string endpoint = Gossip(nodes_[from].name);
  const core::PeerMessage m{core::DataMessage{core::DataUpdate{u}}};
  for (size_t j = 0; j < nodes_.size(); ++j) {
    if (j == from || !nodes_[j].running || !nodes_[j].subscriptions.count(endpoint) ||
        !Watching(j, u.topic))
      continue;
    uint64_t incarnation = nodes_[j].incarnation;
    auto deliver = [this, j, incarnation, m, topic = u.topic] {
      if (nodes_[j].links_closed) return;  // closed by the heartbeat timeout: lost
      Deliver(j, incarnation, [this, j, m, topic] {
        if (Watching(j, topic)) Receive(j, m);  // the SUB's filter
      });
    };
    if (network_.holding() && !network_.CanTalk(from, j)) {
      held_[{from, j}].push_back(deliver);
      continue;
    }
    for (Duration d : network_.Transit(from, j)) Carry(from, j, d, deliver);
  }
}

void SimCluster::Apply(size_t i, core::Actions& out) {
  Node& n = nodes_[i];
  const std::string me = n.core->cluster()->self().ToString();
  for (core::TransportAction& a : out.transport) {
    std::visit(
        [&](auto& act) {
          using T = std::decay_t<decltype(act)>;
          if constexpr (std::is_same_v<T, core::Broadcast>) {
            const std::string endpoint = Gossip(n.name);
            for (size_t j = 0; j < nodes_.size(); ++j)
              if (j != i && nodes_[j].running && nodes_[j].subscriptions.count(endpoint))
                Transmit(i, j, act.message);
          } else if constexpr (std::is_same_v<T, core::Send>) {
            if (auto j = NodeAt(act.endpoint); j && nodes_[*j].running)
              Transmit(i, *j, act.message);
          } else if constexpr (std::is_same_v<T, core::Connect>) {
            n.subscriptions.insert(act.gossip_endpoint);
          } else if constexpr (std::is_same_v<T, core::Disconnect>) {
            n.subscriptions.erase(act.gossip_endpoint);
          } else if constexpr (std::is_same_v<T, core::Forget>) {
            // no sockets to close here
          } else if constexpr (std::is_same_v<T, core::Publish>) {
            Publish(i, act.update);
          } else if constexpr (std::is_same_v<T, core::Watch>) {
            n.watched[act.topic]++;
          } else {
            auto it = n.watched.find(act.topic);
            if (it != n.watched.end() && --it->second == 0) n.watched.erase(it);
          }
        },
        a);
  }
  for (const core::PollRequest& p : out.polls)
    if (on_poll) on_poll(i, p);
  for (const core::Delivery& d : out.deliveries)
    if (on_delivery) on_delivery(i, d);
  for (const core::PresenceDelivery& d : out.presence)
    if (on_presence) on_presence(i, d);
  for (const core::NodeEvent& e : out.events) {
    if (const auto* m = std::get_if<MembershipEvent>(&e)) {
      events_.push_back({now_, i, n.core->cluster()->self(), *m});
      Log(me + ": " + KindName(m->kind) + " " + m->node.ToString() +
          (m->detail.empty() ? "" : " (" + m->detail + ")"));
      if (m->kind == MembershipEvent::Kind::kJoined) {
        n.joined_at = now_;
        lives_[i].back().joined = now_;
      }
    } else if (const auto* r = std::get_if<core::RegistryEvent>(&e)) {
      Log(me + ": " + core::RegistryEventName(r->kind) + " " + r->topic +
          (r->detail.empty() ? "" : " (" + r->detail + ")"));
      registry_events_.push_back({now_, i, *r});
    } else if (const auto* p = std::get_if<core::PollerEvent>(&e)) {
      using K = core::PollerEvent::Kind;
      if (p->kind == K::kStarted) {
        Log(me + ": start poller " + p->topic + " (" + p->detail + ")");
        // The snapshot at seq 0 a re-epoched poller serves until its first poll of the epoch.
        std::optional<proto::Update> state = n.core->subscriptions().CurrentState(p->topic);
        if (on_owner_update && state && state->kind == proto::UpdateKind::kSnapshot &&
            state->seq == 0) {
          const ResultSet rs{state->columns, state->rows};
          on_owner_update(i, *state, &rs);
        }
      } else if (p->kind == K::kStopped) {
        Log(me + ": stop poller " + p->topic);
      }
    } else if (const auto* refused = std::get_if<core::PollerRefused>(&e)) {
      Log(me + ": cannot poll " + refused->topic + ": " + refused->why.ToString());
    }
  }
  n.pollers = n.core->subscriptions().RunningPollers();
  if (on_owners_changed && !out.owners_changed.empty()) on_owners_changed(i, out.owners_changed);
  out = {};
}

void SimCluster::Disconnected(size_t observer, const core::NodeId& peer, Duration after) {
  uint64_t incarnation = nodes_[observer].incarnation;
  At(now_ + after, [this, observer, incarnation, peer] {
    Deliver(observer, incarnation, [this, observer, peer] {
      Node& n = nodes_[observer];
      if (verbose_) Log(n.core->name() + " <- disconnect of " + peer.ToString());
      // The transport names an endpoint, not an incarnation (as ZeroMQ's socket monitor does).
      core::Actions out;
      n.core->OnPeerDisconnect(LocalNow(n), Gossip(peer.name), out);
      Apply(observer, out);
    });
  });
}

void SimCluster::Relinked(size_t observer, const core::NodeId& peer, Duration after) {
  uint64_t incarnation = nodes_[observer].incarnation;
  At(now_ + after, [this, observer, incarnation, peer] {
    Deliver(observer, incarnation, [this, observer, peer] {
      Node& n = nodes_[observer];
      if (!n.subscriptions.count(Gossip(peer.name))) return;
      if (verbose_) Log(n.core->name() + " <- relink of " + peer.ToString());
      core::Actions out;
      n.core->OnPeerRelink(LocalNow(n), Gossip(peer.name), out);
      Apply(observer, out);
    });
  });
}

void SimCluster::CloseLinks(size_t i) {
  Node& n = nodes_[i];
  Log("links of paused " + n.core->cluster()->self().ToString() + " closed");
  n.links_closed = true;
  const core::NodeId id = n.core->cluster()->self();
  for (size_t j = 0; j < nodes_.size(); ++j) {
    if (j == i || !nodes_[j].running) continue;
    // The peers' SUBs to it time out now; its own SUBs see the close when it runs again, after
    // whatever was queued for it before (Deliver queues while paused).
    if (nodes_[j].subscriptions.count(Gossip(n.name))) Disconnected(j, id, 0ns);
    if (n.subscriptions.count(Gossip(nodes_[j].name)))
      Disconnected(i, nodes_[j].core->cluster()->self(), 0ns);
  }
}

void SimCluster::Start(size_t i, const std::vector<size_t>& seeds) {
  Node& n = nodes_[i];
  if (n.running) return;
  n.incarnation++;
  n.running = true;
  n.paused = false;
  n.links_closed = false;
  n.left = false;
  n.joined_at.reset();
  n.subscriptions.clear();
  n.watched.clear();
  n.inbox.clear();
  n.entries.clear();
  n.pollers.clear();
  lives_[i].push_back({n.incarnation, std::nullopt, std::nullopt});
  core::NodeOptions no;
  no.subscriptions = options_.subscriptions;
  no.subscriptions.node = n.name;  // the owner named in updates: the Registry's owner name
  no.subscriptions.session = n.incarnation;  // as livepolld: updates name the owner's process
  no.subscriptions.seed = rng_();
  core::NodeClusterOptions& c = no.cluster.emplace();
  c.self = {n.name, n.incarnation};
  c.state = {options_.membership, options_.presence, options_.registry};
  c.state.membership.seed = rng_();
  c.state.registry.seed = c.state.membership.seed + 1;
  n.core = std::make_unique<core::Node>(options_.catalog, std::move(no));
  Log("start " + c.self.ToString());
  std::vector<std::string> endpoints;
  for (size_t s : seeds)
    if (s != i) endpoints.push_back(Rpc(nodes_[s].name));
  core::Actions out;
  n.core->Start(LocalNow(n), Gossip(n.name), Rpc(n.name), endpoints, out);
  Apply(i, out);
  Reschedule(i);
}

void SimCluster::Crash(size_t i) {
  Node& n = nodes_[i];
  if (!n.running) return;
  const core::NodeId id = n.core->cluster()->self();
  Log(std::string(n.left ? "exit " : "crash ") + id.ToString());
  if (paused_since_[i]) {
    Unhealthy(i, *paused_since_[i], now_);
    paused_since_[i].reset();
  }
  lives_[i].back().ended = now_;
  n.running = false;
  n.paused = false;
  n.links_closed = false;
  n.inbox.clear();  // and with it the polls in flight
  n.subscriptions.clear();
  n.watched.clear();
  n.pollers.clear();  // the process is gone, and its pollers and clients with it
  // Subscribers see the TCP close after whatever was already on the wire.
  for (size_t j = 0; j < nodes_.size(); ++j)
    if (j != i && nodes_[j].running && nodes_[j].subscriptions.count(Gossip(n.name)))
      Disconnected(j, id, network_.faults.max_delay + 1ms);
}

void SimCluster::Leave(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return;
  Log("leave " + n.core->cluster()->self().ToString());
  core::Actions out;
  n.core->LeaveCluster(LocalNow(n), out);
  Apply(i, out);
  n.left = true;
  Crash(i);
}

void SimCluster::Pause(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return;
  Log("pause " + n.core->cluster()->self().ToString());
  n.paused = true;
  paused_since_[i] = now_;
  const uint64_t pause = ++n.pauses, incarnation = n.incarnation;
  At(now_ + options_.link_timeout, [this, i, pause, incarnation] {
    const Node& p = nodes_[i];
    if (p.running && p.paused && p.incarnation == incarnation && p.pauses == pause) CloseLinks(i);
  });
}

void SimCluster::Resume(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || !n.paused) return;
  Log("resume " + n.core->cluster()->self().ToString());
  n.paused = false;
  Unhealthy(i, *paused_since_[i], now_);
  paused_since_[i].reset();
  if (n.links_closed) {  // every link is dialled again
    n.links_closed = false;
    const core::NodeId id = n.core->cluster()->self();
    for (size_t j = 0; j < nodes_.size(); ++j) {
      if (j == i || !nodes_[j].running) continue;
      if (nodes_[j].subscriptions.count(Gossip(n.name))) Relinked(j, id, options_.redial);
      if (n.subscriptions.count(Gossip(nodes_[j].name)))
        Relinked(i, nodes_[j].core->cluster()->self(), options_.redial);
    }
  }
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
  RelinkHealed();  // one partition may follow another: links it no longer cuts are back
  if (!partitioned_since_) partitioned_since_ = now_;
  for (size_t j = 0; j < nodes_.size(); ++j) {
    if (!nodes_[j].running) continue;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (i == j || !nodes_[i].running || network_.CanTalk(i, j)) continue;
      if (nodes_[j].subscriptions.count(Gossip(nodes_[i].name))) {
        Disconnected(j, nodes_[i].core->cluster()->self(), 1ms);
        cut_links_.insert({j, i});
      }
    }
  }
}

void SimCluster::RelinkHealed() {
  for (auto it = cut_links_.begin(); it != cut_links_.end();) {
    const auto [observer, peer] = *it;
    if (!network_.CanTalk(observer, peer)) {
      ++it;
      continue;
    }
    if (nodes_[observer].running && nodes_[peer].running &&
        nodes_[observer].subscriptions.count(Gossip(nodes_[peer].name)))
      Relinked(observer, nodes_[peer].core->cluster()->self(), options_.redial);
    it = cut_links_.erase(it);
  }
}

void SimCluster::HoldingPartition(const std::vector<int>& group_of) {
  std::string groups;
  for (int g : group_of) groups += std::to_string(g);
  Log("holding partition " + groups);
  network_.Partition(group_of, true);
  if (!partitioned_since_) partitioned_since_ = now_;
}

void SimCluster::Heal() {
  if (!partitioned_since_) return;
  Log("heal");
  network_.Heal();
  RelinkHealed();
  for (size_t i = 0; i < nodes_.size(); ++i) Unhealthy(i, *partitioned_since_, now_);
  partitioned_since_.reset();
  // Each link's backlog, in order, a frame every 20 us once its retransmission starts: the links
  // drain side by side, so bursts from different senders interleave.
  size_t frames = 0;
  for (auto& [link, backlog] : held_) {
    Duration at = Uniform(rng_, network_.faults.min_delay, network_.faults.max_delay);
    for (auto& deliver : backlog) {
      Carry(link.first, link.second, at, std::move(deliver));
      at += 20us;
      ++frames;
    }
  }
  held_.clear();
  if (frames > 0) Log("heal: " + std::to_string(frames) + " held frame(s) on their way");
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
  Log("blip " + nodes_[observer].name + " -> " + nodes_[peer].core->cluster()->self().ToString());
  Disconnected(observer, nodes_[peer].core->cluster()->self(), 0ns);
}

void SimCluster::PresenceJoin(size_t i, const core::PresenceEntry& e) {
  if (nodes_[i].entries.count(e)) return;
  (void)Join(i, e.subscriber, e.topic, {});
}

void SimCluster::PresenceLeave(size_t i, const core::PresenceEntry& e) {
  if (!nodes_[i].entries.count(e)) return;
  (void)Leave(i, e.subscriber, e.topic);
}

Status SimCluster::Resolve(size_t i, const std::string& topic,
                           const std::optional<std::string>& keep, core::ClashPolicy policy) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return Status::Unavailable("not running");
  core::Actions out;
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

// ---- clients and polls ----

Result<core::Subscriptions::Joined> SimCluster::Join(
    size_t i, core::ClientId client, const std::string& query, const proto::Params& params,
    const std::optional<core::StreamPosition>& resume,
    const std::optional<core::PresenceMeta>& presence) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return Status::Unavailable("not running");
  core::Actions out;
  Result<core::Subscriptions::Joined> topic =
      n.core->Join(LocalNow(n), client, query, params, out, resume, presence);
  if (topic.ok()) {
    n.entries.insert({topic->topic, client});
    Log(n.core->name() + ": client " + std::to_string(client) + " joins " + topic->topic +
        (topic->resumed ? " (resumed)" : ""));
  }
  Apply(i, out);
  Reschedule(i);
  return topic;
}

Status SimCluster::Leave(size_t i, core::ClientId client, const std::string& topic) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return Status::Unavailable("not running");
  core::Actions out;
  Status s = n.core->Leave(LocalNow(n), client, topic, out);
  if (s.ok()) {
    n.entries.erase({topic, client});
    Log(n.core->name() + ": client " + std::to_string(client) + " leaves " + topic);
  }
  Apply(i, out);
  Reschedule(i);
  return s;
}

void SimCluster::PollDone(size_t i, uint64_t incarnation, uint64_t poll_id,
                          Result<ResultSet> result) {
  Deliver(i, incarnation, [this, i, poll_id, result] {
    Node& n = nodes_[i];
    core::Actions out;
    n.core->PollDone(LocalNow(n), poll_id, result, out);
    for (const core::TransportAction& a : out.transport) {
      const auto* p = std::get_if<core::Publish>(&a);
      if (p == nullptr) continue;
      const proto::Update& u = p->update;
      Log(n.core->name() + ": publish " + u.topic + " " + proto::UpdateKindName(u.kind) + " @" +
          std::to_string(u.epoch) + "/" + std::to_string(u.seq));
      if (on_owner_update) on_owner_update(i, u, result.ok() ? &result.value() : nullptr);
    }
    Apply(i, out);
  });
}

}  // namespace livepoll::sim
