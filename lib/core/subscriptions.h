// Subscriptions: the sans-I/O heart of one node's live queries. It decides which topics have
// pollers, when each poller polls, what changed, and which subscribers receive which message.
//
// Inputs are method calls carrying the current time; consequences are appended to an Outputs that
// the caller carries out (send these frames, run these polls). It does no I/O, reads no clock and
// takes no locks, so tests drive it with a fake clock and the daemon's event loop owns it.
//
// Guarantees:
//  - one poller per topic, however many subscribers: a topic polls once per interval (with jitter);
//  - a poller starts with the first subscriber and stops `linger` after the last one left;
//  - a new subscriber of a polling topic gets the current snapshot first;
//  - only a change of the result (by HashResult) is published: a keyed diff when the query names
//    key columns and a previous result exists, else a snapshot;
//  - a failed poll publishes an `error` update (once per outage), backs off exponentially
//    up to `backoff_max`, and the first good poll after it publishes a fresh snapshot;
//  - at most `source_caps[source]` polls of one source run at once; the rest wait their turn;
//  - a client not seen for `client_timeout` is dropped with all its subscriptions.
//
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "env/env.h"
#include "livepoll/status.h"
#include "livepoll/value.h"
#include "proto/messages.h"

namespace livepoll::core {

using ClientId = uint64_t;

struct SubscriptionsOptions {
  std::string node = "local";  // the owner named in updates
  Duration linger = std::chrono::seconds(5);
  Duration client_timeout = std::chrono::seconds(10);
  Duration backoff_max = std::chrono::seconds(10);
  uint64_t seed = 1;  // for jitter
};

// Run the query of `topic` with `params` (in the catalog's parameter order) against `source`, then
// report back with PollDone carrying the same `poll_id`.
struct PollRequest {
  uint64_t poll_id = 0;
  std::string topic;
  std::string query;
  std::string source;
  std::vector<Value> params;
};

// Send `message` to each of `clients`.
struct Delivery {
  std::vector<ClientId> clients;
  proto::Message message;
};

// Something worth a log line or a counter.
struct Event {
  enum class Kind { kPollerStarted, kPollerStopped, kPollFailed, kPollRecovered, kClientDropped };
  Kind kind;
  std::string topic;
  ClientId client = 0;
  std::string detail;
};

struct Outputs {
  std::vector<Delivery> deliveries;
  std::vector<PollRequest> polls;
  std::vector<ClientId> dropped_clients;  // the transport may forget these clients
  // Subscriptions that began and ended, for the cluster's presence.
  std::vector<std::pair<std::string, ClientId>> subscribed;
  std::vector<std::pair<std::string, ClientId>> unsubscribed;
  std::vector<Event> events;
};

// One row of `livepoll subs`.
struct TopicInfo {
  std::string topic;
  std::string owner;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  size_t subscribers = 0;
  uint64_t polls = 0;
  uint64_t errors = 0;
  std::optional<Duration> since_last_poll;  // nullopt: no poll has finished yet
  std::string state;  // starting, polling, error, lingering
};

class Subscriptions {
 public:
  Subscriptions(Catalog catalog, SubscriptionsOptions options);
  ~Subscriptions();
  Subscriptions(const Subscriptions&) = delete;
  Subscriptions& operator=(const Subscriptions&) = delete;

  // Subscribes `client` to query(params). Returns the topic; InvalidArgument/NotFound for an
  // unknown query or missing, extra or repeated parameters (nothing changes then).
  Result<std::string> Join(Time now, ClientId client, const std::string& query,
                           const proto::Params& params, Outputs& out);
  // NotFound when the client is not subscribed to `topic`.
  Status Leave(Time now, ClientId client, const std::string& topic, Outputs& out);
  // Any frame from the client keeps it alive.
  void ClientSeen(Time now, ClientId client);
  // The client is gone (timed out or disconnected): all its subscriptions end.
  void ClientGone(Time now, ClientId client, Outputs& out);
  // The result of a PollRequest. Stale results (the poller stopped meanwhile) are ignored.
  void PollDone(Time now, uint64_t poll_id, Result<ResultSet> result, Outputs& out);
  // Fires what is due at `now`: polls, poller stops after linger, client timeouts.
  void Tick(Time now, Outputs& out);
  // When Tick next has something to do; Time::max() if nothing is scheduled.
  Time NextDeadline() const;

  std::vector<TopicInfo> Topics(Time now) const;
  size_t client_count() const { return clients_.size(); }
  size_t topic_count() const { return topics_.size(); }
  size_t subscription_count() const;
  const Catalog& catalog() const { return catalog_; }

 private:
  struct Topic;
  struct Client {
    Time last_seen;
    std::set<std::string> topics;
  };
  struct Timer {
    Time when;
    enum class Kind { kPoll, kLinger, kClientCheck } kind;
    std::string topic;
    uint64_t generation;  // the Topic's generation; a stale timer is skipped
    bool operator>(const Timer& o) const { return when > o.when; }
  };

  Topic* StartPoller(Time now, const std::string& topic, const CatalogQuery& q,
                     std::vector<Value> params, Outputs& out);
  void RemoveSubscriber(Time now, Topic& t, ClientId client, Outputs& out);
  void StopPoller(Topic& t, Outputs& out);
  void SchedulePoll(Topic& t, Time when);
  void Due(Time now, Topic& t, Outputs& out);
  void Launch(Time now, Topic& t, Outputs& out);
  void LaunchWaiting(Time now, const std::string& source, Outputs& out);
  void Publish(Topic& t, proto::Update u, Outputs& out);
  proto::Update MakeUpdate(const Topic& t, proto::UpdateKind kind) const;
  void SendCurrentState(const Topic& t, ClientId client, Outputs& out) const;
  Duration Jittered(Duration base, double jitter);

  Catalog catalog_;
  SubscriptionsOptions options_;
  std::mt19937_64 rng_;
  std::map<std::string, std::unique_ptr<Topic>> topics_;
  std::map<std::string, uint64_t> epochs_;  // the last epoch each topic had, so epochs only grow
  std::map<ClientId, Client> clients_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  uint64_t next_generation_ = 1;
  uint64_t next_poll_id_ = 1;
  struct InFlight {
    std::string source;
    std::string topic;
  };
  std::map<uint64_t, InFlight> polls_in_flight_;  // by poll_id
  std::map<std::string, int> running_;                // source -> polls in flight
  std::map<std::string, std::deque<std::string>> waiting_;  // source -> topics due, over the cap
  bool client_check_scheduled_ = false;
};

}  // namespace livepoll::core
