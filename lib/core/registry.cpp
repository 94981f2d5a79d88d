#include "core/registry.h"

#include <algorithm>
#include <random>
#include <tuple>

#include "core/placement.h"
#include "core/replicated_set_impl.h"

namespace livepoll::core {

template class ReplicatedSet<ClaimEntry>;

namespace {

// The tie-break of proposals and the `oldest` policy: the lower (epoch, node name) wins. Never
// wall-clock time.
bool Wins(uint64_t epoch, const std::string& name, uint64_t other_epoch,
          const std::string& other_name) {
  return std::tie(epoch, name) < std::tie(other_epoch, other_name);
}

std::string Describe(const Claim& c) {
  return c.owner.ToString() + " epoch " + std::to_string(c.epoch);
}

// Claims are replicated like presence, except that a member coming back is not believed until
// its transfer says what it holds now: it may have released claims while it was unreachable.
ReplicaOptions ClaimsOptions(ReplicaOptions o) {
  o.show_comeback_after_transfer = true;
  return o;
}

}  // namespace

const NodeId& SenderOf(const RegistryMessage& m) {
  if (const auto* p = std::get_if<RegistryPropose>(&m)) return p->from;
  if (const auto* v = std::get_if<RegistryVote>(&m)) return v->from;
  return SenderOf(std::get<ClaimsMessage>(m).m);
}

struct Registry::Impl {
  struct Proposal {
    uint64_t id = 0;
    uint64_t epoch = 0;
    std::map<std::string, NodeId> waiting;     // asked, not answered yet (by name)
    std::map<std::string, NodeId> granted_by;  // answered with a grant
    std::set<std::string> reasked;             // asked again soon after naming a down owner
    Time resend_at{};
  };
  struct Grant {  // the proposal this node granted last, binding for propose_timeout
    NodeId proposer;
    uint64_t epoch = 0;
    Time at{};
  };
  struct TopicState {
    std::optional<Time> empty_since;      // presence showed no subscriber anywhere since
    std::optional<Time> ownerless_since;  // subscribers but no visible claim since
    std::optional<Proposal> proposal;     // this node's, pending
    std::optional<Grant> grant;
    Time retry_at{};                      // no new proposal before (after a denial)
    bool clash = false;                   // a clash is in view and was reported
    Time clash_since{};                   // when `clash` became true
    Time notice_at{};                     // no epoch notice to the owner before
    std::optional<Time> wake;             // this topic's entry in `wakeups`
  };
  // Kept for the process's life, so that epochs only grow even across a teardown: the highest
  // epoch of a claim heard of (visible or hidden, own included, from a vote or a notice too).
  // Proposals do not count: concurrent proposers then take the same epoch and the name alone
  // decides; found by the simulator (seed 740), where proposers taking every epoch seen plus
  // one each lost to the grants their rivals' older, lower proposals had left behind, forever.
  struct Epochs {
    uint64_t claimed = 0;
    // The owners of the claims seen at `claimed` (an empty NodeId: not named, by a vote or a
    // notice). Two owners can hold one epoch (both sides of a partition registered it): then
    // the epoch does not name one stream, and the survivor takes a new one (Superseded).
    std::set<NodeId> claimants;
    void Note(uint64_t epoch, const NodeId& owner) {
      if (epoch > claimed) {
        claimed = epoch;
        claimants.clear();
      }
      // An unnamed claimant (a vote or notice naming none) says only that the epoch exists: it
      // must not count as a second owner at it, or the owner holding that very epoch would take
      // a new one at every notice (found by tests/bench/registry_run.sh: epochs climbing every
      // propose_retry after a heal).
      if (epoch == claimed && epoch > 0 && !owner.name.empty()) claimants.insert(owner);
    }
    // A claim of `owner` at `epoch` is below one seen, or shares its epoch with another's: its
    // owner must re-epoch above every epoch seen.
    bool Superseded(const NodeId& owner, uint64_t epoch) const {
      if (epoch < claimed) return true;
      if (epoch > claimed) return false;
      for (const NodeId& c : claimants)
        if (c != owner) return true;
      return false;
    }
    // Another claimant at `claimed` than `owner` (empty if none is named), for an epoch notice.
    NodeId Other(const NodeId& owner) const {
      for (const NodeId& c : claimants)
        if (c != owner) return c;
      return NodeId{};
    }
  };

  Impl(const Membership& m, const Presence& p, RegistryOptions o)
      : membership(m),
        presence(p),
        options(std::move(o)),
        claims(m.self(), ClaimsOptions(options.claims)),
        rng(options.seed) {}

  const NodeId& self() const { return membership.self(); }

  // ---- the claims replica ----
  std::vector<Claim> ClaimsOf(const std::string& topic) const {
    std::vector<Claim> v;
    for (const Held<ClaimEntry>& h : claims.EntriesOfTopic(topic))
      v.push_back(Claim{topic, h.origin, h.entry.epoch, h.visible});
    return v;
  }
  std::vector<Claim> Visible(const std::string& topic) const {
    std::vector<Claim> v = ClaimsOf(topic);
    std::erase_if(v, [](const Claim& c) { return !c.visible; });
    return v;
  }
  std::optional<uint64_t> OwnEpoch(const std::string& topic) const {
    for (const ClaimEntry& e : claims.EntriesOf(self()))
      if (e.topic == topic) return e.epoch;
    return std::nullopt;
  }
  // The claim `policy` keeps among `visible` (two or more, or one); `manual` chooses as `oldest`.
  static Claim Winner(const std::string& topic, const std::vector<Claim>& visible,
                      ClashPolicy policy) {
    if (policy == ClashPolicy::kHashed) {
      std::vector<std::string> names;
      for (const Claim& c : visible) names.push_back(c.owner.name);
      const std::string first = RendezvousOrder(topic, names).front();
      for (const Claim& c : visible)
        if (c.owner.name == first) return c;
    }
    return *std::min_element(visible.begin(), visible.end(), [](const Claim& a, const Claim& b) {
      return Wins(a.epoch, a.owner.name, b.epoch, b.owner.name);
    });
  }
  // Wraps what the claims replica says into registry outputs; every topic it changed may have a
  // new Owner().
  std::set<std::string> Carry(ReplicaOutputs<ClaimEntry>& po, RegistryOutputs& out) {
    for (ClaimMessage& m : po.broadcasts) out.broadcasts.emplace_back(ClaimsMessage{m});
    for (auto& [to, m] : po.sends) out.sends.emplace_back(to, ClaimsMessage{m});
    out.owners_changed.insert(po.changed.begin(), po.changed.end());
    return std::move(po.changed);
  }

  // Every claim a message speaks of existed with its epoch, whether or not the claims replica
  // can apply the message (a delta after a gap is not): the epoch is remembered.
  void NoteEpochs(const ClaimMessage& m) {
    auto note = [&](const ClaimEntry& c, const NodeId& origin) {
      epochs[c.topic].Note(c.epoch, origin);
    };
    if (const auto* d = std::get_if<ClaimDelta>(&m)) {
      for (const ClaimEntry& c : d->joins) note(c, d->origin);
      for (const ClaimEntry& c : d->leaves) note(c, d->origin);
    } else if (const auto* t = std::get_if<ClaimTransfer>(&m)) {
      for (const ClaimEntry& c : t->entries) note(c, t->origin);
    }
  }

  // ---- membership ----
  bool HasMajority() const {
    size_t known = 0, up = 0;
    for (const Membership::Member& m : membership.Members()) {
      if (m.claim.state == MemberState::kLeft) continue;
      ++known;
      if (membership.IsAlive(m.claim.id)) ++up;
    }
    return 2 * up > known;
  }
  bool MayOwn() const {
    return options.partition == PartitionMode::kAvailable || HasMajority();
  }
  // This node's place among the candidates for `topic`, nullopt when it is not one.
  std::optional<size_t> Rank(const std::string& topic) const {
    std::vector<std::string> names;
    std::map<std::string, size_t> local;
    if (options.placement == Placement::kLocal) local = presence.SubscribersByNode(topic);
    for (const NodeId& id : membership.Alive())
      if (options.placement == Placement::kHashed || local.count(id.name)) names.push_back(id.name);
    std::vector<std::string> order = RendezvousOrder(topic, std::move(names));
    auto it = std::find(order.begin(), order.end(), self().name);
    if (it == order.end()) return std::nullopt;
    return static_cast<size_t>(it - order.begin());
  }

  // ---- topics ----
  std::set<std::string> AllTopics() const {
    std::set<std::string> all = claims.HeldTopics();
    for (const auto& [topic, t] : topics) all.insert(topic);
    for (const std::string& topic : presence.Topics()) all.insert(topic);
    for (const auto& [topic, epoch] : running) all.insert(topic);
    return all;
  }
  void ExamineAll(Time now, RegistryOutputs& out) {
    for (const std::string& topic : AllTopics()) Examine(now, topic, out);
  }
  void Schedule(const std::string& topic, TopicState& t, std::optional<Time> when) {
    if (t.wake == when) return;
    if (t.wake) wakeups.erase({*t.wake, topic});
    t.wake = when;
    if (when) wakeups.insert({*when, topic});
  }
  Duration Jittered(Duration d) {
    std::uniform_int_distribution<int64_t> pick(d.count() / 2, d.count() * 3 / 2);
    return Duration(pick(rng));
  }

  // Everything about one topic that depends on the state alone, idempotent: the timers, clash
  // resolution, re-epoch, teardown, placement and proposal resends. Every input that may change
  // a topic's state ends here.
  void Examine(Time now, const std::string& topic, RegistryOutputs& out) {
    TopicState& t = topics[topic];
    Epochs& e = epochs[topic];
    const size_t subscribers = presence.SubscriberCount(topic);
    std::vector<Claim> visible;
    std::optional<uint64_t> own;
    for (const Claim& c : ClaimsOf(topic)) {
      e.Note(c.epoch, c.owner);
      if (c.visible) visible.push_back(c);
      if (c.owner == self()) own = c.epoch;
    }
    if (t.grant && now >= t.grant->at + options.propose_timeout) t.grant.reset();

    if (subscribers > 0) {
      t.empty_since.reset();
    } else if (!t.empty_since) {
      t.empty_since = now;
    }
    const bool clash = visible.size() >= 2;
    if (clash && !t.clash) {
      std::string who;
      for (const Claim& c : visible) who += (who.empty() ? "" : ", ") + Describe(c);
      out.events.push_back({RegistryEvent::Kind::kClash, topic, who});
      t.clash_since = now;
    } else if (!clash && t.clash) {
      out.events.push_back({RegistryEvent::Kind::kClashResolved, topic,
                            visible.empty() ? "no owner left" : "kept " + Describe(visible[0])});
    }
    t.clash = clash;

    if (own) {
      const char* release = nullptr;
      if (t.empty_since && now >= *t.empty_since + options.linger) {
        release = "teardown";
      } else if (clash && options.clash_policy != ClashPolicy::kManual &&
                 Winner(topic, visible, options.clash_policy).owner != self()) {
        release = "clash";
      }
      if (release) {
        Release(now, topic, *own, release, false, out);
        std::erase_if(visible, [&](const Claim& c) { return c.owner == self(); });
        own.reset();
      } else if (visible.size() == 1 && e.Superseded(self(), *own)) {
        ReEpoch(now, topic, *own, out);
      }
    }

    const bool ownerless = subscribers > 0 && visible.empty();
    if (!ownerless) {
      t.ownerless_since.reset();
      t.proposal.reset();  // someone owns it now, or nobody needs it: nothing to register
    } else if (!t.ownerless_since) {
      t.ownerless_since = now;
    }
    if (t.proposal && !MayOwn()) t.proposal.reset();

    std::optional<Time> wake;
    auto wake_at = [&](Time at) { wake = wake ? std::min(*wake, at) : at; };
    if (visible.size() == 1 && visible[0].owner != self() &&
        e.Superseded(visible[0].owner, visible[0].epoch)) {
      if (now >= t.notice_at) {
        out.sends.emplace_back(visible[0].owner, RegistryVote{self(), 0, topic, false,
                                                              e.Other(visible[0].owner), e.claimed});
        t.notice_at = now + options.propose_retry;
      }
      wake_at(t.notice_at);
    }
    const bool deferring = t.grant.has_value();  // granted to another, live (expired: reset)
    if (t.proposal) {
      if (now >= t.proposal->resend_at) Resend(now, topic, *t.proposal, out);
      wake_at(t.proposal->resend_at);
    } else if (ownerless && MayOwn() && deferring) {
      wake_at(t.grant->at + options.propose_timeout);
    } else if (ownerless && MayOwn()) {
      if (std::optional<size_t> rank = Rank(topic)) {
        const Time due = std::max(t.retry_at, *t.ownerless_since +
                                                  static_cast<int64_t>(*rank) *
                                                      options.takeover_timeout);
        if (now >= due) {
          Propose(now, topic, t, out);
          if (t.proposal) wake_at(t.proposal->resend_at);
        } else {
          wake_at(due);
        }
      }
    }
    if (own && t.empty_since) wake_at(*t.empty_since + options.linger);
    Schedule(topic, t, wake);

    // Nothing left to remember but the epochs: forget the topic.
    if (subscribers == 0 && !t.proposal && !t.grant && !t.wake &&
        claims.EntriesOfTopic(topic).empty() && !running.count(topic))
      topics.erase(topic);
  }

  // ---- registration ----
  void Propose(Time now, const std::string& topic, TopicState& t, RegistryOutputs& out) {
    Epochs& e = epochs[topic];
    Proposal p;
    p.id = next_proposal_id++;
    p.epoch = e.claimed + 1;
    for (const NodeId& id : membership.Alive())
      if (id != self()) p.waiting[id.name] = id;
    p.resend_at = now;  // Resend sends now
    t.proposal = std::move(p);
    Resend(now, topic, *t.proposal, out);
    if (t.proposal->waiting.empty()) Decide(now, topic, t, out);  // a cluster of one
  }

  void Resend(Time now, const std::string& topic, Proposal& p, RegistryOutputs& out) {
    for (const auto& [name, id] : p.waiting)
      out.sends.emplace_back(id, RegistryPropose{self(), p.id, topic, p.epoch});
    p.resend_at = now + options.propose_retry;
  }

  // Every voter answered with a grant (or went down): commit, unless it is moot by now.
  void Decide(Time now, const std::string& topic, TopicState& t, RegistryOutputs& out) {
    const uint64_t epoch = t.proposal->epoch;
    t.proposal.reset();
    if (presence.SubscriberCount(topic) == 0 || !Visible(topic).empty() || !MayOwn()) return;
    std::vector<Claim> replaced = ClaimsOf(topic);  // all hidden: their owners are down
    ReplicaOutputs<ClaimEntry> po;
    claims.Join(now, ClaimEntry{topic, epoch}, po);
    Carry(po, out);
    epochs[topic].Note(epoch, self());
    t.ownerless_since.reset();
    out.start.push_back({topic, epoch});
    running[topic] = epoch;
    out.events.push_back(
        {RegistryEvent::Kind::kRegistered, topic, "epoch " + std::to_string(epoch)});
    for (const Claim& c : replaced)
      out.events.push_back({RegistryEvent::Kind::kTakeover, topic, Describe(c)});
  }

  void Abandon(Time now, TopicState& t) {
    t.proposal.reset();
    t.retry_at = now + Jittered(options.propose_retry);
  }

  void OnPropose(Time now, const RegistryPropose& p, RegistryOutputs& out) {
    TopicState& t = topics[p.topic];
    Epochs& e = epochs[p.topic];
    RegistryVote v{self(), p.proposal_id, p.topic, false, {}, 0};
    std::vector<Claim> others = Visible(p.topic);
    std::erase_if(others, [&](const Claim& c) { return c.owner == p.from; });
    if (!others.empty()) {
      const Claim owner = Winner(p.topic, others, options.clash_policy);
      v.owner = owner.owner;
      v.owner_epoch = owner.epoch;
    } else if (p.epoch <= e.claimed) {
      // An owner with this epoch or a higher one existed: granting would let epochs go back.
      v.owner_epoch = e.claimed;
    } else if (t.proposal && Wins(t.proposal->epoch, self().name, p.epoch, p.from.name)) {
      // This node's own proposal wins.
    } else if (t.grant && t.grant->proposer != p.from && now < t.grant->at + options.propose_timeout &&
               Wins(t.grant->epoch, t.grant->proposer.name, p.epoch, p.from.name)) {
      // A proposal granted a moment ago wins.
    } else {
      if (t.proposal) Abandon(now, t);  // `p` wins against it
      t.grant = Grant{p.from, p.epoch, now};
      v.granted = true;
    }
    out.sends.emplace_back(p.from, std::move(v));
    Examine(now, p.topic, out);  // reschedules after an abandon
  }

  void OnVote(Time now, const RegistryVote& v, RegistryOutputs& out) {
    if (v.proposal_id == 0) {  // an epoch notice (`owner`: another claimant, if named)
      epochs[v.topic].Note(v.owner_epoch, v.owner);
      Examine(now, v.topic, out);
      return;
    }
    auto it = topics.find(v.topic);
    if (it == topics.end() || !it->second.proposal || it->second.proposal->id != v.proposal_id)
      return;  // an answer to a proposal that is over (or a duplicate)
    TopicState& t = it->second;
    Proposal& p = *t.proposal;
    auto w = p.waiting.find(v.from.name);
    if (w == p.waiting.end() || w->second != v.from) return;
    epochs[v.topic].Note(v.owner_epoch, v.owner);  // a denial names an owner's epoch
    if (v.granted) {
      p.granted_by[w->first] = w->second;
      p.waiting.erase(w);
      if (p.waiting.empty()) Decide(now, v.topic, t, out);
    } else if (!v.owner.name.empty() && !membership.IsAlive(v.owner)) {
      // The voter names an owner this node knows is down: it has not ruled on the death yet
      // (every survivor sees the crash within milliseconds, not at once). Ask it again soon, once,
      // then every propose_retry, instead of giving up: the takeover is not delayed by a retry.
      const bool first = p.reasked.insert(v.from.name).second;
      p.resend_at =
          std::min(p.resend_at, now + (first ? options.propose_retry / 10 : options.propose_retry));
    } else {
      std::string why = !v.owner.name.empty()
                            ? "owner " + v.owner.ToString() + " epoch " +
                                  std::to_string(v.owner_epoch)
                        : v.owner_epoch > 0
                            ? "epoch " + std::to_string(p.epoch) + " not above " +
                                  std::to_string(v.owner_epoch)
                            : "a competing proposal wins";
      out.events.push_back(
          {RegistryEvent::Kind::kDenied, v.topic, "by " + v.from.ToString() + ": " + why});
      Abandon(now, t);
    }
    Examine(now, v.topic, out);
  }

  // ---- giving up a claim ----
  void Release(Time now, const std::string& topic, uint64_t epoch, const char* why, bool stale,
               RegistryOutputs& out) {
    ReplicaOutputs<ClaimEntry> po;
    claims.Leave(now, ClaimEntry{topic, epoch}, po);
    Carry(po, out);
    out.stop.push_back({topic, why, stale});
    running.erase(topic);
    out.events.push_back({RegistryEvent::Kind::kReleased, topic, why});
  }

  // The sole visible claimant with an epoch below one seen: a claim above every epoch seen, in
  // one delta with the release of the old one, so no node ever sees the topic ownerless here.
  void ReEpoch(Time now, const std::string& topic, uint64_t old, RegistryOutputs& out) {
    Epochs& e = epochs[topic];
    const uint64_t epoch = e.claimed + 1;
    e.Note(epoch, self());
    ReplicaOutputs<ClaimEntry> po;
    claims.Change(now, {ClaimEntry{topic, epoch}}, {ClaimEntry{topic, old}}, po);
    Carry(po, out);
    out.start.push_back({topic, epoch});
    running[topic] = epoch;
    out.events.push_back({RegistryEvent::Kind::kRegistered, topic,
                          "epoch " + std::to_string(epoch) + " (re-epoch from " +
                              std::to_string(old) + ")"});
  }

  // In `majority` mode: on losing the majority, every claim released and every poller stopped.
  void CheckMajority(Time now, RegistryOutputs& out) {
    if (options.partition != PartitionMode::kMajority || HasMajority()) return;
    for (const ClaimEntry& c : claims.EntriesOf(self()))
      Release(now, c.topic, c.epoch, "majority-lost", true, out);
    for (const auto& [topic, epoch] : running) out.stop.push_back({topic, "majority-lost", true});
    running.clear();
  }

  // ---- self-reaping ----
  void Reaped(const std::string& topic, const char* why, RegistryOutputs& out) {
    out.events.push_back({RegistryEvent::Kind::kReaped, topic, why});
  }

  // Runs before the topics are re-examined, so that a teardown the node was too late for (its
  // loop stalled past linger + reap_margin) is counted as the idle zombie it was.
  void Sweep(Time now, RegistryOutputs& out) {
    const Duration idle_after = options.linger + options.reap_margin;
    auto idle = [&](const std::string& topic) {
      auto it = topics.find(topic);
      return presence.SubscriberCount(topic) == 0 && it != topics.end() &&
             it->second.empty_since && now >= *it->second.empty_since + idle_after;
    };
    std::map<std::string, uint64_t> own;
    for (const ClaimEntry& c : claims.EntriesOf(self())) {
      if (idle(c.topic)) {
        Release(now, c.topic, c.epoch, "idle", false, out);
        Reaped(c.topic, "idle", out);
      } else {
        own[c.topic] = c.epoch;
      }
    }
    for (auto it = running.begin(); it != running.end();) {
      auto claim = own.find(it->first);
      if (claim != own.end() && claim->second == it->second) {
        ++it;
        continue;
      }
      out.stop.push_back({it->first, "orphan", false});
      Reaped(it->first, "orphan", out);
      it = running.erase(it);
    }
    // An own claim without its poller (the runtime lost it, or an orphan was just stopped):
    // started again, since the claim tells every node this one polls.
    for (const auto& [topic, epoch] : own) {
      if (running.count(topic)) continue;
      out.start.push_back({topic, epoch});
      running[topic] = epoch;
    }
    for (const std::string& topic : claims.HeldTopics()) {
      if (!idle(topic)) continue;
      for (const Held<ClaimEntry>& h : claims.EntriesOfTopic(topic)) {
        if (h.visible) continue;
        ReplicaOutputs<ClaimEntry> po;
        if (claims.DropHidden(h.origin, h.entry, po))
          Reaped(topic, "dead-owner", out);
        Carry(po, out);
      }
    }
  }

  const Membership& membership;
  const Presence& presence;
  RegistryOptions options;
  ReplicatedSet<ClaimEntry> claims;  // the claims of every node, own included
  std::map<std::string, TopicState> topics;
  std::map<std::string, Epochs> epochs;
  std::map<std::string, uint64_t> running;  // topic -> epoch: the pollers this node runs
  std::map<std::string, Time> down_since;   // members down, by name: when this node saw it
  std::set<std::pair<Time, std::string>> wakeups;
  Time next_sweep{};
  uint64_t next_proposal_id = 1;
  std::mt19937_64 rng;
};

Registry::Registry(const Membership& membership, const Presence& presence,
                   RegistryOptions options)
    : impl_(std::make_unique<Impl>(membership, presence, std::move(options))) {}

Registry::~Registry() = default;

const RegistryOptions& Registry::options() const { return impl_->options; }

void Registry::OnMessage(Time now, const RegistryMessage& m, RegistryOutputs& out) {
  if (const auto* p = std::get_if<RegistryPropose>(&m)) {
    impl_->OnPropose(now, *p, out);
  } else if (const auto* v = std::get_if<RegistryVote>(&m)) {
    impl_->OnVote(now, *v, out);
  } else {
    const ClaimMessage& cm = std::get<ClaimsMessage>(m).m;
    impl_->NoteEpochs(cm);
    ReplicaOutputs<ClaimEntry> po;
    impl_->claims.OnMessage(now, cm, po);
    for (const std::string& topic : impl_->Carry(po, out)) impl_->Examine(now, topic, out);
  }
}

void Registry::OnMemberDown(Time now, const NodeId& node, RegistryOutputs& out) {
  Impl& r = *impl_;
  r.down_since.emplace(node.name, now);
  ReplicaOutputs<ClaimEntry> po;
  r.claims.OnMemberDown(now, node, po);
  r.Carry(po, out);
  for (auto& [topic, t] : r.topics) {
    if (t.grant && t.grant->proposer == node) t.grant.reset();  // its proposal is over
    if (!t.proposal) continue;
    auto w = t.proposal->waiting.find(node.name);
    if (w == t.proposal->waiting.end() || w->second != node) continue;
    // Down: no longer waited for (a member that does not answer is waited for until then).
    t.proposal->waiting.erase(w);
    if (t.proposal->waiting.empty()) r.Decide(now, topic, t, out);
  }
  r.CheckMajority(now, out);
  r.ExamineAll(now, out);
}

void Registry::OnMemberUp(Time now, const NodeId& node, RegistryOutputs& out) {
  Impl& r = *impl_;
  r.down_since.erase(node.name);
  ReplicaOutputs<ClaimEntry> po;
  r.claims.OnMemberUp(now, node, po);
  r.Carry(po, out);
  if (node != r.self()) {
    // A member up while a proposal is pending is asked too: a voter that was not asked could
    // grant a competitor, and that makes a clash.
    for (auto& [topic, t] : r.topics) {
      if (!t.proposal || t.proposal->waiting.count(node.name)) continue;
      auto g = t.proposal->granted_by.find(node.name);
      if (g != t.proposal->granted_by.end() && g->second == node) continue;
      t.proposal->waiting[node.name] = node;
      out.sends.emplace_back(node, RegistryPropose{r.self(), t.proposal->id, topic,
                                                   t.proposal->epoch});
    }
  }
  r.ExamineAll(now, out);
}

void Registry::OnPresenceChanged(Time now, const std::string& topic, RegistryOutputs& out) {
  impl_->Examine(now, topic, out);
}

void Registry::Tick(Time now, RegistryOutputs& out) {
  Impl& r = *impl_;
  ReplicaOutputs<ClaimEntry> po;
  r.claims.Tick(now, po);
  std::set<std::string> due = r.Carry(po, out);
  if (now >= r.next_sweep) {
    r.next_sweep = now + r.options.sweep_interval;
    r.CheckMajority(now, out);
    r.Sweep(now, out);
    r.ExamineAll(now, out);
    return;
  }
  for (auto it = r.wakeups.begin(); it != r.wakeups.end() && it->first <= now; ++it)
    due.insert(it->second);
  for (const std::string& topic : due) r.Examine(now, topic, out);
}

Time Registry::NextDeadline() const {
  const Impl& r = *impl_;
  Time next = std::min(r.claims.NextDeadline(), r.next_sweep);
  if (!r.wakeups.empty()) next = std::min(next, r.wakeups.begin()->first);
  return next;
}

void Registry::SetRunning(std::map<std::string, uint64_t> running) {
  impl_->running = std::move(running);
}

Status Registry::Resolve(Time now, const std::string& topic,
                         const std::optional<std::string>& keep, ClashPolicy policy,
                         RegistryOutputs& out) {
  Impl& r = *impl_;
  std::vector<Claim> visible = r.Visible(topic);
  if (visible.size() < 2) return Status::NotFound("no clash on topic '" + topic + "'");
  std::optional<Claim> winner;
  if (keep) {
    for (const Claim& c : visible)
      if (c.owner.name == *keep) winner = c;
    if (!winner)
      return Status::InvalidArgument("'" + *keep + "' does not claim topic '" + topic + "'");
  } else if (policy == ClashPolicy::kManual) {
    return Status::InvalidArgument("the manual policy chooses no winner: name the node to keep");
  } else {
    winner = Impl::Winner(topic, visible, policy);
  }
  if (std::optional<uint64_t> own = r.OwnEpoch(topic); own && winner->owner != r.self())
    r.Release(now, topic, *own, "resolve", false, out);
  r.Examine(now, topic, out);
  return Status::Ok();
}

std::vector<RegistryZombie> Registry::Zombies(Time now) const {
  const Impl& r = *impl_;
  std::vector<RegistryZombie> zombies;
  auto seconds = [](Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
  };
  const std::map<std::string, uint64_t> own = OwnClaims();
  for (const auto& [topic, epoch] : own) {
    auto t = r.topics.find(topic);
    if (r.presence.SubscriberCount(topic) > 0 || t == r.topics.end() || !t->second.empty_since)
      continue;
    const Duration empty = now - *t->second.empty_since;
    if (empty <= r.options.linger + r.options.sweep_interval) continue;
    zombies.push_back({topic, "idle", r.self().name, empty,
                       "no subscriber anywhere for " + seconds(empty) + " (linger " +
                           seconds(r.options.linger) + "), claim epoch " + std::to_string(epoch)});
  }
  for (const auto& [topic, epoch] : r.running) {
    auto claim = own.find(topic);
    if (claim != own.end() && claim->second == epoch) continue;
    zombies.push_back({topic, "orphan", r.self().name, std::nullopt,
                       "poller at epoch " + std::to_string(epoch) + ", " +
                           (claim == own.end() ? std::string("no own claim")
                                               : "own claim at epoch " +
                                                     std::to_string(claim->second))});
  }
  for (const std::string& topic : Topics()) {
    const std::vector<Claim> all = r.ClaimsOf(topic);
    std::vector<Claim> visible = all;
    std::erase_if(visible, [](const Claim& c) { return !c.visible; });
    if (visible.size() >= 2) {
      const Claim keep = Impl::Winner(topic, visible, r.options.clash_policy);
      std::sort(visible.begin(), visible.end(), [](const Claim& a, const Claim& b) {
        return Wins(a.epoch, a.owner.name, b.epoch, b.owner.name);
      });
      std::string claims;
      for (const Claim& c : visible)
        claims += (claims.empty() ? "" : ",") + c.owner.name + "@" + std::to_string(c.epoch);
      auto t = r.topics.find(topic);
      std::optional<Duration> age;
      if (t != r.topics.end() && t->second.clash) age = now - t->second.clash_since;
      for (const Claim& c : visible) {
        if (c.owner == keep.owner) continue;
        zombies.push_back({topic, "clash", c.owner.name, age,
                           "claims " + claims + " (clash_policy " +
                               ClashPolicyName(r.options.clash_policy) + ")"});
      }
    }
    if (!visible.empty()) continue;
    const size_t subscribers = r.presence.SubscriberCount(topic);
    for (const Claim& c : all) {
      auto down = r.down_since.find(c.owner.name);
      std::optional<Duration> age;
      if (down != r.down_since.end()) age = now - down->second;
      if (subscribers > 0 && (!age || *age <= 2 * r.options.takeover_timeout)) continue;
      zombies.push_back({topic, "dead-owner", c.owner.name, age,
                         "owner down, claim epoch " + std::to_string(c.epoch) + ", " +
                             (subscribers ? std::to_string(subscribers) +
                                                " subscriber(s) and nobody took over"
                                          : std::string("no subscriber anywhere"))});
    }
  }
  return zombies;
}

std::vector<std::string> Registry::Reap(Time now, const std::string& topic, bool release_own,
                                        RegistryOutputs& out) {
  Impl& r = *impl_;
  std::vector<std::string> done;
  const std::optional<uint64_t> own = r.OwnEpoch(topic);
  auto running = r.running.find(topic);
  if (running != r.running.end() && (!own || *own != running->second)) {
    done.push_back("stopped an orphan poller at epoch " + std::to_string(running->second));
    out.stop.push_back({topic, "reap", false});
    r.running.erase(running);
    r.Reaped(topic, "orphan", out);
  }
  if (r.Visible(topic).empty()) {
    for (const Held<ClaimEntry>& h : r.claims.EntriesOfTopic(topic)) {
      if (h.visible) continue;
      ReplicaOutputs<ClaimEntry> po;
      if (r.claims.DropHidden(h.origin, h.entry, po)) {
        done.push_back("dropped the claim of down owner " + h.origin.name + " at epoch " +
                       std::to_string(h.entry.epoch));
        r.Reaped(topic, "dead-owner", out);
      }
      r.Carry(po, out);
    }
  }
  if (own && release_own) {
    r.Release(now, topic, *own, "reap", false, out);
    done.push_back("released its claim at epoch " + std::to_string(*own) + " and stopped its poller");
  }
  if (!done.empty()) r.Examine(now, topic, out);
  return done;
}

std::optional<Claim> Registry::Owner(const std::string& topic) const {
  std::vector<Claim> visible = impl_->Visible(topic);
  if (visible.empty()) return std::nullopt;
  return Impl::Winner(topic, visible, impl_->options.clash_policy);
}

std::vector<Claim> Registry::Claims(const std::string& topic) const {
  return impl_->ClaimsOf(topic);
}

std::set<std::string> Registry::Topics() const { return impl_->claims.HeldTopics(); }

std::vector<std::string> Registry::Clashes() const {
  std::vector<std::string> v;
  for (const std::string& topic : Topics())
    if (impl_->Visible(topic).size() >= 2) v.push_back(topic);
  return v;
}

std::map<std::string, uint64_t> Registry::OwnClaims() const {
  std::map<std::string, uint64_t> own;
  for (const ClaimEntry& c : impl_->claims.EntriesOf(impl_->self())) own[c.topic] = c.epoch;
  return own;
}

bool Registry::has_majority() const { return impl_->HasMajority(); }

}  // namespace livepoll::core
