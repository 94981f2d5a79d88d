#include "core/relay.h"

#include <algorithm>
#include <deque>

#include "core/result_diff.h"
#include "core/update_history.h"

namespace livepoll::core {

struct Relay::Stream {
  std::string topic;
  std::vector<std::string> key_columns;  // from the catalog
  std::set<ClientId> subscribers;

  // The last update taken (delivered to the subscribers there were).
  bool delivered = false;
  std::string delivered_by;
  uint64_t epoch = 0;
  uint64_t seq = 0;

  // The mirror: the owner's state at (epoch, seq) when `synced`.
  bool synced = false;
  std::shared_ptr<const ResultSet> result;  // null: the owner has no result in this epoch
  uint64_t result_seq = 0;                  // the seq of the data update that set it
  std::vector<size_t> key;                  // key_columns' positions in result->columns
  bool key_ok = false;
  std::string error;  // the owner's source fails (or the stale notice)
  uint64_t error_seq = 0;
  bool stale = false;

  // The highest seq of an update of the delivered (owner, epoch) fenced because the Registry did
  // not name that owner at the time (it was down for a moment, or hidden until its claims'
  // transfer): the stream missed it, and nothing else may ever show the gap.
  uint64_t fenced_ahead = 0;

  bool fetch_outstanding = false;
  Time fetch_asked{};
  uint64_t buffer_epoch = 0;
  std::map<uint64_t, proto::Update> buffer;  // by seq: updates that arrived ahead of a gap

  UpdateHistory history;  // the last updates taken, oldest first (Record)
};

Relay::Relay(std::string self, OwnState own_state, OwnHistory own_history, size_t history)
    : self_(std::move(self)),
      own_state_(std::move(own_state)),
      own_history_(std::move(own_history)),
      history_(history) {}

Relay::~Relay() = default;

Relay::Stream* Relay::Find(const std::string& topic) {
  auto it = streams_.find(topic);
  return it == streams_.end() ? nullptr : it->second.get();
}

Relay::Added Relay::AddSubscriber(Time now, const std::string& topic,
                                  const std::vector<std::string>& key_columns, ClientId client,
                                  RelayOutputs& out, const std::optional<StreamPosition>& resume) {
  auto [it, created] = streams_.try_emplace(topic);
  if (created) {
    it->second = std::make_unique<Stream>();
    it->second->topic = topic;
    it->second->key_columns = key_columns;
  }
  Stream& s = *it->second;
  if (created && !resume) {
    s.subscribers.insert(client);
    RequestState(now, s, out);  // whatever it brings is delivered to this client
    return {true, false};
  }
  std::optional<std::vector<proto::Update>> missed;
  if (created) {
    // The client is not a subscriber yet, so the state taken now goes to nobody: it gets either
    // what it missed (this node's poller's history) or that state, below.
    RequestState(now, s, out);
    std::optional<StreamOwner> owner = Owner(topic);
    if (owner && owner->node == self_ && own_history_) missed = After(own_history_(topic), *resume);
  } else if (resume) {
    missed = After(s.history.Updates(), *resume);
  }
  s.subscribers.insert(client);
  if (!missed) {
    SendCurrent(s, client, out);
    return {created, false};
  }
  for (proto::Update& u : *missed) out.deliveries.push_back({{client}, std::move(u)});
  // The stale notice is this node's word, not in the history: a client resuming into a stale
  // stream is told as its other subscribers were, or the snapshot that re-synchronises the
  // mirror would repeat the (epoch, seq) it holds unannounced (the simulator: seed 1761 of the
  // quiet ending, seed 725 once membership's digests changed the cluster's timing).
  if (s.stale) out.deliveries.push_back({{client}, StaleNotice(s)});
  return {created, true};
}

std::optional<std::vector<proto::Update>> Relay::After(const std::vector<proto::Update>& history,
                                                       const StreamPosition& from) {
  for (size_t i = history.size(); i-- > 0;) {
    const proto::Update& u = history[i];
    if (u.epoch != from.epoch || u.seq != from.seq) continue;
    // The same (epoch, seq) from another owner, or from another process of it (a restarted
    // standalone daemon, a cluster restarted whole: epochs start again), is another stream.
    if (!from.owner.empty() && u.owner != from.owner) return std::nullopt;
    if (from.owner_session != 0 && u.owner_session != from.owner_session) return std::nullopt;
    return std::vector<proto::Update>(history.begin() + static_cast<ptrdiff_t>(i) + 1,
                                      history.end());
  }
  return std::nullopt;
}

void Relay::Record(Stream& s, const proto::Update& u) const {
  if (history_ == 0) return;
  // Only what continues the history: a repeat of a position (a snapshot repairing the mirror
  // where it stands) is not a new one.
  if (!s.history.empty()) {
    const proto::Update& last = s.history.back();
    if (u.epoch < last.epoch || (u.epoch == last.epoch && u.seq <= last.seq)) return;
  }
  s.history.Push(u, history_);
}

bool Relay::RemoveSubscriber(const std::string& topic, ClientId client) {
  auto it = streams_.find(topic);
  if (it == streams_.end()) return false;
  it->second->subscribers.erase(client);
  if (!it->second->subscribers.empty()) return false;
  // Not lingered: a new subscriber fetches again, and an unwatched stream would only go stale.
  streams_.erase(it);
  return true;
}

void Relay::SetOwner(Time now, const std::string& topic, std::optional<StreamOwner> owner,
                     RelayOutputs& out) {
  auto it = owners_.find(topic);
  if (owner) {
    if (it != owners_.end() && it->second == *owner) return;
    owners_[topic] = *owner;
  } else {
    if (it == owners_.end()) return;
    owners_.erase(it);
  }
  Stream* s = Find(topic);
  if (s == nullptr) return;
  s->buffer.clear();  // another owner's updates: never to be taken now
  s->fetch_outstanding = false;
  // The mirror of this owner's epoch is held, and no update of it past the delivered seq was
  // fenced while the owner was not named. Found by the chaos soak (seed 102, SIGSTOP of an owner
  // for 0.9 s): its last update before its claims were visible again was fenced, the topic did
  // not change after it, and the subscribers kept the data before it for good.
  const bool have_it = s->synced && s->delivered && owner && s->epoch == owner->epoch &&
                       s->delivered_by == owner->node && s->fenced_ahead <= s->seq;
  s->fenced_ahead = 0;
  // Nothing to fetch from an owner whose every update would be fenced.
  if (owner && !have_it && !Fenced(*s, owner->node, owner->epoch)) RequestState(now, *s, out);
}

void Relay::Refetch(Time now, const std::string& owner, RelayOutputs& out) {
  if (owner == self_) return;
  for (auto& [topic, s] : streams_) {
    auto named = owners_.find(topic);
    if (named == owners_.end() || named->second.node != owner) continue;
    if (Fenced(*s, named->second.node, named->second.epoch)) continue;
    s->fetch_outstanding = false;
    RequestState(now, *s, out);
  }
}

void Relay::OnUpdate(Time now, proto::Update u, RelayOutputs& out,
                     std::shared_ptr<const ResultSet> result) {
  Stream* s = Find(u.topic);
  if (s == nullptr) return;
  Consider(now, *s, std::move(u), std::move(result), out);
}

void Relay::Consider(Time now, Stream& s, proto::Update u, std::shared_ptr<const ResultSet> result,
                     RelayOutputs& out) {
  auto owner = owners_.find(s.topic);
  if (owner == owners_.end() || owner->second.node != u.owner || owner->second.epoch != u.epoch ||
      Fenced(s, u.owner, u.epoch)) {
    ++out.updates_fenced;
    if (s.delivered && u.owner == s.delivered_by && u.epoch == s.epoch && u.seq > s.seq)
      s.fenced_ahead = std::max(s.fenced_ahead, u.seq);
    return;
  }
  Take(now, s, std::move(u), std::move(result), out);
  Drain(now, s, out);
}

bool Relay::Fenced(const Stream& s, const std::string& owner, uint64_t epoch) {
  // Another owner may not continue (or restart) the epoch delivered: its seqs count another
  // stream, so its diffs would apply to the wrong data. Two owners can hold one epoch when both
  // sides of a partition registered the topic; the Registry re-epochs the survivor (registry.h).
  return s.delivered && (epoch < s.epoch || (epoch == s.epoch && owner != s.delivered_by));
}

void Relay::Take(Time now, Stream& s, proto::Update u, std::shared_ptr<const ResultSet> result,
                 RelayOutputs& out) {
  const bool new_epoch = !s.delivered || u.epoch > s.epoch;
  if (!new_epoch && u.seq <= s.seq) {
    // A duplicate, unless it is the snapshot that repairs the mirror where it stands.
    if (u.kind == proto::UpdateKind::kSnapshot && u.seq == s.seq && !s.synced) {
      Install(s, u, std::move(result));
      Record(s, u);
      Deliver(s, std::move(u), out);
    }
    return;
  }
  const bool next = !new_epoch && s.synced && u.seq == s.seq + 1;
  switch (u.kind) {
    case proto::UpdateKind::kSnapshot:
      Install(s, u, std::move(result));
      Record(s, u);
      Deliver(s, std::move(u), out);
      return;
    case proto::UpdateKind::kDiff: {
      if (!next) break;
      bool applied = false;
      if (s.result && result) {  // this node's poller already has the result: share it
        s.result = std::move(result);
        applied = true;
      } else if (s.result && s.key_ok && u.columns == s.result->columns) {
        auto rows = std::make_shared<ResultSet>(*s.result);
        applied = ApplyChanges(rows->rows, u.changes, s.key).ok();
        if (applied) s.result = std::move(rows);
      }
      if (!applied) {  // the mirror cannot follow: passing it on would break the subscribers' data
        ++out.stream_gaps;
        s.synced = false;
        RequestState(now, s, out);
        return;
      }
      s.seq = u.seq;
      s.result_seq = u.seq;
      Record(s, u);
      Deliver(s, std::move(u), out);
      return;
    }
    case proto::UpdateKind::kError: {
      // An error changes no data. Its seq <= 1 means the owner's source failed before this
      // epoch had any data, so nothing can be missing before it.
      const bool starts = new_epoch && u.seq <= 1;
      if (!next && !starts) break;
      if (starts) {
        s.delivered = true;
        s.epoch = u.epoch;
        s.synced = true;
        s.result.reset();
        s.result_seq = 0;
      }
      s.delivered_by = u.owner;
      s.seq = u.seq;
      s.error = u.error;
      s.error_seq = u.seq;
      s.stale = false;
      Record(s, u);
      Deliver(s, std::move(u), out);
      return;
    }
  }
  Gap(now, s, std::move(u), out);
}

void Relay::Install(Stream& s, proto::Update& u, std::shared_ptr<const ResultSet> result) {
  s.delivered = true;
  s.delivered_by = u.owner;
  s.epoch = u.epoch;
  s.seq = u.seq;
  s.result =
      result ? std::move(result) : std::make_shared<const ResultSet>(ResultSet{u.columns, u.rows});
  s.result_seq = u.seq;
  s.key_ok = false;
  if (!s.key_columns.empty()) {
    Result<std::vector<size_t>> key = KeyIndexes(s.result->columns, s.key_columns);
    s.key_ok = key.ok();
    if (key.ok()) s.key = std::move(*key);
  }
  s.synced = true;
  s.stale = false;
  s.error.clear();  // a snapshot after an error is the recovery
  s.error_seq = 0;
  s.fetch_outstanding = false;
}

void Relay::Drain(Time now, Stream& s, RelayOutputs& out) {
  while (!s.buffer.empty()) {
    if (!s.delivered || s.buffer_epoch != s.epoch) {
      if (s.delivered && s.buffer_epoch < s.epoch) s.buffer.clear();
      return;
    }
    auto it = s.buffer.begin();
    if (it->first <= s.seq) {
      s.buffer.erase(it);
      continue;
    }
    if (it->first != s.seq + 1 || !s.synced) return;
    proto::Update u = std::move(it->second);
    s.buffer.erase(it);
    Take(now, s, std::move(u), nullptr, out);  // continues the stream: never a gap again
  }
}

void Relay::Gap(Time now, Stream& s, proto::Update u, RelayOutputs& out) {
  if (s.buffer_epoch != u.epoch) {
    s.buffer.clear();
    s.buffer_epoch = u.epoch;
  }
  if (s.buffer.contains(u.seq)) return;  // a duplicate of one kept already
  ++out.stream_gaps;
  // Full: keep the earliest, which the fetched snapshot is most likely to need.
  if (s.buffer.size() < kMaxBuffered || u.seq < s.buffer.rbegin()->first) {
    s.buffer.emplace(u.seq, std::move(u));
    if (s.buffer.size() > kMaxBuffered) s.buffer.erase(std::prev(s.buffer.end()));
  }
  RequestState(now, s, out);
}

void Relay::RequestState(Time now, Stream& s, RelayOutputs& out) {
  auto owner = owners_.find(s.topic);
  if (owner == owners_.end()) return;
  if (owner->second.node == self_) {
    if (pulling_) return;
    pulling_ = true;
    for (proto::Update& u : own_state_(s.topic)) Consider(now, s, std::move(u), nullptr, out);
    pulling_ = false;
    return;
  }
  if (s.fetch_outstanding && now - s.fetch_asked < kFetchRetry) return;
  s.fetch_outstanding = true;
  s.fetch_asked = now;
  out.fetches.push_back({s.topic, owner->second.node});
}

void Relay::Deliver(const Stream& s, proto::Update u, RelayOutputs& out) const {
  if (s.subscribers.empty()) return;
  out.deliveries.push_back(
      {std::vector<ClientId>(s.subscribers.begin(), s.subscribers.end()), std::move(u)});
}

bool Relay::Resend(const std::string& topic, ClientId client, RelayOutputs& out) const {
  auto it = streams_.find(topic);
  if (it == streams_.end() || !it->second->subscribers.count(client)) return false;
  SendCurrent(*it->second, client, out);
  return true;
}

void Relay::SendCurrent(const Stream& s, ClientId client, RelayOutputs& out) const {
  proto::Update u;
  u.topic = s.topic;
  u.owner = s.delivered_by;
  u.epoch = s.epoch;
  if (s.result) u.columns = s.result->columns;
  if (s.synced && s.result) {
    proto::Update snap = u;
    snap.kind = proto::UpdateKind::kSnapshot;
    snap.seq = s.result_seq;
    snap.rows = s.result->rows;
    out.deliveries.push_back({{client}, std::move(snap)});
  }
  if (!s.error.empty()) {
    u.kind = proto::UpdateKind::kError;
    u.seq = s.error_seq;
    u.error = s.error;
    out.deliveries.push_back({{client}, std::move(u)});
  }
}

void Relay::MarkStale(const std::string& topic, const std::string& why, RelayOutputs& out) {
  Stream* s = Find(topic);
  if (s == nullptr) return;
  s->synced = false;
  s->stale = true;
  s->buffer.clear();
  s->error = "stale: " + why;
  s->error_seq = s->seq;
  Deliver(*s, StaleNotice(*s), out);
}

proto::Update Relay::StaleNotice(const Stream& s) {
  proto::Update u;
  u.topic = s.topic;
  u.kind = proto::UpdateKind::kError;
  u.owner = s.delivered_by;
  u.epoch = s.epoch;
  u.seq = s.seq;
  if (s.result) u.columns = s.result->columns;
  u.error = s.error;
  return u;
}

std::vector<ClientId> Relay::EndStream(const std::string& topic, const std::string& why,
                                       RelayOutputs& out) {
  Stream* s = Find(topic);
  if (s == nullptr) return {};
  proto::Update u;
  u.topic = topic;
  u.kind = proto::UpdateKind::kError;
  u.owner = s->delivered_by;
  u.epoch = s->epoch;
  u.seq = s->seq;
  if (s->result) u.columns = s->result->columns;
  u.error = why;
  Deliver(*s, std::move(u), out);
  return {s->subscribers.begin(), s->subscribers.end()};
}

void Relay::SetKeyColumns(const std::string& topic, const std::vector<std::string>& key_columns) {
  if (Stream* s = Find(topic)) s->key_columns = key_columns;
}

void Relay::RefreshError(const std::string& topic, const std::string& text) {
  Stream* s = Find(topic);
  if (s == nullptr || s->error.empty() || s->stale || s->delivered_by != self_) return;
  s->error = text;
}

std::optional<StreamInfo> Relay::Info(const std::string& topic) const {
  auto it = streams_.find(topic);
  if (it == streams_.end()) return std::nullopt;
  const Stream& s = *it->second;
  StreamInfo i;
  i.owner = Owner(topic);
  i.delivered = s.delivered;
  i.delivered_by = s.delivered_by;
  i.epoch = s.epoch;
  i.seq = s.seq;
  i.subscribers = s.subscribers.size();
  i.synced = s.synced;
  i.stale = s.stale;
  i.error = s.error;
  return i;
}

std::optional<StreamOwner> Relay::Owner(const std::string& topic) const {
  auto it = owners_.find(topic);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Relay::Topics() const {
  std::vector<std::string> topics;
  topics.reserve(streams_.size());
  for (const auto& [name, s] : streams_) topics.push_back(name);
  return topics;
}

size_t Relay::subscription_count() const {
  size_t n = 0;
  for (const auto& [name, s] : streams_) n += s->subscribers.size();
  return n;
}

}  // namespace livepoll::core
