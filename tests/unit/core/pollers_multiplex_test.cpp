// Multiplexed polling in the Pollers core (pollers.h), on a hand-driven clock: the due polls of one
// query leave as one batch, each topic keeps its own result, change detection and numbering, a
// failed batch fails each of its topics, and `multiplex = 0` polls one statement per topic.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/pollers.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;
using proto::UpdateKind;

ResultSet Rows(const std::string& region, int64_t n) {
  ResultSet rs;
  rs.columns = {"region", "n"};
  rs.rows.push_back({Value(region), Value(n)});
  return rs;
}

class PollersMultiplexTest : public ::testing::Test {
 protected:
  void Make(size_t multiplex, int cap = 4, double jitter = 0.0) {
    catalog_.queries["by_region"] = {"by_region", "db", {"region"}, {}, 1s, jitter};
    catalog_.queries["by_region"].multiplex = multiplex;
    catalog_.queries["other"] = {"other", "db", {"region"}, {}, 1s, jitter};
    catalog_.queries["other"].multiplex = multiplex;
    catalog_.source_caps["db"] = cap;
    pollers_ = std::make_unique<Pollers>(catalog_, "n1", 1, 8s, 7);
  }
  void Start(const std::string& region, const std::string& query = "by_region") {
    const std::string topic = query + "?region=" + region;
    pollers_->Start(now_, topic, catalog_.queries.at(query), {Value(region)}, 1, out_);
  }
  // The polls requested since the last call.
  std::vector<PollRequest> Polls() {
    std::vector<PollRequest> polls;
    polls.swap(out_.polls);
    return polls;
  }
  std::vector<PollRequest> TickAt(Time t) {
    now_ = t;
    pollers_->Tick(now_, out_);
    return Polls();
  }
  // Completes `poll` with its region's row holding `n`.
  PollOutcome Done(const PollRequest& poll, int64_t n) {
    return pollers_->PollDone(now_, poll.poll_id, Rows(std::get<std::string>(poll.params[0]), n),
                              std::nullopt, out_);
  }
  static std::set<uint64_t> Batches(const std::vector<PollRequest>& polls) {
    std::set<uint64_t> b;
    for (const auto& p : polls) b.insert(p.batch);
    return b;
  }

  Catalog catalog_;
  std::unique_ptr<Pollers> pollers_;
  PollerOutputs out_;
  Time t0_ = Time{} + 1h;
  Time now_ = t0_;
};

TEST_F(PollersMultiplexTest, TopicsOfOneQueryDueTogetherLeaveAsOneBatch) {
  Make(100);
  Start("eu");
  Start("us");
  Start("asia");
  std::vector<PollRequest> polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 3u);  // one request per topic, each with its own poll id ...
  std::set<uint64_t> ids;
  for (const auto& p : polls) ids.insert(p.poll_id);
  EXPECT_EQ(ids.size(), 3u);
  ASSERT_EQ(Batches(polls).size(), 1u);  // ... all in one batch
  EXPECT_NE(*Batches(polls).begin(), 0u);
  for (const auto& p : polls) EXPECT_EQ(p.query, "by_region");
}

TEST_F(PollersMultiplexTest, EachTopicKeepsItsOwnResultHashAndSeq) {
  Make(100);
  Start("eu");
  Start("us");
  std::vector<PollRequest> polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 2u);
  for (const auto& p : polls) {
    PollOutcome o = Done(p, 1);
    ASSERT_TRUE(o.published);
    EXPECT_EQ(o.published->kind, UpdateKind::kSnapshot);
    EXPECT_EQ(o.published->topic, p.topic);
    EXPECT_EQ(o.published->seq, 1u);
    EXPECT_EQ(o.published->rows[0][0], Value(std::get<std::string>(p.params[0])));
  }
  // The next interval: one batch again; only eu's result changed, so only eu publishes.
  polls = TickAt(t0_ + 1s);
  ASSERT_EQ(polls.size(), 2u);
  EXPECT_EQ(Batches(polls).size(), 1u);
  for (const auto& p : polls) {
    const bool eu = p.topic == "by_region?region=eu";
    PollOutcome o = Done(p, eu ? 2 : 1);
    EXPECT_EQ(o.published.has_value(), eu) << p.topic;
    if (eu) {
      EXPECT_EQ(o.published->seq, 2u);
    }
  }
  EXPECT_EQ(pollers_->Find("by_region?region=eu")->seq, 2u);
  EXPECT_EQ(pollers_->Find("by_region?region=us")->seq, 1u);
}

TEST_F(PollersMultiplexTest, AFailedBatchFailsEachTopicAndBacksOffTogether) {
  Make(100);
  Start("eu");
  Start("us");
  std::vector<PollRequest> polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 2u);
  for (const auto& p : polls) {
    PollOutcome o = pollers_->PollDone(now_, p.poll_id, Status::Unavailable("database is locked"),
                                       std::nullopt, out_);
    ASSERT_TRUE(o.published) << p.topic;
    EXPECT_EQ(o.published->kind, UpdateKind::kError);
    EXPECT_EQ(o.published->error, "database is locked");
  }
  EXPECT_TRUE(pollers_->Find("by_region?region=eu")->failing);
  EXPECT_TRUE(pollers_->Find("by_region?region=us")->failing);
  // Back-off: nothing before the interval, then both again as one batch.
  EXPECT_TRUE(TickAt(t0_ + 999ms).empty());
  polls = TickAt(t0_ + 1s);
  ASSERT_EQ(polls.size(), 2u);
  EXPECT_EQ(Batches(polls).size(), 1u);
  for (const auto& p : polls) {
    PollOutcome o = Done(p, 1);
    ASSERT_TRUE(o.published);
    EXPECT_EQ(o.published->kind, UpdateKind::kSnapshot);  // recovered: a snapshot
  }
}

TEST_F(PollersMultiplexTest, MultiplexZeroPollsOneStatementPerTopicWithinTheCap) {
  Make(0, /*cap=*/2);
  Start("eu");
  Start("us");
  Start("asia");
  std::vector<PollRequest> polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 2u);  // the cap: two statements at a time
  for (const auto& p : polls) EXPECT_EQ(p.batch, 0u);
  Done(polls[0], 1);  // frees a slot: the third topic goes
  std::vector<PollRequest> third = Polls();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].batch, 0u);
}

TEST_F(PollersMultiplexTest, ABatchCountsOnceAgainstTheSourceCap) {
  Make(100, /*cap=*/1);
  Start("eu");
  Start("us");
  Start("asia");
  std::vector<PollRequest> polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 3u);  // one statement: within a cap of 1
  // Another query of the source waits for the batch to finish, all of it.
  Start("eu", "other");
  EXPECT_TRUE(TickAt(now_).empty());
  Done(polls[0], 1);
  Done(polls[1], 1);
  EXPECT_TRUE(Polls().empty());  // one poll of the batch still runs
  Done(polls[2], 1);
  std::vector<PollRequest> other = Polls();
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].query, "other");
}

TEST_F(PollersMultiplexTest, BatchesHoldAtMostMultiplexTopics) {
  Make(2);
  for (const char* r : {"a", "b", "c", "d", "e"}) Start(r);
  std::vector<PollRequest> polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 5u);
  std::map<uint64_t, int> sizes;
  for (const auto& p : polls) sizes[p.batch]++;
  ASSERT_EQ(sizes.size(), 3u);
  std::multiset<int> counts;
  for (auto& [b, n] : sizes) counts.insert(n);
  EXPECT_EQ(counts, (std::multiset<int>{1, 2, 2}));
  // A batch's requests follow each other (the runtime groups neighbours).
  for (size_t i = 1; i < polls.size(); ++i) {
    if (polls[i].batch != polls[i - 1].batch) {
      for (size_t j = i + 1; j < polls.size(); ++j) EXPECT_NE(polls[j].batch, polls[i - 1].batch);
    }
  }
}

TEST_F(PollersMultiplexTest, TopicsStartedApartJoinOneBeatWithinHalfAnInterval) {
  Make(100);
  Start("eu");  // due at t0, then t0 + 1s
  std::vector<PollRequest> first = TickAt(t0_);
  ASSERT_EQ(first.size(), 1u);
  Done(first[0], 1);
  // us starts 600 ms later: its first poll runs at once and takes eu along (due in 400 ms).
  now_ = t0_ + 600ms;
  Start("us");
  std::vector<PollRequest> polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 2u);
  EXPECT_EQ(Batches(polls).size(), 1u);
  for (const auto& p : polls) Done(p, 1);
  // eu's old timer (t0 + 1s) is dropped: no poll until the shared beat at t0 + 1.6s.
  EXPECT_TRUE(TickAt(t0_ + 1s).empty());
  polls = TickAt(t0_ + 1600ms);
  ASSERT_EQ(polls.size(), 2u);
  EXPECT_EQ(Batches(polls).size(), 1u);
  for (const auto& p : polls) Done(p, 1);
  // asia starts 100 ms after that beat: the others are 900 ms away, beyond half an interval, so
  // it polls alone now (no topic polled twice within half an interval).
  now_ = t0_ + 1700ms;
  Start("asia");
  polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 1u);
  EXPECT_EQ(polls[0].topic, "by_region?region=asia");
  Done(polls[0], 1);
  // At the beat (t0 + 2.6s) eu and us go, taking asia along (due at 2.7s): one beat from now on.
  polls = TickAt(t0_ + 2600ms);
  ASSERT_EQ(polls.size(), 3u);
  EXPECT_EQ(Batches(polls).size(), 1u);
}

TEST_F(PollersMultiplexTest, ABatchDrawsOneJitterSoItsTopicsStayTogether) {
  Make(100, 4, /*jitter=*/0.3);
  for (const char* r : {"a", "b", "c", "d"}) Start(r);
  for (int round = 0; round < 20; ++round) {
    std::vector<PollRequest> polls;
    while (polls.empty()) {
      now_ = pollers_->NextDeadline();
      pollers_->Tick(now_, out_);
      polls = Polls();
    }
    ASSERT_EQ(polls.size(), 4u) << "round " << round;
    EXPECT_EQ(Batches(polls).size(), 1u);
    for (const auto& p : polls) Done(p, round);
  }
}

TEST_F(PollersMultiplexTest, AStoppedTopicsPollIsIgnoredAndItsBatchStillFreesTheCap) {
  Make(100, /*cap=*/1);
  Start("eu");
  Start("us");
  std::vector<PollRequest> polls = TickAt(now_);
  ASSERT_EQ(polls.size(), 2u);
  ASSERT_TRUE(pollers_->Stop(polls[0].topic, out_));
  EXPECT_TRUE(Done(polls[0], 1).topic.empty());  // stale
  Start("eu", "other");
  EXPECT_TRUE(TickAt(now_).empty());  // the batch still holds the cap
  EXPECT_EQ(Done(polls[1], 1).topic, polls[1].topic);
  EXPECT_EQ(Polls().size(), 1u);
}

}  // namespace
}  // namespace livepoll::core
