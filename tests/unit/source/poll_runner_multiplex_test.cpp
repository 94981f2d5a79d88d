// PollRunner with multiplexed batches (SubmitBatch): one statement for the batch when the plugin
// has ABI 1.1's query_batch, each poll completed with its own set's result and the statement
// counted once; a failing batch completes every poll with its error; an ABI 1.0 plugin runs one
// statement per poll.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <map>

#include "env/env.h"
#include "source/plugin.h"
#include "source/poll_runner.h"

namespace livepoll::source {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<Plugin> Fixture(const std::string& name) {
  auto plugin =
      Plugin::Load(Env::Real(), std::string(LIVEPOLL_FIXTURE_PLUGIN_DIR) + "/" + name + ".so");
  EXPECT_TRUE(plugin.ok()) << plugin.status().ToString();
  return plugin.ok() ? *plugin : nullptr;
}

// The next `n` completions by poll id; fewer if they do not come within 10 s.
std::map<uint64_t, PollCompletion> Await(PollRunner& runner, size_t n) {
  std::map<uint64_t, PollCompletion> got;
  while (got.size() < n) {
    pollfd p{runner.wake_fd(), POLLIN, 0};
    if (poll(&p, 1, 10'000) != 1) break;
    for (PollCompletion& c : runner.TakeCompletions()) got.emplace(c.poll_id, std::move(c));
  }
  return got;
}

std::vector<PollJob> Batch(const std::string& query, const std::vector<std::string>& regions) {
  std::vector<PollJob> jobs;
  uint64_t id = 1;
  for (const auto& r : regions) jobs.push_back({id++, query, "mem", {Value(r)}});
  return jobs;
}

uint32_t Statements(const std::map<uint64_t, PollCompletion>& done) {
  uint32_t n = 0;
  for (const auto& [id, c] : done) n += c.statements;
  return n;
}

TEST(PollRunnerMultiplex, ABatchIsOneStatementAndEachPollGetsItsOwnSet) {
  ASSERT_TRUE(Fixture("memory")->abi_minor() >= 1);
  PollRunner runner(Env::Real(), {{"mem", Fixture("memory"), "test", 1}},
                    {{"echo", "mem", "echo some", {"region"}}});
  ASSERT_TRUE(runner.Start().ok());
  runner.SubmitBatch(Batch("echo", {"eu", "", "us"}));
  auto done = Await(runner, 3);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(Statements(done), 1u);
  ASSERT_TRUE(done[1].result.ok()) << done[1].result.status().ToString();
  EXPECT_EQ(done[1].result->rows, (std::vector<Row>{{Value(std::string("eu"))}}));
  ASSERT_TRUE(done[2].result.ok());
  EXPECT_EQ(done[2].result->columns, (std::vector<std::string>{"region"}));
  EXPECT_TRUE(done[2].result->rows.empty());  // the empty set: no rows, no error
  ASSERT_TRUE(done[3].result.ok());
  EXPECT_EQ(done[3].result->rows, (std::vector<Row>{{Value(std::string("us"))}}));
}

TEST(PollRunnerMultiplex, AFailingBatchFailsEveryPollAndTheNextBatchRuns) {
  PollRunner runner(Env::Real(), {{"mem", Fixture("memory"), "test", 1}},
                    {{"bad", "mem", "error", {}}, {"echo", "mem", "echo", {"region"}}});
  ASSERT_TRUE(runner.Start().ok());
  std::vector<PollJob> bad;
  for (uint64_t id = 1; id <= 3; ++id) bad.push_back({id, "bad", "mem", {}});
  runner.SubmitBatch(std::move(bad));
  auto done = Await(runner, 3);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(Statements(done), 1u);
  for (const auto& [id, c] : done) {
    ASSERT_FALSE(c.result.ok()) << id;
    EXPECT_THAT(c.result.status().message(), HasSubstr("query failed as asked"));
  }
  runner.SubmitBatch(Batch("echo", {"eu", "us"}));
  auto next = Await(runner, 2);
  ASSERT_EQ(next.size(), 2u);
  for (const auto& [id, c] : next) EXPECT_TRUE(c.result.ok()) << c.result.status().ToString();
}

TEST(PollRunnerMultiplex, AnAbi10PluginRunsOneStatementPerPoll) {
  std::shared_ptr<Plugin> old = Fixture("memory_v1_0");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->abi_minor(), 0u);
  PollRunner runner(Env::Real(), {{"mem", old, "test", 1}},
                    {{"echo", "mem", "echo some", {"region"}}});
  ASSERT_TRUE(runner.Start().ok());
  runner.SubmitBatch(Batch("echo", {"eu", "", "us"}));
  auto done = Await(runner, 3);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(Statements(done), 3u);  // one each
  for (const auto& [id, c] : done) EXPECT_EQ(c.statements, 1u);
  EXPECT_EQ(done[1].result->rows, (std::vector<Row>{{Value(std::string("eu"))}}));
  EXPECT_TRUE(done[2].result->rows.empty());
  EXPECT_EQ(done[3].result->rows, (std::vector<Row>{{Value(std::string("us"))}}));
}

TEST(PollRunnerMultiplex, AStatementThatCannotBePreparedFailsTheBatchWithoutRunning) {
  PollRunner runner(Env::Real(), {{"mem", Fixture("memory"), "test", 1}},
                    {{"nonsense", "mem", "no such sql", {}}});
  ASSERT_TRUE(runner.Start().ok());
  std::vector<PollJob> jobs;
  for (uint64_t id = 1; id <= 2; ++id) jobs.push_back({id, "nonsense", "mem", {}});
  runner.SubmitBatch(std::move(jobs));
  auto done = Await(runner, 2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(Statements(done), 0u);
  for (const auto& [id, c] : done) EXPECT_FALSE(c.result.ok());
}

TEST(PollRunnerMultiplex, ABrokenBatchSinkContractFailsEveryPoll) {
  PollRunner runner(Env::Real(), {{"mem", Fixture("memory"), "test", 1}},
                    {{"bad_row", "mem", "bad row", {}}});
  ASSERT_TRUE(runner.Start().ok());
  std::vector<PollJob> jobs;
  for (uint64_t id = 1; id <= 2; ++id) jobs.push_back({id, "bad_row", "mem", {}});
  runner.SubmitBatch(std::move(jobs));
  auto done = Await(runner, 2);
  ASSERT_EQ(done.size(), 2u);
  for (const auto& [id, c] : done) {
    ASSERT_FALSE(c.result.ok());
    EXPECT_EQ(c.result.status().code(), Status::Code::kMalformed) << c.result.status().ToString();
  }
}

}  // namespace
}  // namespace livepoll::source
