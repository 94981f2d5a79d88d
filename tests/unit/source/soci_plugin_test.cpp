// The soci plugin against a real SQLite file: values typed by SQLite per value (computed columns
// included), bound parameters, a statement reused across queries, parameter checks, a locked
// database, and bad DSNs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "env/env.h"
#include "source/plugin.h"

namespace livepoll::source {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SociPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/soci_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/test.db";
    auto plugin = Plugin::Load(Env::Real(), std::string(LIVEPOLL_BUILD_PLUGIN_DIR) + "/soci.so");
    ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
    plugin_ = *plugin;
    conn_ = OpenOrDie("sqlite3://db=" + db_);
    Exec(*conn_,
         "CREATE TABLE t(id INTEGER, big INTEGER, r REAL, txt TEXT, b BLOB, flag BOOLEAN, n TEXT)");
    Exec(*conn_, "INSERT INTO t VALUES (1, 9000000000, 2.5, 'hello', x'00ff41', 1, NULL)");
    Exec(*conn_, "INSERT INTO t VALUES (2, -3, -0.5, 'world', x'', 0, 'set')");
  }

  void TearDown() override {
    conn_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Connection> OpenOrDie(const std::string& dsn) {
    auto conn = plugin_->Open(dsn);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  static Result<ResultSet> Run(Connection& conn, const std::string& sql,
                               const std::vector<std::string>& names = {},
                               const std::vector<Value>& params = {}) {
    auto stmt = conn.Prepare(sql, names);
    if (!stmt.ok()) return stmt.status();
    return (*stmt)->Query(params);
  }
  static void Exec(Connection& conn, const std::string& sql) {
    auto rs = Run(conn, sql);
    ASSERT_TRUE(rs.ok()) << sql << ": " << rs.status().ToString();
  }

  std::string dir_, db_;
  std::shared_ptr<Plugin> plugin_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(SociPlugin, ReturnsTypedValuesIncludingNullBlobAnd64BitIntegers) {
  auto rs = Run(*conn_, "SELECT id, big, r, txt, b, flag, n FROM t ORDER BY id");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_THAT(rs->columns, ElementsAre("id", "big", "r", "txt", "b", "flag", "n"));
  ASSERT_EQ(rs->rows.size(), 2u);
  // BOOLEAN is an integer in SQLite, and so it comes out.
  EXPECT_EQ(rs->rows[0], (Row{int64_t{1}, int64_t{9000000000}, 2.5, std::string("hello"),
                              Blob{std::string("\0\xff"
                                               "A",
                                               3)},
                              int64_t{1}, Null{}}));
  EXPECT_EQ(rs->rows[1], (Row{int64_t{2}, int64_t{-3}, -0.5, std::string("world"), Blob{""},
                              int64_t{0}, std::string("set")}));
}

TEST_F(SociPlugin, ComputedColumnsCarryTheTypeOfTheirValues) {
  // Columns without a declared type: SQLite's own type of each value decides, not "text".
  Exec(*conn_, "CREATE TABLE sales(region TEXT, total REAL)");
  Exec(*conn_, "INSERT INTO sales VALUES ('eu', 1.5), ('eu', 1.861), ('us', 4.0)");
  auto rs = Run(*conn_,
                "SELECT COUNT(*) AS n, SUM(total) AS s, ROUND(SUM(total), 2) AS revenue, region,"
                " region || '-' || COUNT(*) AS label, 9000000000 + 1 AS big"
                " FROM sales GROUP BY region ORDER BY region");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_THAT(rs->columns, ElementsAre("n", "s", "revenue", "region", "label", "big"));
  EXPECT_EQ(rs->rows, (std::vector<Row>{{int64_t{2}, 1.5 + 1.861, 3.36, std::string("eu"),
                                         std::string("eu-2"), int64_t{9000000001}},
                                        {int64_t{1}, 4.0, 4.0, std::string("us"),
                                         std::string("us-1"), int64_t{9000000001}}}));
}

TEST_F(SociPlugin, EachRowKeepsItsOwnTypeInAColumnOfMixedTypes) {
  // SQLite types values, not columns: one column may hold a different type in every row, and a
  // declared INTEGER column may still hold text it could not convert.
  Exec(*conn_, "CREATE TABLE m(k INTEGER, v, i INTEGER)");
  Exec(*conn_,
       "INSERT INTO m VALUES (1, 7, 'not a number'), (2, 2.5, 3), (3, 'x', 4),"
       " (4, x'00ff00', 5), (5, NULL, 6), (6, -9000000000, 7)");
  auto rs = Run(*conn_, "SELECT v, typeof(v) AS t, i FROM m ORDER BY k");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->rows, (std::vector<Row>{
                          {int64_t{7}, std::string("integer"), std::string("not a number")},
                          {2.5, std::string("real"), int64_t{3}},
                          {std::string("x"), std::string("text"), int64_t{4}},
                          {Blob{std::string("\0\xff\0", 3)}, std::string("blob"), int64_t{5}},
                          {Null{}, std::string("null"), int64_t{6}},
                          {int64_t{-9000000000}, std::string("integer"), int64_t{7}},
                      }));
}

TEST_F(SociPlugin, BlobsKeepEveryByteAndEmptyValuesAreNotNull) {
  auto rs = Run(*conn_,
                "SELECT x'4100420000' AS b, zeroblob(3) AS z, x'' AS e, '' AS s, NULL AS n,"
                " CAST('a' || char(0) || 'b' AS BLOB) AS nul_in_text");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->rows,
            (std::vector<Row>{{Blob{std::string("A\0B\0\0", 5)}, Blob{std::string(3, '\0')},
                               Blob{""}, std::string(""), Null{}, Blob{std::string("a\0b", 3)}}}));
}

TEST_F(SociPlugin, EmptyResultStillHasColumns) {
  auto rs = Run(*conn_, "SELECT id, txt FROM t WHERE id > 100");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_THAT(rs->columns, ElementsAre("id", "txt"));
  EXPECT_TRUE(rs->rows.empty());
}

TEST_F(SociPlugin, BindsParametersAsValuesNeverAsSql) {
  auto stmt = conn_->Prepare("SELECT id FROM t WHERE txt = :name", {"name"});
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  auto hit = (*stmt)->Query({std::string("world")});
  ASSERT_TRUE(hit.ok()) << hit.status().ToString();
  EXPECT_EQ(hit->rows, (std::vector<Row>{{int64_t{2}}}));

  auto injected = (*stmt)->Query({std::string("x' OR '1'='1")});
  ASSERT_TRUE(injected.ok()) << injected.status().ToString();
  EXPECT_TRUE(injected->rows.empty());

  auto by_id = conn_->Prepare("SELECT id FROM t WHERE id = :id", {"id"});
  ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
  for (const char* attack : {"1 OR 1=1", "1; DROP TABLE t", "1) OR (1=1"}) {
    auto rs = (*by_id)->Query({std::string(attack)});
    ASSERT_TRUE(rs.ok()) << attack << ": " << rs.status().ToString();
    EXPECT_TRUE(rs->rows.empty()) << attack;
  }
  auto still_there = Run(*conn_, "SELECT COUNT(*) FROM t");
  ASSERT_TRUE(still_there.ok()) << still_there.status().ToString();
  EXPECT_EQ(still_there->rows, (std::vector<Row>{{int64_t{2}}}));
}

TEST_F(SociPlugin, OneStatementServesManyQueriesWithDifferentParameters) {
  Exec(*conn_, "CREATE TABLE n(k INTEGER PRIMARY KEY, sq INTEGER, name TEXT)");
  Exec(*conn_,
       "WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < 300)"
       " INSERT INTO n SELECT k, k * k * 100000, 'n' || k FROM c");
  auto stmt = conn_->Prepare(
      "SELECT k, sq, name FROM n WHERE k BETWEEN :lo AND :hi AND (:name IS NULL OR name = :name)"
      " ORDER BY k",
      {"lo", "hi", "name"});
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  for (int64_t lo = 1; lo <= 300; lo += 7) {
    const int64_t hi = lo + lo % 5;  // ranges of 1 to 5 rows, some past the end of the table
    auto rs = (*stmt)->Query({lo, std::to_string(hi), Null{}});
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    std::vector<Row> want;
    for (int64_t k = lo; k <= std::min<int64_t>(hi, 300); ++k)
      want.push_back({k, k * k * 100000, "n" + std::to_string(k)});
    ASSERT_EQ(rs->rows, want) << "lo=" << lo << " hi=" << hi;

    // The same statement with a name filter: bindings from the last run must not linger.
    auto one = (*stmt)->Query({int64_t{1}, int64_t{300}, "n" + std::to_string(hi)});
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    std::vector<Row> want_one;
    if (hi <= 300) want_one.push_back({hi, hi * hi * 100000, "n" + std::to_string(hi)});
    ASSERT_EQ(one->rows, want_one) << "name=n" << hi;
  }
  // A failing run (a parameter count the host refuses) leaves the statement usable.
  EXPECT_FALSE((*stmt)->Query({int64_t{1}}).ok());
  auto after = (*stmt)->Query({int64_t{3}, int64_t{3}, Null{}});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->rows, (std::vector<Row>{{int64_t{3}, int64_t{900000}, std::string("n3")}}));
}

TEST_F(SociPlugin, ParametersSqliteSeesButTheListLacksAreRefused) {
  // Our `:name` scan does not know `?` or `@name`; SQLite's parser does, and an unbound
  // parameter would silently be NULL, so the query fails instead.
  for (const char* sql : {"SELECT id FROM t WHERE id = ?", "SELECT id FROM t WHERE id = @id"}) {
    auto rs = Run(*conn_, sql);
    ASSERT_FALSE(rs.ok()) << sql;
    EXPECT_THAT(rs.status().message(), HasSubstr("not among the query's parameters")) << sql;
  }
}

TEST_F(SociPlugin, TextParameterMatchesAnIntegerColumn) {
  auto stmt = conn_->Prepare("SELECT txt FROM t WHERE id = :id", {"id"});
  ASSERT_TRUE(stmt.ok());
  for (const Value& id : {Value(std::string("1")), Value(int64_t{1})}) {
    auto rs = (*stmt)->Query({id});
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    EXPECT_EQ(rs->rows, (std::vector<Row>{{std::string("hello")}}));
  }
  auto none = (*stmt)->Query({Null{}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->rows.empty());  // NULL is bound as NULL: `id = NULL` matches nothing
}

TEST_F(SociPlugin, ParameterLookalikesInLiteralsAndCommentsAreNotParameters) {
  auto rs = Run(*conn_, "SELECT ':fake' AS s, id FROM t -- :comment\n WHERE id = :id /* :x */",
                {"id"}, {int64_t{2}});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->rows, (std::vector<Row>{{std::string(":fake"), int64_t{2}}}));
}

TEST_F(SociPlugin, PrepareRefusesParametersThatDoNotMatchTheSql) {
  auto undeclared = conn_->Prepare("SELECT id FROM t WHERE id = :id", {});
  ASSERT_FALSE(undeclared.ok());
  EXPECT_EQ(undeclared.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(undeclared.status().message(), HasSubstr(":id"));

  auto unused = conn_->Prepare("SELECT id FROM t WHERE id = :id", {"id", "region"});
  ASSERT_FALSE(unused.ok());
  EXPECT_THAT(unused.status().message(), HasSubstr("'region'"));

  auto twice = conn_->Prepare("SELECT id FROM t WHERE id = :id", {"id", "id"});
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("twice"));

  // A PostgreSQL cast is not a parameter (checked at prepare, before SQLite sees the SQL).
  EXPECT_TRUE(conn_->Prepare("SELECT x::int FROM t WHERE id = :id", {"id"}).ok());
}

TEST_F(SociPlugin, SqlErrorIsReportedWithTheDatabasesReason) {
  auto rs = Run(*conn_, "SELECT * FROM missing_table");
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(rs.status().message(), HasSubstr("missing_table"));
}

class SociLocked : public SociPlugin {
 protected:
  // A writer holding the database locked makes a reader fail after its busy timeout, not hang.
  static void ExpectLockedErrorWithin(Connection& reader, std::chrono::seconds at_least,
                                      std::chrono::seconds at_most) {
    auto start = std::chrono::steady_clock::now();
    auto rs = Run(reader, "SELECT id FROM t");
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(rs.ok());
    EXPECT_THAT(rs.status().message(), HasSubstr("locked"));
    EXPECT_GE(took, at_least - std::chrono::milliseconds(200));
    EXPECT_LT(took, at_most);
  }
};

TEST_F(SociLocked, LockedDatabaseGivesAnErrorAfterTheTimeout) {
  Exec(*conn_, "BEGIN EXCLUSIVE");
  auto reader = OpenOrDie("sqlite3://db=" + db_ + " timeout=1");
  ASSERT_NE(reader, nullptr);
  ExpectLockedErrorWithin(*reader, std::chrono::seconds(1), std::chrono::seconds(5));
  Exec(*conn_, "COMMIT");
  EXPECT_TRUE(Run(*reader, "SELECT id FROM t").ok());
}

TEST_F(SociLocked, PreparedStatementWaitsBoundedlyThenWorksAgain) {
  // The reader's statement is prepared (schema read) before the lock, so it is the step that
  // meets the lock; afterwards the same statement runs normally.
  auto reader = OpenOrDie("sqlite3://db=" + db_ + " timeout=1");
  ASSERT_NE(reader, nullptr);
  auto stmt = reader->Prepare("SELECT id FROM t WHERE id = :id", {"id"});
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  ASSERT_TRUE((*stmt)->Query({int64_t{1}}).ok());
  Exec(*conn_, "BEGIN EXCLUSIVE");
  auto start = std::chrono::steady_clock::now();
  auto locked = (*stmt)->Query({int64_t{1}});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(locked.ok());
  EXPECT_THAT(locked.status().message(), HasSubstr("database is locked"));
  EXPECT_GE(took, std::chrono::milliseconds(800));
  EXPECT_LT(took, std::chrono::seconds(5));
  Exec(*conn_, "COMMIT");
  auto again = (*stmt)->Query({int64_t{2}});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, (std::vector<Row>{{int64_t{2}}}));
}

TEST_F(SociLocked, LockedDatabaseHasABoundedDefaultTimeout) {
  Exec(*conn_, "BEGIN EXCLUSIVE");
  auto reader = OpenOrDie("sqlite3://db=" + db_);
  ASSERT_NE(reader, nullptr);
  ExpectLockedErrorWithin(*reader, std::chrono::seconds(2), std::chrono::seconds(8));
  Exec(*conn_, "COMMIT");
}

TEST_F(SociPlugin, BadDsnErrorsNameTheProblem) {
  auto no_backend = plugin_->Open("db=/tmp/x.db");
  ASSERT_FALSE(no_backend.ok());
  EXPECT_EQ(no_backend.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(no_backend.status().message(), HasSubstr("names no SOCI backend"));

  auto unknown = plugin_->Open("nosuchbackend://whatever");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("nosuchbackend"));

  auto unopenable = plugin_->Open("sqlite3://db=" + dir_ + "/no/such/dir/x.db");
  ASSERT_FALSE(unopenable.ok());
  EXPECT_THAT(unopenable.status().message(),
              AllOf(HasSubstr("cannot connect"), HasSubstr("no/such/dir/x.db")));
}

}  // namespace
}  // namespace livepoll::source
