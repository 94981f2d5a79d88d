// Pollers: the pollers one node runs — when each polls, the per-source caps, back-off, change
// detection, and the (epoch, seq) numbering of what they publish. Part of Subscriptions, which
// decides which pollers run (standalone: its local subscribers; in a cluster: the Registry) and
// routes what they publish (relay.h, Outputs::published). Sans-I/O like Subscriptions.
//
// Publishing rules (what a subscriber of the stream may rely on):
//  - seq counts every published update of the topic within the epoch, errors included, from 1;
//  - the first update of an epoch that carries data is a snapshot; so is the first after an
//    error: a diff always follows the data update just before it;
//  - only a change of the result (by HashResult) is published: a keyed diff when the query names
//    key columns and a previous result exists, else a snapshot;
//  - a failed poll publishes an `error` once per outage (and once more in a new epoch), backs off
//    exponentially up to `backoff_max`; the error's `columns` are the last result's, if any.
//
// Multiplexed polling (a query's `multiplex` above 1): when a poller of such a query is due, it
// takes along, as one batch of at most `multiplex` topics, the other pollers of its query on this
// node that are waiting for their source's cap, or due now, or due within half an interval. Each
// poll of the batch is still its own PollRequest (its own poll_id, PollDone, hash, diff, epoch
// and seq); they share PollRequest::batch so the runtime can run them as one statement, and the
// batch counts once against its source's cap. The batch's pollers start their polls together and
// draw one jitter for the batch, so they stay due together: from then on each interval costs
// ceil(topics / multiplex) statements. Why half an interval: it is the widest window that never
// polls a topic more than twice per interval (a topic pulled early waited at least half of it),
// and it is wider than the spread of jitter (at most 2 * jitter * interval, with the default
// jitter 0.1) so that topics starting at different moments fall into one beat within an interval
// or two, while a new topic's first poll still runs at once (subscribers want data now).
//
// Thread safety: none; one thread owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/result_diff.h"
#include "livepoll/status.h"
#include "livepoll/time.h"
#include "livepoll/value.h"
#include "proto/messages.h"

namespace livepoll::core {

// Run the query of `topic` with `params` (in the catalog's parameter order) against `source`, then
// report back with PollDone carrying the same `poll_id` — and, best, the DigestResult of the
// result against `base`, computed where the result is (a poll worker), not on the event loop.
struct PollRequest {
  uint64_t poll_id = 0;
  std::string topic;
  std::string query;
  std::string source;
  std::vector<Value> params;
  // Non-zero: this poll is part of a multiplexed batch, with every request of the same `batch`
  // (they follow each other in PollerOutputs::polls, all of one query). The runtime may run them
  // as one statement; each still reports its own PollDone.
  uint64_t batch = 0;
  ResultBase base;  // the poller's last result when the poll started
};

// Something about a poller worth a log line.
struct PollerEvent {
  enum class Kind { kStarted, kStopped, kFailed, kRecovered };
  Kind kind;
  std::string topic;
  std::string detail;  // kStarted: "epoch N"; kFailed: the source's error
};

// What the pollers decided: polls to run now, and events.
struct PollerOutputs {
  std::vector<PollRequest> polls;
  std::vector<PollerEvent> events;
};

// What a finished poll changed.
struct PollOutcome {
  std::string topic;                        // empty: the poll was stale (its poller stopped)
  std::optional<proto::Update> published;   // the update the poller published, if any
  std::shared_ptr<const ResultSet> result;  // the result `published` leads to (shared, not copied)
  // The source still fails but says something else now. Not published (once per outage), but
  // late subscribers should read the latest text.
  std::optional<std::string> error_text;
};

// A poller's figures, for `livepoll subs`.
struct PollerInfo {
  uint64_t epoch = 0;
  uint64_t seq = 0;
  uint64_t polls = 0;
  uint64_t errors = 0;
  std::optional<Time> last_poll_done;
  bool has_result = false;
  bool failing = false;  // the last poll failed
  // For the stall check (Subscriptions::Stalled):
  Time started{};                       // when the poller (re)started at its epoch
  std::optional<Time> last_success;     // when the last good poll finished
  std::optional<Time> in_flight_since;  // when the poll in flight was launched
  bool waiting = false;                 // due, but over its source's cap
  Duration interval{};                  // the query's
};

class Pollers {
 public:
  // `node` and `session`: the owner its updates name (this node, this process). `history`: how
  // many of its last published updates each poller keeps (History).
  Pollers(const Catalog& catalog, std::string node, uint64_t session, Duration backoff_max,
          uint64_t seed, size_t history = 0);
  ~Pollers();
  Pollers(const Pollers&) = delete;
  Pollers& operator=(const Pollers&) = delete;

  // Starts `topic`'s poller at `epoch` with its first poll due now. Already running: a higher
  // epoch is adopted (seq restarts at 0, the next good poll publishes a snapshot, a poll is due
  // now so that snapshot comes promptly); a lower or equal one changes nothing (returns false).
  // REQUIRES: `query` outlives the poller (it points into the catalog).
  bool Start(Time now, const std::string& topic, const CatalogQuery& query,
             std::vector<Value> params, uint64_t epoch, PollerOutputs& out);
  // Stops it; a poll in flight is ignored when it returns. False when none runs.
  bool Stop(const std::string& topic, PollerOutputs& out);
  // The result of a PollRequest; see PollOutcome. `digest`: DigestResult(result, request's base),
  // used when its base is still the one a diff would start from (else, or without one, the
  // digest is computed here).
  PollOutcome PollDone(Time now, uint64_t poll_id, Result<ResultSet> result,
                       std::optional<ResultDigest> digest, PollerOutputs& out);
  // Launches the polls due at `now` (within the sources' caps).
  void Tick(Time now, PollerOutputs& out);
  Time NextDeadline() const;

  // The epoch a new registration of `topic` by this node takes: above every epoch it had here.
  uint64_t NextEpoch(const std::string& topic) const;
  const PollerInfo* Find(const std::string& topic) const;
  std::map<std::string, uint64_t> Running() const;
  std::vector<std::string> Topics() const;
  size_t size() const { return pollers_.size(); }

  // The poller's state as one update for another node: a snapshot of its last result at the seq
  // of the update that set it (0 when the epoch has published no data yet), else the error while
  // the source fails with no result ever; nullopt with neither. During an outage after data, the
  // error came after that snapshot's seq: it reaches the other node on the data plane (or that
  // node learns of the recovery from the snapshot that follows it).
  std::optional<proto::Update> CurrentState(const std::string& topic) const;
  // The same for this node's relay, which can take both: the snapshot, then the error (at its own
  // seq) while the source fails. Empty when the poller has neither.
  std::vector<proto::Update> State(const std::string& topic) const;
  // The poller's last published updates (at most `history`), oldest first: a stream, for clients
  // that resume (relay.h). Empty when none runs.
  std::vector<proto::Update> History(const std::string& topic) const;

 private:
  struct Poller;
  struct Timer {
    Time when;
    std::string topic;
    uint64_t generation;  // the Poller's generation; a stale timer is skipped
    bool operator>(const Timer& o) const { return when > o.when; }
  };
  struct InFlight {
    std::string source;
    std::string topic;
    uint64_t batch = 0;  // PollRequest::batch
  };
  struct Batch {
    size_t remaining = 0;  // polls of the batch not done yet: it holds its source's cap till 0
    double jitter_u = 0;   // the batch's one jitter draw, in [-1, 1]
  };

  void SchedulePoll(Poller& p, Time when);
  void Due(Time now, Poller& p, PollerOutputs& out);
  void Launch(Time now, Poller& p, PollerOutputs& out);
  // What p's next result is compared with (PollRequest::base).
  static ResultBase Base(const Poller& p);
  void LaunchOne(Time now, Poller& p, uint64_t batch, PollerOutputs& out);
  // The pollers `p` takes along in its batch (see the top of the file), at most `n`.
  std::vector<Poller*> Companions(Time now, const Poller& p, size_t n);
  void LaunchWaiting(Time now, const std::string& source, PollerOutputs& out);
  int Cap(const std::string& source) const;
  proto::Update MakeUpdate(const Poller& p, proto::UpdateKind kind) const;
  proto::Update Publish(Poller& p, proto::Update u) const;
  Duration Jittered(Duration base, double jitter);
  static Duration Scaled(Duration base, double jitter, double u);

  const Catalog& catalog_;
  std::string node_;
  uint64_t session_;
  Duration backoff_max_;
  size_t history_;
  std::mt19937_64 rng_;
  std::map<std::string, std::unique_ptr<Poller>> pollers_;
  // The highest epoch each topic had, so epochs only grow. Past kMaxEpochs topics, those not
  // running are folded into epoch_floor_, above which every new epoch is taken (NextEpoch).
  std::map<std::string, uint64_t> epochs_;
  uint64_t epoch_floor_ = 0;
  static constexpr size_t kMaxEpochs = 4096;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  uint64_t next_generation_ = 1;
  uint64_t next_poll_id_ = 1;
  std::map<uint64_t, InFlight> polls_in_flight_;            // by poll_id
  std::map<std::string, int> running_;                      // source -> polls in flight
  std::map<std::string, std::deque<std::string>> waiting_;  // source -> topics due, over the cap
  std::map<uint64_t, Batch> batches_;                       // by PollRequest::batch, in flight
  // Query name -> its pollers here, by topic (ordered, so batches form the same way every run).
  std::map<std::string, std::map<std::string, Poller*>> by_query_;
};

}  // namespace livepoll::core
