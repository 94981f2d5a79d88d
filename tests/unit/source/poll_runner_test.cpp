// PollRunner runs polls on its workers and signals their completions on its eventfd; a poll that
// fails, even one a plugin broke the ABI in, completes with an error and the runner goes on; a
// runner that could not create its eventfd says so at Start.
#include "source/poll_runner.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "env/env.h"
#include "source/plugin.h"

namespace livepoll::source {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::shared_ptr<Plugin> Fixture(const std::string& name) {
  auto plugin =
      Plugin::Load(Env::Real(), std::string(LIVEPOLL_FIXTURE_PLUGIN_DIR) + "/" + name + ".so");
  EXPECT_TRUE(plugin.ok()) << plugin.status().ToString();
  return plugin.ok() ? *plugin : nullptr;
}

// The next `n` completions, as the event loop takes them: when wake_fd is readable. Fewer if they
// do not come within 10 s.
std::vector<PollCompletion> Await(PollRunner& runner, size_t n) {
  std::vector<PollCompletion> got;
  while (got.size() < n) {
    pollfd p{runner.wake_fd(), POLLIN, 0};
    if (poll(&p, 1, 10'000) != 1) break;
    for (PollCompletion& c : runner.TakeCompletions()) got.push_back(std::move(c));
  }
  return got;
}

TEST(PollRunner, RunsPollsAndSignalsTheirCompletions) {
  PollRunner runner(Env::Real(), {{"mem", Fixture("memory"), "test", 1}},
                    {{"three", "mem", "rows 3", {}}});
  ASSERT_TRUE(runner.Start().ok());
  runner.Submit({7, "three", "mem", {}});
  std::vector<PollCompletion> done = Await(runner, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].poll_id, 7u);
  ASSERT_TRUE(done[0].result.ok()) << done[0].result.status().ToString();
  EXPECT_EQ(done[0].result->rows.size(), 3u);
}

// PollJob::after runs on the worker, with the result, before the completion is queued; not after
// a failure.
TEST(PollRunner, RunsTheJobsAfterStepOnTheWorkerBeforeCompleting) {
  PollRunner runner(Env::Real(), {{"mem", Fixture("memory"), "test", 1}},
                    {{"three", "mem", "rows 3", {}}, {"broken", "mem", "error", {}}});
  ASSERT_TRUE(runner.Start().ok());
  auto seen = std::make_shared<std::optional<std::pair<std::thread::id, size_t>>>();
  auto failed_seen = std::make_shared<bool>(false);
  runner.Submit({1, "three", "mem", {}, [seen](const ResultSet& rs) {
                   *seen = std::make_pair(std::this_thread::get_id(), rs.rows.size());
                 }});
  runner.Submit({2, "broken", "mem", {}, [failed_seen](const ResultSet&) { *failed_seen = true; }});
  std::vector<PollCompletion> done = Await(runner, 2);
  ASSERT_EQ(done.size(), 2u);
  ASSERT_TRUE(seen->has_value());  // set before the completion was taken
  EXPECT_NE((*seen)->first, std::this_thread::get_id());
  EXPECT_EQ((*seen)->second, 3u);
  EXPECT_FALSE(*failed_seen);
}

// A reload (SIGHUP): a query's new SQL is prepared again on the connection that ran the old one;
// a source whose DSN changed gets new workers (named in the answer); a removed source's polls
// fail with NotFound.
TEST(PollRunner, ReplaceTakesNewSqlAndReopensChangedSources) {
  std::shared_ptr<Plugin> memory = Fixture("memory");
  PollRunner runner(Env::Real(), {{"mem", memory, "test", 1}}, {{"q", "mem", "rows 3", {}}});
  ASSERT_TRUE(runner.Start().ok());
  runner.Submit({1, "q", "mem", {}});
  std::vector<PollCompletion> done = Await(runner, 1);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].result.ok()) << done[0].result.status().ToString();
  EXPECT_EQ(done[0].result->rows.size(), 3u);

  EXPECT_TRUE(runner.Replace({{"mem", memory, "test", 1}}, {{"q", "mem", "rows 5", {}}}).empty());
  runner.Submit({2, "q", "mem", {}});
  done = Await(runner, 1);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].result.ok()) << done[0].result.status().ToString();
  EXPECT_EQ(done[0].result->rows.size(), 5u);

  EXPECT_EQ(runner.Replace({{"mem", memory, "other", 2}}, {{"q", "mem", "rows 2", {}}}),
            std::vector<std::string>{"mem"});
  EXPECT_EQ(runner.Sources()[0].connections, 2);
  runner.Submit({3, "q", "mem", {}});
  done = Await(runner, 1);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].result.ok()) << done[0].result.status().ToString();
  EXPECT_EQ(done[0].result->rows.size(), 2u);

  runner.Replace({}, {});
  runner.Submit({4, "q", "mem", {}});
  done = Await(runner, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result.status().code(), Status::Code::kNotFound);
}

TEST(PollRunner, PollThePluginBrokeFailsAndTheNextOneRuns) {
  PollRunner runner(Env::Real(), {{"bad", Fixture("hostile"), "test", 1}},
                    {{"huge", "bad", "huge text", {}}, {"fine", "bad", "ok", {}}});
  ASSERT_TRUE(runner.Start().ok());
  runner.Submit({1, "huge", "bad", {}});
  runner.Submit({2, "fine", "bad", {}});  // one worker: runs after the first
  std::vector<PollCompletion> done = Await(runner, 2);
  ASSERT_EQ(done.size(), 2u);
  ASSERT_EQ(done[0].poll_id, 1u);
  ASSERT_FALSE(done[0].result.ok());
  EXPECT_EQ(done[0].result.status().code(), Status::Code::kMalformed);
  EXPECT_THAT(done[0].result.status().message(),
              AllOf(HasSubstr("hostile"),
                    HasSubstr("text value of " + std::to_string(SIZE_MAX) + " bytes")));
  ASSERT_EQ(done[1].poll_id, 2u);
  EXPECT_TRUE(done[1].result.ok()) << done[1].result.status().ToString();
}

// Lowers the soft limit on open files so that the next new descriptor is refused (EMFILE), and
// puts the limit back.
class NoMoreFiles {
 public:
  NoMoreFiles() {
    EXPECT_EQ(getrlimit(RLIMIT_NOFILE, &old_), 0) << std::strerror(errno);
    int lowest_free = open("/dev/null", O_RDONLY | O_CLOEXEC);
    EXPECT_GE(lowest_free, 0) << std::strerror(errno);
    close(lowest_free);
    rlimit low = old_;
    low.rlim_cur = static_cast<rlim_t>(lowest_free);
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0) << std::strerror(errno);
  }
  ~NoMoreFiles() { EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &old_), 0) << std::strerror(errno); }

 private:
  rlimit old_{};
};

TEST(PollRunner, StartFailsWhenTheWakeUpEventfdCouldNotBeCreated) {
  std::optional<PollRunner> runner;
  {
    NoMoreFiles limit;
    runner.emplace(Env::Real(), std::vector<SourceSpec>{}, std::vector<QuerySpec>{});
  }
  Status s = runner->Start();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("eventfd"), HasSubstr(std::strerror(EMFILE))));
}

}  // namespace
}  // namespace livepoll::source
