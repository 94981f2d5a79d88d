// Rendezvous hashing: stable weights, a total order, balance, and minimal movement when a node
// goes away.
#include "core/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace livepoll::core {
namespace {

TEST(PlacementTest, WeightsAreStableAcrossRunsAndPlatforms) {
  // Pinned: a change here moves every topic of every running cluster during a rolling upgrade.
  EXPECT_EQ(RendezvousWeight("revenue_by_region?region=eu", "n1"), 0xd79fc739181b6de1ULL);
  EXPECT_EQ(RendezvousWeight("", ""), RendezvousWeight("", ""));
  EXPECT_NE(RendezvousWeight("t", "n1"), RendezvousWeight("t", "n2"));
}

TEST(PlacementTest, TopicAndNameAreSeparated) {
  EXPECT_NE(RendezvousWeight("ab", "c"), RendezvousWeight("a", "bc"));
  EXPECT_NE(RendezvousWeight("abc", ""), RendezvousWeight("", "abc"));
}

TEST(PlacementTest, OrderIsByWeightDescendingAndIndependentOfInputOrder) {
  std::vector<std::string> nodes = {"n0", "n1", "n2", "n3", "n4"};
  std::vector<std::string> order = RendezvousOrder("t", nodes);
  ASSERT_EQ(order.size(), nodes.size());
  for (size_t i = 1; i < order.size(); ++i)
    EXPECT_GE(RendezvousWeight("t", order[i - 1]), RendezvousWeight("t", order[i]));
  std::reverse(nodes.begin(), nodes.end());
  EXPECT_EQ(RendezvousOrder("t", nodes), order);
}

TEST(PlacementTest, EqualWeightsAreOrderedByName) {
  // The same name twice has the same weight: the tie-break alone orders them.
  EXPECT_EQ(RendezvousOrder("t", {"b", "a", "b"}).size(), 3u);
  std::vector<std::string> dup = RendezvousOrder("t", {"x", "x"});
  EXPECT_EQ(dup, (std::vector<std::string>{"x", "x"}));
}

TEST(PlacementTest, TopicsSpreadEvenlyOverNodes) {
  std::map<std::string, int> first;
  const int topics = 3000;
  for (int i = 0; i < topics; ++i)
    first[RendezvousOrder("topic-" + std::to_string(i), {"n0", "n1", "n2"}).front()]++;
  ASSERT_EQ(first.size(), 3u);
  for (const auto& [node, n] : first) {
    EXPECT_GT(n, topics / 3 - 150) << node;
    EXPECT_LT(n, topics / 3 + 150) << node;
  }
}

TEST(PlacementTest, RemovingANodeMovesOnlyItsTopicsAndKeepsTheRestOfTheOrder) {
  const std::vector<std::string> all = {"n0", "n1", "n2", "n3"};
  for (int i = 0; i < 500; ++i) {
    const std::string topic = "q?id=" + std::to_string(i);
    std::vector<std::string> order = RendezvousOrder(topic, all);
    std::vector<std::string> without = RendezvousOrder(topic, {"n0", "n2", "n3"});
    std::erase(order, "n1");
    EXPECT_EQ(without, order) << topic;  // the successor of n1's topics is the next in order
  }
}

}  // namespace
}  // namespace livepoll::core
