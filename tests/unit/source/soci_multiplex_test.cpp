// The soci plugin's multiplexed entry (ABI 1.1 query_batch) against a real SQLite file: each
// parameter set gets exactly what the query gives it alone (typed values, row order, an aggregate's
// one row), a set with no rows is empty rather than failed, a failing statement fails the batch,
// and every set reads one snapshot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "env/env.h"
#include "source/plugin.h"

namespace livepoll::source {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SociMultiplex : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/soci_mux_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto plugin = Plugin::Load(Env::Real(), std::string(LIVEPOLL_BUILD_PLUGIN_DIR) + "/soci.so");
    ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
    plugin_ = *plugin;
    auto conn = plugin_->Open("sqlite3://db=" + dir_ + "/test.db");
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
    Exec("CREATE TABLE orders(region TEXT, total INTEGER, note BLOB)");
    Exec("INSERT INTO orders VALUES ('eu', 10, x'01'), ('eu', 5, NULL), ('us', 7, x'')");
  }
  void TearDown() override {
    conn_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Exec(const std::string& sql) {
    auto st = conn_->Prepare(sql, {});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    auto rs = (*st)->Query({});
    ASSERT_TRUE(rs.ok()) << sql << ": " << rs.status().ToString();
  }
  std::unique_ptr<Statement> Prepare(const std::string& sql, std::vector<std::string> names) {
    auto st = conn_->Prepare(sql, names);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? std::move(*st) : nullptr;
  }

  std::string dir_;
  std::shared_ptr<Plugin> plugin_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(SociMultiplex, EachSetGetsWhatItsOwnQueryWouldGive) {
  auto st =
      Prepare("SELECT total, note FROM orders WHERE region = :region ORDER BY total", {"region"});
  ASSERT_NE(st, nullptr);
  ASSERT_TRUE(st->multiplexed());
  auto batch = st->QueryBatch(
      {{Value(std::string("us"))}, {Value(std::string("nowhere"))}, {Value(std::string("eu"))}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->size(), 3u);
  for (const auto& set : *batch) {
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    EXPECT_THAT(set->columns, ElementsAre("total", "note"));
  }
  EXPECT_EQ((*batch)[0]->rows, (std::vector<Row>{{int64_t{7}, Blob{}}}));
  EXPECT_TRUE((*batch)[1]->rows.empty());  // no rows: an empty result, not a failure
  EXPECT_EQ((*batch)[2]->rows,
            (std::vector<Row>{{int64_t{5}, Null{}}, {int64_t{10}, Blob{std::string("\x01")}}}));
  // The same as the single query, set by set.
  for (const char* region : {"us", "nowhere", "eu"}) {
    auto one = st->Query({Value(std::string(region))});
    ASSERT_TRUE(one.ok());
    const size_t i = std::string(region) == "us" ? 0 : std::string(region) == "eu" ? 2 : 1;
    EXPECT_EQ(one->rows, (*batch)[i]->rows) << region;
  }
}

TEST_F(SociMultiplex, AnAggregateKeepsItsOneRowPerSetAndParametersKeepTheirOrder) {
  auto st = Prepare(
      "SELECT COUNT(*) AS n, :label AS label FROM orders WHERE region = :region AND total >= :min",
      {"region", "min", "label"});
  ASSERT_NE(st, nullptr);
  auto batch =
      st->QueryBatch({{Value(std::string("eu")), Value(int64_t{6}), Value(std::string("a"))},
                      {Value(std::string("mars")), Value(int64_t{0}), Null{}}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ((*batch)[0]->rows, (std::vector<Row>{{int64_t{1}, Value(std::string("a"))}}));
  EXPECT_EQ((*batch)[1]->rows, (std::vector<Row>{{int64_t{0}, Null{}}}));
}

TEST_F(SociMultiplex, AFailingStatementFailsTheWholeBatch) {
  auto st = Prepare("SELECT * FROM missing WHERE region = :region", {"region"});
  ASSERT_NE(st, nullptr);
  auto batch = st->QueryBatch({{Value(std::string("eu"))}, {Value(std::string("us"))}});
  ASSERT_FALSE(batch.ok());
  EXPECT_THAT(batch.status().message(), HasSubstr("no such table: missing"));
  // The connection still works for the next batch.
  auto good = Prepare("SELECT total FROM orders WHERE region = :region", {"region"});
  auto again = good->QueryBatch({{Value(std::string("us"))}, {Value(std::string("eu"))}});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)[0]->rows.size(), 1u);
}

TEST_F(SociMultiplex, ASetPastTheResultLimitsFailsAlone) {
  auto st = Prepare("SELECT total FROM orders WHERE region = :region", {"region"});
  ASSERT_NE(st, nullptr);
  auto batch = st->QueryBatch({{Value(std::string("eu"))}, {Value(std::string("us"))}},
                              ResultLimits{/*max_rows=*/1, SIZE_MAX});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_FALSE((*batch)[0].ok());
  EXPECT_TRUE(IsResultTooLarge((*batch)[0].status()));
  ASSERT_TRUE((*batch)[1].ok());
  EXPECT_EQ((*batch)[1]->rows, (std::vector<Row>{{int64_t{7}}}));
}

TEST_F(SociMultiplex, TheBatchLeavesNoTransactionOpen) {
  auto st = Prepare("SELECT total FROM orders WHERE region = :region", {"region"});
  ASSERT_TRUE(st->QueryBatch({{Value(std::string("eu"))}, {Value(std::string("us"))}}).ok());
  // A writer on another connection is not blocked by a read lock left behind.
  auto other = plugin_->Open("sqlite3://db=" + dir_ + "/test.db timeout=0");
  ASSERT_TRUE(other.ok());
  auto ins = (*other)->Prepare("INSERT INTO orders VALUES ('us', 1, NULL)", {});
  ASSERT_TRUE(ins.ok());
  auto done = (*ins)->Query({});
  EXPECT_TRUE(done.ok()) << done.status().ToString();
}

}  // namespace
}  // namespace livepoll::source
