#include "core/subscriptions.h"

#include <algorithm>

#include "core/topic.h"
#include "livepoll/duration.h"

namespace livepoll::core {

Subscriptions::Subscriptions(Catalog catalog, SubscriptionsOptions options)
    : catalog_(std::move(catalog)),
      options_(std::move(options)),
      pollers_(catalog_, options_.node, options_.session, options_.backoff_max, options_.seed,
               options_.history),
      relay_(
          options_.node, [this](const std::string& topic) { return pollers_.State(topic); },
          [this](const std::string& topic) { return pollers_.History(topic); }, options_.history) {}

Subscriptions::~Subscriptions() = default;

size_t Subscriptions::subscription_count() const { return relay_.subscription_count(); }

size_t Subscriptions::topic_count() const {
  size_t n = pollers_.size();
  for (const std::string& topic : relay_.Topics()) n += pollers_.Find(topic) == nullptr;
  return n;
}

Result<std::pair<const CatalogQuery*, std::vector<Value>>> Subscriptions::Resolve(
    const std::string& query, const proto::Params& params) const {
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
      return Status::InvalidArgument("query '" + query + "' needs parameter '" + cq.params[i] +
                                     "'");
  }
  return std::pair<const CatalogQuery*, std::vector<Value>>{&cq, std::move(values)};
}

Result<Subscriptions::Joined> Subscriptions::Join(Time now, ClientId client,
                                                  const std::string& query,
                                                  const proto::Params& params, Outputs& out,
                                                  const std::optional<StreamPosition>& resume) {
  // The limits first, before anything is built from the client's input.
  for (const auto& [name, value] : params) {
    if (value.size() > options_.max_param_bytes) {
      out.join_over_limit = true;
      return Status::InvalidArgument(
          "parameter '" + name.substr(0, 64) + "' is " + std::to_string(value.size()) +
          " bytes, over max_param_bytes (" + std::to_string(options_.max_param_bytes) + ")");
    }
  }
  auto resolved = Resolve(query, params);
  if (!resolved.ok()) return resolved.status();
  Result<std::string> topic = MakeTopic(query, params);
  if (!topic.ok()) return topic.status();
  const CatalogQuery& cq = *resolved->first;

  ClientSeen(now, client);
  Client& c = clients_[client];
  if (!c.topics.count(*topic)) {
    if (c.topics.size() >= options_.max_subscriptions_per_client) {
      out.join_over_limit = true;
      return Status::Unavailable("this client has " + std::to_string(c.topics.size()) +
                                 " subscriptions, the most max_subscriptions_per_client allows");
    }
    if (c.topics.empty() && subscribed_clients_ >= options_.max_clients) {
      out.join_over_limit = true;
      return Status::Unavailable("this node serves " + std::to_string(subscribed_clients_) +
                                 " clients, the most max_clients allows");
    }
    if (c.topics.empty()) subscribed_clients_++;
    c.topics.insert(*topic);
    out.subscribed.emplace_back(*topic, client);
  }
  if (options_.standalone) {
    // This node owns its pollers: the first subscriber starts one, at an epoch above any before.
    linger_until_.erase(*topic);
    if (pollers_.Find(*topic) == nullptr) {
      const uint64_t epoch = pollers_.NextEpoch(*topic);
      pollers_.Start(now, *topic, cq, std::move(resolved->second), epoch, out.pollers);
      relay_.SetOwner(now, *topic, StreamOwner{options_.node, epoch}, out.relay);
    }
  }
  const Relay::Added added = relay_.AddSubscriber(now, *topic, cq.key, client, out.relay, resume);
  if (added.first && !options_.standalone) out.watch.push_back(*topic);
  return Joined{*topic, added.resumed};
}

Status Subscriptions::Leave(Time now, ClientId client, const std::string& topic, Outputs& out) {
  auto c = clients_.find(client);
  if (c == clients_.end() || c->second.topics.erase(topic) == 0)
    return Status::NotFound("not subscribed to '" + topic + "'");
  if (c->second.topics.empty()) subscribed_clients_--;
  c->second.last_seen = now;
  RemoveSubscriber(now, topic, client, out);
  return Status::Ok();
}

Duration Subscriptions::ClientCheckPeriod() const {
  // At least a millisecond: a client_timeout under 4 ns must not make a timer loop.
  return std::max<Duration>(options_.client_timeout / 4, std::chrono::milliseconds(1));
}

void Subscriptions::ClientSeen(Time now, ClientId client) {
  clients_[client].last_seen = now;
  if (!client_check_scheduled_) {
    client_check_scheduled_ = true;
    timers_.push({now + ClientCheckPeriod(), Timer::Kind::kClientCheck, ""});
  }
}

bool Subscriptions::Resend(const std::string& topic, ClientId client, Outputs& out) const {
  return relay_.Resend(topic, client, out.relay);
}

void Subscriptions::ClientGone(Time now, ClientId client, Outputs& out) {
  auto c = clients_.find(client);
  if (c == clients_.end()) return;
  for (const std::string& topic : c->second.topics) RemoveSubscriber(now, topic, client, out);
  if (!c->second.topics.empty()) subscribed_clients_--;
  clients_.erase(c);
  out.dropped_clients.push_back(client);
}

void Subscriptions::RemoveSubscriber(Time now, const std::string& topic, ClientId client,
                                     Outputs& out) {
  out.unsubscribed.emplace_back(topic, client);
  if (!relay_.RemoveSubscriber(topic, client)) return;
  if (!options_.standalone) {
    out.unwatch.push_back(topic);
  } else if (pollers_.Find(topic) != nullptr) {
    const Time until = now + options_.linger;
    linger_until_[topic] = until;
    timers_.push({until, Timer::Kind::kLinger, topic});
  }
}

void Subscriptions::StopOwnPoller(Time now, const std::string& topic, Outputs& out) {
  pollers_.Stop(topic, out.pollers);
  relay_.SetOwner(now, topic, std::nullopt, out.relay);
}

void Subscriptions::Tick(Time now, Outputs& out) {
  while (!timers_.empty() && timers_.top().when <= now) {
    Timer timer = timers_.top();
    timers_.pop();
    if (timer.kind == Timer::Kind::kClientCheck) {
      CheckClients(now, out);
      continue;
    }
    // A linger timer counts only if it is the latest one and nobody came back meanwhile.
    auto it = linger_until_.find(timer.topic);
    if (it == linger_until_.end() || it->second != timer.when) continue;
    linger_until_.erase(it);
    StopOwnPoller(now, timer.topic, out);
  }
  pollers_.Tick(now, out.pollers);
}

void Subscriptions::CheckClients(Time now, Outputs& out) {
  std::vector<ClientId> silent;
  for (const auto& [id, c] : clients_) {
    if (now - c.last_seen >= options_.client_timeout) silent.push_back(id);
  }
  for (ClientId id : silent) {
    out.timed_out.push_back(id);
    ClientGone(now, id, out);
  }
  client_check_scheduled_ = !clients_.empty();
  if (client_check_scheduled_)
    timers_.push({now + ClientCheckPeriod(), Timer::Kind::kClientCheck, ""});
}

Time Subscriptions::NextDeadline() const {
  const Time own = timers_.empty() ? Time::max() : timers_.top().when;
  return std::min(own, pollers_.NextDeadline());
}

void Subscriptions::PollDone(Time now, uint64_t poll_id, Result<ResultSet> result, Outputs& out,
                             std::optional<ResultDigest> digest) {
  PollOutcome o =
      pollers_.PollDone(now, poll_id, std::move(result), std::move(digest), out.pollers);
  if (o.error_text) relay_.RefreshError(o.topic, *o.error_text);
  if (!o.published) return;
  if (!options_.standalone) out.published.push_back(*o.published);
  relay_.OnUpdate(now, std::move(*o.published), out.relay, std::move(o.result));
}

// ---- the catalog ----

size_t Subscriptions::ReplaceCatalog(Time now, Catalog next, const CatalogChanges& changes,
                                     Outputs& out) {
  // The topics of removed or changed queries: those polled here and those with local subscribers.
  std::vector<std::string> touched;
  if (!changes.removed.empty() || !changes.changed.empty()) {
    std::vector<std::string> names = pollers_.Topics();
    for (std::string& t : relay_.Topics()) names.push_back(std::move(t));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (std::string& topic : names) {
      Result<ParsedTopic> parsed = ParseTopic(topic);
      if (!parsed.ok()) continue;
      if (changes.removed.count(parsed->query) || changes.changed.count(parsed->query))
        touched.push_back(std::move(topic));
    }
  }
  // Removed queries first, while the catalog still holds them (pollers point into it).
  for (const std::string& topic : touched) {
    const std::string query = ParseTopic(topic)->query;
    if (!changes.removed.count(query)) continue;
    const std::vector<ClientId> ended =
        relay_.EndStream(topic, "query '" + query + "' was removed from the catalog", out.relay);
    for (ClientId client : ended) {
      auto c = clients_.find(client);
      if (c == clients_.end() || c->second.topics.erase(topic) == 0) continue;
      if (c->second.topics.empty()) subscribed_clients_--;
      RemoveSubscriber(now, topic, client, out);
    }
    linger_until_.erase(topic);
    if (pollers_.Find(topic) == nullptr) continue;
    if (options_.standalone) {
      StopOwnPoller(now, topic, out);
    } else {
      pollers_.Stop(topic, out.pollers);  // the Registry's claim: Node::ReplaceCatalog released it
    }
  }
  for (const std::string& name : changes.removed) catalog_.queries.erase(name);
  // Changed and unchanged queries are assigned in place: pollers hold pointers to them.
  for (auto& [name, q] : next.queries) {
    auto it = catalog_.queries.find(name);
    if (it == catalog_.queries.end()) {
      catalog_.queries.emplace(name, std::move(q));
    } else if (changes.changed.count(name)) {
      it->second = std::move(q);
    } else {
      it->second.access = std::move(q.access);
      it->second.multiplex = q.multiplex;
    }
  }
  catalog_.source_caps = std::move(next.source_caps);
  size_t restarted = 0;
  for (const std::string& topic : touched) {
    const std::string query = ParseTopic(topic)->query;
    if (!changes.changed.count(query)) continue;
    relay_.SetKeyColumns(topic, catalog_.queries.at(query).key);
    if (options_.standalone && RestartPoller(now, topic, out)) restarted++;
  }
  return restarted;
}

// ---- cluster mode ----

Status Subscriptions::StartPoller(Time now, const std::string& topic, uint64_t epoch,
                                  Outputs& out) {
  Result<ParsedTopic> parsed = ParseTopic(topic);
  if (!parsed.ok()) return parsed.status();
  auto resolved = Resolve(parsed->query, parsed->params);
  if (!resolved.ok()) return resolved.status();
  pollers_.Start(now, topic, *resolved->first, std::move(resolved->second), epoch, out.pollers);
  return Status::Ok();
}

bool Subscriptions::CanPoll(const std::string& topic) const {
  Result<ParsedTopic> parsed = ParseTopic(topic);
  return parsed.ok() && Resolve(parsed->query, parsed->params).ok();
}

void Subscriptions::StopPoller(Time /*now*/, const std::string& topic, Outputs& out) {
  pollers_.Stop(topic, out.pollers);
  linger_until_.erase(topic);
}

std::optional<uint64_t> Subscriptions::RestartPoller(Time now, const std::string& topic,
                                                     Outputs& out) {
  if (pollers_.Find(topic) == nullptr) return std::nullopt;
  Result<ParsedTopic> parsed = ParseTopic(topic);
  if (!parsed.ok()) return std::nullopt;
  auto resolved = Resolve(parsed->query, parsed->params);
  if (!resolved.ok()) return std::nullopt;
  pollers_.Stop(topic, out.pollers);
  const uint64_t epoch = pollers_.NextEpoch(topic);
  pollers_.Start(now, topic, *resolved->first, std::move(resolved->second), epoch, out.pollers);
  relay_.SetOwner(now, topic, StreamOwner{options_.node, epoch}, out.relay);
  return epoch;
}

std::optional<StreamOwner> Subscriptions::Owner(const std::string& topic) const {
  return relay_.Owner(topic);
}

void Subscriptions::SetOwner(Time now, const std::string& topic, std::optional<StreamOwner> owner,
                             Outputs& out) {
  relay_.SetOwner(now, topic, std::move(owner), out.relay);
}

void Subscriptions::OnRemoteUpdate(Time now, proto::Update u, Outputs& out) {
  relay_.OnUpdate(now, std::move(u), out.relay);
}

void Subscriptions::Refetch(Time now, const std::string& owner, Outputs& out) {
  relay_.Refetch(now, owner, out.relay);
}

std::optional<proto::Update> Subscriptions::CurrentState(const std::string& topic) const {
  return pollers_.CurrentState(topic);
}

std::map<std::string, uint64_t> Subscriptions::RunningPollers() const { return pollers_.Running(); }

bool Subscriptions::Polls(const std::string& topic) const {
  return pollers_.Find(topic) != nullptr;
}

void Subscriptions::MarkStale(Time /*now*/, const std::string& topic, const std::string& why,
                              Outputs& out) {
  relay_.MarkStale(topic, why, out.relay);
}

bool Subscriptions::Stale(const std::string& topic) const {
  const std::optional<StreamInfo> s = relay_.Info(topic);
  return s && s->stale;
}

// ---- views ----

std::string Subscriptions::PollerState(const PollerInfo* p) {
  if (p == nullptr) return "waiting";  // named owner, but its poller has not started here yet
  return p->failing ? "error" : p->has_result ? "polling" : "starting";
}

std::vector<StalledPoller> Subscriptions::Stalled(Time now, uint32_t stall_after) const {
  std::vector<StalledPoller> stalled;
  for (const std::string& topic : pollers_.Topics()) {
    const PollerInfo* p = pollers_.Find(topic);
    const Time since = p->last_success.value_or(p->started);
    const Duration age = now - since;
    if (age <= static_cast<int64_t>(stall_after) * p->interval) continue;
    std::string detail;
    if (p->in_flight_since) {
      detail = "a poll in flight for " + HumanDuration(now - *p->in_flight_since);
    } else if (p->waiting) {
      detail = "waiting for its source (max_concurrent reached)";
    } else if (p->failing) {
      detail = "its source fails";
    } else {
      detail = "no poll finished";
    }
    detail += (p->last_success ? ", last good poll " + HumanDuration(age) + " ago"
                               : ", no good poll since it started " + HumanDuration(age) + " ago");
    detail +=
        " (stall_after " + std::to_string(stall_after) + " x " + HumanDuration(p->interval) + ")";
    stalled.push_back({topic, p->epoch, age, std::move(detail)});
  }
  return stalled;
}

std::vector<TopicInfo> Subscriptions::Topics(Time now) const {
  std::vector<std::string> names = pollers_.Topics();
  for (std::string& t : relay_.Topics()) names.push_back(std::move(t));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  std::vector<TopicInfo> infos;
  infos.reserve(names.size());
  for (const std::string& name : names) {
    const PollerInfo* p = pollers_.Find(name);
    const std::optional<StreamInfo> s = relay_.Info(name);
    TopicInfo i;
    i.topic = name;
    if (s && s->delivered) {
      i.owner = s->delivered_by;
      i.epoch = s->epoch;
      i.seq = s->seq;
    } else if (s && s->owner) {
      i.owner = s->owner->node;
      i.epoch = s->owner->epoch;
    } else if (p != nullptr) {  // no local subscriber: the stream this node's poller publishes
      i.owner = options_.node;
      i.epoch = p->epoch;
      i.seq = p->seq;
    }
    i.subscribers = s ? s->subscribers : 0;
    if (p != nullptr) {
      i.polling = true;
      i.poller_epoch = p->epoch;
      i.polls = p->polls;
      i.errors = p->errors;
      if (p->last_poll_done) i.since_last_poll = now - *p->last_poll_done;
    }
    if (options_.standalone) {
      i.state = s ? PollerState(p) : "lingering";
    } else if (!s) {
      i.state = PollerState(p);  // polling for other nodes' subscribers only
    } else if (s->stale) {
      i.state = "stale";
    } else if (!s->owner) {
      i.state = "waiting";
    } else if (s->owner->node == options_.node) {
      i.state = PollerState(p);
    } else if (!s->synced) {
      i.state = "waiting";
    } else {
      i.state = s->error.empty() ? "relayed" : "error";
    }
    infos.push_back(std::move(i));
  }
  return infos;
}

}  // namespace livepoll::core
