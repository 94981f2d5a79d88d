// The body of ReplicatedSet (replicated_set.h). Included only by the files that instantiate it
// explicitly for one entry type (presence.cpp, claims.cpp), so that it is compiled once per type.
#pragma once

#include <algorithm>
#include <iterator>

#include "core/replicated_set.h"

namespace livepoll::core {

template <ReplicaEntry Entry>
ReplicatedSet<Entry>::ReplicatedSet(NodeId self, ReplicaOptions options)
    : self_(std::move(self)), options_(std::move(options)) {
  own_.name = self_.name;
  own_.incarnation = self_.incarnation;
}

// ---- own entries ----

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Join(Time now, const Entry& e, Outputs& out) {
  Change(now, {e}, {}, out);
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Leave(Time now, const Entry& e, Outputs& out) {
  Change(now, {}, {e}, out);
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Change(Time, const std::vector<Entry>& joins,
                                  const std::vector<Entry>& leaves, Outputs& out) {
  ReplicaDelta<Entry> d;
  for (const Entry& e : joins)
    if (Add(own_, e)) d.joins.push_back(e);
  for (const Entry& e : leaves)
    if (Remove(own_, e)) d.leaves.push_back(e);
  Flush(out);
  if (d.joins.empty() && d.leaves.empty()) return;
  d.origin = self_;
  d.from_version = own_.version++;
  d.to_version = own_.version;
  out.broadcasts.emplace_back(std::move(d));
}

// ---- messages ----

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::OnMessage(Time now, const Message& m, Outputs& out) {
  if (const auto* d = std::get_if<ReplicaDelta<Entry>>(&m)) {
    OnDelta(now, *d, out);
  } else if (const auto* c = std::get_if<ReplicaClock>(&m)) {
    OnClock(now, *c, out);
  } else if (const auto* r = std::get_if<ReplicaTransferRequest>(&m)) {
    if (r->from.name == self_.name) return;
    ReplicaTransfer<Entry> t;
    t.origin = self_;
    t.version = own_.version;
    t.entries.assign(own_.entries.begin(), own_.entries.end());
    out.sends.emplace_back(r->from, std::move(t));
  } else if (const auto* t = std::get_if<ReplicaTransfer<Entry>>(&m)) {
    OnTransfer(now, *t, out);
  }
  Flush(out);
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::OnDelta(Time now, const ReplicaDelta<Entry>& d, Outputs& out) {
  Origin* o = Admit(d.origin);
  if (o == nullptr || d.to_version <= o->version) return;  // stale incarnation, or a duplicate
  if (d.from_version != o->version) {
    // A gap (or a delta straddling what is held, which cannot be applied either): only a
    // transfer brings this origin back in step. Later deltas are not buffered; the transfer
    // covers them.
    Heard(now, d.origin.name, *o, d.to_version, out);
    return;
  }
  for (const Entry& e : d.joins) Add(*o, e);
  for (const Entry& e : d.leaves) Remove(*o, e);
  o->version = d.to_version;
  o->seen = std::max(o->seen, o->version);
  if (o->version >= o->seen) {  // a contiguous delta proves this node current as of it
    o->want_transfer = false;
    o->transfer_asked.reset();
  }
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::OnClock(Time now, const ReplicaClock& c, Outputs& out) {
  Origin* o = Admit(c.origin);
  if (o == nullptr || c.version <= o->version) return;
  Heard(now, c.origin.name, *o, c.version, out);
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::OnTransfer(Time now, const ReplicaTransfer<Entry>& t, Outputs& out) {
  Origin* o = Admit(t.origin);
  if (o == nullptr) return;
  // Older than what deltas already gave: those deltas continued what was held, so what is held is
  // the origin's state at a later version than the transfer's, and shows a comeback as well (the
  // chaos soak found the comeback left hidden until permdown when a delta overtook the transfer).
  if (t.version >= o->version) {
    Replace(*o, t.entries);
    o->version = t.version;
  }
  if (o->show_on_transfer && o->down_since) {
    o->down_since.reset();
    Show(*o);
    ReportAll(*o, true);
    for (const auto& [topic, n] : o->topic_counts) changed_.insert(topic);
  }
  o->show_on_transfer = false;
  o->seen = std::max(o->seen, o->version);
  if (o->version >= o->seen) {
    o->want_transfer = false;
    o->transfer_asked.reset();
  } else {
    // Still behind: a delta sent after this transfer overtook it (gossip and rpc are separate
    // paths). Ask again now rather than after transfer_retry: this answer did arrive, so the
    // next one will too. (Found by tests/bench/registry_run.sh: a heal took transfer_retry to
    // settle.)
    o->transfer_asked.reset();
    AskTransfer(now, t.origin.name, *o, out);
  }
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Heard(Time now, const std::string& name, Origin& o, uint64_t version,
                                 Outputs& out) {
  o.seen = std::max(o.seen, version);
  if (o.version < o.seen) AskTransfer(now, name, o, out);
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::AskTransfer(Time now, const std::string& name, Origin& o, Outputs& out) {
  o.want_transfer = true;
  // At most one request outstanding per origin; it is asked again after transfer_retry.
  if (o.transfer_asked && now < *o.transfer_asked + options_.transfer_retry) return;
  o.transfer_asked = now;
  out.sends.emplace_back(NodeId{name, o.incarnation}, ReplicaTransferRequest{self_});
}

// ---- membership ----

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::OnMemberDown(Time now, const NodeId& node, Outputs& out) {
  if (node.name == self_.name) return;
  auto it = origins_.find(node.name);
  if (it == origins_.end()) {
    // Nothing held yet; remember the node as down so that late messages from it stay hidden.
    Origin o;
    o.name = node.name;
    o.incarnation = node.incarnation;
    o.down_since = now;
    origins_.emplace(node.name, std::move(o));
    return;
  }
  Origin& o = it->second;
  if (node.incarnation < o.incarnation) return;  // an old incarnation; the held one is newer
  if (node.incarnation > o.incarnation) Reset(o, node.incarnation);  // restarted: old gone now
  if (!o.down_since) {
    Hide(o);
    ReportAll(o, false);
    for (const auto& [topic, n] : o.topic_counts) changed_.insert(topic);
    o.down_since = now;
  }
  o.show_on_transfer = false;
  o.transfer_asked.reset();  // a request to a down node is moot; OnMemberUp asks afresh
  Flush(out);
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::OnMemberUp(Time now, const NodeId& node, Outputs& out) {
  if (node.name == self_.name) return;
  auto it = origins_.find(node.name);
  if (it == origins_.end()) {
    it = origins_.emplace(node.name, Origin{}).first;
    it->second.name = node.name;
    it->second.incarnation = node.incarnation;
  } else {
    Origin& o = it->second;
    if (node.incarnation < o.incarnation) return;
    if (node.incarnation > o.incarnation) {
      Reset(o, node.incarnation);
    } else if (o.down_since && options_.show_comeback_after_transfer) {
      o.show_on_transfer = true;  // OnTransfer shows it
    } else if (o.down_since) {
      o.down_since.reset();
      Show(o);
      ReportAll(o, true);
      for (const auto& [topic, n] : o.topic_counts) changed_.insert(topic);
    } else {
      return;  // already up and held; its clocks keep this node in step
    }
  }
  AskTransfer(now, node.name, it->second, out);  // catch up with what it did while unseen
  Flush(out);
}

// ---- time ----

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Tick(Time now, Outputs& out) {
  if (now >= next_clock_) {
    if (own_.version != clocked_version_) {
      clocked_version_ = own_.version;
      clock_repeats_ = kClockRepeats;
    }
    if (clock_repeats_ > 0 || !last_clock_ ||
        now - *last_clock_ >= kIdleClockEvery * options_.gossip_interval) {
      out.broadcasts.emplace_back(ReplicaClock{self_, own_.version});
      last_clock_ = now;
      if (clock_repeats_ > 0) clock_repeats_--;
    }
    next_clock_ = now + options_.gossip_interval;
  }
  for (auto it = origins_.begin(); it != origins_.end();) {
    Origin& o = it->second;
    if (o.show_on_transfer) {
      // Up again, hidden until its transfer: asked again until one comes (a lost request or
      // answer must not leave it hidden until permdown).
      AskTransfer(now, it->first, o, out);
    } else if (o.down_since) {
      if (now >= *o.down_since + options_.permdown) {
        for (const auto& [topic, n] : o.topic_counts) changed_.insert(topic);
        it = origins_.erase(it);  // hidden already: counts_ holds nothing of it
        continue;
      }
    } else if (o.want_transfer) {
      AskTransfer(now, it->first, o, out);  // sends only if the last request is overdue
    }
    ++it;
  }
  Flush(out);
}

template <ReplicaEntry Entry>
Time ReplicatedSet<Entry>::NextDeadline() const {
  Time next = next_clock_;
  for (const auto& [name, o] : origins_) {
    if (o.show_on_transfer) {
      next =
          std::min(next, o.transfer_asked ? *o.transfer_asked + options_.transfer_retry : Time{});
    } else if (o.down_since) {
      next = std::min(next, *o.down_since + options_.permdown);
    } else if (o.want_transfer) {
      next =
          std::min(next, o.transfer_asked ? *o.transfer_asked + options_.transfer_retry : Time{});
    }
  }
  return next;
}

// ---- queries ----

template <ReplicaEntry Entry>
size_t ReplicatedSet<Entry>::Count(const std::string& topic) const {
  auto it = counts_.find(topic);
  return it == counts_.end() ? 0 : it->second;
}

template <ReplicaEntry Entry>
std::map<std::string, size_t> ReplicatedSet<Entry>::CountByOrigin(const std::string& topic) const {
  std::map<std::string, size_t> by_origin;
  auto add = [&](const std::string& name, const Origin& o) {
    auto it = o.topic_counts.find(topic);
    if (it != o.topic_counts.end()) by_origin[name] = it->second;
  };
  add(self_.name, own_);
  for (const auto& [name, o] : origins_) {
    if (!o.down_since) add(name, o);
  }
  return by_origin;
}

template <ReplicaEntry Entry>
std::set<std::string> ReplicatedSet<Entry>::Topics() const {
  std::set<std::string> topics;
  for (const auto& [topic, n] : counts_) topics.insert(topics.end(), topic);
  return topics;
}

template <ReplicaEntry Entry>
std::optional<uint64_t> ReplicatedSet<Entry>::VersionOf(const NodeId& origin) const {
  const Origin* o = Find(origin);
  if (o == nullptr) return std::nullopt;
  return o->version;
}

template <ReplicaEntry Entry>
bool ReplicatedSet<Entry>::InStep(const NodeId& origin) const {
  const Origin* o = Find(origin);
  if (o == &own_) return true;
  // want_transfer: behind, or newly up (nothing held of it is known to be current yet).
  return o != nullptr && !o->down_since && !o->show_on_transfer && !o->want_transfer &&
         o->version >= o->seen;
}

template <ReplicaEntry Entry>
std::vector<Entry> ReplicatedSet<Entry>::EntriesOf(const NodeId& origin) const {
  const Origin* o = Find(origin);
  if (o == nullptr) return {};
  return {o->entries.begin(), o->entries.end()};
}

template <ReplicaEntry Entry>
uint64_t ReplicatedSet<Entry>::version() const {
  return own_.version;
}

template <ReplicaEntry Entry>
std::vector<Held<Entry>> ReplicatedSet<Entry>::EntriesOfTopic(const std::string& topic) const {
  std::vector<Held<Entry>> held;
  auto add = [&](const NodeId& origin, const Origin& o) {
    if (!o.topic_counts.count(topic)) return;
    // Entries sort by topic first: the topic's entries are one run of the set.
    for (auto it = o.entries.lower_bound(Entry{topic}); it != o.entries.end() && it->topic == topic;
         ++it)
      held.push_back({origin, *it, !o.down_since});
  };
  add(self_, own_);
  for (const auto& [name, o] : origins_) add(NodeId{name, o.incarnation}, o);
  return held;
}

template <ReplicaEntry Entry>
std::set<std::string> ReplicatedSet<Entry>::HeldTopics() const {
  std::set<std::string> topics;
  for (const auto& [topic, n] : own_.topic_counts) topics.insert(topic);
  for (const auto& [name, o] : origins_)
    for (const auto& [topic, n] : o.topic_counts) topics.insert(topic);
  return topics;
}

template <ReplicaEntry Entry>
bool ReplicatedSet<Entry>::DropHidden(const NodeId& origin, const Entry& e, Outputs& out) {
  if (origin.name == self_.name) return false;
  auto it = origins_.find(origin.name);
  if (it == origins_.end() || it->second.incarnation != origin.incarnation ||
      !it->second.down_since)
    return false;
  const bool dropped = Remove(it->second, e);
  // What is held no longer matches any version of the origin: claim none, so that its next delta
  // or clock, or its coming back, brings a transfer. Found by the simulator (seed 391 of the
  // hashed registry runs): a delta continuing the held version made a replica that had reaped a
  // claim "current" again, and the claim never came back.
  if (dropped) it->second.version = 0;
  Flush(out);
  return dropped;
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Flush(Outputs& out) {
  out.changed.merge(changed_);
  changed_.clear();
  if (visibility_.empty()) return;
  if (out.visibility.empty()) {
    out.visibility.swap(visibility_);
  } else {
    out.visibility.insert(out.visibility.end(), std::make_move_iterator(visibility_.begin()),
                          std::make_move_iterator(visibility_.end()));
    visibility_.clear();
  }
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Report(const Origin& o, const Entry& e, bool visible) {
  if (options_.report_entries) visibility_.push_back({NodeId{o.name, o.incarnation}, e, visible});
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::ReportAll(const Origin& o, bool visible) {
  if (!options_.report_entries) return;
  for (const Entry& e : o.entries) Report(o, e, visible);
}

// ---- state ----

template <ReplicaEntry Entry>
const typename ReplicatedSet<Entry>::Origin* ReplicatedSet<Entry>::Find(const NodeId& id) const {
  if (id.name == self_.name) return id.incarnation == self_.incarnation ? &own_ : nullptr;
  auto it = origins_.find(id.name);
  if (it == origins_.end() || it->second.incarnation != id.incarnation) return nullptr;
  return &it->second;
}

template <ReplicaEntry Entry>
typename ReplicatedSet<Entry>::Origin* ReplicatedSet<Entry>::Admit(const NodeId& id) {
  if (id.name == self_.name) return nullptr;  // this node is the only writer of its entries
  auto it = origins_.find(id.name);
  if (it == origins_.end()) {
    it = origins_.emplace(id.name, Origin{}).first;
    it->second.name = id.name;
    it->second.incarnation = id.incarnation;
    return &it->second;
  }
  Origin& o = it->second;
  if (id.incarnation < o.incarnation) return nullptr;
  if (id.incarnation > o.incarnation) Reset(o, id.incarnation);
  return &o;
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Reset(Origin& o, uint64_t incarnation) {
  // A new incarnation is a new node: the old one's entries go, and so does its down state.
  if (!o.down_since) {
    Hide(o);
    ReportAll(o, false);
  }
  for (const auto& [topic, n] : o.topic_counts) changed_.insert(topic);
  std::string name = std::move(o.name);
  o = Origin{};
  o.name = std::move(name);
  o.incarnation = incarnation;
}

template <ReplicaEntry Entry>
bool ReplicatedSet<Entry>::Add(Origin& o, const Entry& e) {
  if (!o.entries.insert(e).second) return false;
  changed_.insert(e.topic);
  ++o.topic_counts[e.topic];
  if (!o.down_since) {
    ++counts_[e.topic];
    Report(o, e, true);
  }
  return true;
}

template <ReplicaEntry Entry>
bool ReplicatedSet<Entry>::Remove(Origin& o, const Entry& e) {
  auto it = o.entries.find(e);
  if (it == o.entries.end()) return false;
  changed_.insert(e.topic);
  auto decrement = [&](std::map<std::string, size_t>& counts) {
    auto c = counts.find(e.topic);
    if (--c->second == 0) counts.erase(c);
  };
  decrement(o.topic_counts);
  if (!o.down_since) {
    decrement(counts_);
    Report(o, *it, false);
  }
  o.entries.erase(it);  // last: `e` may refer into the set
  return true;
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Replace(Origin& o, const std::vector<Entry>& entries) {
  const bool visible = !o.down_since;
  if (visible) Hide(o);
  std::set<Entry> next(entries.begin(), entries.end());
  std::vector<Entry> differ;  // only what changed is reported
  std::set_symmetric_difference(o.entries.begin(), o.entries.end(), next.begin(), next.end(),
                                std::back_inserter(differ));
  for (const Entry& e : differ) {
    changed_.insert(e.topic);
    if (visible) Report(o, e, next.count(e) > 0);
  }
  o.entries = std::move(next);
  o.topic_counts.clear();
  for (const Entry& e : o.entries) ++o.topic_counts[e.topic];
  if (visible) Show(o);
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Hide(const Origin& o) {
  for (const auto& [topic, n] : o.topic_counts) {
    auto c = counts_.find(topic);
    if ((c->second -= n) == 0) counts_.erase(c);
  }
}

template <ReplicaEntry Entry>
void ReplicatedSet<Entry>::Show(const Origin& o) {
  for (const auto& [topic, n] : o.topic_counts) counts_[topic] += n;
}

}  // namespace livepoll::core
