#include "gateway/channel_topic.h"

#include <gtest/gtest.h>

namespace livepoll::gateway {
namespace {

TEST(ChannelTopic, QueryAlone) {
  Result<ChannelTopic> t = ParseChannelTopic("live:revenue_by_region");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (ChannelTopic{"revenue_by_region", {}, false}));
}

TEST(ChannelTopic, ParametersPercentDecoded) {
  Result<ChannelTopic> t = ParseChannelTopic("live:recent_orders?region=eu%20west&n%3D=a+b&&x=");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->query, "recent_orders");
  EXPECT_TRUE(t->has_params);
  EXPECT_EQ(t->params, (proto::Params{{"region", "eu west"}, {"n=", "a b"}, {"x", ""}}));
}

TEST(ChannelTopic, Refusals) {
  for (const char* topic : {"orders", "room:lobby", "live:", "live:?a=1", "live:q?a", "live:q?=1",
                            "live:q?a=%", "live:q?a=%4", "live:q?a=%zz", "live:%g1"}) {
    Result<ChannelTopic> t = ParseChannelTopic(topic);
    EXPECT_FALSE(t.ok()) << topic;
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument) << topic;
  }
  EXPECT_NE(ParseChannelTopic("room:lobby").status().message().find("live:QUERY"),
            std::string::npos);
}

}  // namespace
}  // namespace livepoll::gateway
