// The soci plugin against a real SQLite file: typed values, bound parameters, parameter checks at
// prepare, a locked database, and bad DSNs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

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

TEST_F(SociPlugin, ColumnWithoutDeclaredTypeComesOutAsText) {
  // SOCI 4.0's sqlite3 backend types columns by their declared type; an expression has none.
  auto rs = Run(*conn_, "SELECT COUNT(*) AS c FROM t");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->rows.at(0), (Row{std::string("2")}));
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
