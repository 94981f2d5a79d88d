#include "gateway/send_queue.h"

#include <gtest/gtest.h>

namespace livepoll::gateway {
namespace {

std::shared_ptr<const OutMessage> Msg(size_t bytes, std::string topic = "", bool snapshot = false) {
  return std::make_shared<const OutMessage>(
      OutMessage{std::string(bytes, 'x'), std::move(topic), snapshot});
}

TEST(SendQueue, BelowTheBoundEverythingWaitsInOrder) {
  SendQueue q(100);
  EXPECT_FALSE(q.Push(Msg(40, "t")).reset);
  EXPECT_FALSE(q.Push(Msg(50)).reset);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.bytes(), 90u);
  EXPECT_EQ(q.front().topic, "t");
  q.MarkWriting();
  q.Pop();
  EXPECT_EQ(q.front().topic, "");
  q.Pop();
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.TakeResends().empty());
}

TEST(SendQueue, OneLargeMessageMayWaitAlone) {
  SendQueue q(100);
  EXPECT_FALSE(q.Push(Msg(1000, "t", true)).reset);
  EXPECT_EQ(q.size(), 1u);
}

TEST(SendQueue, PastTheBoundUpdatesGoRepliesStayAndTheTopicWaitsForASnapshot) {
  SendQueue q(100);
  q.Push(Msg(30, "a"));
  q.MarkWriting();  // being written: kept
  q.Push(Msg(30, "b"));
  q.Push(Msg(10));  // a reply
  SendQueue::PushResult r = q.Push(Msg(40, "a"));
  EXPECT_TRUE(r.reset);
  EXPECT_EQ(r.dropped_updates, 2u);  // b and the second a
  EXPECT_EQ(q.size(), 2u);           // the one being written and the reply
  EXPECT_EQ(q.bytes(), 40u);
  // Diffs of the marked topics are dropped; a snapshot clears the mark.
  EXPECT_TRUE(q.Push(Msg(5, "b")).dropped);
  EXPECT_FALSE(q.Push(Msg(5, "c")).dropped);
  EXPECT_TRUE(q.TakeResends().empty());  // not drained yet
  while (!q.empty()) {
    q.MarkWriting();
    q.Pop();
  }
  EXPECT_EQ(q.TakeResends(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(q.TakeResends().empty());      // once
  EXPECT_TRUE(q.Push(Msg(5, "a")).dropped);  // still waiting for a's snapshot
  EXPECT_FALSE(q.Push(Msg(5, "a", true)).dropped);
  EXPECT_FALSE(q.Push(Msg(5, "a")).dropped);
}

TEST(SendQueue, RepliesAlonePastTheBoundGoToo) {
  SendQueue q(100);
  for (int i = 0; i < 3; ++i) q.Push(Msg(30));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_TRUE(q.Push(Msg(30)).reset);  // 120 bytes of replies nobody reads
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

}  // namespace
}  // namespace livepoll::gateway
