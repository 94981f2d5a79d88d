// The Relay on its own: fencing, ordering, gaps and fetches, the mirror and late subscribers, with
// hand-written streams (relay.h states the rules these tests hold it to).
#include "core/relay.h"

#include <gtest/gtest.h>

#include "core/result_diff.h"
#include "core/subscriptions.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;
using proto::Change;
using proto::Update;
using proto::UpdateKind;

const std::string kTopic = "t";

std::vector<Row> Rows(std::vector<std::pair<int64_t, std::string>> rows) {
  std::vector<Row> out;
  for (auto& [id, name] : rows) out.push_back({Value(id), Value(name)});
  return out;
}

Update Make(UpdateKind kind, const std::string& owner, uint64_t epoch, uint64_t seq) {
  Update u;
  u.topic = kTopic;
  u.kind = kind;
  u.owner = owner;
  u.epoch = epoch;
  u.seq = seq;
  u.columns = {"id", "name"};
  return u;
}
Update Snap(const std::string& owner, uint64_t epoch, uint64_t seq,
            std::vector<std::pair<int64_t, std::string>> rows) {
  Update u = Make(UpdateKind::kSnapshot, owner, epoch, seq);
  u.rows = Rows(std::move(rows));
  return u;
}
Update Diff(const std::string& owner, uint64_t epoch, uint64_t seq, std::vector<Change> changes) {
  Update u = Make(UpdateKind::kDiff, owner, epoch, seq);
  u.changes = std::move(changes);
  return u;
}
Change Ins(int64_t id, std::string name) { return {Change::Op::kInsert, {Value(id), Value(name)}}; }
Change Upd(int64_t id, std::string name) { return {Change::Op::kUpdate, {Value(id), Value(name)}}; }
Change Del(int64_t id) { return {Change::Op::kDelete, {Value(id), Value(std::string())}}; }
Update Err(const std::string& owner, uint64_t epoch, uint64_t seq, std::string text) {
  Update u = Make(UpdateKind::kError, owner, epoch, seq);
  u.error = std::move(text);
  return u;
}

class RelayTest : public ::testing::Test {
 protected:
  RelayTest()
      : relay_(
            "self",
            [this](const std::string&) {
              ++own_state_calls_;
              return own_state_;
            },
            [this](const std::string&) { return own_history_; }, kHistory) {}

  static constexpr size_t kHistory = 4;

  void Join(ClientId c) { relay_.AddSubscriber(now_, kTopic, {"id"}, c, out_); }
  // A client that last applied `u` joins again; returns whether its stream continued.
  bool Resume(ClientId c, const Update& u) {
    return relay_
        .AddSubscriber(now_, kTopic, {"id"}, c, out_,
                       StreamPosition{u.owner, u.owner_session, u.epoch, u.seq})
        .resumed;
  }
  void Owner(const std::string& node, uint64_t epoch) {
    relay_.SetOwner(now_, kTopic, StreamOwner{node, epoch}, out_);
  }
  void Feed(Update u) { relay_.OnUpdate(now_, std::move(u), out_); }

  std::vector<Update> UpdatesFor(ClientId c) const {
    std::vector<Update> v;
    for (const Delivery& d : out_.deliveries) {
      if (std::find(d.clients.begin(), d.clients.end(), c) == d.clients.end()) continue;
      if (auto* u = std::get_if<Update>(&d.message)) v.push_back(*u);
    }
    return v;
  }
  static std::vector<uint64_t> Seqs(const std::vector<Update>& us) {
    std::vector<uint64_t> s;
    for (const Update& u : us) s.push_back(u.seq);
    return s;
  }
  // What a client holds after applying its updates in order; fails on a diff that does not apply.
  static std::vector<Row> Rebuild(const std::vector<Update>& us) {
    std::vector<Row> rows;
    for (const Update& u : us) {
      if (u.kind == UpdateKind::kSnapshot) rows = u.rows;
      if (u.kind == UpdateKind::kDiff) {
        EXPECT_TRUE(ApplyChanges(rows, u.changes, {0}).ok());
      }
    }
    return rows;
  }

  Relay relay_;
  std::vector<Update> own_state_;
  std::vector<Update> own_history_;
  int own_state_calls_ = 0;
  RelayOutputs out_;
  Time now_ = Time(100s);
};

TEST_F(RelayTest, AnotherOwnersOrAnOlderEpochsUpdatesAreFencedAndCounted) {
  Owner("b", 2);
  Join(1);
  Feed(Snap("a", 2, 1, {{1, "from a"}}));  // not the owner
  Feed(Snap("b", 1, 1, {{1, "b, old epoch"}}));
  EXPECT_EQ(out_.updates_fenced, 2u);
  EXPECT_TRUE(UpdatesFor(1).empty());
  Feed(Snap("b", 2, 1, {{1, "b"}}));
  ASSERT_EQ(UpdatesFor(1).size(), 1u);

  Owner("c", 3);
  Feed(Diff("b", 2, 2, {Upd(1, "late b")}));  // the old owner, still sending
  Feed(Snap("c", 3, 4, {{1, "c"}}));
  // The registry going back to an epoch below the one delivered does not reopen it.
  Owner("b", 2);
  Feed(Diff("b", 2, 2, {Upd(1, "b again")}));
  EXPECT_EQ(out_.updates_fenced, 4u);
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[1].owner, "c");
  EXPECT_EQ(Rebuild(u), Rows({{1, "c"}}));
}

// Found by the simulator (data_plane_sim_test.cpp, seeds 44, 802): both sides of a partition
// registered the topic at epoch 2, and after the heal the registry named the other one. Its seqs
// count another stream: its snapshot at a seq already delivered was dropped as a duplicate and its
// next diff applied to the first owner's data, so the client held rows neither owner had.
TEST_F(RelayTest, AnotherOwnerAtTheEpochDeliveredIsFencedUntilAHigherEpoch) {
  Owner("a", 2);
  Join(1);
  Feed(Snap("a", 2, 1, {{1, "x"}}));
  Feed(Diff("a", 2, 2, {Ins(2, "y")}));
  out_.fetches.clear();
  Owner("b", 2);                         // the clash's winner, at the same epoch
  EXPECT_TRUE(out_.fetches.empty());     // all it could send would be fenced
  Feed(Snap("b", 2, 2, {{1, "x"}}));     // b's rows at its seq 2
  Feed(Diff("b", 2, 3, {Ins(3, "z")}));  // would have applied to a's rows
  Feed(Snap("b", 2, 4, {{1, "x"}, {3, "z"}}));
  EXPECT_EQ(out_.updates_fenced, 3u);
  EXPECT_EQ(Seqs(UpdatesFor(1)), (std::vector<uint64_t>{1, 2}));
  Owner("b", 3);  // the survivor re-epochs (registry.h): a new stream, fetched
  ASSERT_EQ(out_.fetches.size(), 1u);
  Feed(Snap("b", 3, 1, {{1, "x"}, {3, "z"}}));
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[2].owner, "b");
  EXPECT_EQ(u[2].epoch, 3u);
  EXPECT_EQ(Rebuild(u), Rows({{1, "x"}, {3, "z"}}));
}

TEST_F(RelayTest, AGapFetchesOnceAndTheSnapshotReplaysWhatWasKeptInOrder) {
  Owner("b", 1);
  Join(1);
  ASSERT_EQ(out_.fetches.size(), 1u);  // the first subscriber of a topic with a known owner
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  Feed(Diff("b", 1, 3, {Ins(3, "c")}));  // 2 is missing
  Feed(Diff("b", 1, 4, {Upd(1, "A")}));
  EXPECT_EQ(out_.stream_gaps, 2u);
  ASSERT_EQ(out_.fetches.size(), 2u);  // one ask for both
  EXPECT_EQ(out_.fetches[1].owner, "b");
  EXPECT_EQ(out_.fetches[1].topic, kTopic);
  EXPECT_EQ(Seqs(UpdatesFor(1)), (std::vector<uint64_t>{1}));

  Feed(Snap("b", 1, 2, {{1, "a"}, {2, "b"}}));  // the owner's answer
  std::vector<Update> u = UpdatesFor(1);
  EXPECT_EQ(Seqs(u), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(u[1].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(Rebuild(u), Rows({{1, "A"}, {2, "b"}, {3, "c"}}));
}

TEST_F(RelayTest, AReorderedPredecessorClosesTheGapWithoutWaitingForTheFetch) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  Feed(Diff("b", 1, 3, {Ins(3, "c")}));
  Feed(Diff("b", 1, 2, {Ins(2, "b")}));
  std::vector<Update> u = UpdatesFor(1);
  EXPECT_EQ(Seqs(u), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(Rebuild(u), Rows({{1, "a"}, {2, "b"}, {3, "c"}}));
  // The fetch's answer, now behind, changes nothing.
  Feed(Snap("b", 1, 2, {{1, "a"}, {2, "b"}}));
  EXPECT_EQ(UpdatesFor(1).size(), 3u);
}

// Found by the chaos soak (seed 103): a node paused past the links' heartbeat timeout lost its
// owner's last diff with the link, and nothing after it showed the gap.
TEST_F(RelayTest, ARelinkedOwnersStreamsFetchAgainAndCatchUp) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  Feed(Diff("b", 1, 2, {Ins(2, "b")}));
  // Diff 3 (a delete) is lost with the link. Another owner's stream is not asked again.
  out_.fetches.clear();
  relay_.Refetch(now_, "c", out_);
  EXPECT_TRUE(out_.fetches.empty());
  relay_.Refetch(now_, "b", out_);
  ASSERT_EQ(out_.fetches.size(), 1u);
  EXPECT_EQ(out_.fetches[0].owner, "b");
  // Asked again at once even with that fetch outstanding (it may be lost with the link too).
  relay_.Refetch(now_, "b", out_);
  EXPECT_EQ(out_.fetches.size(), 2u);
  Feed(Snap("b", 1, 3, {{1, "a"}}));  // the owner's answer
  EXPECT_EQ(Rebuild(UpdatesFor(1)), Rows({{1, "a"}}));
  // Nothing was lost: the answer at the seq delivered changes nothing.
  Feed(Snap("b", 1, 3, {{1, "a"}}));
  EXPECT_EQ(Seqs(UpdatesFor(1)), (std::vector<uint64_t>{1, 2, 3}));
  // A stream fenced from `b` (the registry names another owner) does not ask it.
  out_.fetches.clear();
  Owner("c", 2);
  out_.fetches.clear();
  relay_.Refetch(now_, "b", out_);
  EXPECT_TRUE(out_.fetches.empty());
}

TEST_F(RelayTest, DuplicatesAreDroppedSilently) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  Feed(Diff("b", 1, 2, {Upd(1, "b")}));
  Feed(Diff("b", 1, 2, {Upd(1, "b")}));
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  Feed(Diff("b", 1, 4, {Upd(1, "d")}));  // a gap...
  Feed(Diff("b", 1, 4, {Upd(1, "d")}));  // ...and its duplicate, kept once, counted once
  EXPECT_EQ(Seqs(UpdatesFor(1)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(out_.stream_gaps, 1u);
  EXPECT_EQ(out_.updates_fenced, 0u);
}

TEST_F(RelayTest, AFetchIsAskedAgainOnlyAfterASecond) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  out_.fetches.clear();
  Feed(Diff("b", 1, 3, {Upd(1, "c")}));
  now_ += 500ms;
  Feed(Diff("b", 1, 4, {Upd(1, "d")}));
  EXPECT_EQ(out_.fetches.size(), 1u);
  now_ += 600ms;
  Feed(Diff("b", 1, 5, {Upd(1, "e")}));
  EXPECT_EQ(out_.fetches.size(), 2u);
}

TEST_F(RelayTest, ALateSubscriberGetsTheMirrorsSnapshotFirst) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}, {2, "b"}}));
  Feed(Diff("b", 1, 2, {Del(2), Ins(3, "c")}));
  out_.fetches.clear();
  Join(2);
  std::vector<Update> u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[0].seq, 2u);
  EXPECT_EQ(u[0].owner, "b");
  EXPECT_EQ(u[0].rows, Rows({{1, "a"}, {3, "c"}}));
  EXPECT_TRUE(out_.fetches.empty());  // the mirror is enough
  Feed(Diff("b", 1, 3, {Upd(1, "A")}));
  EXPECT_EQ(Rebuild(UpdatesFor(2)), Rows({{1, "A"}, {3, "c"}}));
}

TEST_F(RelayTest, ALateSubscriberDuringAnOutageGetsTheDataThenTheError) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  Feed(Err("b", 1, 2, "down"));
  Join(2);
  std::vector<Update> u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[0].seq, 1u);  // the data's own seq, so the error's is later
  EXPECT_EQ(u[1].kind, UpdateKind::kError);
  EXPECT_EQ(u[1].seq, 2u);
  EXPECT_EQ(u[1].error, "down");
}

TEST_F(RelayTest, ANewOwnerIsFetchedAndItsEpochBeginsWithASnapshot) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  Feed(Diff("b", 1, 2, {Upd(1, "b")}));
  out_.fetches.clear();
  Owner("c", 2);
  ASSERT_EQ(out_.fetches.size(), 1u);
  EXPECT_EQ(out_.fetches[0].owner, "c");
  Feed(Diff("c", 2, 4, {Upd(1, "d")}));  // c published its snapshot before we listened
  EXPECT_EQ(UpdatesFor(1).size(), 2u);
  Feed(Snap("c", 2, 3, {{1, "c"}}));  // the fetch's answer
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 4u);
  EXPECT_EQ(u[2].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[2].epoch, 2u);
  EXPECT_EQ(u[3].kind, UpdateKind::kDiff);
  EXPECT_EQ(Rebuild(u), Rows({{1, "d"}}));
}

TEST_F(RelayTest, ANewOwnerWhoseMirrorIsHeldAlreadyIsNotFetched) {
  Join(1);
  EXPECT_TRUE(out_.fetches.empty());  // no owner known: nobody to ask
  Owner("b", 1);
  ASSERT_EQ(out_.fetches.size(), 1u);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  relay_.SetOwner(now_, kTopic, std::nullopt, out_);
  Owner("b", 1);  // back, same epoch, mirror valid there, nothing missed meanwhile
  EXPECT_EQ(out_.fetches.size(), 1u);
}

// Found by the chaos soak (tests/chaos/soak.sh --seed 102): an owner paused for 0.9 s was down
// for a moment; its next update (its last: the data did not change after it) arrived while the
// Registry named no owner and was fenced. When the owner was named again the mirror looked
// current, nothing was fetched, and the subscribers kept the data before that update for good.
TEST_F(RelayTest, AnUpdateFencedWhileItsOwnerWasNotNamedIsFetchedWhenItIsBack) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  relay_.SetOwner(now_, kTopic, std::nullopt, out_);
  Feed(Diff("b", 1, 2, {Upd(1, "b")}));  // no owner: fenced
  EXPECT_EQ(out_.updates_fenced, 1u);
  out_.fetches.clear();
  Owner("b", 1);
  ASSERT_EQ(out_.fetches.size(), 1u);
  EXPECT_EQ(out_.fetches[0].owner, "b");
  Feed(Snap("b", 1, 2, {{1, "b"}}));  // the fetch's answer
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[1].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(Rebuild(u), Rows({{1, "b"}}));
  // Once caught up, a later flap with nothing fenced fetches nothing.
  out_.fetches.clear();
  relay_.SetOwner(now_, kTopic, std::nullopt, out_);
  Owner("b", 1);
  EXPECT_TRUE(out_.fetches.empty());
}

TEST_F(RelayTest, ADiffThatDoesNotApplyInvalidatesTheMirrorAndFetches) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  out_.fetches.clear();
  Feed(Diff("b", 1, 2, {Del(9)}));  // no such key
  EXPECT_EQ(Seqs(UpdatesFor(1)), (std::vector<uint64_t>{1}));
  EXPECT_EQ(out_.fetches.size(), 1u);
  EXPECT_EQ(out_.stream_gaps, 1u);
  Join(2);
  EXPECT_TRUE(UpdatesFor(2).empty());    // no valid mirror to give
  Feed(Diff("b", 1, 3, {Upd(1, "c")}));  // cannot follow an invalid mirror: kept
  Feed(Snap("b", 1, 2, {{1, "b"}}));
  EXPECT_EQ(Seqs(UpdatesFor(1)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(Seqs(UpdatesFor(2)), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Rebuild(UpdatesFor(2)), Rows({{1, "c"}}));
}

TEST_F(RelayTest, AnErrorMayStartAnEpochThatHasNoDataYet) {
  Owner("b", 1);
  Join(1);
  Feed(Err("b", 1, 1, "no such table"));
  Join(2);
  std::vector<Update> u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].kind, UpdateKind::kError);
  Feed(Snap("b", 1, 2, {{1, "a"}}));
  EXPECT_EQ(Seqs(UpdatesFor(1)), (std::vector<uint64_t>{1, 2}));
  // A later error of a new epoch is no start: seq 3 means something came before it.
  Owner("b", 2);
  Feed(Err("b", 2, 3, "down"));
  EXPECT_EQ(UpdatesFor(1).size(), 2u);
  EXPECT_EQ(out_.stream_gaps, 1u);
}

TEST_F(RelayTest, ANodeFollowingItselfReadsItsPollerInsteadOfFetching) {
  own_state_ = {Snap("self", 3, 5, {{1, "a"}}), Err("self", 3, 6, "down")};
  relay_.SetOwner(now_, kTopic, StreamOwner{"self", 3}, out_);
  Join(1);
  EXPECT_EQ(own_state_calls_, 1);
  EXPECT_TRUE(out_.fetches.empty());
  EXPECT_EQ(Seqs(UpdatesFor(1)), (std::vector<uint64_t>{5, 6}));
  // The poller still fails, saying something else now: a late subscriber reads the latest.
  relay_.RefreshError(kTopic, "still down");
  Join(2);
  ASSERT_EQ(UpdatesFor(2).size(), 2u);
  EXPECT_EQ(UpdatesFor(2)[1].error, "still down");
}

TEST_F(RelayTest, WhatIsKeptAheadOfAGapIsBounded) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "0"}}));
  const uint64_t n = Relay::kMaxBuffered + 50;
  for (uint64_t s = 3; s < 3 + n; ++s) Feed(Diff("b", 1, s, {Upd(1, std::to_string(s))}));
  Feed(Snap("b", 1, 2, {{1, "2"}}));
  // The snapshot, then the earliest kMaxBuffered kept ones; the rest wait for the next fetch.
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2 + Relay::kMaxBuffered);
  EXPECT_EQ(u.back().seq, 2 + Relay::kMaxBuffered);
  EXPECT_EQ(Rebuild(u), Rows({{1, std::to_string(2 + Relay::kMaxBuffered)}}));
}

TEST_F(RelayTest, AStaleNoticeHoldsTheStreamUntilASnapshot) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  relay_.MarkStale(kTopic, "no majority", out_);
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[1].kind, UpdateKind::kError);
  EXPECT_EQ(u[1].error, "stale: no majority");
  EXPECT_EQ(u[1].seq, 1u);  // this node's word: it takes no seq of the owner's
  EXPECT_TRUE(relay_.Info(kTopic)->stale);
  Join(2);
  ASSERT_EQ(UpdatesFor(2).size(), 1u);  // only the notice: the mirror is not trusted
  Feed(Diff("b", 1, 2, {Upd(1, "b")}));
  EXPECT_EQ(UpdatesFor(1).size(), 2u);
  Feed(Snap("b", 1, 2, {{1, "b"}}));
  EXPECT_EQ(UpdatesFor(1).size(), 3u);
  EXPECT_FALSE(relay_.Info(kTopic)->stale);
}

TEST_F(RelayTest, TheLastSubscriberLeavingDropsTheStream) {
  Owner("b", 1);
  Join(1);
  Join(2);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  EXPECT_FALSE(relay_.RemoveSubscriber(kTopic, 1));
  EXPECT_TRUE(relay_.RemoveSubscriber(kTopic, 2));
  EXPECT_FALSE(relay_.Info(kTopic).has_value());
  Feed(Diff("b", 1, 2, {Upd(1, "b")}));  // nobody listens: ignored, not counted
  EXPECT_EQ(out_.updates_fenced + out_.stream_gaps, 0u);
  out_.fetches.clear();
  Join(3);  // starts over: the owner is still known
  EXPECT_EQ(out_.fetches.size(), 1u);
  EXPECT_TRUE(UpdatesFor(3).empty());
}

}  // namespace
}  // namespace livepoll::core

namespace livepoll::core {
namespace {

// ---- resume (relay.h, "Resume") ----

TEST_F(RelayTest, AClientResumingWithinTheHistoryGetsExactlyWhatItMissed) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  Feed(Diff("b", 1, 2, {Upd(1, "b")}));
  const std::vector<Update> before = UpdatesFor(1);  // client 2 saw these, then went away
  Feed(Diff("b", 1, 3, {Ins(2, "c")}));
  Feed(Diff("b", 1, 4, {Del(1)}));
  EXPECT_TRUE(Resume(2, before.back()));
  std::vector<Update> missed = UpdatesFor(2);
  EXPECT_EQ(Seqs(missed), (std::vector<uint64_t>{3, 4}));  // no snapshot, no repeat, no gap
  Feed(Diff("b", 1, 5, {Ins(3, "d")}));
  std::vector<Update> all = before;
  for (const Update& u : UpdatesFor(2)) all.push_back(u);
  EXPECT_EQ(Rebuild(all), Rebuild(UpdatesFor(1)));
  EXPECT_EQ(Rebuild(all), Rows({{2, "c"}, {3, "d"}}));
}

// The simulator (data_plane seed 725): a client that resumed onto a stream marked stale got the
// missed diffs but not the notice, so the snapshot that re-synchronised the mirror afterwards
// repeated the position it held with no notice before it.
TEST_F(RelayTest, AClientResumingOntoAStaleStreamGetsItsNoticeAfterWhatItMissed) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  const std::vector<Update> before = UpdatesFor(1);
  Feed(Diff("b", 1, 2, {Upd(1, "b")}));
  relay_.MarkStale(kTopic, "owner unreachable", out_);
  EXPECT_TRUE(Resume(2, before.back()));
  std::vector<Update> u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].kind, UpdateKind::kDiff);
  EXPECT_EQ(u[0].seq, 2u);
  EXPECT_EQ(u[1].kind, UpdateKind::kError);  // the notice, at the position just delivered
  EXPECT_EQ(u[1].error, "stale: owner unreachable");
  EXPECT_EQ(u[1].seq, 2u);
  Feed(Snap("b", 1, 2, {{1, "b"}}));  // the resync at the same seq: after a notice, allowed
  u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[2].kind, UpdateKind::kSnapshot);
}

TEST_F(RelayTest, AResumeAcrossANewEpochCarriesTheNewEpochsSnapshot) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  const Update last = UpdatesFor(1).back();
  Owner("c", 2);  // the owner died; its successor's stream begins with a snapshot
  Feed(Snap("c", 2, 1, {{1, "from c"}}));
  Feed(Diff("c", 2, 2, {Ins(2, "x")}));
  EXPECT_TRUE(Resume(2, last));
  std::vector<Update> missed = UpdatesFor(2);
  ASSERT_EQ(missed.size(), 2u);
  EXPECT_EQ(missed[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(missed[0].owner, "c");
  EXPECT_EQ(Rebuild(missed), Rows({{1, "from c"}, {2, "x"}}));
}

TEST_F(RelayTest, APositionNotInTheHistoryGetsTheCurrentStateAndIsNotAContinuation) {
  Owner("b", 1);
  Join(1);
  Feed(Snap("b", 1, 1, {{1, "a"}}));
  const Update first = UpdatesFor(1).front();
  for (uint64_t s = 2; s < 2 + kHistory; ++s) Feed(Diff("b", 1, s, {Upd(1, std::to_string(s))}));
  EXPECT_FALSE(Resume(2, first));  // fell out of the bounded history
  std::vector<Update> u = UpdatesFor(2);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].kind, UpdateKind::kSnapshot);
  EXPECT_EQ(u[0].rows, Rows({{1, std::to_string(1 + kHistory)}}));

  Update elsewhere = UpdatesFor(1).back();
  elsewhere.owner = "c";  // the same (epoch, seq) of another owner is another stream
  EXPECT_FALSE(Resume(3, elsewhere));
  Update earlier_process = UpdatesFor(1).back();
  earlier_process.owner_session = 77;  // ... and so is that of another process of the owner
  EXPECT_FALSE(Resume(4, earlier_process));
  EXPECT_EQ(UpdatesFor(3).size(), 1u);
  EXPECT_EQ(UpdatesFor(4).size(), 1u);
}

TEST_F(RelayTest, ANewStreamOnTheOwnerResumesFromItsPollersHistory) {
  Update s1 = Snap("self", 3, 1, {{1, "a"}});
  Update d2 = Diff("self", 3, 2, {Upd(1, "b")});
  Update d3 = Diff("self", 3, 3, {Ins(2, "c")});
  for (Update* u : {&s1, &d2, &d3}) u->owner_session = 9;
  own_history_ = {s1, d2, d3};
  own_state_ = {Snap("self", 3, 3, {{1, "b"}, {2, "c"}})};
  relay_.SetOwner(now_, kTopic, StreamOwner{"self", 3}, out_);
  EXPECT_TRUE(Resume(1, d2));  // the client moved here from another node, which relayed d2
  std::vector<Update> u = UpdatesFor(1);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0], d3);
  Update other = d2;
  other.owner_session = 8;
  EXPECT_FALSE(Resume(2, other));
  ASSERT_EQ(UpdatesFor(2).size(), 1u);
  EXPECT_EQ(UpdatesFor(2)[0].kind, UpdateKind::kSnapshot);
}

}  // namespace
}  // namespace livepoll::core
