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
// Standalone and cluster. Standalone (the default), a topic's poller starts with its first local
// subscriber and stops `linger` after the last one left, as above. In a cluster the Registry
// decides: pollers start and stop only by StartPoller/StopPoller, whatever the local subscribers,
// and every update a poller publishes also goes out in Outputs::published for the data plane.
// Either way local subscribers are fed by the relay (relay.h): they get only the updates of the
// owner SetOwner names (fencing), in (epoch, seq) order, a snapshot first, and a gap in seq or a
// new epoch without a snapshot makes the node fetch a snapshot (Outputs::fetches) instead of
// passing on a broken stream. Standalone, the node is the owner of its own pollers, so the same
// path serves both (the relay shares the poller's result rather than copying it).
// Parts: Pollers (pollers.h) run the queries and number what they publish; Relay (relay.h) follows
// the streams for local subscribers; this class holds the clients and decides which pollers run.
//
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/pollers.h"
#include "core/relay.h"
#include "livepoll/status.h"
#include "livepoll/time.h"
#include "livepoll/value.h"
#include "proto/messages.h"

namespace livepoll::core {

struct SubscriptionsOptions {
  std::string node = "local";  // the owner named in updates
  uint64_t session = 0;        // this process, named in updates (Update::owner_session)
  Duration linger = std::chrono::seconds(5);
  Duration client_timeout = std::chrono::seconds(10);
  Duration backoff_max = std::chrono::seconds(10);
  uint64_t seed = 1;  // for jitter
  // Updates kept per topic, by its poller and by the relay, for clients that resume (relay.h).
  size_t history = 64;
  // true: pollers follow local subscribers. false: a cluster node; see the header comment.
  bool standalone = true;
  // Limits on what clients can make this node hold; a join over one is refused (Join).
  size_t max_param_bytes = 4096;  // one parameter value
  size_t max_subscriptions_per_client = 1000;
  size_t max_clients = 10000;  // clients holding at least one subscription
};

// What Subscriptions decided, for its caller to carry out; each part's own outputs inside.
struct Outputs {
  PollerOutputs pollers;  // polls to run, poller events
  RelayOutputs relay;     // deliveries to clients, snapshot fetches, fencing and gap counts
  std::vector<ClientId> dropped_clients;  // the transport may forget these clients
  std::vector<ClientId> timed_out;        // those of them dropped for silence (client_timeout)
  // Subscriptions that began and ended, for the cluster's presence.
  std::vector<std::pair<std::string, ClientId>> subscribed;
  std::vector<std::pair<std::string, ClientId>> unsubscribed;
  // ---- cluster mode (published, watch and unwatch stay empty standalone) ----
  std::vector<proto::Update> published;  // every update of this node's pollers, for the data plane
  std::vector<std::string> watch;        // topics that got a first local subscriber: receive them
  std::vector<std::string> unwatch;      // topics whose last local subscriber left
  bool join_over_limit = false;          // Join refused the join for one of the limits
};

// One row of `livepoll subs`.
struct TopicInfo {
  std::string topic;
  // Whose stream local subscribers get (this node, standalone) and the last (epoch, seq) delivered
  // to them; before anything was delivered, SetOwner's owner and epoch; with no local subscriber,
  // this node's poller's stream.
  std::string owner;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  size_t subscribers = 0;
  bool polling = false;  // this node runs the topic's poller (polls, errors: its counts)
  uint64_t poller_epoch = 0;
  uint64_t polls = 0;
  uint64_t errors = 0;
  std::optional<Duration> since_last_poll;  // nullopt: no poll has finished yet
  // Standalone: starting (no result yet), polling, error (the source fails), lingering (no
  // subscriber left). Cluster: the poller's starting/polling/error when local subscribers follow
  // this node (or there are none); else stale (MarkStale, until a snapshot), waiting (no owner,
  // this node's poller not started yet, or no snapshot yet), error (the owner's source fails) or
  // relayed (another node's stream, in step).
  std::string state;
};

// A poller that has not polled successfully for longer than stall_after × its interval
// (Subscriptions::Stalled): a `stalled` zombie.
struct StalledPoller {
  std::string topic;
  uint64_t epoch = 0;
  Duration age{};      // since its last good poll, or since it started when none
  std::string detail;  // why, for people: "a poll in flight for 12s", "failing: ..."
};

class Subscriptions {
 public:
  Subscriptions(Catalog catalog, SubscriptionsOptions options);
  ~Subscriptions();
  Subscriptions(const Subscriptions&) = delete;
  Subscriptions& operator=(const Subscriptions&) = delete;

  struct Joined {
    std::string topic;
    bool resumed = false;  // the client's stream continues from its resume position
  };
  // Subscribes `client` to query(params). InvalidArgument/NotFound for an unknown query or
  // missing, extra or repeated parameters; InvalidArgument for a parameter value longer than
  // max_param_bytes, Unavailable past max_subscriptions_per_client or (for a client with no
  // subscription yet) max_clients, the message naming the limit, Outputs::join_over_limit set
  // (nothing changes then either: no topic, no presence entry). The client gets the topic's
  // current state at once if this node holds it, or, with `resume` (the position it last
  // applied), what it missed since when this node still holds it (relay.h, "Resume"). A topic's
  // first local subscriber starts its poller (standalone) or puts it in Outputs::watch (cluster).
  Result<Joined> Join(Time now, ClientId client, const std::string& query,
                      const proto::Params& params, Outputs& out,
                      const std::optional<StreamPosition>& resume = std::nullopt);
  // NotFound when the client is not subscribed to `topic`. After the last local subscriber the
  // poller lingers (standalone) or the topic goes to Outputs::unwatch (cluster).
  Status Leave(Time now, ClientId client, const std::string& topic, Outputs& out);
  // Any frame from the client keeps it alive.
  void ClientSeen(Time now, ClientId client);
  // The transport dropped updates of `topic` on their way to `client` (a slow consumer): it gets
  // the topic's current state again (Relay::Resend). False when it is not subscribed.
  bool Resend(const std::string& topic, ClientId client, Outputs& out) const;
  // The client is gone (timed out or disconnected): all its subscriptions end.
  void ClientGone(Time now, ClientId client, Outputs& out);
  // The result of a PollRequest, with its digest if the worker made one (Pollers::PollDone).
  // Stale results (the poller stopped meanwhile) are ignored.
  void PollDone(Time now, uint64_t poll_id, Result<ResultSet> result, Outputs& out,
                std::optional<ResultDigest> digest = std::nullopt);
  // Fires what is due at `now`: polls, poller stops after linger, client timeouts.
  void Tick(Time now, Outputs& out);
  // When Tick next has something to do; Time::max() if nothing is scheduled.
  Time NextDeadline() const;

  // ---- the catalog (a reload) ----
  // Replaces the catalog by `next`; `changes` is DiffCatalogs(catalog(), next). Queries not in
  // `changes` keep their pollers and streams (their access rules and the sources' caps are
  // taken from `next`). Then:
  //  - removed: each local subscriber of its topics gets an error update "query 'Q' was removed
  //    from the catalog" and its subscription ends (Outputs::unsubscribed, unwatch); this node's
  //    pollers of them stop;
  //  - changed: standalone, each running poller of its topics restarts at a new epoch
  //    (RestartPoller: subscribers stay and follow the new epoch from its snapshot); in a cluster
  //    the Registry must re-register the topics this node polls (Node::ReplaceCatalog), so they
  //    are left to it; new key columns apply to the next snapshot of every stream;
  //  - added: joins of them succeed from now on.
  // Returns how many pollers restarted.
  size_t ReplaceCatalog(Time now, Catalog next, const CatalogChanges& changes, Outputs& out);

  // ---- cluster mode (standalone = false) ----
  // Starts this node's poller for `topic` at `epoch`; its first poll is due now. Already running:
  // a higher `epoch` is adopted (seq restarts at 0, the next good poll publishes a snapshot, and a
  // poll is due now so that the new epoch's snapshot comes promptly; the beat resumes from it); a
  // lower or equal one changes nothing. Malformed/NotFound/InvalidArgument when the topic does not
  // parse, names an unknown query or lacks its parameters (nothing changes then). Works
  // standalone too, but there the linger may stop the poller again.
  Status StartPoller(Time now, const std::string& topic, uint64_t epoch, Outputs& out);
  // Whether this node's catalog can poll `topic`: it parses and names a query of the catalog
  // with exactly its parameters.
  bool CanPoll(const std::string& topic) const;
  // Stops this node's poller for `topic` (nothing when none runs). Local subscribers stay.
  void StopPoller(Time now, const std::string& topic, Outputs& out);
  // Stops `topic`'s poller and starts it again at a new epoch, as this node's own stream: local
  // subscribers follow the new epoch from its first snapshot (a standalone node's reap of a
  // stalled or forced poller). The new epoch; nullopt when no poller of `topic` runs.
  std::optional<uint64_t> RestartPoller(Time now, const std::string& topic, Outputs& out);
  // The Registry's current owner of `topic` (node name, epoch), or none: local subscribers get
  // only its updates. A new owner whose state this node does not hold is fetched from (or, when
  // it is this node, read from its poller).
  void SetOwner(Time now, const std::string& topic, std::optional<StreamOwner> owner, Outputs& out);
  // The owner SetOwner named last for `topic`, if any.
  std::optional<StreamOwner> Owner(const std::string& topic) const;
  // An update from another node: the data plane, or the answer to a SnapshotFetch. Ignored when
  // the topic has no local subscriber.
  void OnRemoteUpdate(Time now, proto::Update u, Outputs& out);
  // Every stream following `owner` (a node name) fetches its state again (Relay::Refetch).
  void Refetch(Time now, const std::string& owner, Outputs& out);
  // The current state of this node's poller of `topic`, for another node's fetch: a snapshot of
  // its last result at the seq of the update that set it — the poller's (epoch, seq) except
  // during an outage, when the error's seq follows and reaches the fetcher on the data plane — or,
  // with no result ever, the error update while the source fails. nullopt when this node does
  // not poll the topic or has neither yet.
  std::optional<proto::Update> CurrentState(const std::string& topic) const;
  // The pollers this node runs: topic -> epoch.
  std::map<std::string, uint64_t> RunningPollers() const;  // O(pollers)
  // Whether this node runs `topic`'s poller: O(log pollers).
  bool Polls(const std::string& topic) const;
  // The data of `topic` is stale (`why`, e.g. the node lost the majority): local subscribers get
  // one error update "stale: <why>" (at the last (epoch, seq) delivered: it is this node's word);
  // the stream resumes with a snapshot when an owner is back.
  void MarkStale(Time now, const std::string& topic, const std::string& why, Outputs& out);
  // Local subscribers of `topic` were told it is stale and no snapshot has come since.
  bool Stale(const std::string& topic) const;

  // This node's pollers whose last good poll finished (or which started, with none yet) longer
  // ago than `stall_after` × the query's interval: a poll hangs, waits for its source's cap, or
  // the source fails.
  std::vector<StalledPoller> Stalled(Time now, uint32_t stall_after) const;
  // One row per topic this node polls or has local subscribers of.
  std::vector<TopicInfo> Topics(Time now) const;
  size_t client_count() const { return clients_.size(); }
  size_t topic_count() const;
  size_t subscription_count() const;
  const Catalog& catalog() const { return catalog_; }

 private:
  struct Client {
    Time last_seen;
    std::set<std::string> topics;
  };
  struct Timer {  // the pollers keep their own; these are Subscriptions'
    Time when;
    enum class Kind { kLinger, kClientCheck } kind;
    std::string topic;
    bool operator>(const Timer& o) const { return when > o.when; }
  };

  // The catalog query a topic names, with its parameters in the catalog's order.
  Result<std::pair<const CatalogQuery*, std::vector<Value>>> Resolve(
      const std::string& query, const proto::Params& params) const;
  void RemoveSubscriber(Time now, const std::string& topic, ClientId client, Outputs& out);
  void StopOwnPoller(Time now, const std::string& topic, Outputs& out);
  void CheckClients(Time now, Outputs& out);
  Duration ClientCheckPeriod() const;
  static std::string PollerState(const PollerInfo* p);  // starting, polling, error (or waiting)

  Catalog catalog_;
  SubscriptionsOptions options_;
  Pollers pollers_;  // after catalog_, which it reads
  Relay relay_;      // after pollers_, whose state it reads
  std::map<ClientId, Client> clients_;
  size_t subscribed_clients_ = 0;             // clients_ with at least one topic (max_clients)
  std::map<std::string, Time> linger_until_;  // standalone: topics whose last subscriber left
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  bool client_check_scheduled_ = false;
};

}  // namespace livepoll::core
