// Subscriptions in cluster mode (standalone = false): pollers started and stopped by the Registry,
// what they publish for the data plane, local subscribers fed by the relay from this node or
// another, and a randomized stream with reorderings, drops and duplicates.
#include <gtest/gtest.h>

#include <iostream>
#include <random>

#include "core/result_diff.h"
#include "core/subscriptions.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;
using proto::Update;
using proto::UpdateKind;

ResultSet Rows(std::vector<std::pair<int64_t, std::string>> rows) {
  ResultSet rs;
  rs.columns = {"id", "name"};
  for (auto& [id, name] : rows) rs.rows.push_back({Value(id), Value(name)});
  return rs;
}

Catalog MakeCatalog() {
  Catalog c;
  c.queries["keyed"] = {"keyed", "db", {}, {"id"}, 1s, 0.0};
  c.queries["by_region"] = {"by_region", "db", {"region"}, {}, 1s, 0.0};
  c.source_caps["db"] = 4;
  return c;
}

SubscriptionsOptions ClusterOptions() {
  SubscriptionsOptions o;
  o.node = "n1";
  o.standalone = false;
  o.client_timeout = 1h;
  return o;
}

class ClusterTest : public ::testing::Test {
 protected:
  std::string Join(ClientId c, const std::string& q = "keyed", proto::Params p = {}) {
    Result<Subscriptions::Joined> t = subs_.Join(now_, c, q, p, out_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t->topic : "";
  }
  void Owner(const std::string& topic, const std::string& node, uint64_t epoch) {
    subs_.SetOwner(now_, topic, StreamOwner{node, epoch}, out_);
  }
  void Advance(Duration d) {
    now_ += d;
    subs_.Tick(now_, out_);
  }
  void CompletePolls(const Result<ResultSet>& result) {
    std::vector<PollRequest> polls;
    polls.swap(out_.pollers.polls);
    for (const PollRequest& p : polls) subs_.PollDone(now_, p.poll_id, result, out_);
  }
  std::vector<Update> UpdatesFor(ClientId c) const {
    std::vector<Update> v;
    for (const Delivery& d : out_.relay.deliveries) {
      if (std::find(d.clients.begin(), d.clients.end(), c) == d.clients.end()) continue;
      if (auto* u = std::get_if<Update>(&d.message)) v.push_back(*u);
    }
    return v;
  }
  const TopicInfo* Info(const std::string& topic) {
    infos_ = subs_.Topics(now_);
    for (const TopicInfo& i : infos_)
      if (i.topic == topic) return &i;
    return nullptr;
  }

  Subscriptions subs_{MakeCatalog(), ClusterOptions()};
  Outputs out_;
  Time now_ = Time(100s);
  std::vector<TopicInfo> infos_;
};

TEST_F(ClusterTest, JoinAndLeaveWatchAndUnwatchButStartNoPoller) {
  std::string t = Join(1);
  Join(2);
  Advance(5s);
  EXPECT_EQ(out_.watch, std::vector<std::string>{t});
  EXPECT_TRUE(out_.pollers.polls.empty());
  EXPECT_TRUE(subs_.RunningPollers().empty());
  ASSERT_NE(Info(t), nullptr);
  EXPECT_EQ(Info(t)->state, "waiting");
  EXPECT_EQ(Info(t)->subscribers, 2u);
  ASSERT_TRUE(subs_.Leave(now_, 1, t, out_).ok());
  EXPECT_TRUE(out_.unwatch.empty());
  subs_.ClientGone(now_, 2, out_);
  EXPECT_EQ(out_.unwatch, std::vector<std::string>{t});
  EXPECT_EQ(Info(t), nullptr);  // not lingered
  EXPECT_EQ(subs_.topic_count(), 0u);
}

TEST_F(ClusterTest, AFirstSubscriberFetchesFromAKnownOwner) {
  Owner("keyed", "n2", 3);
  EXPECT_TRUE(out_.relay.fetches.empty());  // no local subscriber: nothing to fetch for
  std::string t = Join(1);
  ASSERT_EQ(out_.relay.fetches.size(), 1u);
  EXPECT_EQ(out_.relay.fetches[0].owner, "n2");
  EXPECT_EQ(out_.relay.fetches[0].topic, t);
  Join(2);
  EXPECT_EQ(out_.relay.fetches.size(), 1u);

  // The answer reaches both; the stream goes on.
  Update snap;
  snap.topic = t;
  snap.owner = "n2";
  snap.epoch = 3;
  snap.seq = 7;
  snap.columns = Rows({}).columns;
  snap.rows = Rows({{1, "a"}}).rows;
  subs_.OnRemoteUpdate(now_, snap, out_);
  EXPECT_EQ(UpdatesFor(1).size(), 1u);
  EXPECT_EQ(UpdatesFor(2).size(), 1u);
  EXPECT_EQ(Info(t)->state, "relayed");
  EXPECT_EQ(Info(t)->owner, "n2");
  EXPECT_EQ(Info(t)->epoch, 3u);
  EXPECT_EQ(Info(t)->seq, 7u);
  EXPECT_FALSE(Info(t)->polling);
}

TEST_F(ClusterTest, RemoteUpdatesOfAnotherOwnerOrAnOlderEpochAreFenced) {
  std::string t = Join(1);
  Owner(t, "n2", 3);
  Update u;
  u.topic = t;
  u.columns = Rows({}).columns;
  u.owner = "n3";  // a clash's loser, still publishing
  u.epoch = 3;
  u.seq = 1;
  subs_.OnRemoteUpdate(now_, u, out_);
  u.owner = "n2";
  u.epoch = 2;
  subs_.OnRemoteUpdate(now_, u, out_);
  EXPECT_EQ(out_.relay.updates_fenced, 2u);
  EXPECT_TRUE(UpdatesFor(1).empty());
  u.epoch = 3;
  subs_.OnRemoteUpdate(now_, u, out_);
  EXPECT_EQ(UpdatesFor(1).size(), 1u);
}

TEST_F(ClusterTest, APollerPublishesEveryUpdateWithItsSeqWhateverTheSubscribers) {
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 4, out_).ok());
  EXPECT_EQ(subs_.RunningPollers(), (std::map<std::string, uint64_t>{{"keyed", 4}}));
  Advance(0s);
  ASSERT_EQ(out_.pollers.polls.size(), 1u);  // due at once
  CompletePolls(Rows({{1, "a"}}));
  Advance(1s);
  CompletePolls(Rows({{1, "b"}}));
  Advance(1s);
  CompletePolls(Status::Unavailable("down"));
  Advance(2s);
  CompletePolls(Status::Unavailable("still down"));  // once per outage
  Advance(4s);
  CompletePolls(Rows({{1, "b"}}));
  ASSERT_EQ(out_.published.size(), 4u);
  const UpdateKind kinds[] = {UpdateKind::kSnapshot, UpdateKind::kDiff, UpdateKind::kError,
                              UpdateKind::kSnapshot};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(out_.published[i].kind, kinds[i]) << i;
    EXPECT_EQ(out_.published[i].seq, i + 1) << i;
    EXPECT_EQ(out_.published[i].epoch, 4u) << i;
    EXPECT_EQ(out_.published[i].owner, "n1") << i;
  }
  EXPECT_TRUE(out_.relay.deliveries.empty());  // no local subscriber
  EXPECT_EQ(Info("keyed")->state, "polling");
  EXPECT_EQ(Info("keyed")->polls, 5u);
}

TEST_F(ClusterTest, TheOwnPollerFeedsLocalSubscribersWithoutAFetch) {
  Owner("keyed", "n1", 2);
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 2, out_).ok());
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  Join(1);  // late: the poller's state directly
  EXPECT_TRUE(out_.relay.fetches.empty());
  Advance(1s);
  CompletePolls(Rows({{1, "a"}, {2, "b"}}));
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[0].seq, 1u);
  EXPECT_EQ(u[1].kind, UpdateKind::kDiff);
  EXPECT_EQ(u[1].seq, 2u);
  EXPECT_EQ(out_.published.size(), 2u);
  EXPECT_EQ(Info("keyed")->state, "polling");
  EXPECT_EQ(Info("keyed")->seq, 2u);
}

TEST_F(ClusterTest, AHigherEpochRestartsSeqWithASnapshotAtOnce) {
  Owner("keyed", "n1", 1);
  Join(1);
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 1, out_).ok());
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  Advance(1s);
  CompletePolls(Rows({{1, "b"}}));
  out_.published.clear();
  Advance(100ms);
  ASSERT_TRUE(out_.pollers.polls.empty());

  // A clash resolved in this node's favour: a new epoch above both.
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 5, out_).ok());
  Owner("keyed", "n1", 5);
  Advance(0s);
  ASSERT_EQ(out_.pollers.polls.size(), 1u);  // not a whole interval later
  CompletePolls(Rows({{1, "b"}}));           // unchanged, still published: the new epoch's first
  ASSERT_EQ(out_.published.size(), 1u);
  EXPECT_EQ(out_.published[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(out_.published[0].epoch, 5u);
  EXPECT_EQ(out_.published[0].seq, 1u);
  EXPECT_EQ(subs_.RunningPollers().at("keyed"), 5u);

  // The local subscriber switched streams on a snapshot, in (epoch, seq) order.
  std::vector<Update> u = UpdatesFor(1);
  for (size_t i = 1; i < u.size(); ++i)
    EXPECT_LT(std::make_pair(u[i - 1].epoch, u[i - 1].seq), std::make_pair(u[i].epoch, u[i].seq));
  ASSERT_FALSE(u.empty());
  auto first5 = std::find_if(u.begin(), u.end(), [](const Update& x) { return x.epoch == 5; });
  ASSERT_NE(first5, u.end());
  EXPECT_EQ(first5->kind, UpdateKind::kSnapshot);

  // A lower or equal epoch changes nothing.
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 3, out_).ok());
  Advance(0s);
  EXPECT_TRUE(out_.pollers.polls.empty());
  EXPECT_EQ(subs_.RunningPollers().at("keyed"), 5u);
}

// Found by tests/bench/registry_run.sh: each re-epoch of a running poller added a second timer
// chain of the same generation, so after n re-epochs the topic polled n + 1 times an interval.
TEST_F(ClusterTest, ReEpochsKeepOnePollPerInterval) {
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 1, out_).ok());
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  for (uint64_t epoch = 2; epoch <= 4; ++epoch) {  // three re-epochs, between polls
    Advance(300ms);
    ASSERT_TRUE(subs_.StartPoller(now_, "keyed", epoch, out_).ok());
    Advance(0s);
    CompletePolls(Rows({{1, "a"}}));
  }
  size_t polls = 0;
  for (int i = 0; i < 100; ++i) {  // 10 s in steps of 100 ms, polls answered at once
    Advance(100ms);
    polls += out_.pollers.polls.size();
    CompletePolls(Rows({{1, "a"}}));
  }
  EXPECT_GE(polls, 9u);
  EXPECT_LE(polls, 11u);  // one a second (1 s interval, 10% jitter), not four
}

TEST_F(ClusterTest, StartPollerRefusesTopicsItCannotPoll) {
  EXPECT_EQ(subs_.StartPoller(now_, "nope", 1, out_).code(), Status::Code::kNotFound);
  EXPECT_EQ(subs_.StartPoller(now_, "by_region", 1, out_).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(subs_.StartPoller(now_, "keyed?x", 1, out_).code(), Status::Code::kMalformed);
  EXPECT_TRUE(subs_.RunningPollers().empty());
  EXPECT_TRUE(subs_.StartPoller(now_, "by_region?region=eu", 1, out_).ok());
  Advance(0s);
  ASSERT_EQ(out_.pollers.polls.size(), 1u);
  EXPECT_EQ(out_.pollers.polls[0].params, std::vector<Value>{Value(std::string("eu"))});
}

TEST_F(ClusterTest, APollerIsStalledAfterStallAfterIntervalsWithoutAGoodPoll) {
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 1, out_).ok());
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  EXPECT_TRUE(subs_.Stalled(now_, 3).empty());
  Advance(1s);  // the next poll is launched and hangs (a lock, a slow database)
  ASSERT_EQ(out_.pollers.polls.size(), 1u);
  Advance(2s);
  EXPECT_TRUE(subs_.Stalled(now_, 3).empty()) << "3 s after the last good poll: not yet";
  Advance(1001ms);
  std::vector<StalledPoller> stalled = subs_.Stalled(now_, 3);
  ASSERT_EQ(stalled.size(), 1u);
  EXPECT_EQ(stalled[0].topic, "keyed");
  EXPECT_EQ(stalled[0].age, 4001ms);
  EXPECT_NE(stalled[0].detail.find("a poll in flight for 3.0s"), std::string::npos)
      << stalled[0].detail;
  EXPECT_TRUE(subs_.Stalled(now_, 5).empty());
  CompletePolls(Rows({{1, "b"}}));  // the lock went: a good poll ends the stall
  EXPECT_TRUE(subs_.Stalled(now_, 3).empty());
  // A failing source stalls too: its last good poll grows old.
  Advance(1s);
  CompletePolls(Status::Unavailable("down"));
  Advance(5s);
  CompletePolls(Status::Unavailable("down"));
  stalled = subs_.Stalled(now_, 3);
  ASSERT_EQ(stalled.size(), 1u);
  EXPECT_NE(stalled[0].detail.find("its source fails"), std::string::npos) << stalled[0].detail;
}

TEST_F(ClusterTest, APollerThatNeverPolledIsStalledFromItsStart) {
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 1, out_).ok());
  Advance(3500ms);
  std::vector<StalledPoller> stalled = subs_.Stalled(now_, 3);
  ASSERT_EQ(stalled.size(), 1u);
  EXPECT_NE(stalled[0].detail.find("no good poll since it started"), std::string::npos);
}

TEST_F(ClusterTest, StopPollerStopsPollingButKeepsLocalSubscribers) {
  Owner("keyed", "n1", 1);
  std::string t = Join(1);
  ASSERT_TRUE(subs_.StartPoller(now_, t, 1, out_).ok());
  Advance(0s);
  std::vector<PollRequest> in_flight = out_.pollers.polls;
  out_.pollers.polls.clear();
  subs_.StopPoller(now_, t, out_);
  EXPECT_TRUE(subs_.RunningPollers().empty());
  subs_.PollDone(now_, in_flight[0].poll_id, Rows({{1, "late"}}), out_);  // ignored
  Advance(10s);
  EXPECT_TRUE(out_.pollers.polls.empty());
  EXPECT_TRUE(out_.published.empty());
  EXPECT_TRUE(out_.relay.deliveries.empty());
  ASSERT_NE(Info(t), nullptr);
  EXPECT_EQ(Info(t)->subscribers, 1u);
  EXPECT_FALSE(Info(t)->polling);
  subs_.StopPoller(now_, t, out_);  // none runs: nothing
}

TEST_F(ClusterTest, CurrentStateIsTheLastResultAtItsSeqOrTheErrorWithoutOne) {
  EXPECT_FALSE(subs_.CurrentState("keyed").has_value());  // not polled here
  ASSERT_TRUE(subs_.StartPoller(now_, "keyed", 2, out_).ok());
  EXPECT_FALSE(subs_.CurrentState("keyed").has_value());  // no result yet
  Advance(0s);
  CompletePolls(Status::Unavailable("no such table"));
  std::optional<Update> s = subs_.CurrentState("keyed");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->kind, UpdateKind::kError);
  EXPECT_EQ(s->error, "no such table");
  EXPECT_EQ(s->seq, 1u);

  Advance(1s);
  CompletePolls(Rows({{1, "a"}}));
  Advance(1s);
  CompletePolls(Rows({{1, "a"}, {2, "b"}}));
  s = subs_.CurrentState("keyed");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->kind, UpdateKind::kSnapshot);
  EXPECT_EQ(s->owner, "n1");
  EXPECT_EQ(s->epoch, 2u);
  EXPECT_EQ(s->seq, 3u);
  EXPECT_EQ(s->rows, Rows({{1, "a"}, {2, "b"}}).rows);

  // During an outage: still the data, at its own seq; the error (seq 4) follows on the data plane.
  Advance(1s);
  CompletePolls(Status::Unavailable("down"));
  s = subs_.CurrentState("keyed");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->kind, UpdateKind::kSnapshot);
  EXPECT_EQ(s->seq, 3u);
  EXPECT_EQ(out_.published.back().seq, 4u);
}

TEST_F(ClusterTest, MarkStaleTellsLocalSubscribersOnceAndWaitsForASnapshot) {
  std::string t = Join(1);
  Owner(t, "n2", 1);
  Update u;
  u.topic = t;
  u.owner = "n2";
  u.epoch = 1;
  u.seq = 1;
  u.columns = Rows({}).columns;
  u.rows = Rows({{1, "a"}}).rows;
  subs_.OnRemoteUpdate(now_, u, out_);
  subs_.MarkStale(now_, t, "no majority", out_);
  std::vector<Update> got = UpdatesFor(1);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].kind, UpdateKind::kError);
  EXPECT_EQ(got[1].error, "stale: no majority");
  EXPECT_EQ(Info(t)->state, "stale");

  Owner(t, "n3", 2);  // the majority is back with a new owner
  EXPECT_EQ(Info(t)->state, "stale");
  u.owner = "n3";
  u.epoch = 2;
  u.seq = 4;
  subs_.OnRemoteUpdate(now_, u, out_);
  EXPECT_EQ(UpdatesFor(1).size(), 3u);
  EXPECT_EQ(Info(t)->state, "relayed");
}

TEST_F(ClusterTest, TopicsShowsPollersWithoutSubscribersAndSubscribersWithoutPollers) {
  ASSERT_TRUE(subs_.StartPoller(now_, "by_region?region=eu", 7, out_).ok());
  std::string t = Join(1);
  Owner(t, "n2", 3);
  std::vector<TopicInfo> infos = subs_.Topics(now_);
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(subs_.topic_count(), 2u);
  const TopicInfo* eu = Info("by_region?region=eu");
  ASSERT_NE(eu, nullptr);
  EXPECT_TRUE(eu->polling);
  EXPECT_EQ(eu->poller_epoch, 7u);
  EXPECT_EQ(eu->owner, "n1");
  EXPECT_EQ(eu->subscribers, 0u);
  EXPECT_EQ(eu->state, "starting");
  const TopicInfo* keyed = Info(t);
  ASSERT_NE(keyed, nullptr);
  EXPECT_FALSE(keyed->polling);
  EXPECT_EQ(keyed->owner, "n2");
  EXPECT_EQ(keyed->epoch, 3u);
  EXPECT_EQ(keyed->state, "waiting");
}

// ---- a randomized stream ----

// A remote owner's poller as a model: it publishes like Pollers do (a snapshot first in an epoch
// and after an error, then diffs; one error per outage; seq for all) and remembers every state,
// so each client's view can be checked at every (epoch, seq).
class SourceModel {
 public:
  explicit SourceModel(std::mt19937_64& rng) : rng_(rng) {}

  void NewOwner(std::string owner) {
    owner_ = std::move(owner);
    ++epoch_;
    owners_[epoch_] = owner_;
    seq_ = 0;
    data_seq_ = 0;
    has_last_ = false;  // another node's poller: it has no result yet
    failing_ = false;
  }

  // One poll; returns what it published, if anything.
  std::optional<Update> Poll() {
    if (failing_ && Chance(0.6))
      failing_ = false;  // still down: nothing new
    else if (failing_)
      return std::nullopt;
    else if (Chance(0.05)) {
      failing_ = true;
      Update u = Base(UpdateKind::kError);
      u.error = "down";
      return Record(std::move(u), true);
    }
    const bool snapshot = !has_last_ || snapshot_next_;
    std::vector<proto::Change> changes = Mutate();
    if (!snapshot && changes.empty()) return std::nullopt;
    has_last_ = true;
    snapshot_next_ = false;
    Update u = Base(snapshot ? UpdateKind::kSnapshot : UpdateKind::kDiff);
    if (snapshot)
      u.rows = db_;
    else
      u.changes = std::move(changes);
    data_seq_ = seq_ + 1;
    return Record(std::move(u), false);
  }

  // What the owner answers to a fetch (Pollers::CurrentState).
  std::optional<Update> CurrentState() const {
    if (has_last_) {
      Update u = Base(UpdateKind::kSnapshot);
      u.seq = data_seq_;
      u.rows = db_;
      return u;
    }
    if (seq_ == 1) return history_.at({epoch_, 1}).update;  // the error, before any data
    return std::nullopt;
  }

  struct State {
    Update update;                         // as published
    std::optional<std::vector<Row>> rows;  // the result at this point, if any
  };
  const State* At(uint64_t epoch, uint64_t seq) const {
    auto it = history_.find({epoch, seq});
    return it == history_.end() ? nullptr : &it->second;
  }
  const std::string& owner() const { return owner_; }
  const std::string& OwnerOf(uint64_t epoch) const { return owners_.at(epoch); }
  uint64_t epoch() const { return epoch_; }
  uint64_t seq() const { return seq_; }
  const std::vector<Row>& db() const { return db_; }
  void Recover() { failing_ = false; }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  Update Base(UpdateKind kind) const {
    Update u;
    u.topic = "keyed";
    u.kind = kind;
    u.owner = owner_;
    u.epoch = epoch_;
    u.seq = seq_ + 1;
    u.columns = {"id", "name"};
    return u;
  }
  Update Record(Update u, bool error) {
    seq_ = u.seq;
    if (error) snapshot_next_ = true;
    State s{u, has_last_ ? std::optional<std::vector<Row>>(db_) : std::nullopt};
    history_[{epoch_, seq_}] = std::move(s);
    return u;
  }
  // Changes the database by a few keyed changes, applied as a subscriber would (ApplyChanges), so
  // the model's row order is the one subscribers rebuild.
  std::vector<proto::Change> Mutate() {
    std::vector<proto::Change> changes;
    std::set<int64_t> touched;
    const int n = std::uniform_int_distribution<int>(0, 3)(rng_);
    for (int i = 0; i < n; ++i) {
      const int64_t id = std::uniform_int_distribution<int64_t>(0, 9)(rng_);
      if (!touched.insert(id).second) continue;
      auto row = std::find_if(db_.begin(), db_.end(),
                              [id](const Row& r) { return std::get<int64_t>(r[0]) == id; });
      const std::string name = "v" + std::to_string(++version_);
      if (row == db_.end())
        changes.push_back({proto::Change::Op::kInsert, {Value(id), Value(name)}});
      else if (Chance(0.3))
        changes.push_back({proto::Change::Op::kDelete, *row});
      else
        changes.push_back({proto::Change::Op::kUpdate, {Value(id), Value(name)}});
    }
    EXPECT_TRUE(ApplyChanges(db_, changes, {0}).ok());
    return changes;
  }

  std::mt19937_64& rng_;
  std::string owner_;
  std::map<uint64_t, std::string> owners_;
  uint64_t epoch_ = 0;
  uint64_t seq_ = 0;
  uint64_t data_seq_ = 0;
  bool has_last_ = false;
  bool snapshot_next_ = true;
  bool failing_ = false;
  uint64_t version_ = 0;
  std::vector<Row> db_;
  std::map<std::pair<uint64_t, uint64_t>, State> history_;
};

// One client's view of its subscription, checked update by update.
struct ClientView {
  bool any = false;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  std::optional<uint64_t> snapshot_epoch;
  std::vector<Row> rows;

  void Take(const Update& u, const SourceModel& source) {
    if (any) {
      ASSERT_LT(std::make_pair(epoch, seq), std::make_pair(u.epoch, u.seq))
          << "out of order: " << u.epoch << "/" << u.seq << " after " << epoch << "/" << seq;
    }
    ASSERT_EQ(u.owner, source.OwnerOf(u.epoch)) << "another owner's update for epoch " << u.epoch;
    const SourceModel::State* at = source.At(u.epoch, u.seq);
    switch (u.kind) {
      case UpdateKind::kSnapshot:
        rows = u.rows;
        snapshot_epoch = u.epoch;
        ASSERT_NE(at, nullptr);
        ASSERT_TRUE(at->rows.has_value());
        EXPECT_EQ(rows, *at->rows) << "snapshot at " << u.epoch << "/" << u.seq;
        break;
      case UpdateKind::kDiff:
        ASSERT_EQ(snapshot_epoch, u.epoch) << "a diff before a snapshot of its epoch";
        ASSERT_TRUE(any && epoch == u.epoch && seq + 1 == u.seq) << "a diff not following on";
        ASSERT_TRUE(ApplyChanges(rows, u.changes, {0}).ok());
        ASSERT_NE(at, nullptr);
        ASSERT_TRUE(at->rows.has_value());
        EXPECT_EQ(rows, *at->rows) << "diff at " << u.epoch << "/" << u.seq;
        break;
      case UpdateKind::kError:
        ASSERT_NE(at, nullptr);
        EXPECT_EQ(at->update.kind, UpdateKind::kError) << u.epoch << "/" << u.seq;
        break;
    }
    any = true;
    epoch = u.epoch;
    seq = u.seq;
  }
};

struct RandomRunStats {
  uint64_t delivered = 0;
  uint64_t fenced = 0;
  uint64_t gaps = 0;
  uint64_t fetches = 0;
};

void RandomRun(uint64_t seed, RandomRunStats& stats) {
  std::mt19937_64 rng(seed);
  auto chance = [&rng](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  Subscriptions subs(MakeCatalog(), ClusterOptions());
  SourceModel source(rng);
  Time now(100s);
  constexpr ClientId kClients = 4;
  std::map<ClientId, ClientView> views;  // subscribed clients
  std::vector<Update> wire;              // the data plane, in flight
  struct Pending {
    Time due;
    std::string owner;
  };
  std::vector<Pending> fetches;
  const std::string names[] = {"n2", "n3", "n4"};

  source.NewOwner(names[0]);
  Outputs out;
  subs.SetOwner(now, "keyed", StreamOwner{source.owner(), source.epoch()}, out);

  auto drain = [&](Outputs& o) {
    for (const Delivery& d : o.relay.deliveries) {
      const Update& u = std::get<Update>(d.message);
      for (ClientId c : d.clients) {
        ASSERT_TRUE(views.contains(c)) << "delivered to a client that left";
        views[c].Take(u, source);
        ++stats.delivered;
      }
    }
    for (const SnapshotFetch& f : o.relay.fetches) {
      fetches.push_back(
          {now + std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)),
           f.owner});
    }
    stats.fenced += o.relay.updates_fenced;
    stats.gaps += o.relay.stream_gaps;
    stats.fetches += o.relay.fetches.size();
    o = Outputs{};
  };
  // One step of the world; `chaos` false: no drops, failures or owner changes, to check that the
  // stream converges.
  auto step = [&](bool chaos, bool poll) {
    now += 50ms;
    Outputs o;
    if (chaos && chance(0.01)) {  // a new owner, e.g. after a failover
      source.NewOwner(names[std::uniform_int_distribution<int>(0, 2)(rng)]);
      subs.SetOwner(now, "keyed", StreamOwner{source.owner(), source.epoch()}, o);
    }
    if (!chaos) source.Recover();
    if (poll && chance(0.5)) {
      if (std::optional<Update> u = source.Poll()) {
        if (!chaos || !chance(0.15)) wire.push_back(*u);
        if (chaos && chance(0.1)) wire.push_back(*u);  // duplicated
      }
    }
    while (!wire.empty() && chance(0.6)) {  // reordered within a window of 4
      size_t i =
          std::uniform_int_distribution<size_t>(0, std::min<size_t>(wire.size(), 4) - 1)(rng);
      Update u = std::move(wire[i]);
      wire.erase(wire.begin() + static_cast<long>(i));
      subs.OnRemoteUpdate(now, std::move(u), o);
    }
    for (size_t i = 0; i < fetches.size();) {
      if (fetches[i].due > now) {
        ++i;
        continue;
      }
      // Only the current owner answers; an old one stopped its poller. Answers get lost too.
      if (fetches[i].owner == source.owner() && (!chaos || !chance(0.15))) {
        if (std::optional<Update> s = source.CurrentState()) subs.OnRemoteUpdate(now, *s, o);
      }
      fetches.erase(fetches.begin() + static_cast<long>(i));
    }
    drain(o);                     // before a client leaves: what was sent so far reached it
    if (chaos && chance(0.03)) {  // a client comes or goes
      ClientId c = std::uniform_int_distribution<ClientId>(1, kClients)(rng);
      if (views.contains(c)) {
        views.erase(c);
        ASSERT_TRUE(subs.Leave(now, c, "keyed", o).ok());
      } else {
        views[c] = ClientView{};
        ASSERT_TRUE(subs.Join(now, c, "keyed", {}, o).ok());
      }
    }
    drain(o);
  };

  for (int i = 0; i < 3000 && !::testing::Test::HasFatalFailure(); ++i) step(true, true);
  if (::testing::Test::HasFatalFailure()) return;
  // Everyone still subscribed catches up with the source once the network behaves.
  if (views.empty()) {
    views[1] = ClientView{};
    Outputs o;
    ASSERT_TRUE(subs.Join(now, 1, "keyed", {}, o).ok());
    drain(o);
  }
  for (int i = 0; i < 400 && !::testing::Test::HasFatalFailure(); ++i) step(false, true);
  for (int i = 0; i < 20 && !::testing::Test::HasFatalFailure(); ++i) step(false, false);
  ASSERT_TRUE(wire.empty());
  for (const auto& [c, view] : views) {
    EXPECT_EQ(view.epoch, source.epoch()) << "client " << c;
    EXPECT_EQ(view.rows, source.db()) << "client " << c;
  }
}

TEST(ClusterRandomTest, EveryClientGetsAnOrderedStreamThatRebuildsTheSourcesResult) {
  RandomRunStats stats;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomRun(seed, stats);
    if (HasFatalFailure()) return;
  }
  // The runs did exercise what they claim to.
  EXPECT_GT(stats.delivered, 10000u);
  EXPECT_GT(stats.fenced, 0u);
  EXPECT_GT(stats.gaps, 100u);
  EXPECT_GT(stats.fetches, 100u);
  std::cout << "delivered " << stats.delivered << ", fenced " << stats.fenced << ", gaps "
            << stats.gaps << ", fetches " << stats.fetches << "\n";
}

}  // namespace
}  // namespace livepoll::core
