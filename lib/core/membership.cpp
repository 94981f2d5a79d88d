#include "core/membership.h"

#include <algorithm>

namespace livepoll::core {
namespace {

int Severity(MemberState s) { return static_cast<int>(s); }
bool IsUp(MemberState s) { return s == MemberState::kAlive || s == MemberState::kSuspect; }
bool SameEndpoints(const MemberClaim& a, const MemberClaim& b) {
  return a.gossip_endpoint == b.gossip_endpoint && a.rpc_endpoint == b.rpc_endpoint;
}

// For one NodeId: the higher version wins; at an equal one, the more severe state.
bool Supersedes(const MemberClaim& c, const MemberClaim& cur) {
  if (c.version != cur.version) return c.version > cur.version;
  return Severity(c.state) > Severity(cur.state);
}

}  // namespace

std::string NodeId::ToString() const { return name + "#" + std::to_string(incarnation); }

uint64_t MemberDigest(std::vector<MemberClaim> claims) {
  std::sort(claims.begin(), claims.end(),
            [](const MemberClaim& a, const MemberClaim& b) { return a.id < b.id; });
  uint64_t h = 14695981039346656037ull;  // FNV-1a: fixed, so every build agrees
  auto byte = [&h](uint8_t b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  auto u64 = [&byte](uint64_t v) {
    for (int i = 0; i < 8; i++) byte(static_cast<uint8_t>(v >> (8 * i)));
  };
  for (const MemberClaim& c : claims) {
    for (char ch : c.id.name) byte(static_cast<uint8_t>(ch));
    byte(0);  // names cannot run into the numbers
    u64(c.id.incarnation);
    u64(c.version);
    byte(static_cast<uint8_t>(c.state));
  }
  return h == 0 ? 1 : h;
}

const char* MemberStateName(MemberState s) {
  switch (s) {
    case MemberState::kAlive:
      return "alive";
    case MemberState::kSuspect:
      return "suspect";
    case MemberState::kDead:
      return "dead";
    case MemberState::kLeft:
      return "left";
  }
  return "?";
}

Membership::Membership(MemberClaim self, MembershipOptions options)
    : self_(std::move(self)), options_(options), rng_(options.seed) {
  self_.state = MemberState::kAlive;
}

void Membership::Start(Time now, const std::vector<std::string>& seed_rpc_endpoints,
                       MembershipOutputs& out) {
  if (started_) return;
  started_ = true;
  last_tick_ = now;
  for (const std::string& endpoint : seed_rpc_endpoints) {
    SeedStatus seed{endpoint};
    if (endpoint == self_.rpc_endpoint) seed.answer = SeedStatus::Answer::kSelf;
    seeds_.push_back(std::move(seed));
  }
  // A cluster of one at once, seeds or not: a node that waited for a seed to let it in would wait
  // forever when every seed is waiting too (all started at once).
  joined_ = true;
  out.events.push_back({MembershipEvent::Kind::kJoined, self_.id, ""});
  next_heartbeat_ = now + options_.gossip_interval;
  AskSeeds(out);
  next_join_ = now + options_.join_retry;
}

std::string SeedAnswerText(const SeedStatus& s) {
  switch (s.answer) {
    case SeedStatus::Answer::kNone:
      return "no answer";
    case SeedStatus::Answer::kJoined:
      return "joined";
    case SeedStatus::Answer::kRefused:
      return "refused: " + s.reason;
    case SeedStatus::Answer::kSelf:
      return "this node";
  }
  return "?";
}

void Membership::AskSeeds(MembershipOutputs& out) {
  // Seeds that are up members need no asking. After a partition longer than permdown both sides
  // have forgotten each other, and only asking again joins them back into one cluster.
  std::set<std::string> up_names, up_endpoints;
  for (const auto& [name, p] : peers_) {
    if (!IsUp(p.m.claim.state)) continue;
    up_names.insert(name);
    up_endpoints.insert(p.m.claim.rpc_endpoint);
  }
  for (SeedStatus& seed : seeds_) {
    if (seed.answer == SeedStatus::Answer::kSelf) continue;
    if (up_endpoints.count(seed.endpoint)) continue;
    if (seed.answer == SeedStatus::Answer::kJoined && up_names.count(seed.node)) continue;
    seed.asked++;
    out.sends.emplace_back(seed.endpoint, JoinRequest{self_, seed.endpoint});
  }
}

SeedStatus* Membership::SeedOf(const JoinReply& rep) {
  for (SeedStatus& seed : seeds_)
    if (!rep.seed.empty() && seed.endpoint == rep.seed) return &seed;
  // A peer that does not echo the seed: its own claim's rpc endpoint may be how we named it.
  for (const MemberClaim& c : rep.members) {
    if (c.id != rep.from) continue;
    for (SeedStatus& seed : seeds_)
      if (seed.endpoint == c.rpc_endpoint) return &seed;
  }
  return nullptr;
}

bool Membership::alone() const {
  for (const auto& [name, p] : peers_)
    if (IsUp(p.m.claim.state)) return false;
  return true;
}

size_t Membership::UnansweredSeeds() const {
  size_t n = 0;
  for (const SeedStatus& seed : seeds_)
    n += seed.answer == SeedStatus::Answer::kNone || seed.answer == SeedStatus::Answer::kRefused;
  return n;
}

Membership::Peer* Membership::FindPeer(const NodeId& id) {
  auto it = peers_.find(id.name);
  if (it == peers_.end() || it->second.m.claim.id != id) return nullptr;
  return &it->second;
}

bool Membership::HeardWithin(const Peer& p, Time now, Duration d) const {
  return p.m.last_heard && now - *p.m.last_heard < d;
}

std::vector<MemberClaim> Membership::Claims() const {
  std::vector<MemberClaim> v;
  v.reserve(peers_.size() + 1);
  v.push_back(self_);
  for (const auto& [name, p] : peers_) v.push_back(p.m.claim);
  // Forgotten members too, as the verdict they had: a member that some node forgot while it
  // lived on the other side of a partition learns it and refutes, and is let back in.
  for (const auto& [name, t] : tombstones_) {
    if (t.gossip.id.name.empty()) continue;
    v.push_back(t.gossip);
  }
  return v;
}

Heartbeat Membership::MakeHeartbeat() {
  std::vector<MemberClaim> claims = Claims();
  const uint64_t digest = MemberDigest(claims);
  if (digest != pushed_digest_) {
    pushed_digest_ = digest;
    push_left_ = kPushHeartbeats;
  }
  Heartbeat hb{self_, {}, digest};
  if (push_left_ > 0) {
    push_left_--;
    hb.members = std::move(claims);
  }
  return hb;
}

void Membership::MergeTable(Time now, const NodeId& from, const std::vector<MemberClaim>& members,
                            MembershipOutputs& out) {
  accused_ = false;
  for (const MemberClaim& c : members) Merge(now, c, c.id == from, out);
  // The sender believes this node suspect or down, or forgot it, so it has not heard our
  // gossip, and may have stopped listening (forgot us): the refutation goes to it directly, as
  // a request to join. Found by the simulator: seed 35130 (a two-node cluster stayed split
  // after one forgot the other) and seed 183258 (an accusation older than our version, which
  // we had already bumped, refuted nothing, and the accuser never heard of us again).
  if (accused_) {
    if (Peer* p = FindPeer(from))
      out.sends.emplace_back(p->m.claim.rpc_endpoint, JoinRequest{self_});
  }
  accused_ = false;
}

void Membership::CompareDigest(Time now, const NodeId& peer, uint64_t digest,
                               MembershipOutputs& out) {
  Peer* p = FindPeer(peer);
  if (p == nullptr) return;
  if (digest == Digest()) {
    p->mismatches = 0;
    return;
  }
  if (++p->mismatches < kMismatchesBeforeSync) return;
  if (auto it = syncs_asked_.find(peer.name);
      it != syncs_asked_.end() && now - it->second < options_.sync_interval)
    return;
  if (last_sync_ask_ && now - *last_sync_ask_ < 2 * options_.gossip_interval) return;
  p->mismatches = 0;
  syncs_asked_[peer.name] = now;
  last_sync_ask_ = now;
  out.tally.syncs_asked++;
  out.sends.emplace_back(p->m.claim.rpc_endpoint, SyncRequest{self_, Digest()});
}

void Membership::OnSyncRequest(Time now, const SyncRequest& r, MembershipOutputs& out) {
  const std::string& asker = r.self.id.name;
  if (asker == self_.id.name || r.self.rpc_endpoint.empty()) return;
  // The asker may be a node that forgot us or that we forgot (a long partition healing): it is
  // answered at the endpoint it names, like a JoinRequest, but its claim is not merged here.
  auto last = syncs_answered_.find(asker);
  if (answers_this_interval_ >= kMaxSyncAnswersPerInterval ||
      (last != syncs_answered_.end() && now - last->second < options_.sync_interval / 2)) {
    out.tally.syncs_refused++;
    return;
  }
  answers_this_interval_++;
  syncs_answered_[asker] = now;
  out.tally.syncs_answered++;
  out.sends.emplace_back(r.self.rpc_endpoint, SyncReply{self_.id, Claims()});
}

void Membership::OnSyncReply(Time now, const SyncReply& r, MembershipOutputs& out) {
  // Only an answer to our own ask (within sync_interval) is merged: a table nobody asked for is a
  // stranger's input, not repair.
  auto asked = syncs_asked_.find(r.from.name);
  if (asked == syncs_asked_.end() || now - asked->second > options_.sync_interval) {
    out.tally.syncs_refused++;
    return;
  }
  syncs_asked_.erase(asked);  // the next ask waits for a fresh mismatch, not for sync_interval
  MergeTable(now, r.from, r.members, out);
}

void Membership::SetState(Time now, Peer& p, MemberState s, const char* why,
                          MembershipOutputs& out) {
  MemberState old = p.m.claim.state;
  if (old == s) return;
  p.m.claim.state = s;
  p.m.state_since = now;
  const NodeId& id = p.m.claim.id;
  using K = MembershipEvent::Kind;
  if (IsUp(old) && IsUp(s)) {
    out.events.push_back({s == MemberState::kSuspect ? K::kSuspect : K::kAlive, id, ""});
  } else if (IsUp(old)) {
    out.events.push_back({K::kDown, id, why});
  } else if (IsUp(s)) {  // back from dead (a refutation, or heard again)
    p.heard_from = std::max(p.heard_from, now);
    out.events.push_back({K::kUp, id, ""});
  }
  if (s != MemberState::kSuspect) {  // a probe only matters while suspect
    std::erase_if(probes_, [&](const auto& kv) { return kv.second.target == id; });
  }
}

void Membership::AddMember(Time now, const MemberClaim& c, MembershipOutputs& out) {
  Peer p;
  p.m.claim = c;
  p.m.state_since = now;
  p.heard_from = now;  // silence counts from when we learned of it
  auto [it, inserted] = peers_.emplace(c.id.name, std::move(p));
  (void)inserted;
  tombstones_.erase(c.id.name);
  // A seed met at its endpoint (it asked us first, or gossip named it) is answered for: without
  // this, a seed whose own answer was lost would count as unmet for as long as it is up, since
  // up members are not asked again.
  for (SeedStatus& seed : seeds_) {
    if (seed.answer == SeedStatus::Answer::kNone && seed.endpoint == c.rpc_endpoint) {
      seed.answer = SeedStatus::Answer::kJoined;
      seed.node = c.id.name;
    }
  }
  if (IsUp(c.state)) out.events.push_back({MembershipEvent::Kind::kUp, c.id, ""});
  // A dead member may be refuted later: listen to it until it is forgotten.
  if (c.state != MemberState::kLeft && !c.gossip_endpoint.empty())
    out.connect.push_back(c.gossip_endpoint);
  if (c.state == MemberState::kSuspect) StartProbe(now, it->second, out);
}

void Membership::Refute(const MemberClaim& c, MembershipOutputs& out) {
  self_.version = c.version + 1;
  out.broadcasts.push_back(MakeHeartbeat());
}

void Membership::Merge(Time now, const MemberClaim& c, bool direct, MembershipOutputs& out) {
  if (c.id.name == self_.id.name) {
    if (c.id == self_.id && c.state != MemberState::kAlive && !left_) {
      accused_ = true;
      if (c.version >= self_.version) Refute(c, out);
    }
    return;
  }
  if (auto t = tombstones_.find(c.id.name); t != tombstones_.end()) {
    const Tombstone& tomb = t->second;
    if (c.id.incarnation < tomb.incarnation) return;
    // Stale gossip about a forgotten member stays forgotten; its refutation, or the member
    // itself talking to us (a partition longer than permdown has healed), brings it back.
    if (c.id.incarnation == tomb.incarnation &&
        (tomb.final || (c.version <= tomb.version && !direct)))
      return;
    // Back from being forgotten: it likely forgot us too, and a version above any tombstone it
    // holds of us lets our claim through when our gossip reaches its side.
    if (c.id.incarnation == tomb.incarnation) self_.version++;
  }
  auto it = peers_.find(c.id.name);
  if (it == peers_.end()) {
    AddMember(now, c, out);
    return;
  }
  Peer& p = it->second;
  const MemberClaim cur = p.m.claim;
  if (c.id.incarnation < cur.id.incarnation) return;
  if (c.id.incarnation > cur.id.incarnation) {  // a restart: the old incarnation is gone for good
    if (IsUp(cur.state)) out.events.push_back({MembershipEvent::Kind::kDown, cur.id, "restarted"});
    if (cur.gossip_endpoint != c.gossip_endpoint && !cur.gossip_endpoint.empty())
      out.disconnect.push_back(cur.gossip_endpoint);
    if (cur.rpc_endpoint != c.rpc_endpoint && !cur.rpc_endpoint.empty())
      out.forget.push_back(cur.rpc_endpoint);
    std::erase_if(probes_, [&](const auto& kv) { return kv.second.target == cur.id; });
    peers_.erase(it);
    AddMember(now, c, out);
    return;
  }
  if (cur.state == MemberState::kLeft) return;  // final for this incarnation
  if (!Supersedes(c, cur)) return;
  const bool accusation = c.state == MemberState::kSuspect || c.state == MemberState::kDead;
  // Direct evidence wins: heard within suspect_after, or (after a pause of this node, or just
  // learned of) not yet silent for suspect_after by our own clock. Found by the simulator (seed
  // 160873): a node resuming from a pause adopted a death gossiped before the heal, from a
  // heartbeat queued ahead of the victim's own.
  if (accusation && now - p.heard_from < options_.suspect_after) return;
  p.m.claim.version = c.version;
  p.m.claim.gossip_endpoint = c.gossip_endpoint;
  p.m.claim.rpc_endpoint = c.rpc_endpoint;
  if (c.state == MemberState::kSuspect && cur.state == MemberState::kAlive) {
    SetState(now, p, MemberState::kSuspect, "", out);
    StartProbe(now, p, out);
  } else {
    SetState(now, p, c.state, MemberStateName(c.state), out);
  }
}

void Membership::HeardDirectly(Time now, Peer& p, MembershipOutputs& out) {
  p.m.last_heard = now;
  p.m.disconnected = false;
  p.reprobe_at.reset();
  p.heard_from = std::max(p.heard_from, now);
  if (p.m.claim.state == MemberState::kSuspect || p.m.claim.state == MemberState::kDead)
    SetState(now, p, MemberState::kAlive, "", out);
}

void Membership::NoteActivity(Time now) {
  // Inputs come at least every gossip_interval while joined; a longer gap means this process did
  // not run (paused, starved). The peers were not silent, we were deaf: restart their clocks.
  if (last_tick_ && joined_) {
    Duration stall = std::min<Duration>(2 * options_.gossip_interval, options_.suspect_after / 2);
    if (now - *last_tick_ > stall) {
      for (auto& [name, p] : peers_) p.heard_from = std::max(p.heard_from, now);
      // Found by the simulator (seed 6215): a probe pending across the pause expired at once,
      // before the replies and heartbeats queued meanwhile were read.
      for (auto& [id, probe] : probes_)
        probe.deadline = std::max(probe.deadline, now + options_.probe_timeout);
    }
  }
  if (!last_tick_ || now > *last_tick_) last_tick_ = now;
}

void Membership::OnMessage(Time now, const MembershipMessage& m, MembershipOutputs& out) {
  if (!started_ || refused_ || left_) return;
  NoteActivity(now);
  if (auto* hb = std::get_if<Heartbeat>(&m)) {
    if (!joined_) return;
    Merge(now, hb->self, true, out);
    if (Peer* p = FindPeer(hb->self.id)) HeardDirectly(now, *p, out);
    accused_ = false;
    for (const MemberClaim& c : hb->members) Merge(now, c, false, out);
    // See MergeTable.
    if (accused_) out.sends.emplace_back(hb->self.rpc_endpoint, JoinRequest{self_});
    accused_ = false;
    if (hb->digest != 0) CompareDigest(now, hb->self.id, hb->digest, out);
  } else if (auto* sr = std::get_if<SyncRequest>(&m)) {
    if (joined_) OnSyncRequest(now, *sr, out);
  } else if (auto* sp = std::get_if<SyncReply>(&m)) {
    if (joined_) OnSyncReply(now, *sp, out);
  } else if (auto* jr = std::get_if<JoinRequest>(&m)) {
    if (!joined_) return;
    const NodeId& who = jr->self.id;
    if (who == self_.id) {  // our own request: the seed list names this node under another name
      for (SeedStatus& seed : seeds_)
        if (seed.endpoint == jr->seed) seed.answer = SeedStatus::Answer::kSelf;
      return;
    }
    std::string reason;
    if (who.name == self_.id.name) {
      reason = "name '" + who.name + "' is in use by a live node";
    } else if (auto it = peers_.find(who.name); it != peers_.end()) {
      const Peer& p = it->second;
      if (who.incarnation < p.m.claim.id.incarnation) {
        reason = "a newer incarnation of '" + who.name + "' is known";
      } else if (who.incarnation != p.m.claim.id.incarnation && IsUp(p.m.claim.state) &&
                 HeardWithin(p, now, options_.suspect_after) && !p.m.disconnected &&
                 !SameEndpoints(jr->self, p.m.claim)) {
        // Same endpoints: the old process cannot still hold them, so this is its restart,
        // faster than our failure detection.
        reason = "name '" + who.name + "' is in use by a live node";
      }
    }
    if (!reason.empty()) {
      out.sends.emplace_back(jr->self.rpc_endpoint,
                             JoinReply{self_.id, false, reason, {}, jr->seed});
      return;
    }
    Merge(now, jr->self, true, out);
    if (Peer* p = FindPeer(who)) HeardDirectly(now, *p, out);
    out.sends.emplace_back(jr->self.rpc_endpoint,
                           JoinReply{self_.id, true, "", Claims(), jr->seed});
  } else if (auto* rep = std::get_if<JoinReply>(&m)) {
    if (!joined_) return;
    SeedStatus* seed = SeedOf(*rep);
    if (!rep->accepted) {
      if (seed) {
        seed->answer = SeedStatus::Answer::kRefused;
        seed->reason = rep->reason;
      }
      // Alone, this node is the newcomer: a live node holds its name, so it stops. Part of a
      // cluster already, it is not the one to go (another seed's cluster took it in first).
      if (alone()) {
        refused_ = true;
        joined_ = false;
        out.events.push_back({MembershipEvent::Kind::kJoinRefused, self_.id, rep->reason});
      }
      return;
    }
    if (seed) {
      seed->answer = SeedStatus::Answer::kJoined;
      seed->node = rep->from.name;
      seed->reason.clear();
    }
    const bool was_alone = alone();
    for (const MemberClaim& c : rep->members) Merge(now, c, c.id == rep->from, out);
    if (Peer* p = FindPeer(rep->from)) HeardDirectly(now, *p, out);
    // Tell the members just met about this node at once rather than at the next heartbeat.
    if (was_alone) out.broadcasts.push_back(MakeHeartbeat());
  } else if (auto* pr = std::get_if<ProbeRequest>(&m)) {
    auto asker = peers_.find(pr->from.name);
    if (asker == peers_.end()) return;  // no endpoint to answer to
    bool heard = false;
    if (Peer* t = FindPeer(pr->target))
      heard = !t->m.disconnected && HeardWithin(*t, now, options_.suspect_after);
    out.sends.emplace_back(asker->second.m.claim.rpc_endpoint,
                           ProbeReply{self_.id, pr->target, pr->probe_id, heard});
  } else if (auto* pr = std::get_if<ProbeReply>(&m)) {
    auto it = probes_.find(pr->probe_id);
    if (it == probes_.end() || it->second.target != pr->target) return;
    if (pr->heard) {
      probes_.erase(it);
      Peer* p = FindPeer(pr->target);
      if (p == nullptr || p->m.claim.state != MemberState::kSuspect) return;
      if (p->m.disconnected) {
        // The helper heard it within suspect_after, but perhaps only before the crash that cut
        // our link, news of which may not have reached the helper yet. Ask again shortly: a live
        // peer is heard directly again (its link reconnects) and a dead one gets "not heard".
        p->reprobe_at = now + options_.gossip_interval / 10;
        return;
      }
      SetState(now, *p, MemberState::kAlive, "", out);
      return;
    }
    it->second.waiting.erase(pr->from.name);
    if (it->second.waiting.empty()) FinishProbe(now, pr->probe_id, out);
  } else if (auto* ln = std::get_if<LeaveNotice>(&m)) {
    if (Peer* p = FindPeer(ln->from)) SetState(now, *p, MemberState::kLeft, "left", out);
  }
}

void Membership::OnDisconnect(Time now, const NodeId& node, MembershipOutputs& out) {
  if (!joined_ || left_) return;
  NoteActivity(now);
  Peer* p = FindPeer(node);
  if (!p || !IsUp(p->m.claim.state)) return;
  p->m.disconnected = true;
  Suspect(now, *p, out);
}

void Membership::Suspect(Time now, Peer& p, MembershipOutputs& out) {
  if (p.m.claim.state == MemberState::kAlive) SetState(now, p, MemberState::kSuspect, "", out);
  StartProbe(now, p, out);
}

void Membership::StartProbe(Time now, Peer& p, MembershipOutputs& out) {
  const NodeId target = p.m.claim.id;
  for (const auto& [id, probe] : probes_)
    if (probe.target == target) return;  // one at a time
  std::vector<const Peer*> helpers;
  for (const auto& [name, q] : peers_)
    if (q.m.claim.state == MemberState::kAlive && name != target.name) helpers.push_back(&q);
  std::shuffle(helpers.begin(), helpers.end(), rng_);
  if (helpers.size() > static_cast<size_t>(std::max(0, options_.indirect_probes)))
    helpers.resize(static_cast<size_t>(std::max(0, options_.indirect_probes)));
  uint64_t id = next_probe_id_++;
  Probe& probe = probes_[id];
  probe.target = target;
  probe.deadline = now + options_.probe_timeout;
  for (const Peer* h : helpers) {
    probe.waiting.insert(h->m.claim.id.name);
    out.sends.emplace_back(h->m.claim.rpc_endpoint, ProbeRequest{self_.id, target, id});
  }
  // Nobody to ask (the others are suspect too, or there are none): no evidence either way, so
  // wait out probe_timeout for the peer itself, rather than conclude at once. Found by the
  // simulator (seed 51325): a node resuming from a pause handled its queued disconnects before
  // the heartbeats queued after them and declared a healthy peer dead.
}

void Membership::FinishProbe(Time now, uint64_t probe_id, MembershipOutputs& out) {
  auto it = probes_.find(probe_id);
  if (it == probes_.end()) return;
  NodeId target = it->second.target;
  probes_.erase(it);
  Peer* p = FindPeer(target);
  // Nobody hears it and its transport is gone: a crash, no need to wait for dead_after.
  if (p && p->m.claim.state == MemberState::kSuspect && p->m.disconnected)
    SetState(now, *p, MemberState::kDead, "dead", out);
}

void Membership::Tick(Time now, MembershipOutputs& out) {
  if (!started_ || refused_ || left_) return;
  NoteActivity(now);
  if (!joined_) return;
  std::vector<uint64_t> expired;
  for (const auto& [id, probe] : probes_)
    if (probe.deadline <= now) expired.push_back(id);
  for (uint64_t id : expired) FinishProbe(now, id, out);

  for (auto it = peers_.begin(); it != peers_.end();) {
    Peer& p = it->second;
    const MemberState s = p.m.claim.state;
    const Duration silent = now - p.heard_from;
    if (IsUp(s) && silent >= options_.dead_after) {
      SetState(now, p, MemberState::kDead, "dead", out);
    } else if (s == MemberState::kSuspect && p.reprobe_at && now >= *p.reprobe_at) {
      p.reprobe_at.reset();
      StartProbe(now, p, out);
    } else if (s == MemberState::kAlive && silent >= options_.suspect_after &&
               now - p.m.state_since >= options_.suspect_after) {
      Suspect(now, p, out);
    } else if (!IsUp(s) && now - p.m.state_since >= options_.permdown) {
      out.events.push_back({MembershipEvent::Kind::kForgotten, p.m.claim.id, ""});
      if (!p.m.claim.gossip_endpoint.empty()) out.disconnect.push_back(p.m.claim.gossip_endpoint);
      if (!p.m.claim.rpc_endpoint.empty()) out.forget.push_back(p.m.claim.rpc_endpoint);
      tombstones_[it->first] = Tombstone{p.m.claim.id.incarnation, p.m.claim.version,
                                         s == MemberState::kLeft, p.m.claim, now};
      it = peers_.erase(it);
      continue;
    }
    ++it;
  }
  PruneTombstones(now);
  if (now >= next_heartbeat_) {
    out.broadcasts.push_back(MakeHeartbeat());
    next_heartbeat_ = now + options_.gossip_interval;
    answers_this_interval_ = 0;
    std::erase_if(syncs_asked_,
                  [&](const auto& kv) { return now - kv.second > options_.sync_interval; });
    std::erase_if(syncs_answered_,
                  [&](const auto& kv) { return now - kv.second > options_.sync_interval; });
  }
  if (now >= next_join_) {
    AskSeeds(out);
    next_join_ = now + options_.join_retry;
  }
}

void Membership::PruneTombstones(Time now) {
  (void)now;
  while (tombstones_.size() > kMaxTombstones) {
    auto oldest = std::min_element(
        tombstones_.begin(), tombstones_.end(),
        [](const auto& a, const auto& b) { return a.second.since < b.second.since; });
    tombstones_.erase(oldest);
  }
}

Time Membership::NextDeadline() const {
  if (!started_ || refused_ || left_) return Time::max();
  Time t = std::min(next_heartbeat_, next_join_);
  for (const auto& [id, probe] : probes_) t = std::min(t, probe.deadline);
  for (const auto& [name, p] : peers_) {
    switch (p.m.claim.state) {
      case MemberState::kAlive:
        t = std::min(t, std::max(p.heard_from, p.m.state_since) + options_.suspect_after);
        t = std::min(t, p.heard_from + options_.dead_after);
        break;
      case MemberState::kSuspect:
        t = std::min(t, p.heard_from + options_.dead_after);
        if (p.reprobe_at) t = std::min(t, *p.reprobe_at);
        break;
      default:
        t = std::min(t, p.m.state_since + options_.permdown);
        break;
    }
  }
  return t;
}

void Membership::Leave(Time now, MembershipOutputs& out) {
  (void)now;
  if (!started_ || left_) return;
  left_ = true;
  if (!joined_) return;
  self_.state = MemberState::kLeft;
  out.broadcasts.push_back(LeaveNotice{self_.id});
  out.broadcasts.push_back(MakeHeartbeat());
}

std::vector<Membership::Member> Membership::Members() const {
  std::vector<Member> v;
  Member me;
  me.claim = self_;
  v.push_back(me);
  for (const auto& [name, p] : peers_) v.push_back(p.m);
  std::sort(v.begin(), v.end(),
            [](const Member& a, const Member& b) { return a.claim.id.name < b.claim.id.name; });
  return v;
}

std::vector<NodeId> Membership::Alive() const {
  std::vector<NodeId> v;
  if (joined_ && !left_) v.push_back(self_.id);
  for (const auto& [name, p] : peers_)
    if (IsUp(p.m.claim.state)) v.push_back(p.m.claim.id);
  std::sort(v.begin(), v.end());
  return v;
}

bool Membership::IsAlive(const NodeId& node) const {
  if (node == self_.id) return joined_ && !left_;
  auto it = peers_.find(node.name);
  return it != peers_.end() && it->second.m.claim.id == node && IsUp(it->second.m.claim.state);
}

std::optional<Membership::Member> Membership::Find(const std::string& name) const {
  if (name == self_.id.name) {
    Member me;
    me.claim = self_;
    return me;
  }
  auto it = peers_.find(name);
  if (it == peers_.end()) return std::nullopt;
  return it->second.m;
}

}  // namespace livepoll::core
