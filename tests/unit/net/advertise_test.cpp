// The advertised address (net/advertise.h) on a FakeEnv whose routes the tests set: derived from
// the route to the seeds for a wildcard bind, and never a loopback address to a seed off loopback.
#include "net/advertise.h"

#include <gtest/gtest.h>

#include "env/fake_env.h"

namespace livepoll::net {
namespace {

class AdvertiseTest : public ::testing::Test {
 protected:
  AdvertiseTest() {
    env_.SetRoute("10.0.0.2", Route{"10.0.0.2", "10.0.0.7"});
    env_.SetRoute("seed.example", Route{"10.0.0.3", "10.0.0.7"});
    env_.SetRoute("127.0.0.1", Route{"127.0.0.1", "127.0.0.1"});
    env_.SetRoute("localhost", Route{"127.0.0.1", "127.0.0.1"});
    env_.SetRoute("fd00::9", Route{"fd00::9", "fd00::7"});
  }
  Result<std::string> Host(const std::vector<std::string>& binds, const std::string& advertise,
                           const std::vector<std::string>& seeds) {
    return AdvertiseHost(env_, binds, advertise, seeds);
  }
  FakeEnv env_;
};

TEST_F(AdvertiseTest, AWildcardBindAdvertisesTheLocalAddressOfTheRouteToTheSeeds) {
  Result<std::string> h =
      Host({"tcp://*:7472", "tcp://0.0.0.0:7473"}, "", {"tcp://seed.example:7473"});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(*h, "10.0.0.7");
  EXPECT_EQ(AdvertisedEndpoint("tcp://0.0.0.0:7473", *h), "tcp://10.0.0.7:7473");
  EXPECT_EQ(AdvertisedEndpoint("tcp://*:7472", *h), "tcp://10.0.0.7:7472");
}

TEST_F(AdvertiseTest, ASeedOffLoopbackIsPreferredToOneOnIt) {
  Result<std::string> h =
      Host({"tcp://*:7473"}, "", {"tcp://127.0.0.1:7483", "tcp://10.0.0.2:7473"});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(*h, "10.0.0.7");
}

TEST_F(AdvertiseTest, AnIPv6RouteIsAdvertisedInBrackets) {
  Result<std::string> h = Host({"tcp://[::]:7473"}, "", {"tcp://[fd00::9]:7473"});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(*h, "fd00::7");
  EXPECT_EQ(AdvertisedEndpoint("tcp://[::]:7473", *h), "tcp://[fd00::7]:7473");
}

TEST_F(AdvertiseTest, AdvertiseHostWinsAndASpecificBindIsAdvertisedAsBound) {
  EXPECT_EQ(*Host({"tcp://*:7473"}, "node-a.example", {"tcp://10.0.0.2:7473"}), "node-a.example");
  EXPECT_EQ(AdvertisedEndpoint("tcp://10.0.0.7:7473", "elsewhere"), "tcp://10.0.0.7:7473");
}

TEST_F(AdvertiseTest, LoopbackEverywhereIsFine) {
  EXPECT_TRUE(
      Host({"tcp://127.0.0.1:0"}, "", {"tcp://127.0.0.1:7473", "tcp://localhost:7483"}).ok());
  EXPECT_TRUE(Host({"tcp://*:0"}, "", {"tcp://127.0.0.1:7473"}).ok());
  // No seeds, nobody to derive it from: 127.0.0.1, as before.
  EXPECT_EQ(*Host({"tcp://*:7473"}, "", {}), "127.0.0.1");
}

// Issue 13: peers on other hosts dialled themselves.
TEST_F(AdvertiseTest, ALoopbackBindIsNotAdvertisedToASeedOffLoopback) {
  Result<std::string> h = Host({"tcp://127.0.0.1:7472", "tcp://127.0.0.1:7473"}, "",
                               {"tcp://127.0.0.1:7483", "tcp://seed.example:7473"});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Status::Code::kInvalidArgument);
  const std::string m = h.status().message();
  EXPECT_NE(m.find("will not advertise the loopback address 127.0.0.1"), std::string::npos) << m;
  EXPECT_NE(m.find("tcp://seed.example:7473 (10.0.0.3)"), std::string::npos) << m;
  EXPECT_NE(m.find("bind to this host's address or to a wildcard"), std::string::npos) << m;
  EXPECT_NE(m.find("leaves from 10.0.0.7"), std::string::npos) << m;
}

TEST_F(AdvertiseTest, ALoopbackAdvertiseHostIsNotAdvertisedToASeedOffLoopback) {
  Result<std::string> h = Host({"tcp://*:7473"}, "localhost", {"tcp://10.0.0.2:7473"});
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("set advertise_host (--advertise-host)"), std::string::npos)
      << h.status().message();
}

TEST_F(AdvertiseTest, AWildcardBindWithoutAnyRoutedSeedSaysWhatToSet) {
  env_.SetRoute("down.example", Status::Unavailable("no route to 'down.example': unreachable"));
  Result<std::string> h =
      Host({"tcp://*:7473"}, "", {"tcp://nowhere.example:7473", "tcp://down.example:1"});
  ASSERT_FALSE(h.ok());
  const std::string m = h.status().message();
  EXPECT_NE(m.find("cannot resolve 'nowhere.example'"), std::string::npos) << m;
  EXPECT_NE(m.find("unreachable"), std::string::npos) << m;
  EXPECT_NE(m.find("set advertise_host (--advertise-host)"), std::string::npos) << m;
}

TEST_F(AdvertiseTest, SeedsThatDoNotResolveAreNotHeldAgainstALoopbackBind) {
  EXPECT_TRUE(Host({"tcp://127.0.0.1:0"}, "", {"tcp://nowhere.example:7473"}).ok());
}

// The real Env: the route to loopback leaves from loopback.
TEST(RealRoute, TheRouteToLoopbackLeavesFromLoopback) {
  Result<Route> r = Env::Real().RouteTo("127.0.0.1", 7473);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->remote, "127.0.0.1");
  EXPECT_EQ(r->local, "127.0.0.1");
  EXPECT_EQ(Env::Real().RouteTo("no-such-host.invalid", 1).status().code(),
            Status::Code::kNotFound);
}

}  // namespace
}  // namespace livepoll::net
