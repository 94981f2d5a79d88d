// /metrics and /healthz (net/metrics.h): the text format's rules (HELP and TYPE, escaping,
// cumulative buckets, +Inf, _sum and _count), the views of a node, and the health's reasons. The
// real Prometheus parser reads a server's output in server_test.cpp.
#include "net/metrics.h"

#include <gtest/gtest.h>

namespace livepoll::net {
namespace {

using namespace std::chrono_literals;

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Histogram h({0.001, 0.01, 0.1});
  h.Observe(0.0005);
  h.Observe(0.001);  // le: on the bound is in the bucket
  h.Observe(5ms);
  h.Observe(2.0);  // above every bound: +Inf only
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{2, 1, 0, 1}));
  NodeHistograms hs;
  hs.poll_duration = h;
  MetricsView v;
  v.node = "n1";
  v.histograms = &hs;
  const std::string text = RenderMetrics(v);
  const std::string b = "livepoll_poll_duration_seconds_bucket{node=\"n1\",le=";
  EXPECT_TRUE(Has(text, "# TYPE livepoll_poll_duration_seconds histogram")) << text;
  EXPECT_TRUE(Has(text, b + "\"0.001\"} 2")) << text;
  EXPECT_TRUE(Has(text, b + "\"0.01\"} 3")) << text;
  EXPECT_TRUE(Has(text, b + "\"0.1\"} 3")) << text;
  EXPECT_TRUE(Has(text, b + "\"+Inf\"} 4")) << text;
  EXPECT_TRUE(Has(text, "livepoll_poll_duration_seconds_sum{node=\"n1\"} 2.0065")) << text;
  EXPECT_TRUE(Has(text, "livepoll_poll_duration_seconds_count{node=\"n1\"} 4")) << text;
  // The other histogram, empty: every bucket 0, and its HELP says what it measures.
  EXPECT_TRUE(Has(text, "livepoll_poll_to_delivery_seconds_bucket{node=\"n1\",le=\"+Inf\"} 0"));
  EXPECT_NE(text.find("# HELP livepoll_poll_to_delivery_seconds Updates handed"),
            std::string::npos);
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  MetricsView v;
  v.node = "we\"ird\\node\n";
  const std::string text = RenderMetrics(v);
  EXPECT_TRUE(Has(text, "livepoll_joins_total{node=\"we\\\"ird\\\\node\\n\"} 0")) << text;
}

TEST(Metrics, EveryCounterWithHelpAndTypeAndTheGauges) {
  MetricsView v;
  v.node = "n1";
  v.counters.joins = 7;
  v.counters.registrations = 3;
  v.clients_by_protocol = {{"ws", 2}, {"zmq", 5}};
  v.subscriptions = 9;
  v.topics = 4;
  v.pollers = 1;
  std::string text = RenderMetrics(v);
  EXPECT_TRUE(Has(text,
                  "# HELP livepoll_joins_total The node's joins counter, as `livepoll "
                  "stats` shows it."));
  EXPECT_TRUE(Has(text, "# TYPE livepoll_joins_total counter"));
  EXPECT_TRUE(Has(text, "livepoll_joins_total{node=\"n1\"} 7"));
  for (const core::CounterName& c : core::kCounters)
    EXPECT_EQ(text.find(std::string("livepoll_") + c.name + "_total{") != std::string::npos,
              !c.cluster_only)
        << c.name;  // standalone: as `livepoll stats`, no cluster counter
  EXPECT_TRUE(Has(text, "# TYPE livepoll_clients gauge"));
  EXPECT_TRUE(Has(text, "livepoll_clients{node=\"n1\",protocol=\"ws\"} 2"));
  EXPECT_TRUE(Has(text, "livepoll_clients{node=\"n1\",protocol=\"zmq\"} 5"));
  EXPECT_TRUE(Has(text, "livepoll_subscriptions{node=\"n1\"} 9"));
  EXPECT_TRUE(Has(text, "livepoll_topics{node=\"n1\"} 4"));
  EXPECT_TRUE(Has(text, "livepoll_pollers{node=\"n1\"} 1"));
  EXPECT_EQ(text.find("livepoll_members"), std::string::npos);
  EXPECT_EQ(text.find("_bucket"), std::string::npos);  // no histograms given

  v.cluster = true;
  v.members_by_state = {{"alive", 2}, {"dead", 1}, {"left", 0}, {"suspect", 0}};
  text = RenderMetrics(v);
  EXPECT_TRUE(Has(text, "livepoll_registrations_total{node=\"n1\"} 3"));
  EXPECT_TRUE(Has(text, "# TYPE livepoll_members gauge"));
  EXPECT_TRUE(Has(text, "livepoll_members{node=\"n1\",state=\"alive\"} 2"));
  EXPECT_TRUE(Has(text, "livepoll_members{node=\"n1\",state=\"suspect\"} 0"));
  // Every family once: one TYPE line per name.
  size_t types = 0;
  for (size_t at = 0; (at = text.find("# TYPE ", at)) != std::string::npos; ++at) types++;
  EXPECT_EQ(types, core::kCounters.size() + 5);
}

core::Catalog Catalog() {
  core::Catalog c;
  c.queries["q"] = {"q", "db", {}, {}, 1s, 0.0};
  c.source_caps["db"] = 4;
  return c;
}

TEST(Metrics, TheViewOfANodeCountsItsClientsTopicsPollersAndMembers) {
  core::NodeOptions o;
  o.subscriptions.node = "a";
  o.cluster.emplace().self = {"a", 1};
  core::Node node(Catalog(), o);
  core::Actions a;
  node.Start(Time{1s}, "a:gossip", "a:rpc", {}, a);
  ASSERT_TRUE(node.Join(Time{1s}, 1, "q", {}, a).ok());
  ASSERT_TRUE(node.Join(Time{1s}, 2, "q", {}, a).ok());
  node.Tick(Time{2s}, a);
  MetricsView v = MetricsOf(node, Time{2s});
  EXPECT_EQ(v.node, "a");
  EXPECT_TRUE(v.cluster);
  EXPECT_EQ(v.subscriptions, 2u);
  EXPECT_EQ(v.topics, 1u);
  EXPECT_EQ(v.pollers, 1u);  // a cluster of one owns its topic
  EXPECT_EQ(v.counters.joins, 2u);
  EXPECT_EQ(v.members_by_state, (std::map<std::string, uint64_t>{
                                    {"alive", 1}, {"dead", 0}, {"left", 0}, {"suspect", 0}}));
}

TEST(Health, ReasonsInOrderOrOk) {
  Health ok = CheckHealth({});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.reason, "ok");
  HealthView v;
  v.failing_sources = {"main"};
  EXPECT_EQ(CheckHealth(v).status, 503);
  EXPECT_EQ(CheckHealth(v).reason, "source failing: main");
  v.joining = true;
  v.joining_why = "2 seeds have not answered and no other member is up";
  v.not_owning = "partition = majority and this node sees 1 of 3 members up";
  v.failing_sources = {"a", "b"};
  EXPECT_EQ(CheckHealth(v).reason,
            "joining: 2 seeds have not answered and no other member is up; stale: partition = "
            "majority and this node sees 1 of 3 members up; sources failing: a, b");
}

TEST(Health, ANodeAloneWithUnansweredSeedsUnderMajorityIsJoiningAndStale) {
  core::NodeOptions o;
  o.subscriptions.node = "a";
  core::NodeClusterOptions& c = o.cluster.emplace();
  c.self = {"a", 1};
  c.state.registry.partition = core::PartitionMode::kMajority;
  core::Node node(Catalog(), o);
  EXPECT_EQ(CheckHealth(HealthOf(node, Time{1s})).reason, "joining: not started");
  core::Actions a;
  node.Start(Time{1s}, "a:gossip", "a:rpc", {"b:rpc", "c:rpc"}, a);
  Health h = CheckHealth(HealthOf(node, Time{1s}));
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.reason,
            "joining: 2 seeds have not answered and no other member is up; stale: partition = "
            "majority and this node sees 1 of 3 members up (2 seeds have not answered)");
  // A standalone node serves from the start.
  core::NodeOptions s;
  s.subscriptions.node = "solo";
  core::Node solo(Catalog(), s);
  EXPECT_EQ(CheckHealth(HealthOf(solo, Time{1s})).status, 200);
  // A cluster node without seeds is a cluster of one at once, and serves.
  core::NodeOptions one;
  one.subscriptions.node = "z";
  one.cluster.emplace().self = {"z", 1};
  core::Node alone(Catalog(), one);
  alone.Start(Time{1s}, "z:gossip", "z:rpc", {}, a);
  EXPECT_EQ(CheckHealth(HealthOf(alone, Time{1s})).reason, "ok");
}

}  // namespace
}  // namespace livepoll::net
