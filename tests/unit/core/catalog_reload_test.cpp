// Replacing a running node's catalog (SIGHUP), on a hand-driven clock: what happens to the
// topics of added, removed and changed queries (Subscriptions::ReplaceCatalog,
// Node::ReplaceCatalog).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/node.h"

namespace livepoll::core {
namespace {

using namespace std::chrono_literals;

Catalog Base() {
  Catalog c;
  c.queries["q"] = {"q", "db", {}, {}, 1s, 0.0};
  c.queries["by"] = {"by", "db", {"n"}, {}, 1s, 0.0};
  c.source_caps["db"] = 4;
  return c;
}

ResultSet Rows(int64_t v) { return ResultSet{{"v"}, {{Value(v)}}}; }

std::vector<proto::Update> UpdatesTo(const Actions& a, ClientId client) {
  std::vector<proto::Update> v;
  for (const Delivery& d : a.deliveries)
    if (std::count(d.clients.begin(), d.clients.end(), client))
      if (const auto* u = std::get_if<proto::Update>(&d.message)) v.push_back(*u);
  return v;
}

TEST(DiffCatalogs, NamesAddedRemovedAndChangedQueries) {
  Catalog a = Base();
  Catalog b = Base();
  b.queries.erase("by");
  b.queries["new"] = {"new", "db", {}, {}, 1s, 0.0};
  CatalogChanges none = DiffCatalogs(a, a);
  EXPECT_TRUE(none.empty());
  CatalogChanges c = DiffCatalogs(a, b);
  EXPECT_EQ(c.added, std::set<std::string>{"new"});
  EXPECT_EQ(c.removed, std::set<std::string>{"by"});
  EXPECT_TRUE(c.changed.empty());
  // Each field a stream depends on is a change; the access rule alone is not.
  for (int field = 0; field < 6; ++field) {
    Catalog d = Base();
    CatalogQuery& q = d.queries["q"];
    switch (field) {
      case 0:
        q.source = "other";
        break;
      case 1:
        q.params = {"x"};
        break;
      case 2:
        q.key = {"v"};
        break;
      case 3:
        q.interval = 2s;
        break;
      case 4:
        q.jitter = 0.2;
        break;
      case 5:
        q.digest = 42;
        break;  // the SQL, as the daemon digests it
    }
    EXPECT_EQ(DiffCatalogs(a, d).changed, std::set<std::string>{"q"}) << "field " << field;
  }
  Catalog e = Base();
  e.queries["q"].access.token_required = true;
  EXPECT_TRUE(DiffCatalogs(a, e).empty());
}

class Standalone : public ::testing::Test {
 protected:
  Standalone() : node_(Base(), Options()) {}
  static NodeOptions Options() {
    NodeOptions o;
    o.subscriptions.node = "solo";
    o.subscriptions.client_timeout = 1h;
    return o;
  }
  // Ticks at `now_` and completes each poll requested with `v`; returns what was delivered.
  Actions PollAll(int64_t v) {
    Actions a;
    node_.Tick(now_, a);
    Actions done;
    for (const PollRequest& p : a.polls) node_.PollDone(now_, p.poll_id, Rows(v), done);
    for (Delivery& d : a.deliveries) done.deliveries.push_back(std::move(d));
    return done;
  }
  Node node_;
  Time now_{10s};
};

TEST_F(Standalone, AnAddedQueryIsJoinedAtOnce) {
  Actions a;
  EXPECT_FALSE(node_.Join(now_, 1, "new", {}, a).ok());
  Catalog next = Base();
  next.queries["new"] = {"new", "db", {}, {}, 1s, 0.0};
  Node::CatalogReplaced r = node_.ReplaceCatalog(now_, next, a);
  EXPECT_EQ(r.changes.added, std::set<std::string>{"new"});
  ASSERT_TRUE(node_.Join(now_, 1, "new", {}, a).ok());
  Actions b = PollAll(3);
  std::vector<proto::Update> got = UpdatesTo(b, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, proto::UpdateKind::kSnapshot);
}

TEST_F(Standalone, ARemovedQueryEndsItsSubscriptionsWithAnErrorAndStopsItsPoller) {
  Actions a;
  ASSERT_TRUE(node_.Join(now_, 1, "by", {{"n", "1"}}, a).ok());
  ASSERT_TRUE(node_.Join(now_, 2, "by", {{"n", "1"}}, a).ok());
  ASSERT_TRUE(node_.Join(now_, 2, "q", {}, a).ok());
  PollAll(5);
  ASSERT_TRUE(node_.subscriptions().Polls("by?n=1"));

  Catalog next = Base();
  next.queries.erase("by");
  Actions r;
  Node::CatalogReplaced done = node_.ReplaceCatalog(now_ + 1s, next, r);
  EXPECT_EQ(done.changes.removed, std::set<std::string>{"by"});
  for (ClientId c : {1, 2}) {
    std::vector<proto::Update> got = UpdatesTo(r, c);
    ASSERT_EQ(got.size(), 1u) << c;
    EXPECT_EQ(got[0].kind, proto::UpdateKind::kError);
    EXPECT_EQ(got[0].topic, "by?n=1");
    EXPECT_EQ(got[0].error, "query 'by' was removed from the catalog");
  }
  EXPECT_FALSE(node_.subscriptions().Polls("by?n=1"));
  EXPECT_TRUE(node_.subscriptions().Polls("q"));  // the other query is untouched
  EXPECT_EQ(node_.subscriptions().subscription_count(), 1u);
  EXPECT_EQ(node_.subscriptions().client_count(), 2u);
  // Nothing more of it: a later poll result of the old poller is stale, a join is refused.
  EXPECT_TRUE(UpdatesTo(PollAll(6), 1).empty());
  EXPECT_FALSE(node_.Join(now_, 1, "by", {{"n", "1"}}, r).ok());
  // Client 1 holds no subscription now: it counts no more towards max_clients.
  EXPECT_EQ(node_.Leave(now_, 1, "by?n=1", r).code(), Status::Code::kNotFound);
}

TEST_F(Standalone, AChangedQueryRestartsItsPollersAtANewEpochAndSubscribersFollow) {
  Actions a;
  ASSERT_TRUE(node_.Join(now_, 1, "by", {{"n", "1"}}, a).ok());
  ASSERT_TRUE(node_.Join(now_, 1, "by", {{"n", "2"}}, a).ok());
  ASSERT_TRUE(node_.Join(now_, 1, "q", {}, a).ok());
  std::vector<proto::Update> first = UpdatesTo(PollAll(5), 1);
  ASSERT_EQ(first.size(), 3u);
  for (const proto::Update& u : first) EXPECT_EQ(u.epoch, 1u);

  Catalog next = Base();
  next.queries["by"].digest = 99;  // its SQL changed
  next.queries["by"].key = {"v"};
  Actions r;
  now_ += 500ms;  // before "q" is due again
  Node::CatalogReplaced done = node_.ReplaceCatalog(now_, next, r);
  EXPECT_EQ(done.changes.changed, std::set<std::string>{"by"});
  EXPECT_EQ(done.restarted, 2u);
  EXPECT_TRUE(UpdatesTo(r, 1).empty());  // no error: the stream goes on
  std::vector<proto::Update> got = UpdatesTo(PollAll(7), 1);
  ASSERT_EQ(got.size(), 2u);  // "q" is not due: only the restarted "by" topics polled
  for (const proto::Update& u : got) {
    EXPECT_EQ(u.topic.rfind("by?", 0), 0u) << u.topic;
    EXPECT_EQ(u.kind, proto::UpdateKind::kSnapshot);
    EXPECT_EQ(u.epoch, 2u);
    EXPECT_EQ(u.rows, Rows(7).rows);
  }
  EXPECT_EQ(node_.subscriptions().subscription_count(), 3u);
  EXPECT_EQ(node_.counters().updates_fenced, 0u);
}

TEST_F(Standalone, AnUnchangedCatalogChangesNothing) {
  Actions a;
  ASSERT_TRUE(node_.Join(now_, 1, "q", {}, a).ok());
  PollAll(5);
  Actions r;
  Node::CatalogReplaced done = node_.ReplaceCatalog(now_, Base(), r);
  EXPECT_TRUE(done.changes.empty());
  EXPECT_EQ(done.restarted, 0u);
  EXPECT_TRUE(r.deliveries.empty());
  EXPECT_TRUE(r.polls.empty());
  EXPECT_EQ(node_.subscriptions().Topics(now_)[0].poller_epoch, 1u);
}

}  // namespace
}  // namespace livepoll::core
