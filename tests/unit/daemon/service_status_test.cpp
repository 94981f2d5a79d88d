// The STATUS= line livepolld sends systemd (daemon/service_status.h), from a core::Node driven by
// hand: its counts follow subscribers and topics, and a source is named while a poll of one of its
// queries fails, until a poll succeeds again.
#include "daemon/service_status.h"

#include <gtest/gtest.h>

namespace livepoll::daemon {
namespace {

using namespace std::chrono_literals;

core::Catalog TwoSources() {
  core::Catalog c;
  c.queries["a"] = {"a", "db1", {}, {}, 1s, 0.0};
  c.queries["b"] = {"b", "db2", {}, {}, 1s, 0.0};
  c.source_caps["db1"] = 4;
  c.source_caps["db2"] = 4;
  return c;
}

ResultSet Rows(int64_t v) { return ResultSet{{"v"}, {{Value(v)}}}; }

TEST(ServiceStatusLine, CountsTopicsAndSubscribersAndNamesFailingSources) {
  core::NodeOptions o;
  o.subscriptions.node = "solo";
  o.subscriptions.client_timeout = std::chrono::hours(1);  // the clients send no heartbeats here
  core::Node node(TwoSources(), o);
  const Time t0{1s};
  EXPECT_EQ(ServiceStatusLine(node, t0), "standalone: 0 topics, 0 subscribers, no source failing");

  core::Actions a;
  ASSERT_TRUE(node.Join(t0, 1, "a", {}, a).ok());
  ASSERT_TRUE(node.Join(t0, 2, "a", {}, a).ok());
  ASSERT_TRUE(node.Join(t0, 3, "b", {}, a).ok());
  node.Tick(t0, a);
  ASSERT_EQ(a.polls.size(), 2u);
  EXPECT_EQ(ServiceStatusLine(node, t0), "standalone: 2 topics, 3 subscribers, no source failing");

  uint64_t poll_a = 0, poll_b = 0;
  for (const auto& p : a.polls) (p.topic == "a" ? poll_a : poll_b) = p.poll_id;
  core::Actions b;
  node.PollDone(t0 + 5ms, poll_a, Rows(1), b);
  node.PollDone(t0 + 5ms, poll_b, Status::Unavailable("connection refused"), b);
  EXPECT_EQ(ServiceStatusLine(node, t0 + 5ms),
            "standalone: 2 topics, 3 subscribers, sources failing: db2");

  // db2 answers again: no longer named.
  core::Actions c;
  node.Tick(t0 + 20s, c);  // past any back-off
  for (const auto& p : c.polls)
    if (p.topic == "b") node.PollDone(t0 + 20s, p.poll_id, Rows(2), c);
  EXPECT_EQ(ServiceStatusLine(node, t0 + 20s),
            "standalone: 2 topics, 3 subscribers, no source failing");
}

}  // namespace
}  // namespace livepoll::daemon
