#include "core/subscriptions.h"

#include <algorithm>
#include <cmath>

#include "core/result_diff.h"
#include "core/topic.h"

namespace livepoll::core {

struct Subscriptions::Topic {
  std::string name;
  const CatalogQuery* query = nullptr;
  std::vector<Value> params;
  std::set<ClientId> subscribers;
  uint64_t generation = 0;  // changes when the poller (re)starts; stale timers and polls skip
  uint64_t epoch = 0;
  uint64_t seq = 0;

  std::optional<ResultSet> last;  // the last published result
  uint64_t last_hash = 0;
  bool snapshot_next = true;  // the next good poll publishes a snapshot (start, after an error)
  std::string error;          // non-empty while the source fails
  int failures = 0;

  bool in_flight = false;
  bool waiting = false;  // due but over the source's cap
  uint64_t poll_id = 0;
  Time poll_started{};  // when the poll in flight (or the last one) was launched
  Time linger_until{};  // set while there are no subscribers

  uint64_t polls = 0;
  uint64_t errors = 0;
  std::optional<Time> last_poll_done;
};

Subscriptions::Subscriptions(Catalog catalog, SubscriptionsOptions options)
    : catalog_(std::move(catalog)), options_(std::move(options)), rng_(options_.seed) {}

Subscriptions::~Subscriptions() = default;

size_t Subscriptions::subscription_count() const {
  size_t n = 0;
  for (const auto& [name, t] : topics_) n += t->subscribers.size();
  return n;
}

Result<std::string> Subscriptions::Join(Time now, ClientId client, const std::string& query,
                                        const proto::Params& params, Outputs& out) {
  auto q = catalog_.queries.find(query);
  if (q == catalog_.queries.end()) return Status::NotFound("unknown query '" + query + "'");
  const CatalogQuery& cq = q->second;
  // Parameter values in the catalog's order; every one given exactly once, nothing extra.
  std::vector<Value> values(cq.params.size());
  std::vector<bool> given(cq.params.size(), false);
  for (const auto& [name, value] : params) {
    auto it = std::find(cq.params.begin(), cq.params.end(), name);
    if (it == cq.params.end())
      return Status::InvalidArgument("query '" + query + "' has no parameter '" + name + "'");
    size_t i = static_cast<size_t>(it - cq.params.begin());
    if (given[i]) return Status::InvalidArgument("parameter '" + name + "' given twice");
    given[i] = true;
    values[i] = value;
  }
  for (size_t i = 0; i < cq.params.size(); ++i) {
    if (!given[i])
      return Status::InvalidArgument("query '" + query + "' needs parameter '" + cq.params[i] + "'");
  }
  Result<std::string> topic = MakeTopic(query, params);
  if (!topic.ok()) return topic.status();

  ClientSeen(now, client);
  clients_[client].topics.insert(*topic);
  auto it = topics_.find(*topic);
  Topic* t = it != topics_.end() ? it->second.get()
                                 : StartPoller(now, *topic, cq, std::move(values), out);
  if (t->subscribers.insert(client).second) out.subscribed.emplace_back(*topic, client);
  t->linger_until = Time{};
  SendCurrentState(*t, client, out);
  return *topic;
}

Status Subscriptions::Leave(Time now, ClientId client, const std::string& topic, Outputs& out) {
  auto c = clients_.find(client);
  auto t = topics_.find(topic);
  if (c == clients_.end() || t == topics_.end() || c->second.topics.erase(topic) == 0)
    return Status::NotFound("not subscribed to '" + topic + "'");
  c->second.last_seen = now;
  RemoveSubscriber(now, *t->second, client, out);
  return Status::Ok();
}

void Subscriptions::ClientSeen(Time now, ClientId client) {
  clients_[client].last_seen = now;
  if (!client_check_scheduled_) {
    client_check_scheduled_ = true;
    timers_.push({now + options_.client_timeout / 4, Timer::Kind::kClientCheck, "", 0});
  }
}

void Subscriptions::ClientGone(Time now, ClientId client, Outputs& out) {
  auto c = clients_.find(client);
  if (c == clients_.end()) return;
  for (const std::string& topic : c->second.topics) {
    auto t = topics_.find(topic);
    if (t != topics_.end()) RemoveSubscriber(now, *t->second, client, out);
  }
  clients_.erase(c);
  out.dropped_clients.push_back(client);
}

void Subscriptions::RemoveSubscriber(Time now, Topic& t, ClientId client, Outputs& out) {
  if (t.subscribers.erase(client) > 0) out.unsubscribed.emplace_back(t.name, client);
  if (t.subscribers.empty()) {
    t.linger_until = now + options_.linger;
    timers_.push({t.linger_until, Timer::Kind::kLinger, t.name, t.generation});
  }
}

Subscriptions::Topic* Subscriptions::StartPoller(Time now, const std::string& topic,
                                                 const CatalogQuery& q, std::vector<Value> params,
                                                 Outputs& out) {
  auto t = std::make_unique<Topic>();
  t->name = topic;
  t->query = &q;
  t->params = std::move(params);
  t->generation = next_generation_++;
  t->epoch = ++epochs_[topic];
  Topic* raw = t.get();
  topics_[topic] = std::move(t);
  out.events.push_back({Event::Kind::kPollerStarted, topic, 0, "epoch " + std::to_string(raw->epoch)});
  SchedulePoll(*raw, now);  // the first subscriber wants data now, not after an interval
  return raw;
}

void Subscriptions::StopPoller(Topic& t, Outputs& out) {
  out.events.push_back({Event::Kind::kPollerStopped, t.name, 0, ""});
  if (t.waiting) {
    auto& q = waiting_[t.query->source];
    q.erase(std::remove(q.begin(), q.end(), t.name), q.end());
  }
  topics_.erase(t.name);  // a poll in flight is ignored when it returns (polls_in_flight_ keeps
                          // the source's count right)
}

void Subscriptions::SchedulePoll(Topic& t, Time when) {
  timers_.push({when, Timer::Kind::kPoll, t.name, t.generation});
}

Duration Subscriptions::Jittered(Duration base, double jitter) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  double factor = 1.0 + jitter * u(rng_);
  return Duration(static_cast<Duration::rep>(static_cast<double>(base.count()) * factor));
}

void Subscriptions::Tick(Time now, Outputs& out) {
  while (!timers_.empty() && timers_.top().when <= now) {
    Timer timer = timers_.top();
    timers_.pop();
    if (timer.kind == Timer::Kind::kClientCheck) {
      std::vector<ClientId> silent;
      for (const auto& [id, c] : clients_) {
        if (now - c.last_seen >= options_.client_timeout) silent.push_back(id);
      }
      for (ClientId id : silent) {
        out.events.push_back({Event::Kind::kClientDropped, "", id, "silent"});
        ClientGone(now, id, out);
      }
      client_check_scheduled_ = !clients_.empty();
      if (client_check_scheduled_)
        timers_.push({now + options_.client_timeout / 4, Timer::Kind::kClientCheck, "", 0});
      continue;
    }
    auto it = topics_.find(timer.topic);
    if (it == topics_.end() || it->second->generation != timer.generation) continue;
    Topic& t = *it->second;
    if (timer.kind == Timer::Kind::kLinger) {
      if (t.subscribers.empty() && t.linger_until != Time{} && t.linger_until <= now)
        StopPoller(t, out);
    } else {
      Due(now, t, out);
    }
  }
}

Time Subscriptions::NextDeadline() const {
  return timers_.empty() ? Time::max() : timers_.top().when;
}

void Subscriptions::Due(Time now, Topic& t, Outputs& out) {
  if (t.in_flight || t.waiting) return;
  const std::string& source = t.query->source;
  auto cap = catalog_.source_caps.find(source);
  int limit = cap == catalog_.source_caps.end() ? 1 : std::max(1, cap->second);
  if (running_[source] >= limit) {
    t.waiting = true;
    waiting_[source].push_back(t.name);
    return;
  }
  Launch(now, t, out);
}

void Subscriptions::Launch(Time now, Topic& t, Outputs& out) {
  t.in_flight = true;
  t.poll_started = now;
  t.waiting = false;
  t.poll_id = next_poll_id_++;
  running_[t.query->source]++;
  polls_in_flight_[t.poll_id] = {t.query->source, t.name};
  out.polls.push_back({t.poll_id, t.name, t.query->name, t.query->source, t.params});
}

void Subscriptions::LaunchWaiting(Time now, const std::string& source, Outputs& out) {
  auto& queue = waiting_[source];
  auto cap = catalog_.source_caps.find(source);
  int limit = cap == catalog_.source_caps.end() ? 1 : std::max(1, cap->second);
  while (!queue.empty() && running_[source] < limit) {
    std::string name = std::move(queue.front());
    queue.pop_front();
    auto it = topics_.find(name);
    if (it != topics_.end() && it->second->waiting) Launch(now, *it->second, out);
  }
}

void Subscriptions::PollDone(Time now, uint64_t poll_id, Result<ResultSet> result, Outputs& out) {
  auto inflight = polls_in_flight_.find(poll_id);
  if (inflight == polls_in_flight_.end()) return;
  const InFlight done = std::move(inflight->second);
  const std::string& source = done.source;
  polls_in_flight_.erase(inflight);
  running_[source]--;

  auto it = topics_.find(done.topic);
  Topic* tp = it == topics_.end() ? nullptr : it->second.get();
  if (tp != nullptr && tp->in_flight && tp->poll_id == poll_id) {
    Topic& t = *tp;
    t.in_flight = false;
    t.polls++;
    t.last_poll_done = now;
    Duration wait = t.query->interval;
    if (!result.ok()) {
      t.errors++;
      t.failures++;
      std::string error = result.status().message();
      // Exponential back-off from the interval, capped; published once per distinct error.
      double factor = std::pow(2.0, std::min(t.failures - 1, 20));
      wait = std::min<Duration>(options_.backoff_max,
                                Duration(static_cast<Duration::rep>(
                                    static_cast<double>(t.query->interval.count()) * factor)));
      // Subscribers hear of the outage once, when it starts: a failing source's message often
      // varies from attempt to attempt (prepare, then execute, then connect), and a stream of
      // near-identical errors helps nobody. `subs` and late subscribers see the latest text.
      const bool entering = t.error.empty();
      t.error = error;
      if (entering) {
        out.events.push_back({Event::Kind::kPollFailed, t.name, 0, error});
        Publish(t, MakeUpdate(t, proto::UpdateKind::kError), out);
      }
      t.snapshot_next = true;
    } else {
      ResultSet& rs = result.value();
      if (!t.error.empty()) {
        out.events.push_back({Event::Kind::kPollRecovered, t.name, 0, ""});
        t.error.clear();
      }
      t.failures = 0;
      uint64_t hash = HashResult(rs);
      if (t.snapshot_next || !t.last || hash != t.last_hash) {
        std::optional<std::vector<proto::Change>> changes;
        if (!t.snapshot_next && t.last && !t.query->key.empty()) {
          Result<std::vector<size_t>> key = KeyIndexes(rs.columns, t.query->key);
          if (key.ok()) changes = DiffRows(*t.last, rs, *key);
        }
        t.last = std::move(rs);
        t.last_hash = hash;
        t.snapshot_next = false;
        if (changes) {
          // Empty when only the rows' order changed: a keyed diff carries no order (PROTOCOL.md).
          if (!changes->empty()) {
            proto::Update u = MakeUpdate(t, proto::UpdateKind::kDiff);
            u.changes = std::move(*changes);
            Publish(t, std::move(u), out);
          }
        } else {
          Publish(t, MakeUpdate(t, proto::UpdateKind::kSnapshot), out);
        }
      }
    }
    // A healthy poller keeps its beat from each poll's start, so the query's own duration does
    // not stretch the interval; after a failure the back-off counts from now.
    const Time base = result.ok() ? t.poll_started : now;
    SchedulePoll(t, std::max(now, base + Jittered(wait, t.query->jitter)));
  }
  LaunchWaiting(now, source, out);
}

proto::Update Subscriptions::MakeUpdate(const Topic& t, proto::UpdateKind kind) const {
  proto::Update u;
  u.topic = t.name;
  u.kind = kind;
  u.owner = options_.node;
  u.epoch = t.epoch;
  u.seq = t.seq;
  if (t.last) u.columns = t.last->columns;
  if (kind == proto::UpdateKind::kSnapshot && t.last) u.rows = t.last->rows;
  if (kind == proto::UpdateKind::kError) u.error = t.error;
  return u;
}

void Subscriptions::Publish(Topic& t, proto::Update u, Outputs& out) {
  u.seq = ++t.seq;
  if (t.subscribers.empty()) return;
  out.deliveries.push_back(
      {std::vector<ClientId>(t.subscribers.begin(), t.subscribers.end()), std::move(u)});
}

void Subscriptions::SendCurrentState(const Topic& t, ClientId client, Outputs& out) const {
  // Nothing yet: the first poll's snapshot will reach this subscriber with everyone else.
  if (t.last) out.deliveries.push_back({{client}, MakeUpdate(t, proto::UpdateKind::kSnapshot)});
  if (!t.error.empty()) out.deliveries.push_back({{client}, MakeUpdate(t, proto::UpdateKind::kError)});
}

std::vector<TopicInfo> Subscriptions::Topics(Time now) const {
  std::vector<TopicInfo> infos;
  infos.reserve(topics_.size());
  for (const auto& [name, t] : topics_) {
    TopicInfo i;
    i.topic = name;
    i.owner = options_.node;
    i.epoch = t->epoch;
    i.seq = t->seq;
    i.subscribers = t->subscribers.size();
    i.polls = t->polls;
    i.errors = t->errors;
    if (t->last_poll_done) i.since_last_poll = now - *t->last_poll_done;
    i.state = t->subscribers.empty() ? "lingering"
              : !t->error.empty()    ? "error"
              : t->last              ? "polling"
                                     : "starting";
    infos.push_back(std::move(i));
  }
  return infos;
}

}  // namespace livepoll::core
