// The postgres plugin's multiplexed entry (ABI 1.1 query_batch) against the real PostgreSQL 15 the
// test harness starts (LIVEPOLL_TEST_PG_DSN; without it these tests fail, never skip): a batch is
// ONE statement (counted by pg_stat_statements), each set gets what the query gives it alone
// (parameter types as the server types them, row order, an aggregate's one row, typed values), an
// empty set is empty, a failing statement fails the batch, and the session survives it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "env/env.h"
#include "source/plugin.h"

namespace livepoll::source {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TestDsn() {
  const char* dsn = std::getenv("LIVEPOLL_TEST_PG_DSN");
  return dsn == nullptr ? "" : dsn;
}

class PostgresMultiplex : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestDsn().empty()) << "LIVEPOLL_TEST_PG_DSN is not set: these tests need the "
                                       "PostgreSQL server the test harness starts";
    auto plugin =
        Plugin::Load(Env::Real(), std::string(LIVEPOLL_BUILD_PLUGIN_DIR) + "/postgres.so");
    ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
    plugin_ = *plugin;
    auto conn = plugin_->Open(TestDsn());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
    static std::atomic<int> counter{0};
    schema_ = "lp_mux_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    Exec("CREATE SCHEMA " + schema_);
    Exec("CREATE TABLE " + T("orders") + "(id int, region text, total numeric, paid bool)");
    Exec("INSERT INTO " + T("orders") +
         " VALUES (1, 'eu', 10.5, true), (2, 'eu', 5, false), (3, 'us', 7, true)");
  }
  void TearDown() override {
    if (conn_ == nullptr) return;
    auto conn = plugin_->Open(TestDsn());
    if (conn.ok()) {
      auto st = (*conn)->Prepare("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE", {});
      if (st.ok()) (void)(*st)->Query({});
    }
  }
  Result<ResultSet> Run(const std::string& sql) {
    auto st = conn_->Prepare(sql, {});
    if (!st.ok()) return st.status();
    return (*st)->Query({});
  }
  void Exec(const std::string& sql) {
    auto rs = Run(sql);
    ASSERT_TRUE(rs.ok()) << sql << ": " << rs.status().ToString();
  }
  std::unique_ptr<Statement> Prepare(const std::string& sql, std::vector<std::string> names) {
    auto st = conn_->Prepare(sql, names);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? std::move(*st) : nullptr;
  }
  std::string T(const std::string& table) const { return schema_ + "." + table; }
  // How often pg_stat_statements saw statements whose text contains `marker`.
  int64_t Calls(const std::string& marker) {
    auto rs =
        Run("SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements WHERE query LIKE "
            "'%" +
            marker + "%' AND query NOT LIKE '%pg_stat_statements%'");
    EXPECT_TRUE(rs.ok()) << rs.status().ToString();
    return rs.ok() && rs->rows.size() == 1 ? std::get<int64_t>(rs->rows[0][0]) : -1;
  }

  std::shared_ptr<Plugin> plugin_;
  std::unique_ptr<Connection> conn_;
  std::string schema_;
};

TEST_F(PostgresMultiplex, EachSetGetsWhatItsOwnQueryWouldGiveFromOneStatement) {
  const std::string marker = "mux_marker_" + schema_;
  auto st = Prepare("SELECT id, total, paid /* " + marker + " */ FROM " + T("orders") +
                        " WHERE region = :region AND id > :after ORDER BY id DESC",
                    {"region", "after"});
  ASSERT_NE(st, nullptr);
  ASSERT_TRUE(st->multiplexed());
  const int64_t before = Calls(marker);
  auto batch = st->QueryBatch({{Value(std::string("eu")), Value(int64_t{0})},
                               {Value(std::string("mars")), Value(int64_t{0})},
                               {Value(std::string("us")), Value(int64_t{0})},
                               {Value(std::string("eu")), Value(int64_t{1})}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->size(), 4u);
  for (const auto& set : *batch) {
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    EXPECT_THAT(set->columns, ElementsAre("id", "total", "paid"));  // no set column
  }
  EXPECT_EQ((*batch)[0]->rows,
            (std::vector<Row>{{int64_t{2}, 5.0, false}, {int64_t{1}, 10.5, true}}));  // DESC
  EXPECT_TRUE((*batch)[1]->rows.empty());  // no rows: empty, not failed
  EXPECT_EQ((*batch)[2]->rows, (std::vector<Row>{{int64_t{3}, 7.0, true}}));
  EXPECT_EQ((*batch)[3]->rows, (std::vector<Row>{{int64_t{2}, 5.0, false}}));
  // One statement on the server for the four sets (the single form was prepared, not run).
  EXPECT_EQ(Calls(marker) - before, 1);
  // And the same as the single query, set by set.
  auto alone = st->Query({Value(std::string("eu")), Value(int64_t{0})});
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(alone->rows, (*batch)[0]->rows);
}

TEST_F(PostgresMultiplex, AnAggregateKeepsItsRowAndNullsAndQuotesSurviveTheArrays) {
  auto st = Prepare(
      "SELECT count(*) AS n, :label::text AS label FROM " + T("orders") + " WHERE region = :region",
      {"region", "label"});
  ASSERT_NE(st, nullptr);
  auto batch = st->QueryBatch({{Value(std::string("eu")), Value(std::string("a \"q\" \\ ,{}"))},
                               {Value(std::string("mars")), Null{}}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ((*batch)[0]->rows,
            (std::vector<Row>{{int64_t{2}, Value(std::string("a \"q\" \\ ,{}"))}}));
  EXPECT_EQ((*batch)[1]->rows, (std::vector<Row>{{int64_t{0}, Null{}}}));
}

TEST_F(PostgresMultiplex, AFailingStatementFailsTheBatchAndTheSessionGoesOn) {
  Exec("CREATE TABLE " + T("div") + "(region text, d int)");
  Exec("INSERT INTO " + T("div") + " VALUES ('eu', 1), ('us', 0)");
  auto st = Prepare("SELECT 10 / d AS q FROM " + T("div") + " WHERE region = :region", {"region"});
  ASSERT_NE(st, nullptr);
  auto batch = st->QueryBatch({{Value(std::string("eu"))}, {Value(std::string("us"))}});
  ASSERT_FALSE(batch.ok());
  EXPECT_THAT(batch.status().message(), HasSubstr("division by zero"));
  auto good = st->QueryBatch({{Value(std::string("eu"))}, {Value(std::string("eu"))}});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ((*good)[1]->rows, (std::vector<Row>{{int64_t{10}}}));
}

TEST_F(PostgresMultiplex, AnArrayParameterRunsSetBySet) {
  auto st = Prepare("SELECT id FROM " + T("orders") + " WHERE id = ANY(:ids::int[]) ORDER BY id",
                    {"ids"});
  ASSERT_NE(st, nullptr);
  auto batch = st->QueryBatch({{Value(std::string("{1,3}"))}, {Value(std::string("{2}"))}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ((*batch)[0]->rows, (std::vector<Row>{{int64_t{1}}, {int64_t{3}}}));
  EXPECT_EQ((*batch)[1]->rows, (std::vector<Row>{{int64_t{2}}}));
}

}  // namespace
}  // namespace livepoll::source
