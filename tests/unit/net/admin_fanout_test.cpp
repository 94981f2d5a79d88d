// AdminFanout: pending cluster-wide admin commands, their deadlines and the merging of answers.
#include "net/admin_fanout.h"

#include <gtest/gtest.h>

namespace livepoll::net {
namespace {

using namespace std::chrono_literals;
using proto::AdminReply;

const Value kNull = Null{};
Value S(const char* s) { return Value(std::string(s)); }
Value I(int64_t i) { return Value(i); }

AdminReply Table(std::vector<std::string> columns, std::vector<Row> rows) {
  AdminReply r;
  r.columns = std::move(columns);
  r.rows = std::move(rows);
  return r;
}

TEST(AdminFanout, ItWaitsForEveryAskedNodeThenMerges) {
  AdminFanout f;
  const Time t0 = Time(10s);
  const uint64_t id = f.Start(t0, "cli", {7, "stats", {}}, "n1",
                              Table({"node", "name", "value"}, {{S("n1"), S("polls"), I(3)}}),
                              {"n2", "n3"}, {}, 1s, {});
  EXPECT_EQ(f.NextDeadline(), t0 + 1s);
  f.OnAnswer("n3", Table({"node", "name", "value"}, {{S("n3"), S("polls"), I(5)}}));
  EXPECT_TRUE(f.TakeDone(t0 + 10ms).empty());  // n3's answer had id 0: not this fan-out's
  AdminReply a3 = Table({"node", "name", "value"}, {{S("n3"), S("polls"), I(5)}});
  a3.id = id;
  AdminReply a2 = Table({"node", "name", "value"}, {{S("n2"), S("polls"), I(4)}});
  a2.id = id;
  f.OnAnswer("n3", a3);
  f.OnAnswer("n3", a3);  // a duplicate changes nothing
  EXPECT_TRUE(f.TakeDone(t0 + 10ms).empty());
  f.OnAnswer("n2", a2);
  std::vector<AdminFanout::Done> done = f.TakeDone(t0 + 20ms);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].peer, "cli");
  EXPECT_EQ(done[0].reply.id, 7u);
  EXPECT_TRUE(done[0].reply.missing.empty());
  ASSERT_EQ(done[0].reply.rows.size(), 3u);
  EXPECT_EQ(done[0].reply.rows[1], (Row{S("n2"), S("polls"), I(4)}));  // by node
  EXPECT_EQ(f.pending(), 0u);
}

TEST(AdminFanout, ASilentNodeIsNamedAtTheDeadlineAndTheRestIsAnswered) {
  AdminFanout f;
  const Time t0 = Time(10s);
  f.Start(t0, "cli", {7, "info", {}}, "n1", Table({"node"}, {{S("n1")}}), {"n2"},
          {"n9: not an up member of the cluster"}, 250ms, {});
  EXPECT_TRUE(f.TakeDone(t0 + 249ms).empty());
  std::vector<AdminFanout::Done> done = f.TakeDone(t0 + 250ms);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].reply.rows, std::vector<Row>{{S("n1")}});
  EXPECT_EQ(done[0].reply.missing,
            (std::vector<std::string>{"n2: no answer within 250ms",
                                      "n9: not an up member of the cluster"}));
}

TEST(AdminFanout, SubsTakesPollsFromTheOwnerAndNamesThePollers) {
  const std::vector<std::string> cols = {"topic",  "owner",        "epoch", "polls",
                                         "errors", "last_poll_ms", "state"};
  std::map<std::string, AdminReply> answers;
  answers["n1"] = Table(cols, {{S("a"), S("n2"), I(1), kNull, kNull, kNull, S("relayed")}});
  answers["n2"] = Table(cols, {{S("a"), S("n2"), I(1), I(40), I(1), I(120), S("polling")},
                               {S("b"), S("n2"), I(2), I(3), I(0), I(5), S("polling")}});
  AdminReply r = MergeAnswers("subs", {}, "n1", answers, {});
  EXPECT_EQ(r.columns.back(), "pollers");
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0], (Row{S("a"), S("n2"), I(1), I(40), I(1), I(120), S("relayed"), S("n2")}));
  EXPECT_EQ(r.rows[1][0], S("b"));  // known to n2 only: still listed
}

TEST(AdminFanout, ZombiesSeenByManyNodesAreListedOnce) {
  const std::vector<std::string> cols = {"node", "topic", "reason", "age_ms", "detail"};
  std::map<std::string, AdminReply> answers;
  answers["n1"] = Table(cols, {{S("n3"), S("t"), S("dead-owner"), I(100), S("x")}});
  answers["n2"] = Table(cols, {{S("n3"), S("t"), S("dead-owner"), I(250), S("x")},
                               {S("n2"), S("u"), S("stalled"), I(9000), S("y")}});
  AdminReply r = MergeAnswers("zombies", {}, "n1", answers, {});
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0][3], I(250));  // the oldest sighting
  EXPECT_EQ(r.rows[1][1], S("u"));
}

TEST(AdminFanout, ReapSaysPerTopicWhatEachNodeDidOrThatNobodyKnowsIt) {
  const std::vector<std::string> cols = {"node", "topic", "action", "detail"};
  std::map<std::string, AdminReply> answers;
  answers["n1"] = Table(cols, {{S("n1"), S("a"), S("reaped"), S("idle: ...")},
                               {S("n1"), S("b"), S("none"), S("")},
                               {S("n1"), S("c"), S("unknown"), S("")}});
  answers["n2"] = Table(cols, {{S("n2"), S("a"), S("none"), S("")},
                               {S("n2"), S("b"), S("unknown"), S("")},
                               {S("n2"), S("c"), S("unknown"), S("")}});
  AdminReply r =
      MergeAnswers("reap", {{"topic", "a"}, {"topic", "b"}, {"topic", "c"}}, "n1", answers, {});
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0], (Row{S("n1"), S("a"), S("reaped"), S("idle: ...")}));
  EXPECT_EQ(r.rows[1][2], S("none"));
  EXPECT_EQ(r.rows[2][2], S("not-found"));
}

TEST(AdminFanout, ResolvePrintsTheWinnerAndWhetherTheLoserReleased) {
  AdminReply plan =
      Table({"topic", "winner", "loser", "result"}, {{S("a"), S("n1@1"), S("n2@2"), S("")},
                                                     {S("a"), S("n1@1"), S("n3@3"), S("")},
                                                     {S("b"), kNull, S(""), S("no-clash")}});
  std::map<std::string, AdminReply> answers;
  answers["n2"] =
      Table({"node", "topic", "action", "detail"}, {{S("n2"), S("a"), S("released"), S("")}});
  AdminReply r = MergeAnswers("resolve", {}, "n1", answers, plan);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0], (Row{S("a"), S("n1@1"), S("n2@2"), S("released")}));
  EXPECT_EQ(r.rows[1][3], S("no-answer"));  // n3 did not answer
  EXPECT_EQ(r.rows[2][3], S("no-clash"));
}

}  // namespace
}  // namespace livepoll::net
