// The Subscriptions core on a hand-driven clock: lifecycle, de-duplication, change detection,
// back-off, caps and client timeouts, with no thread, socket or database.
#include "core/subscriptions.h"

#include <gtest/gtest.h>

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

class SubscriptionsTest : public ::testing::Test {
 protected:
  SubscriptionsTest() : subs_(MakeCatalog(), Options()) {}

  static Catalog MakeCatalog() {
    Catalog c;
    c.queries["keyed"] = {"keyed", "db", {}, {"id"}, 1s, 0.1};
    c.queries["plain"] = {"plain", "db", {}, {}, 1s, 0.0};
    c.queries["by_region"] = {"by_region", "db", {"region"}, {}, 1s, 0.0};
    c.queries["other"] = {"other", "slow", {"n"}, {}, 1s, 0.0};
    c.source_caps["db"] = 4;
    c.source_caps["slow"] = 1;
    return c;
  }
  static SubscriptionsOptions Options() {
    SubscriptionsOptions o;
    o.node = "n1";
    o.linger = 5s;
    o.client_timeout = 1h;  // ASilentClientIsDropped... makes its own with a short one
    o.backoff_max = 8s;
    o.seed = 7;
    return o;
  }

  std::string Join(ClientId c, const std::string& q, proto::Params p = {}) {
    Result<Subscriptions::Joined> t = subs_.Join(now_, c, q, p, out_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t->topic : "";
  }
  // Advances the clock to `to`, ticking at every deadline on the way, like the event loop.
  void RunUntil(Time to) {
    while (subs_.NextDeadline() <= to) {
      now_ = std::max(now_, subs_.NextDeadline());
      subs_.Tick(now_, out_);
    }
    now_ = to;
    subs_.Tick(now_, out_);
  }
  void Advance(Duration d) { RunUntil(now_ + d); }
  // Advances in `step`s until a poll is requested; fails the test after `limit`.
  void AdvanceUntilPoll(Duration step, Duration limit = 60s) {
    for (Duration waited{}; out_.pollers.polls.empty(); waited += step) {
      ASSERT_LT(waited, limit) << "no poll was requested";
      Advance(step);
    }
  }
  // Completes every poll requested so far with `result`.
  void CompletePolls(const Result<ResultSet>& result) {
    std::vector<PollRequest> polls;
    polls.swap(out_.pollers.polls);
    for (const PollRequest& p : polls) subs_.PollDone(now_, p.poll_id, result, out_);
  }
  std::vector<Update> UpdatesFor(ClientId c) {
    std::vector<Update> v;
    for (const Delivery& d : out_.relay.deliveries) {
      if (std::find(d.clients.begin(), d.clients.end(), c) == d.clients.end()) continue;
      if (auto* u = std::get_if<Update>(&d.message)) v.push_back(*u);
    }
    return v;
  }

  Subscriptions subs_;
  Outputs out_;
  Time now_ = Time(100s);
};

TEST_F(SubscriptionsTest, ManySubscribersShareOnePoller) {
  for (ClientId c = 1; c <= 1000; ++c) Join(c, "keyed");
  EXPECT_EQ(out_.pollers.polls.size(), 0u);  // polls are started by Tick
  Advance(0s);
  ASSERT_EQ(out_.pollers.polls.size(), 1u);
  EXPECT_EQ(subs_.Topics(now_).size(), 1u);
  EXPECT_EQ(subs_.subscription_count(), 1000u);
  int polls = 0;
  for (int i = 0; i < 10; ++i) {
    polls += static_cast<int>(out_.pollers.polls.size());
    CompletePolls(Rows({{1, "a"}}));
    Advance(1100ms);  // one interval plus the largest jitter
  }
  EXPECT_EQ(polls, 10);
  // The first result reached every subscriber, as one delivery.
  ASSERT_FALSE(out_.relay.deliveries.empty());
  EXPECT_EQ(out_.relay.deliveries[0].clients.size(), 1000u);
}

TEST_F(SubscriptionsTest, UnchangedResultsPublishNothingAndKeyedChangesPublishDiffs) {
  Join(1, "keyed");
  Advance(0s);
  CompletePolls(Rows({{1, "a"}, {2, "b"}}));
  Advance(1100ms);
  CompletePolls(Rows({{1, "a"}, {2, "b"}}));  // same: nothing
  Advance(1100ms);
  CompletePolls(Rows({{1, "A"}, {3, "c"}}));  // update 1, delete 2, insert 3
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[0].rows.size(), 2u);
  EXPECT_EQ(u[1].kind, UpdateKind::kDiff);
  EXPECT_EQ(u[1].changes.size(), 3u);
  EXPECT_EQ(u[1].seq, u[0].seq + 1);
  EXPECT_EQ(u[1].epoch, u[0].epoch);
  EXPECT_EQ(u[1].owner, "n1");
}

// Issue 15 §3: the poll worker digests the result against the request's base; the poller takes
// that digest as is when the base is still its last result, and works it out again otherwise.
TEST_F(SubscriptionsTest, AWorkersDigestIsTakenOnlyAgainstTheBaseItWasMadeFrom) {
  Join(1, "keyed");
  Advance(0s);
  ASSERT_EQ(out_.pollers.polls.size(), 1u);
  EXPECT_EQ(out_.pollers.polls[0].base.last, nullptr);  // nothing yet: a snapshot follows
  CompletePolls(Rows({{1, "a"}, {2, "b"}}));
  Advance(1100ms);
  ASSERT_EQ(out_.pollers.polls.size(), 1u);
  PollRequest p = out_.pollers.polls[0];
  out_.pollers.polls.clear();
  ASSERT_NE(p.base.last, nullptr);
  EXPECT_EQ(p.base.last->rows.size(), 2u);
  EXPECT_EQ(p.base.key, (std::vector<std::string>{"id"}));
  const ResultSet next = Rows({{1, "A"}, {2, "b"}});
  ResultDigest d = DigestResult(next, p.base);
  ASSERT_TRUE(d.changes.has_value());
  ASSERT_EQ(d.changes->size(), 1u);
  // Taken as is: a digest whose changes were doctored shows through.
  d.changes->push_back({proto::Change::Op::kDelete, {Value(int64_t{2}), Value(std::string("b"))}});
  subs_.PollDone(now_, p.poll_id, next, out_, d);
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[1].kind, UpdateKind::kDiff);
  EXPECT_EQ(u[1].changes.size(), 2u);

  // A digest against a base that is no longer the last result is worked out again.
  Advance(1100ms);
  ASSERT_EQ(out_.pollers.polls.size(), 1u);
  p = out_.pollers.polls[0];
  out_.pollers.polls.clear();
  ResultBase stale = p.base;
  stale.last = std::make_shared<const ResultSet>(Rows({{7, "x"}}));
  stale.last_hash = HashResult(*stale.last);
  const ResultSet third = Rows({{1, "A"}, {3, "c"}});
  subs_.PollDone(now_, p.poll_id, third, out_, DigestResult(third, stale));
  u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[2].kind, UpdateKind::kDiff);
  ASSERT_EQ(u[2].changes.size(), 2u);  // from the real last result: delete 2, insert 3
  EXPECT_EQ(u[2].changes[0].op, proto::Change::Op::kDelete);
  EXPECT_EQ(u[2].changes[1].op, proto::Change::Op::kInsert);
}

TEST_F(SubscriptionsTest, WithoutKeyColumnsAChangeIsASnapshot) {
  Join(1, "plain");
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  Advance(1s);
  CompletePolls(Rows({{1, "b"}}));
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[1].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[1].rows, Rows({{1, "b"}}).rows);
}

TEST_F(SubscriptionsTest, LateSubscriberGetsTheCurrentSnapshotFirst) {
  Join(1, "keyed");
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  Advance(1100ms);
  CompletePolls(Rows({{1, "b"}}));
  out_.relay.deliveries.clear();
  Join(2, "keyed");
  std::vector<Update> u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[0].rows, Rows({{1, "b"}}).rows);
  EXPECT_EQ(u[0].seq, 2u);                  // the stream position it stands for
  EXPECT_TRUE(out_.pollers.polls.empty());  // no extra poll for a late subscriber
}

TEST_F(SubscriptionsTest, PollerStopsLingerAfterTheLastSubscriberLeaves) {
  std::string topic = Join(1, "keyed");
  Join(2, "keyed");
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  ASSERT_TRUE(subs_.Leave(now_, 1, topic, out_).ok());
  ASSERT_TRUE(subs_.Leave(now_, 2, topic, out_).ok());
  EXPECT_EQ(subs_.Topics(now_).at(0).state, "lingering");
  Advance(4900ms);
  EXPECT_EQ(subs_.Topics(now_).size(), 1u);
  Advance(200ms);
  EXPECT_TRUE(subs_.Topics(now_).empty());
  EXPECT_FALSE(subs_.Leave(now_, 1, topic, out_).ok());
}

TEST_F(SubscriptionsTest, ARejoinWithinLingerKeepsThePoller) {
  std::string topic = Join(1, "keyed");
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  ASSERT_TRUE(subs_.Leave(now_, 1, topic, out_).ok());
  Advance(3s);
  Join(2, "keyed");
  Advance(10s);
  ASSERT_EQ(subs_.Topics(now_).size(), 1u);
  EXPECT_EQ(subs_.Topics(now_)[0].epoch, 1u);
}

TEST_F(SubscriptionsTest, AStoppedTopicRestartsWithAHigherEpochAndIgnoresStalePolls) {
  std::string topic = Join(1, "keyed");
  Advance(0s);
  std::vector<PollRequest> stale = out_.pollers.polls;  // in flight while the poller stops
  out_.pollers.polls.clear();
  ASSERT_TRUE(subs_.Leave(now_, 1, topic, out_).ok());
  Advance(6s);
  ASSERT_TRUE(subs_.Topics(now_).empty());
  Join(2, "keyed");
  subs_.PollDone(now_, stale[0].poll_id, Rows({{9, "stale"}}), out_);
  EXPECT_TRUE(UpdatesFor(2).empty());
  Advance(0s);
  CompletePolls(Rows({{1, "fresh"}}));
  std::vector<Update> u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].epoch, 2u);
  EXPECT_EQ(u[0].rows, Rows({{1, "fresh"}}).rows);
}

TEST_F(SubscriptionsTest, FailuresPublishOneErrorBackOffAndRecoverWithASnapshot) {
  Join(1, "plain");
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  std::vector<Time> poll_times;
  for (int i = 0; i < 5; ++i) {
    Advance(20s);  // long enough for any back-off step
    ASSERT_EQ(out_.pollers.polls.size(), 1u);
    CompletePolls(Status::Unavailable("connection refused"));
  }
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2u);  // the snapshot, then one error for five identical failures
  EXPECT_EQ(u[1].kind, UpdateKind::kError);
  EXPECT_EQ(u[1].error, "connection refused");
  EXPECT_EQ(subs_.Topics(now_)[0].state, "error");
  EXPECT_EQ(subs_.Topics(now_)[0].errors, 5u);

  // Back-off: the next poll comes after min(backoff_max, interval * 2^(failures-1)) = 8 s.
  Advance(7900ms);
  EXPECT_TRUE(out_.pollers.polls.empty());
  Advance(200ms);
  ASSERT_EQ(out_.pollers.polls.size(), 1u);
  CompletePolls(Rows({{1, "a"}}));  // same data as before the failure: still a fresh snapshot
  u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[2].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(subs_.Topics(now_)[0].state, "polling");
  // And the normal interval is back.
  Advance(1s);
  EXPECT_EQ(out_.pollers.polls.size(), 1u);
}

TEST_F(SubscriptionsTest, BackOffDoublesFromTheInterval) {
  Join(1, "plain");
  Advance(0s);
  std::vector<Duration> gaps;
  Time last = now_;
  for (int i = 0; i < 6; ++i) {
    CompletePolls(Status::Unavailable("down"));
    AdvanceUntilPoll(100ms);
    gaps.push_back(now_ - last);
    last = now_;
  }
  const std::vector<Duration> want = {1s, 2s, 4s, 8s, 8s, 8s};
  ASSERT_EQ(gaps.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(gaps[i], want[i]) << "step " << i;
}

TEST_F(SubscriptionsTest, ASubscriberJoiningDuringAnOutageGetsDataAndTheError) {
  Join(1, "plain");
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  Advance(1s);
  CompletePolls(Status::Unavailable("down"));
  out_.relay.deliveries.clear();
  Join(2, "plain");
  std::vector<Update> u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[1].kind, UpdateKind::kError);
}

TEST_F(SubscriptionsTest, ASourceNeverRunsMoreThanItsCap) {
  for (int n = 0; n < 5; ++n) Join(1, "other", {{"n", std::to_string(n)}});
  Advance(0s);
  EXPECT_EQ(out_.pollers.polls.size(), 1u);  // "slow" has a cap of 1
  int done = 0;
  while (done < 5) {
    ASSERT_EQ(out_.pollers.polls.size(), 1u);
    CompletePolls(Rows({}));
    ++done;
  }
  EXPECT_TRUE(out_.pollers.polls.empty());
}

TEST_F(SubscriptionsTest, JitterSpreadsPollsWithinItsBounds) {
  Join(1, "keyed");  // jitter 0.1
  Advance(0s);
  Time last = now_;
  Duration min = Duration::max(), max = Duration::zero();
  for (int i = 0; i < 200; ++i) {
    CompletePolls(Rows({{1, "a"}}));
    AdvanceUntilPoll(1ms);
    Duration gap = now_ - last;
    last = now_;
    min = std::min(min, gap);
    max = std::max(max, gap);
  }
  EXPECT_GE(min, 900ms);
  EXPECT_LE(max, 1101ms);
  EXPECT_LT(min, 950ms);  // it does spread
  EXPECT_GT(max, 1050ms);
}

// One query "q" on source "db" every second without jitter, default options (client_timeout
// 10 s): the setup of the single-purpose tests below.
class OneQueryTest : public ::testing::Test {
 protected:
  static Catalog OneQuery() {
    Catalog c;
    c.queries["q"] = {"q", "db", {}, {}, 1s, 0.0};
    return c;
  }
  Subscriptions subs{OneQuery(), SubscriptionsOptions{}};
  Outputs out;
  Time now{100s};
};

TEST_F(OneQueryTest, ASilentClientIsDroppedWithItsSubscriptions) {
  ASSERT_TRUE(subs.Join(now, 1, "q", {}, out).ok());
  ASSERT_TRUE(subs.Join(now, 2, "q", {}, out).ok());
  for (int i = 0; i < 9; ++i) {
    now += 1s;
    subs.ClientSeen(now, 2);  // client 2 heartbeats, client 1 is silent
    subs.Tick(now, out);
  }
  EXPECT_TRUE(out.dropped_clients.empty());  // 9 s of silence is not yet 10 s
  for (int i = 0; i < 4; ++i) {
    now += 1s;
    subs.ClientSeen(now, 2);
    subs.Tick(now, out);
  }
  ASSERT_EQ(out.dropped_clients.size(), 1u);
  EXPECT_EQ(out.dropped_clients[0], 1u);
  EXPECT_EQ(subs.client_count(), 1u);
  EXPECT_EQ(subs.Topics(now)[0].subscribers, 1u);
}

TEST_F(SubscriptionsTest, BadJoinsAreRefusedAndChangeNothing) {
  EXPECT_EQ(subs_.Join(now_, 1, "nope", {}, out_).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(subs_.Join(now_, 1, "by_region", {}, out_).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(subs_.Join(now_, 1, "by_region", {{"region", "eu"}, {"x", "1"}}, out_).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(
      subs_.Join(now_, 1, "by_region", {{"region", "eu"}, {"region", "us"}}, out_).status().code(),
      Status::Code::kInvalidArgument);
  EXPECT_TRUE(subs_.Topics(now_).empty());
  EXPECT_EQ(subs_.client_count(), 0u);
}

TEST_F(SubscriptionsTest, ParametersMakeDistinctTopicsAndReachThePoll) {
  std::string eu = Join(1, "by_region", {{"region", "eu"}});
  std::string us = Join(2, "by_region", {{"region", "us"}});
  EXPECT_NE(eu, us);
  Advance(0s);
  ASSERT_EQ(out_.pollers.polls.size(), 2u);
  std::set<std::string> regions;
  for (const PollRequest& p : out_.pollers.polls)
    regions.insert(std::get<std::string>(p.params.at(0)));
  EXPECT_EQ(regions, (std::set<std::string>{"eu", "us"}));
}

TEST_F(OneQueryTest, AnOutageIsReportedOnceThoughItsMessageVaries) {
  ASSERT_TRUE(subs.Join(now, 1, "q", {}, out).ok());
  const char* messages[] = {"prepare: no such table", "execute: no such table", "connect: refused"};
  for (const char* m : messages) {
    now += std::chrono::seconds(30);
    subs.ClientSeen(now, 1);
    subs.Tick(now, out);
    ASSERT_EQ(out.pollers.polls.size(), 1u);
    uint64_t id = out.pollers.polls[0].poll_id;
    out.pollers.polls.clear();
    subs.PollDone(now, id, Status::Unavailable(m), out);
  }
  int errors = 0;
  for (const Delivery& d : out.relay.deliveries)
    if (auto* u = std::get_if<proto::Update>(&d.message))
      errors += u->kind == proto::UpdateKind::kError;
  EXPECT_EQ(errors, 1);
  // A late subscriber learns the latest message.
  out.relay.deliveries.clear();
  ASSERT_TRUE(subs.Join(now, 2, "q", {}, out).ok());
  ASSERT_EQ(out.relay.deliveries.size(), 1u);
  EXPECT_EQ(std::get<proto::Update>(out.relay.deliveries[0].message).error, "connect: refused");
}

TEST_F(OneQueryTest, JoinsAndLeavesAreReportedOnceEach) {
  ASSERT_TRUE(subs.Join(now, 1, "q", {}, out).ok());
  ASSERT_TRUE(subs.Join(now, 1, "q", {}, out).ok());  // again: not a new subscription
  ASSERT_TRUE(subs.Join(now, 2, "q", {}, out).ok());
  using P = std::pair<std::string, ClientId>;
  EXPECT_EQ(out.subscribed, (std::vector<P>{{"q", 1}, {"q", 2}}));
  ASSERT_TRUE(subs.Leave(now, 1, "q", out).ok());
  subs.ClientGone(now, 2, out);
  EXPECT_EQ(out.unsubscribed, (std::vector<P>{{"q", 1}, {"q", 2}}));
}

TEST_F(OneQueryTest, ASlowQueryDoesNotStretchTheInterval) {
  ASSERT_TRUE(subs.Join(now, 1, "q", {}, out).ok());
  std::vector<Time> launches;
  for (int i = 0; i < 5; ++i) {
    while (out.pollers.polls.empty()) {
      now += std::chrono::milliseconds(1);
      subs.ClientSeen(now, 1);
      subs.Tick(now, out);
    }
    launches.push_back(now);
    uint64_t id = out.pollers.polls[0].poll_id;
    out.pollers.polls.clear();
    now += std::chrono::milliseconds(300);  // the query takes 300 ms
    ResultSet rs;
    rs.columns = {"n"};
    rs.rows = {{Value(int64_t{i})}};
    subs.PollDone(now, id, rs, out);
  }
  for (size_t i = 1; i < launches.size(); ++i)
    EXPECT_EQ(launches[i] - launches[i - 1], std::chrono::seconds(1)) << i;
}

}  // namespace
}  // namespace livepoll::core

namespace livepoll::core {
namespace {

// A standalone node's pollers keep their last published updates (SubscriptionsOptions::history),
// so a client that left and joins again resumes where it stood.
TEST_F(SubscriptionsTest, AClientJoiningAgainResumesFromThePollersHistory) {
  Join(1, "keyed");
  Advance(0s);
  CompletePolls(Rows({{1, "a"}}));
  Advance(1100ms);
  CompletePolls(Rows({{1, "b"}}));
  const Update seen = UpdatesFor(1).back();  // client 2 applied this before its connection broke
  EXPECT_EQ(seen.owner, "n1");
  Advance(1100ms);
  CompletePolls(Rows({{1, "b"}, {2, "c"}}));
  Advance(1100ms);
  CompletePolls(Rows({{2, "c"}}));

  Result<Subscriptions::Joined> joined =
      subs_.Join(now_, 2, "keyed", {}, out_, StreamPosition{"n1", 0, seen.epoch, seen.seq});
  ASSERT_TRUE(joined.ok());
  EXPECT_TRUE(joined->resumed);
  std::vector<Update> missed = UpdatesFor(2);
  ASSERT_EQ(missed.size(), 2u);
  EXPECT_EQ(missed[0].seq, seen.seq + 1);
  EXPECT_EQ(missed[1].seq, seen.seq + 2);
  EXPECT_EQ(missed[1].kind, UpdateKind::kDiff);

  // A position this node never produced is answered with the current state instead.
  joined = subs_.Join(now_, 3, "keyed", {}, out_, StreamPosition{"n1", 0, seen.epoch + 5, 1});
  ASSERT_TRUE(joined.ok());
  EXPECT_FALSE(joined->resumed);
  ASSERT_EQ(UpdatesFor(3).size(), 1u);
  EXPECT_EQ(UpdatesFor(3)[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(UpdatesFor(3)[0].rows, Rows({{2, "c"}}).rows);

  // Everyone leaves: the stream is gone, the poller lingers and still holds its history.
  for (ClientId c : {1, 2, 3}) ASSERT_TRUE(subs_.Leave(now_, c, "keyed", out_).ok());
  joined = subs_.Join(now_, 4, "keyed", {}, out_, StreamPosition{"n1", 0, seen.epoch, seen.seq});
  ASSERT_TRUE(joined.ok());
  EXPECT_TRUE(joined->resumed);
  std::vector<Update> again = UpdatesFor(4);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again, missed);
}

}  // namespace
}  // namespace livepoll::core
