#include "env/env.h"

#include <gtest/gtest.h>

#include "env/fake_env.h"

namespace livepoll {
namespace {

using namespace std::chrono_literals;

TEST(FakeEnv, TimeMovesOnlyWhenTold) {
  FakeEnv env;
  Time t0 = env.Now();
  EXPECT_EQ(env.Now(), t0);
  env.Advance(250ms);
  EXPECT_EQ(env.Now() - t0, 250ms);
  env.SleepFor(2s);  // returns at once and moves the clock
  EXPECT_EQ(env.Now() - t0, 2250ms);
  EXPECT_EQ(env.RandomSeed(), 1u);
}

TEST(FakeEnv, ThreadsAreRealAndSeeTheSameClock) {
  FakeEnv env(5);
  Time seen{};
  std::thread t = env.StartThread("fake-env-test", [&] { seen = env.Now(); });
  t.join();
  EXPECT_EQ(seen, env.Now());
}

TEST(RealEnv, ClockIsMonotonicAndSleepSleeps) {
  Env& env = Env::Real();
  Time a = env.Now();
  env.SleepFor(5ms);
  EXPECT_GE(env.Now() - a, 5ms);
}

TEST(RealEnv, OpenLibraryNamesThePathAndTheReason) {
  Result<std::unique_ptr<SharedLibrary>> lib = Env::Real().OpenLibrary("/nonexistent/x.so");
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(lib.status().message().find("/nonexistent/x.so"), std::string::npos);
  EXPECT_NE(lib.status().message().find("No such file"), std::string::npos);
}

TEST(RealEnv, OpenLibraryFindsSymbols) {
  Result<std::unique_ptr<SharedLibrary>> lib =
      Env::Real().OpenLibrary(std::string(LIVEPOLL_FIXTURE_PLUGIN_DIR) + "/memory.so");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_NE((*lib)->Symbol("livepoll_source_entry"), nullptr);
  EXPECT_EQ((*lib)->Symbol("no_such_symbol"), nullptr);
}

}  // namespace
}  // namespace livepoll
