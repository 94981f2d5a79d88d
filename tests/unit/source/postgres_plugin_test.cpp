// The postgres plugin (and the soci plugin's PostgreSQL backend) against a real PostgreSQL 15:
// values typed by column type, bound parameters, server-side prepared statements reused, parameter
// checks, the statement timeout, a lost connection, and connection errors.
//
// The server is the test harness's: LIVEPOLL_TEST_PG_DSN is a libpq connection string (e.g.
// `host=127.0.0.1 port=5499 dbname=postgres user=postgres`, a superuser) or a postgresql:// URI.
// Without it these tests fail, never skip: a missing server must not look like a pass. Each test
// works in its own schema and drops it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include "env/env.h"
#include "source/plugin.h"

namespace livepoll::source {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDsnVar[] = "LIVEPOLL_TEST_PG_DSN";

std::string TestDsn() {
  const char* dsn = std::getenv(kDsnVar);
  return dsn == nullptr ? "" : dsn;
}

#define ASSERT_HAVE_SERVER()                                                                   \
  ASSERT_FALSE(TestDsn().empty())                                                              \
      << kDsnVar                                                                               \
      << " is not set: these tests need a real PostgreSQL 15 server. The test harness starts " \
         "one and exports its libpq connection string, e.g. "                                  \
      << kDsnVar << "='host=127.0.0.1 port=5499 dbname=postgres user=postgres'"

bool IsUri(const std::string& dsn) {
  return dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
}

// `dsn` with libpq's `options` (server settings for the session) set to `options`, e.g.
// "-c statement_timeout=200", in either DSN syntax.
std::string WithOptions(const std::string& dsn, const std::string& options) {
  if (!IsUri(dsn)) return dsn + " options='" + options + "'";
  std::string encoded;
  for (char c : options) {
    if (c == ' ') {
      encoded += "%20";
    } else if (c == '=') {
      encoded += "%3D";
    } else {
      encoded += c;
    }
  }
  return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "options=" + encoded;
}

// `dsn` with one more connection keyword (a later keyword wins in both syntaxes).
std::string WithKeyword(const std::string& dsn, const std::string& key, const std::string& value) {
  if (!IsUri(dsn)) return dsn + " " + key + "=" + value;
  return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
}

// A postgresql:// URI as libpq keywords (SOCI's postgresql backend wants those), without
// percent-decoding: enough for the test harness's DSN. Keyword DSNs are returned as they are.
std::string AsKeywords(const std::string& dsn) {
  if (!IsUri(dsn)) return dsn;
  std::string rest = dsn.substr(dsn.find("://") + 3), query, out;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    if (slash + 1 < rest.size()) out += " dbname=" + rest.substr(slash + 1);
    rest.resize(slash);
  }
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    std::string user = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (size_t colon = user.find(':'); colon != std::string::npos) {
      out += " password=" + user.substr(colon + 1);
      user.resize(colon);
    }
    if (!user.empty()) out += " user=" + user;
  }
  if (size_t colon = rest.rfind(':'); colon != std::string::npos && rest.back() != ']') {
    out += " port=" + rest.substr(colon + 1);
    rest.resize(colon);
  }
  if (!rest.empty()) out += " host=" + rest;
  for (size_t start = 0; start < query.size();) {
    size_t amp = query.find('&', start);
    out += " " + query.substr(start, amp - start);
    start = amp == std::string::npos ? query.size() : amp + 1;
  }
  return out.empty() ? out : out.substr(1);
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + std::to_string(getpid()) + "_" + std::to_string(++counter);
}

class PgFixture : public ::testing::Test {
 protected:
  // Loads plugin `plugin_file` and opens `dsn_prefix` + the test DSN (as libpq keywords if
  // `keywords`), with a fresh schema.
  void Start(const std::string& plugin_file, const std::string& dsn_prefix, bool keywords = false) {
    ASSERT_HAVE_SERVER();
    auto plugin =
        Plugin::Load(Env::Real(), std::string(LIVEPOLL_BUILD_PLUGIN_DIR) + "/" + plugin_file);
    ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
    plugin_ = *plugin;
    dsn_ = dsn_prefix + (keywords ? AsKeywords(TestDsn()) : TestDsn());
    conn_ = OpenOrDie(dsn_);
    ASSERT_NE(conn_, nullptr);
    schema_ = UniqueName("lp_test_");
    Exec(*conn_, "CREATE SCHEMA " + schema_);
  }

  void TearDown() override {
    if (conn_ != nullptr && !schema_.empty()) {
      // The test's connection may be the one a test broke on purpose: drop with a fresh one.
      auto conn = plugin_->Open(dsn_);
      if (conn.ok()) Exec(**conn, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    }
    conn_.reset();
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
  // The only value of a one-row, one-column result.
  static Value One(Connection& conn, const std::string& sql) {
    auto rs = Run(conn, sql);
    EXPECT_TRUE(rs.ok()) << sql << ": " << rs.status().ToString();
    if (!rs.ok() || rs->rows.size() != 1 || rs->rows[0].size() != 1) return Null{};
    return rs->rows[0][0];
  }

  std::string T(const std::string& table) const { return schema_ + "." + table; }

  std::shared_ptr<Plugin> plugin_;
  std::string dsn_, schema_;
  std::unique_ptr<Connection> conn_;
};

class PostgresPlugin : public PgFixture {
 protected:
  void SetUp() override { Start("postgres.so", ""); }
};

TEST_F(PostgresPlugin, IdentifiesItself) {
  EXPECT_EQ(plugin_->name(), "postgres");
  EXPECT_THAT(plugin_->version(), HasSubstr("libpqxx"));
}

TEST_F(PostgresPlugin, ValuesAreTypedByTheColumnType) {
  Exec(*conn_, "SET TimeZone = 'UTC'");
  Exec(*conn_, "CREATE TABLE " + T("t") +
                   "(i2 int2, i4 int4, i8 int8, o oid, f4 float4, f8 float8, n numeric, b bool, "
                   "by bytea, tx text, vc varchar(10), bp char(3), nm name, u uuid, j json, "
                   "jb jsonb, iv interval, arr int[], nul text)");
  Exec(*conn_, "INSERT INTO " + T("t") +
                   " VALUES (-32768, 2147483647, 9000000000000000000, 4000000000, 1.5, -0.25, "
                   "12345.678, true, '\\x00ff41', 'h\xc3\xa9llo', 'vc', 'ab', 'nm', "
                   "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": 1}', "
                   "'{\"b\": [1,2], \"a\": null}', '1 day 2 hours', '{1,2}', NULL)");
  Exec(*conn_, "INSERT INTO " + T("t") + " (b, by, n, tx) VALUES (false, '', 'NaN', '')");
  auto rs = Run(*conn_, "SELECT * FROM " + T("t") + " ORDER BY b DESC");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_THAT(rs->columns, ElementsAre("i2", "i4", "i8", "o", "f4", "f8", "n", "b", "by", "tx",
                                       "vc", "bp", "nm", "u", "j", "jb", "iv", "arr", "nul"));
  ASSERT_EQ(rs->rows.size(), 2u);
  EXPECT_EQ(rs->rows[0],
            (Row{int64_t{-32768}, int64_t{2147483647}, int64_t{9000000000000000000},
                 int64_t{4000000000}, 1.5, -0.25, 12345.678, true,
                 Blob{std::string("\0\xff"
                                  "A",
                                  3)},
                 std::string("h\xc3\xa9llo"), std::string("vc"), std::string("ab "),
                 std::string("nm"), std::string("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                 std::string("{\"a\": 1}"),                    // json: as written
                 std::string("{\"a\": null, \"b\": [1, 2]}"),  // jsonb: as PostgreSQL prints it
                 std::string("1 day 02:00:00"), std::string("{1,2}"), Null{}}));
  // The second row: NULLs, false, an empty (not NULL) bytea and text, numeric NaN.
  const Row& r = rs->rows[1];
  EXPECT_EQ(r[0], Value(Null{}));
  EXPECT_EQ(r[7], Value(false));
  EXPECT_EQ(r[8], Value(Blob{""}));
  EXPECT_EQ(r[9], Value(std::string()));
  ASSERT_TRUE(std::holds_alternative<double>(r[6]));
  EXPECT_TRUE(std::isnan(std::get<double>(r[6])));
}

TEST_F(PostgresPlugin, NumericIsARealAndTextKeepsAllItsDigits) {
  auto rs = Run(*conn_,
                "SELECT 0.1::numeric AS n, 123456789012345678901234567890.5::numeric AS big, "
                "123456789012345678901234567890.5::numeric::text AS digits, 2.5::float4 AS f4");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ASSERT_EQ(rs->rows.size(), 1u);
  EXPECT_EQ(rs->rows[0][0], Value(0.1));
  EXPECT_EQ(rs->rows[0][1], Value(123456789012345678901234567890.5));
  EXPECT_EQ(rs->rows[0][2], Value(std::string("123456789012345678901234567890.5")));
  EXPECT_EQ(rs->rows[0][3], Value(2.5));
}

TEST_F(PostgresPlugin, DatesAndTimesAreIso8601Text) {
  Exec(*conn_, "SET TimeZone = 'UTC'");
  auto rs =
      Run(*conn_,
          "SELECT '2024-01-02 03:04:05+00'::timestamptz, '2024-01-02 03:04:05.123'::timestamp, "
          "'2024-01-02'::date, '03:04:05'::time, '03:04:05.5+02'::timetz, "
          "'infinity'::timestamp, '2024-01-02 03:04:05'::timestamp");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ASSERT_EQ(rs->rows.size(), 1u);
  EXPECT_EQ(rs->rows[0], (Row{std::string("2024-01-02T03:04:05+00:00"),
                              std::string("2024-01-02T03:04:05.123"), std::string("2024-01-02"),
                              std::string("03:04:05"), std::string("03:04:05.5+02:00"),
                              std::string("infinity"), std::string("2024-01-02T03:04:05")}));
  // A zone with minutes keeps them; the session's TimeZone decides the offset shown.
  Exec(*conn_, "SET TimeZone = 'Asia/Kolkata'");
  EXPECT_EQ(One(*conn_, "SELECT '2024-01-02 03:04:05+00'::timestamptz"),
            Value(std::string("2024-01-02T08:34:05+05:30")));
  // Whatever DateStyle the server has, the session uses ISO.
  EXPECT_EQ(One(*conn_, "SHOW DateStyle"), Value(std::string("ISO, MDY")));
}

TEST_F(PostgresPlugin, ParametersAreBoundAsValuesOfEveryType) {
  auto rs =
      Run(*conn_,
          "SELECT :i::int8 + 1 AS i, :r::float8 * 2 AS r, :b::bool AS b, :t::text AS t, "
          ":bl::bytea AS bl, :n::text IS NULL AS n",
          {"i", "r", "b", "t", "bl", "n"},
          {int64_t{41}, 1.25, true, std::string("it's"), Blob{std::string("\0\x01", 2)}, Null{}});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ASSERT_EQ(rs->rows.size(), 1u);
  EXPECT_EQ(rs->rows[0], (Row{int64_t{42}, 2.5, true, std::string("it's"),
                              Blob{std::string("\0\x01", 2)}, true}));
}

TEST_F(PostgresPlugin, InjectionAttemptsAreJustValues) {
  Exec(*conn_, "CREATE TABLE " + T("users") + "(id int, name text)");
  Exec(*conn_, "INSERT INTO " + T("users") + " VALUES (1, 'ann'), (2, 'bob')");
  const std::string sql = "SELECT id FROM " + T("users") + " WHERE name = :name ORDER BY id";
  for (const char* attack : {"x' OR '1'='1", "'; DROP TABLE " /* table name below */}) {
    std::string value = attack;
    if (value.back() == ' ') value += T("users") + "; --";
    auto rs = Run(*conn_, sql, {"name"}, {value});
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    EXPECT_TRUE(rs->rows.empty()) << value;
  }
  auto rs = Run(*conn_, sql, {"name"}, {std::string("bob")});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->rows, (std::vector<Row>{{int64_t{2}}}));
  EXPECT_EQ(One(*conn_, "SELECT count(*) FROM " + T("users")), Value(int64_t{2}));
}

TEST_F(PostgresPlugin, NamedParametersBecomePositionalInListOrder) {
  // The list order, not the SQL order, numbers them; a repeated name is one parameter; casts,
  // literals, quoted identifiers and comments are not parameters.
  auto rs = Run(*conn_,
                "SELECT :a::int + :a::int AS twice, :b::text AS b, ':a' AS lit, "
                "E'it\\'s :a' AS esc, 1 AS \":a\" -- :zz\n",
                {"b", "a"}, {std::string("bee"), int64_t{21}});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_THAT(rs->columns, ElementsAre("twice", "b", "lit", "esc", ":a"));
  EXPECT_EQ(rs->rows, (std::vector<Row>{{int64_t{42}, std::string("bee"), std::string(":a"),
                                         std::string("it's :a"), int64_t{1}}}));
}

TEST_F(PostgresPlugin, PrepareRefusesParametersThatDoNotMatchTheSql) {
  auto undeclared = conn_->Prepare("SELECT :id::int", {});
  ASSERT_FALSE(undeclared.ok());
  EXPECT_EQ(undeclared.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(undeclared.status().message(), HasSubstr(":id"));
  auto unused = conn_->Prepare("SELECT :id::int", {"id", "region"});
  ASSERT_FALSE(unused.ok());
  EXPECT_THAT(unused.status().message(), HasSubstr("'region'"));
  auto twice = conn_->Prepare("SELECT :id::int", {"id", "id"});
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("twice"));
}

TEST_F(PostgresPlugin, PrepareDoesNotReachTheServerTheFirstQueryDoes) {
  // Invalid SQL passes prepare (only the parameters are checked there) and fails at the query,
  // with the server's reason.
  auto stmt = conn_->Prepare("SELEC 1", {});
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  auto rs = (*stmt)->Query({});
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(rs.status().message(),
              AllOf(HasSubstr("cannot prepare on the server"), HasSubstr("syntax error"),
                    HasSubstr("SELEC"), HasSubstr("SQLSTATE 42601")));
}

TEST_F(PostgresPlugin, OneServerSidePreparedStatementServesManyQueries) {
  Exec(*conn_, "CREATE TABLE " + T("items") + "(id int, label text)");
  Exec(*conn_, "INSERT INTO " + T("items") + " VALUES (1, 'one'), (2, 'two'), (3, NULL)");
  auto stmt = conn_->Prepare("SELECT label FROM " + T("items") + " WHERE id = :id", {"id"});
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  for (int round = 0; round < 2; ++round) {
    for (int64_t id : {1, 2, 3, 4}) {
      auto rs = (*stmt)->Query({id});
      ASSERT_TRUE(rs.ok()) << rs.status().ToString();
      std::vector<Row> want;
      if (id == 1) want = {{std::string("one")}};
      if (id == 2) want = {{std::string("two")}};
      if (id == 3) want = {{Null{}}};
      EXPECT_EQ(rs->rows, want) << "id " << id;
    }
  }
  // The session holds it as a prepared statement with a positional parameter, run 8 times.
  auto rs = Run(*conn_,
                "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%' || :table || '%' AND statement NOT LIKE '%pg_prepared%'",
                {"table"}, {T("items")});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ASSERT_EQ(rs->rows.size(), 1u);
  EXPECT_EQ(rs->rows[0][0], Value("SELECT label FROM " + T("items") + " WHERE id = $1"));
  EXPECT_EQ(rs->rows[0][1], Value(int64_t{8}));
  // Finalizing deallocates it on the server.
  stmt->reset();
  rs = Run(*conn_,
           "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%' || :t || '%'",
           {"t"}, {T("items")});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->rows, (std::vector<Row>{{int64_t{0}}}));
}

TEST_F(PostgresPlugin, StatementTimeoutDefaultsTo30sUnlessTheDsnSetsIt) {
  EXPECT_EQ(One(*conn_, "SHOW statement_timeout"), Value(std::string("30s")));
  auto own = OpenOrDie(WithOptions(dsn_, "-c statement_timeout=200"));
  ASSERT_NE(own, nullptr);
  EXPECT_EQ(One(*own, "SHOW statement_timeout"), Value(std::string("200ms")));
  auto none = OpenOrDie(WithOptions(dsn_, "-c statement_timeout=0"));
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(One(*none, "SHOW statement_timeout"), Value(std::string("0")));
}

TEST_F(PostgresPlugin, SlowQueryFailsWithTheTimeoutThenANewConnectionWorks) {
  const std::string dsn = WithOptions(dsn_, "-c statement_timeout=200");
  auto conn = OpenOrDie(dsn);
  ASSERT_NE(conn, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto rs = Run(*conn, "SELECT pg_sleep(2)");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(rs.status().message(),
              HasSubstr("statement timeout (canceling statement due to statement timeout)"));
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  // The host drops a connection after a failed query and opens a new one, as here.
  conn.reset();
  auto fresh = OpenOrDie(dsn);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(One(*fresh, "SELECT 1 + 1"), Value(int64_t{2}));
}

// A session that worked and is found broken when a query starts (the server restarted, or the
// link dropped, while it was idle) is opened again once, with its settings, and the query runs on
// it: the first poll after a server restart does not fail although the server is up (found by the
// chaos soak, tests/chaos/soak.sh --seed 103). Not libpqxx's silent reactivation: the new session
// has the plugin's settings and prepares its statements again.
TEST_F(PostgresPlugin, ASessionBrokenWhileIdleIsOpenedAgainWithItsSettings) {
  const std::string dsn = WithOptions(dsn_, "-c statement_timeout=4321");
  auto victim = OpenOrDie(dsn);
  ASSERT_NE(victim, nullptr);
  auto stmt = victim->Prepare(
      "SELECT pg_backend_pid(), current_setting('statement_timeout'), "
      "current_setting('DateStyle')",
      {});
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  auto other = victim->Prepare("SELECT :x::int * 2", {"x"});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto before = (*stmt)->Query({});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE((*other)->Query({int64_t{1}}).ok());
  auto killed =
      Run(*conn_, "SELECT pg_terminate_backend(:pid::int)", {"pid"}, {before->rows[0][0]});
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  auto after = (*stmt)->Query({});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_NE(after->rows[0][0], before->rows[0][0]);  // another session
  EXPECT_EQ(after->rows[0][1], Value(std::string("4321ms")));
  EXPECT_EQ(after->rows[0][2], Value(std::string("ISO, MDY")));
  // Every statement of the connection is prepared again on the new session.
  auto again = (*other)->Query({int64_t{21}});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, (std::vector<Row>{{int64_t{42}}}));
}

// A session that never worked, or a second break in a row, is an error: the host opens a new
// connection for the next poll.
TEST_F(PostgresPlugin, ALostConnectionThatCannotBeOpenedAgainIsAnError) {
  // A database of this test's own, closed to new connections while its session is killed.
  const std::string db = UniqueName("lp_test_db_");
  Exec(*conn_, "CREATE DATABASE " + db);
  auto victim = OpenOrDie(AsKeywords(TestDsn()) + " dbname=" + db);
  ASSERT_NE(victim, nullptr);
  auto stmt = victim->Prepare("SELECT pg_backend_pid()", {});
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  auto pid = (*stmt)->Query({});
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  Exec(*conn_, "ALTER DATABASE " + db + " ALLOW_CONNECTIONS false");
  auto killed = Run(*conn_, "SELECT pg_terminate_backend(:pid::int)", {"pid"}, {pid->rows[0][0]});
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  auto rs = (*stmt)->Query({});
  stmt->reset();
  victim.reset();
  Exec(*conn_, "DROP DATABASE " + db + " WITH (FORCE)");
  ASSERT_FALSE(rs.ok()) << "the session was killed and none could be opened, yet the query ran";
  EXPECT_EQ(rs.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(rs.status().message(), HasSubstr("connection to the server lost"));
}

TEST_F(PostgresPlugin, SqlErrorsCarryTheServersReason) {
  auto rs = Run(*conn_, "SELECT * FROM " + T("missing_table"));
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(rs.status().message(), AllOf(HasSubstr("missing_table"), HasSubstr("does not exist"),
                                           HasSubstr("SQLSTATE 42P01")));
  auto div = Run(*conn_, "SELECT 1 / :z::int", {"z"}, {int64_t{0}});
  ASSERT_FALSE(div.ok());
  EXPECT_THAT(div.status().message(), AllOf(HasSubstr("division by zero"), HasSubstr("22012")));
}

TEST_F(PostgresPlugin, ConnectionErrorsCarryLibpqsReason) {
  auto refused = plugin_->Open(WithKeyword(dsn_, "port", "1"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(refused.status().message(),
              AllOf(HasSubstr("cannot connect"), HasSubstr("port 1 failed")));
  auto nobody = plugin_->Open(WithKeyword(dsn_, "user", "lp_no_such_role"));
  ASSERT_FALSE(nobody.ok());
  EXPECT_THAT(nobody.status().message(), HasSubstr("\"lp_no_such_role\" does not exist"));
  auto garbage = plugin_->Open("this is not a dsn");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.status().message(), HasSubstr("cannot connect"));
}

// The soci plugin reaches the same server through SOCI's postgresql backend (loaded by name). It
// types values by SOCI's coarser data types: asserted as SOCI 4.0 gives them.
class SociPostgres : public PgFixture {
 protected:
  void SetUp() override { Start("soci.so", "postgresql://", /*keywords=*/true); }
};

TEST_F(SociPostgres, ReturnsRowsWithBoundParameters) {
  Exec(*conn_, "CREATE TABLE " + T("orders") +
                   "(id int4, big int8, total float8, region text, paid bool, note text)");
  Exec(*conn_, "INSERT INTO " + T("orders") +
                   " VALUES (1, 9000000000, 2.5, 'eu', true, NULL), (2, -3, -0.5, 'us', false, "
                   "'x'), (3, 7, 10, 'eu', false, 'y')");
  auto stmt = conn_->Prepare("SELECT id, big, total, region, paid, note FROM " + T("orders") +
                                 " WHERE region = :region AND id >= :min_id ORDER BY id",
                             {"region", "min_id"});
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  auto rs = (*stmt)->Query({std::string("eu"), int64_t{1}});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_THAT(rs->columns, ElementsAre("id", "big", "total", "region", "paid", "note"));
  ASSERT_EQ(rs->rows.size(), 2u);
  EXPECT_EQ(rs->rows[0],
            (Row{int64_t{1}, int64_t{9000000000}, 2.5, std::string("eu"), int64_t{1}, Null{}}));
  EXPECT_EQ(rs->rows[1],
            (Row{int64_t{3}, int64_t{7}, 10.0, std::string("eu"), int64_t{0}, std::string("y")}));
  // The same statement with other values, and an injection attempt that is only a value.
  rs = (*stmt)->Query({std::string("us"), int64_t{0}});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ASSERT_EQ(rs->rows.size(), 1u);
  EXPECT_EQ(rs->rows[0][0], Value(int64_t{2}));
  rs = (*stmt)->Query({std::string("eu' OR '1'='1"), int64_t{0}});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_TRUE(rs->rows.empty());
}

}  // namespace
}  // namespace livepoll::source
