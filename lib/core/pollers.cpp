#include "core/pollers.h"

#include <algorithm>
#include <cmath>

#include "core/result_diff.h"
#include "core/update_history.h"

namespace livepoll::core {

struct Pollers::Poller {
  std::string name;
  const CatalogQuery* query = nullptr;
  std::vector<Value> params;
  uint64_t generation = 0;  // changes when the poller (re)starts; stale timers and polls skip
  PollerInfo info;          // epoch, seq (the last published), counts

  std::shared_ptr<const ResultSet> last;  // the last published result (any epoch)
  uint64_t last_hash = 0;
  uint64_t data_seq = 0;      // the seq of the update that set `last` in this epoch (0: none yet)
  bool snapshot_next = true;  // the next good poll publishes a snapshot (start, error, new epoch)
  std::string error;          // non-empty while the source fails
  bool error_published = false;  // this outage's error went out in this epoch
  int failures = 0;

  bool in_flight = false;
  bool waiting = false;    // due but over the source's cap
  Time due = Time::max();  // when its next poll is due (its live timer); max: polling
  uint64_t poll_id = 0;
  Time poll_started{};  // when the poll in flight (or the last one) was launched

  UpdateHistory history;  // the last published updates, oldest first
};

Pollers::Pollers(const Catalog& catalog, std::string node, uint64_t session, Duration backoff_max,
                 uint64_t seed, size_t history)
    : catalog_(catalog),
      node_(std::move(node)),
      session_(session),
      backoff_max_(backoff_max),
      history_(history),
      rng_(seed) {}

Pollers::~Pollers() = default;

bool Pollers::Start(Time now, const std::string& topic, const CatalogQuery& query,
                    std::vector<Value> params, uint64_t epoch, PollerOutputs& out) {
  if (epochs_.size() >= kMaxEpochs && !epochs_.count(topic)) {
    for (auto e = epochs_.begin(); e != epochs_.end();) {
      if (pollers_.count(e->first)) {
        ++e;
        continue;
      }
      epoch_floor_ = std::max(epoch_floor_, e->second);
      e = epochs_.erase(e);
    }
  }
  uint64_t& highest = epochs_[topic];
  highest = std::max(highest, epoch);
  auto it = pollers_.find(topic);
  if (it != pollers_.end()) {
    Poller& p = *it->second;
    if (epoch <= p.info.epoch) return false;
    // A new registration: a new stream. The old epoch's data is still the current result, but
    // the new stream must begin with a snapshot, and an ongoing outage must be told again.
    p.info.epoch = epoch;
    p.info.seq = 0;
    p.data_seq = 0;
    p.snapshot_next = true;
    p.error_published = false;
    p.info.started = now;
    p.info.last_success.reset();
    out.events.push_back({PollerEvent::Kind::kStarted, topic, "epoch " + std::to_string(epoch)});
    // A new generation, so the timer already queued is skipped: one chain of polls, not two. (A
    // poll in flight still completes and schedules the next one in the new generation.)
    p.generation = next_generation_++;
    SchedulePoll(p, now);
    return true;
  }
  auto p = std::make_unique<Poller>();
  p->name = topic;
  p->query = &query;
  p->params = std::move(params);
  p->generation = next_generation_++;
  p->info.epoch = epoch;
  p->info.started = now;
  p->info.interval = query.interval;
  Poller& raw = *p;
  by_query_[query.name][topic] = &raw;
  pollers_[topic] = std::move(p);
  out.events.push_back({PollerEvent::Kind::kStarted, topic, "epoch " + std::to_string(epoch)});
  SchedulePoll(raw, now);  // subscribers want data now, not after an interval
  return true;
}

bool Pollers::Stop(const std::string& topic, PollerOutputs& out) {
  auto it = pollers_.find(topic);
  if (it == pollers_.end()) return false;
  Poller& p = *it->second;
  out.events.push_back({PollerEvent::Kind::kStopped, topic, ""});
  if (p.waiting) {
    auto& q = waiting_[p.query->source];
    q.erase(std::remove(q.begin(), q.end(), topic), q.end());
  }
  if (auto byq = by_query_.find(p.query->name); byq != by_query_.end()) {
    byq->second.erase(topic);
    if (byq->second.empty()) by_query_.erase(byq);
  }
  pollers_.erase(it);  // a poll in flight is ignored when it returns (polls_in_flight_ keeps the
                       // source's count right)
  return true;
}

uint64_t Pollers::NextEpoch(const std::string& topic) const {
  auto it = epochs_.find(topic);
  return std::max(it == epochs_.end() ? 0 : it->second, epoch_floor_) + 1;
}

const PollerInfo* Pollers::Find(const std::string& topic) const {
  auto it = pollers_.find(topic);
  return it == pollers_.end() ? nullptr : &it->second->info;
}

std::map<std::string, uint64_t> Pollers::Running() const {
  std::map<std::string, uint64_t> running;
  for (const auto& [name, p] : pollers_) running.emplace(name, p->info.epoch);
  return running;
}

std::vector<std::string> Pollers::Topics() const {
  std::vector<std::string> topics;
  topics.reserve(pollers_.size());
  for (const auto& [name, p] : pollers_) topics.push_back(name);
  return topics;
}

void Pollers::SchedulePoll(Poller& p, Time when) {
  p.due = when;
  timers_.push({when, p.name, p.generation});
}

Duration Pollers::Jittered(Duration base, double jitter) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  return Scaled(base, jitter, u(rng_));
}

Duration Pollers::Scaled(Duration base, double jitter, double u) {
  double factor = 1.0 + jitter * u;
  return Duration(static_cast<Duration::rep>(static_cast<double>(base.count()) * factor));
}

void Pollers::Tick(Time now, PollerOutputs& out) {
  while (!timers_.empty() && timers_.top().when <= now) {
    Timer timer = timers_.top();
    timers_.pop();
    auto it = pollers_.find(timer.topic);
    if (it == pollers_.end() || it->second->generation != timer.generation) continue;
    Due(now, *it->second, out);
  }
}

Time Pollers::NextDeadline() const { return timers_.empty() ? Time::max() : timers_.top().when; }

int Pollers::Cap(const std::string& source) const {
  auto cap = catalog_.source_caps.find(source);
  return cap == catalog_.source_caps.end() ? 1 : std::max(1, cap->second);
}

void Pollers::Due(Time now, Poller& p, PollerOutputs& out) {
  if (p.in_flight || p.waiting) return;
  const std::string& source = p.query->source;
  if (running_[source] >= Cap(source)) {
    p.waiting = true;
    p.info.waiting = true;
    waiting_[source].push_back(p.name);
    return;
  }
  Launch(now, p, out);
}

void Pollers::Launch(Time now, Poller& p, PollerOutputs& out) {
  running_[p.query->source]++;  // a batch is one statement: it counts once against the cap
  if (p.query->multiplex <= 1) {
    LaunchOne(now, p, 0, out);
    return;
  }
  std::vector<Poller*> members = Companions(now, p, p.query->multiplex - 1);
  members.insert(members.begin(), &p);
  const uint64_t batch = next_poll_id_;  // the first poll's id: unique, and never 0
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  batches_[batch] = {members.size(), u(rng_)};
  for (Poller* m : members) {
    // A poller taken along leaves its timer behind: a new generation makes Tick skip it.
    if (m != &p) m->generation = next_generation_++;
    LaunchOne(now, *m, batch, out);
  }
}

void Pollers::LaunchOne(Time now, Poller& p, uint64_t batch, PollerOutputs& out) {
  // Taken along by a batch while waiting for the cap, it stays in waiting_ (erasing would cost the
  // queue's length per poller): LaunchWaiting skips it, as it is no longer `waiting`.
  p.in_flight = true;
  p.poll_started = now;
  p.info.in_flight_since = now;
  p.waiting = false;
  p.info.waiting = false;
  p.due = Time::max();
  p.poll_id = next_poll_id_++;
  polls_in_flight_[p.poll_id] = {p.query->source, p.name, batch};
  out.polls.push_back(
      {p.poll_id, p.name, p.query->name, p.query->source, p.params, batch, Base(p)});
}

std::vector<Pollers::Poller*> Pollers::Companions(Time now, const Poller& p, size_t n) {
  std::vector<Poller*> due, soon;  // due now or waiting first; then due within the window
  auto byq = by_query_.find(p.query->name);
  if (byq == by_query_.end()) return due;
  const Time window = now + p.query->interval / 2;
  for (const auto& [topic, c] : byq->second) {
    if (due.size() >= n) break;
    if (c == &p || c->in_flight || c->query != p.query) continue;
    if (c->waiting || c->due <= now)
      due.push_back(c);
    else if (c->due <= window && soon.size() < n)
      soon.push_back(c);
  }
  for (size_t i = 0; due.size() < n && i < soon.size(); ++i) due.push_back(soon[i]);
  return due;
}

void Pollers::LaunchWaiting(Time now, const std::string& source, PollerOutputs& out) {
  auto& queue = waiting_[source];
  while (!queue.empty() && running_[source] < Cap(source)) {
    std::string name = std::move(queue.front());
    queue.pop_front();
    auto it = pollers_.find(name);
    if (it != pollers_.end() && it->second->waiting) Launch(now, *it->second, out);
  }
}

ResultBase Pollers::Base(const Poller& p) {
  if (p.snapshot_next || !p.last) return {nullptr, 0, {}};  // a snapshot follows whatever comes
  return {p.last, p.last_hash, p.query->key};
}

PollOutcome Pollers::PollDone(Time now, uint64_t poll_id, Result<ResultSet> result,
                              std::optional<ResultDigest> digest, PollerOutputs& out) {
  PollOutcome outcome;
  auto inflight = polls_in_flight_.find(poll_id);
  if (inflight == polls_in_flight_.end()) return outcome;
  const InFlight done = std::move(inflight->second);
  polls_in_flight_.erase(inflight);
  // A batch holds its source's cap until its last poll is done; its polls share one jitter.
  bool cap_freed = true;
  std::optional<double> batch_u;
  if (auto b = batches_.find(done.batch); done.batch != 0 && b != batches_.end()) {
    batch_u = b->second.jitter_u;
    cap_freed = --b->second.remaining == 0;
    if (cap_freed) batches_.erase(b);
  }
  if (cap_freed) running_[done.source]--;

  auto it = pollers_.find(done.topic);
  Poller* pp = it == pollers_.end() ? nullptr : it->second.get();
  if (pp != nullptr && pp->in_flight && pp->poll_id == poll_id) {
    Poller& p = *pp;
    outcome.topic = p.name;
    p.in_flight = false;
    p.info.in_flight_since.reset();
    if (result.ok()) p.info.last_success = now;
    p.info.polls++;
    p.info.last_poll_done = now;
    Duration wait = p.query->interval;
    if (!result.ok()) {
      p.info.errors++;
      p.failures = std::min(p.failures + 1, 1000);  // enough for 2^20, and never overflows
      std::string error = result.status().message();
      // Exponential back-off from the interval, capped.
      // Compared in double before converting: interval × 2^20 overflows int64 nanoseconds for
      // an interval over about 2.4 hours, and converting an out-of-range double is undefined.
      const double factor = std::pow(2.0, std::min(p.failures - 1, 20));
      const double grown = static_cast<double>(p.query->interval.count()) * factor;
      wait = grown >= static_cast<double>(backoff_max_.count())
                 ? backoff_max_
                 : Duration(static_cast<Duration::rep>(grown));
      // Subscribers hear of the outage once, when it starts: a failing source's message often
      // varies from attempt to attempt (prepare, then execute, then connect), and a stream of
      // near-identical errors helps nobody. `subs` and late subscribers see the latest text.
      if (p.error.empty()) out.events.push_back({PollerEvent::Kind::kFailed, p.name, error});
      const bool changed = p.error != error;
      p.error = std::move(error);
      p.info.failing = true;
      if (!p.error_published) {
        p.error_published = true;
        outcome.published = Publish(p, MakeUpdate(p, proto::UpdateKind::kError));
      } else if (changed) {
        outcome.error_text = p.error;
      }
      p.snapshot_next = true;
    } else {
      ResultSet& rs = result.value();
      if (!p.error.empty()) {
        out.events.push_back({PollerEvent::Kind::kRecovered, p.name, ""});
        p.error.clear();
      }
      p.error_published = false;
      p.info.failing = false;
      p.failures = 0;
      // Trusted only against the base a diff would start from now: the poller may have taken
      // another result, or been told to send a snapshot, since the poll started.
      const ResultBase base = Base(p);
      if (!digest || digest->base != base.last) digest = DigestResult(rs, base);
      const uint64_t hash = digest->hash;
      if (p.snapshot_next || !p.last || hash != p.last_hash) {
        std::optional<std::vector<proto::Change>> changes = std::move(digest->changes);
        digest.reset();  // drop its reference to the old result before taking the new one
        p.last = std::make_shared<const ResultSet>(std::move(rs));
        p.info.has_result = true;
        p.last_hash = hash;
        p.snapshot_next = false;
        // Empty changes when only the rows' order changed: a keyed diff carries no order
        // (PROTOCOL.md), so nothing is published.
        if (!changes || !changes->empty()) {
          proto::Update u;
          if (changes) {
            u = MakeUpdate(p, proto::UpdateKind::kDiff);
            u.changes = std::move(*changes);
          } else {
            u = MakeUpdate(p, proto::UpdateKind::kSnapshot);
          }
          outcome.published = Publish(p, std::move(u));
          p.data_seq = p.info.seq;
          outcome.result = p.last;
        }
      }
    }
    // A healthy poller keeps its beat from each poll's start, so the query's own duration does
    // not stretch the interval; after a failure the back-off counts from now.
    const Time base = result.ok() ? p.poll_started : now;
    const Duration jittered =
        batch_u ? Scaled(wait, p.query->jitter, *batch_u) : Jittered(wait, p.query->jitter);
    SchedulePoll(p, std::max(now, base + jittered));
  }
  if (cap_freed) LaunchWaiting(now, done.source, out);
  return outcome;
}

proto::Update Pollers::MakeUpdate(const Poller& p, proto::UpdateKind kind) const {
  proto::Update u;
  u.topic = p.name;
  u.kind = kind;
  u.owner = node_;
  u.owner_session = session_;
  u.epoch = p.info.epoch;
  u.seq = p.info.seq;
  if (p.last) u.columns = p.last->columns;
  if (kind == proto::UpdateKind::kSnapshot && p.last) u.rows = p.last->rows;
  if (kind == proto::UpdateKind::kError) u.error = p.error;
  return u;
}

proto::Update Pollers::Publish(Poller& p, proto::Update u) const {
  u.seq = ++p.info.seq;
  p.history.Push(u, history_);
  return u;
}

std::vector<proto::Update> Pollers::History(const std::string& topic) const {
  auto it = pollers_.find(topic);
  if (it == pollers_.end()) return {};
  return it->second->history.Updates();
}

std::optional<proto::Update> Pollers::CurrentState(const std::string& topic) const {
  std::vector<proto::Update> state = State(topic);
  if (state.empty()) return std::nullopt;
  return std::move(state.front());
}

std::vector<proto::Update> Pollers::State(const std::string& topic) const {
  std::vector<proto::Update> state;
  auto it = pollers_.find(topic);
  if (it == pollers_.end()) return state;
  const Poller& p = *it->second;
  if (p.last) {
    state.push_back(MakeUpdate(p, proto::UpdateKind::kSnapshot));
    state.back().seq = p.data_seq;
  }
  // The error only once it is part of this epoch's stream: before that, the poller's next
  // failure publishes it.
  if (!p.error.empty() && p.error_published)
    state.push_back(MakeUpdate(p, proto::UpdateKind::kError));
  return state;
}

}  // namespace livepoll::core
