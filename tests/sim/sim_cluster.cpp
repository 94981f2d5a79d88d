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
}

SimCluster::SimCluster(SimOptions options, uint64_t seed)
    : options_(std::move(options)), rng_(seed), network_(rng_) {
  const char* trace = std::getenv("LIVEPOLL_SIM_TRACE");
  verbose_ = trace && std::string(trace) == "2";
  nodes_.resize(options_.nodes);
  for (size_t i = 0; i < nodes_.size(); ++i) nodes_[i].name = "n" + std::to_string(i);
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
  Time deadline = n.membership->NextDeadline();
  if (options_.with_presence) deadline = std::min(deadline, n.presence->NextDeadline());
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
  Time local = LocalNow(n);
  core::MembershipOutputs mo;
  n.membership->Tick(local, mo);
  Apply(i, mo);
  if (options_.with_presence && n.running) {
    core::PresenceOutputs po;
    n.presence->Tick(local, po);
    Apply(i, po);
  }
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

void SimCluster::Receive(size_t i, const SimMessage& m) {
  Node& n = nodes_[i];
  Time local = LocalNow(n);
  if (verbose_) {
    static const char* const kMembership[] = {"heartbeat",     "join-request", "join-reply",
                                              "probe-request", "probe-reply",  "leave-notice"};
    static const char* const kPresence[] = {"delta", "clock", "transfer-request", "transfer"};
    std::string what;
    if (auto* mm = std::get_if<core::MembershipMessage>(&m)) {
      what = kMembership[mm->index()];
      if (auto* hb = std::get_if<core::Heartbeat>(mm)) what += " from " + hb->self.id.ToString();
      if (auto* pr = std::get_if<core::ProbeReply>(mm))
        what += " from " + pr->from.ToString() + " about " + pr->target.ToString() +
                (pr->heard ? ": heard" : ": not heard");
    } else {
      what = kPresence[std::get<core::PresenceMessage>(m).index()];
    }
    Log(n.membership->self().ToString() + " <- " + what);
  }
  if (auto* mm = std::get_if<core::MembershipMessage>(&m)) {
    core::MembershipOutputs out;
    n.membership->OnMessage(local, *mm, out);
    Apply(i, out);
  } else if (options_.with_presence) {
    // Presence follows membership: what a node that is not an up member says is not counted
    // (found by seed 12105: a restart that left before it joined kept its entries counted).
    const auto& pm = std::get<core::PresenceMessage>(m);
    if (!n.membership->IsAlive(core::SenderOf(pm))) return;  // the daemon does the same
    core::PresenceOutputs out;
    n.presence->OnMessage(local, pm, out);
    Apply(i, out);
  }
}

void SimCluster::Transmit(size_t from, size_t to, SimMessage m) {
  uint64_t incarnation = nodes_[to].incarnation;
  for (Duration d : network_.Transit(from, to)) {
    At(now_ + d, [this, from, to, incarnation, m] {
      if (!network_.CanTalk(from, to)) return;  // cut while in flight
      Deliver(to, incarnation, [this, to, m] { Receive(to, m); });
    });
  }
}

void SimCluster::Broadcast(size_t from, const SimMessage& m) {
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

std::optional<size_t> SimCluster::NodeNamed(const std::string& name) const {
  for (size_t j = 0; j < nodes_.size(); ++j)
    if (nodes_[j].name == name) return j;
  return std::nullopt;
}

void SimCluster::Apply(size_t i, core::MembershipOutputs& out) {
  Node& n = nodes_[i];
  for (const std::string& e : out.connect) n.subscriptions.insert(e);
  for (const std::string& e : out.disconnect) n.subscriptions.erase(e);
  for (auto& m : out.broadcasts) Broadcast(i, SimMessage(std::move(m)));
  for (auto& [endpoint, m] : out.sends)
    if (auto j = NodeAt(endpoint); j && nodes_[*j].running) Transmit(i, *j, SimMessage(m));
  for (const MembershipEvent& e : out.events) {
    events_.push_back({now_, i, n.membership->self(), e});
    Log(n.membership->self().ToString() + ": " + KindName(e.kind) + " " + e.node.ToString() +
        (e.detail.empty() ? "" : " (" + e.detail + ")"));
    if (e.kind == MembershipEvent::Kind::kJoined) {
      n.joined_at = now_;
      lives_[i].back().joined = now_;
    }
    if (!options_.with_presence) continue;
    core::PresenceOutputs po;
    Time local = LocalNow(n);
    if (e.kind == MembershipEvent::Kind::kDown) n.presence->OnMemberDown(local, e.node, po);
    if (e.kind == MembershipEvent::Kind::kUp) n.presence->OnMemberUp(local, e.node, po);
    Apply(i, po);
  }
  out = {};
}

void SimCluster::Apply(size_t i, core::PresenceOutputs& out) {
  for (auto& m : out.broadcasts) Broadcast(i, SimMessage(std::move(m)));
  for (auto& [to, m] : out.sends)
    if (auto j = NodeNamed(to.name); j && *j != i && nodes_[*j].running)
      Transmit(i, *j, SimMessage(m));
  out = {};
}

void SimCluster::Disconnected(size_t observer, const core::NodeId& peer, Duration after) {
  uint64_t incarnation = nodes_[observer].incarnation;
  At(now_ + after, [this, observer, incarnation, peer] {
    Deliver(observer, incarnation, [this, observer, peer] {
      Node& n = nodes_[observer];
      core::MembershipOutputs out;
      if (verbose_) Log(n.membership->self().ToString() + " <- disconnect of " + peer.ToString());
      n.membership->OnDisconnect(LocalNow(n), peer, out);
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
  lives_[i].push_back({n.incarnation, std::nullopt, std::nullopt});
  core::MemberClaim self{
      {n.name, n.incarnation}, Gossip(n.name), Rpc(n.name), core::MemberState::kAlive, 0};
  core::MembershipOptions mo = options_.membership;
  mo.seed = rng_();
  n.membership = std::make_unique<core::Membership>(self, mo);
  n.presence = std::make_unique<core::Presence>(self.id, options_.presence);
  Log("start " + self.id.ToString());
  std::vector<std::string> endpoints;
  for (size_t s : seeds)
    if (s != i) endpoints.push_back(Rpc(nodes_[s].name));
  core::MembershipOutputs out;
  n.membership->Start(LocalNow(n), endpoints, out);
  Apply(i, out);
  Reschedule(i);
}

void SimCluster::Crash(size_t i) {
  Node& n = nodes_[i];
  if (!n.running) return;
  Log(std::string(n.left ? "exit " : "crash ") + n.membership->self().ToString());
  if (paused_since_[i]) {
    Unhealthy(i, *paused_since_[i], now_);
    paused_since_[i].reset();
  }
  lives_[i].back().ended = now_;
  n.running = false;
  n.paused = false;
  n.inbox.clear();
  n.subscriptions.clear();
  const core::NodeId id = n.membership->self();
  // Subscribers see the TCP close after whatever was already on the wire.
  for (size_t j = 0; j < nodes_.size(); ++j)
    if (j != i && nodes_[j].running && nodes_[j].subscriptions.count(Gossip(n.name)))
      Disconnected(j, id, network_.faults.max_delay + 1ms);
}

void SimCluster::Leave(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return;
  Log("leave " + n.membership->self().ToString());
  core::MembershipOutputs out;
  n.membership->Leave(LocalNow(n), out);
  Apply(i, out);
  n.left = true;
  Crash(i);
}

void SimCluster::Pause(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || n.paused) return;
  Log("pause " + n.membership->self().ToString());
  n.paused = true;
  paused_since_[i] = now_;
}

void SimCluster::Resume(size_t i) {
  Node& n = nodes_[i];
  if (!n.running || !n.paused) return;
  Log("resume " + n.membership->self().ToString());
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
        Disconnected(j, nodes_[i].membership->self(), 1ms);
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
  Log("blip " + nodes_[observer].name + " -> " + nodes_[peer].membership->self().ToString());
  Disconnected(observer, nodes_[peer].membership->self(), 0ns);
}

void SimCluster::PresenceJoin(size_t i, const core::PresenceEntry& e) {
  Node& n = nodes_[i];
  if (!options_.with_presence || !n.running || n.paused || !n.entries.insert(e).second) return;
  core::PresenceOutputs out;
  n.presence->Join(LocalNow(n), e, out);
  Apply(i, out);
  Reschedule(i);
}

void SimCluster::PresenceLeave(size_t i, const core::PresenceEntry& e) {
  Node& n = nodes_[i];
  if (!options_.with_presence || !n.running || n.paused || !n.entries.erase(e)) return;
  core::PresenceOutputs out;
  n.presence->Leave(LocalNow(n), e, out);
  Apply(i, out);
  Reschedule(i);
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

}  // namespace livepoll::sim
