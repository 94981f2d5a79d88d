#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/node_keys.h"
#include "env/fake_env.h"

namespace livepoll::config {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Real files in a private temporary folder, removed with the fixture.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lp_config_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  static Result<DaemonArgs> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "livepolld");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return ParseDaemonArgs(Env::Real(), static_cast<int>(argv.size()), argv.data());
  }

  // Parses `text` as demo.conf and returns the error message ("" when it parsed).
  std::string ErrorFor(const std::string& text) {
    auto r = Parse({"--config", Write("demo.conf", text)});
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    return r.status().message();
  }

  fs::path dir_;
};

constexpr const char* kSource = "[source.main]\nplugin = soci\ndsn = sqlite3://db=demo.db\n";

TEST_F(ConfigTest, FullExampleParses) {
  const std::string path = Write("full.conf", R"(# livepolld example
[node]
name = n1
client_bind = tcp://127.0.0.1:9470
admin_bind = ipc:///run/livepoll/admin
plugin_dir = /opt/livepoll/plugins
linger = 2s
client_timeout = 1m
backoff_max = 1500ms
log_level = debug
log_format = json

[source.main]
plugin = soci                # the SOCI plugin
dsn = sqlite3://db=demo.db
max_concurrent = 8

[source.pg]
plugin = /usr/lib/livepoll/plugins/postgres.so
dsn = postgresql://localhost/shop

[query.revenue_by_region]
source = main
sql = SELECT region, SUM(total) AS revenue FROM orders WHERE region = :region GROUP BY region
params = region
key = region
interval = 500ms
jitter = 0.25
multiplex = 0

[query.totals]
source = pg
sql = SELECT count(*) FROM orders WHERE year = :year AND month = :month
params = year ,month
)");
  auto r = Parse({"--config", path});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const DaemonArgs& a = *r;
  EXPECT_EQ(a.action, DaemonArgs::Action::kRun);
  EXPECT_EQ(a.config_file, path);
  EXPECT_FALSE(a.demo);

  const NodeConfig& n = a.config.node;
  EXPECT_EQ(n.name, "n1");
  EXPECT_EQ(n.client_bind, "tcp://127.0.0.1:9470");
  EXPECT_EQ(n.admin_bind, "ipc:///run/livepoll/admin");
  EXPECT_EQ(n.plugin_dir, "/opt/livepoll/plugins");
  EXPECT_EQ(n.linger, milliseconds(2000));
  EXPECT_EQ(n.client_timeout, milliseconds(60000));
  EXPECT_EQ(n.backoff_max, milliseconds(1500));
  EXPECT_EQ(n.log_level, "debug");
  EXPECT_EQ(n.log_format, "json");

  ASSERT_EQ(a.config.sources.size(), 2u);
  const SourceConfig& main = a.config.sources.at("main");
  EXPECT_EQ(main.name, "main");
  EXPECT_EQ(main.plugin, "soci");  // the trailing comment is gone
  EXPECT_EQ(main.dsn, "sqlite3://db=demo.db");
  EXPECT_EQ(main.max_concurrent, 8);
  const SourceConfig& pg = a.config.sources.at("pg");
  EXPECT_EQ(pg.plugin, "/usr/lib/livepoll/plugins/postgres.so");
  EXPECT_EQ(pg.max_concurrent, 4);

  ASSERT_EQ(a.config.queries.size(), 2u);
  const QueryConfig& q = a.config.queries.at("revenue_by_region");
  EXPECT_EQ(q.name, "revenue_by_region");
  EXPECT_EQ(q.source, "main");
  EXPECT_EQ(q.sql,
            "SELECT region, SUM(total) AS revenue FROM orders WHERE region = :region GROUP BY "
            "region");
  EXPECT_EQ(q.params, std::vector<std::string>{"region"});
  EXPECT_EQ(q.key, std::vector<std::string>{"region"});
  EXPECT_EQ(q.interval, milliseconds(500));
  EXPECT_DOUBLE_EQ(q.jitter, 0.25);
  EXPECT_EQ(q.multiplex, 0);
  const QueryConfig& t = a.config.queries.at("totals");
  EXPECT_EQ(t.params, (std::vector<std::string>{"year", "month"}));
  EXPECT_TRUE(t.key.empty());
  EXPECT_EQ(t.interval, milliseconds(1000));
  EXPECT_DOUBLE_EQ(t.jitter, 0.1);
  EXPECT_EQ(t.multiplex, 100);  // the default: Hasura's batch size
}

TEST_F(ConfigTest, WithoutAFileTheDefaultsHoldAndTheNameIsTheHostName) {
  auto r = Parse({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(r->config.node.name, host);
  EXPECT_EQ(r->config.node.client_bind, "tcp://127.0.0.1:7470");
  EXPECT_EQ(r->config.node.linger, milliseconds(5000));
  EXPECT_TRUE(r->config.queries.empty());
  EXPECT_TRUE(r->config_file.empty());
}

TEST_F(ConfigTest, CommandLineWinsOverTheFile) {
  const std::string path = Write("node.conf",
                                 "[node]\nname = from-file\nlinger = 1s\nlog_level = debug\n"
                                 "client_bind = tcp://127.0.0.1:1111\n");
  auto r = Parse({"--config", path, "--linger", "3s", "--client-bind=tcp://0.0.0.0:2222",
                  "--log-format", "json"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const NodeConfig& n = r->config.node;
  EXPECT_EQ(n.linger, milliseconds(3000));
  EXPECT_EQ(n.client_bind, "tcp://0.0.0.0:2222");
  EXPECT_EQ(n.log_format, "json");
  EXPECT_EQ(n.name, "from-file");  // not on the command line: the file's value stays
  EXPECT_EQ(n.log_level, "debug");
}

TEST_F(ConfigTest, HashInsideQuotesIsKeptAndOutsideStartsAComment) {
  const std::string text = std::string(kSource) +
                           "# a whole-line comment\n"
                           "[query.top]   # a comment after a header\n"
                           "source = main\n"
                           "sql = SELECT a FROM t WHERE x = :x AND note <> '#'   # why\n"
                           "params = x\n"
                           "[query.odd]\n"
                           "source = main\n"
                           "sql = SELECT \"col#1\", 'it''s #2' FROM t\n";
  auto r = Parse({"--config", Write("hash.conf", text)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.queries.at("top").sql, "SELECT a FROM t WHERE x = :x AND note <> '#'");
  EXPECT_EQ(r->config.queries.at("odd").sql, "SELECT \"col#1\", 'it''s #2' FROM t");
}

TEST_F(ConfigTest, EqualsSignsInValuesAreKept) {
  auto r = Parse(
      {"--config", Write("eq.conf", std::string(kSource) + "[query.q]\nsource = main\n"
                                                           "sql = SELECT 1 WHERE 1 = 1 AND a=:a\n"
                                                           "params = a\n")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.sources.at("main").dsn, "sqlite3://db=demo.db");
  EXPECT_EQ(r->config.queries.at("q").sql, "SELECT 1 WHERE 1 = 1 AND a=:a");
}

struct BadFile {
  std::string text;
  std::string error;  // expected in the message
};

TEST_F(ConfigTest, EveryFileErrorNamesFileSectionAndKey) {
  const std::string src = kSource;
  const std::string q = "[query.top]\nsource = main\nsql = SELECT 1\n";
  const std::vector<BadFile> cases = {
      {src + q + "interval = fast\n",
       "demo.conf: [query.top] interval: 'fast' is not a duration (use 500ms, 2s or 1m)"},
      {src + q + "interval = 0ms\n", "demo.conf: [query.top] interval: must be above 0"},
      {"[source.main]\nplgin = soci\ndsn = x\n", "demo.conf: [source.main] plgin: unknown key"},
      {"[node]\ncolour = red\n", "demo.conf: [node] colour: unknown key (expected name, "},
      {src + q + "color = red\n", "demo.conf: [query.top] color: unknown key"},
      {"[sources.main]\nplugin = soci\n", "demo.conf: [sources.main]: unknown section"},
      {"[query]\nsource = main\n", "demo.conf: [query]: unknown section"},
      {"[query.a b]\nsource = main\n", "demo.conf: [query.a b]: 'a b' is not a name"},
      {"[source.main]\ndsn = x\n", "demo.conf: [source.main] plugin: missing"},
      {"[source.main]\nplugin = soci\n", "demo.conf: [source.main] dsn: missing"},
      {"[source.main]\n", "demo.conf: [source.main] plugin: missing"},
      {src + "[query.top]\nsql = SELECT 1\n", "demo.conf: [query.top] source: missing"},
      {src + "[query.top]\nsource = main\n", "demo.conf: [query.top] sql: missing"},
      {src + "[query.top]\nsource = main\nsql =\n",
       "demo.conf: [query.top] sql: must not be empty"},
      {src + "[query.top]\nsource = nope\nsql = SELECT 1\n",
       "demo.conf: [query.top] source: no [source.nope] in the file"},
      {src + "max_concurrent = 0\n",
       "demo.conf: [source.main] max_concurrent: '0' is not a whole number from 1 to 1024"},
      {src + "max_concurrent = 1025\n", "demo.conf: [source.main] max_concurrent: '1025'"},
      {src + "max_concurrent = four\n", "demo.conf: [source.main] max_concurrent: 'four'"},
      {src + "max_concurrent = 4x\n", "demo.conf: [source.main] max_concurrent: '4x'"},
      {src + q + "jitter = 1\n", "demo.conf: [query.top] jitter: '1' is not a number in [0, 1)"},
      {src + q + "jitter = -0.1\n", "demo.conf: [query.top] jitter: '-0.1'"},
      {src + q + "jitter = lots\n", "demo.conf: [query.top] jitter: 'lots'"},
      {src + q + "multiplex = -1\n",
       "demo.conf: [query.top] multiplex: '-1' is not a whole number from 0 to 1000"},
      {src + q + "multiplex = 1001\n", "demo.conf: [query.top] multiplex: '1001'"},
      {src + q + "multiplex = many\n", "demo.conf: [query.top] multiplex: 'many'"},
      {"[node]\nlog_level = loud\n", "demo.conf: [node] log_level: 'loud' is not a level"},
      {"[node]\nlog_format = xml\n", "demo.conf: [node] log_format: 'xml' is not a log format"},
      {"[node]\nlinger = 5\n", "demo.conf: [node] linger: '5' is not a duration"},
      {"[node]\nclient_bind = 7470\n", "demo.conf: [node] client_bind: '7470' is not an endpoint"},
      {"[node]\nname =\n", "demo.conf: [node] name: must not be empty"},
      {src + q + "sql = SELECT 2\n", "demo.conf: [query.top] sql: key appears twice"},
      {src + src, "demo.conf: [source.main]: section appears twice"},
      {src + "[query.top]\nsource = main\nsql = SELECT :1x\nparams = 1x\n",
       "demo.conf: [query.top] params: '1x' is not a name"},
      {src + "[query.top]\nsource = main\nsql = SELECT :a\nparams = a,,b\n",
       "demo.conf: [query.top] params: empty item"},
      {src + "[query.top]\nsource = main\nsql = SELECT :a\nparams = a, a\n",
       "demo.conf: [query.top] params: 'a' is listed twice"},
      {src + "[query.top]\nsource = main\nsql = SELECT :regionx\nparams = region\n",
       "demo.conf: [query.top] params: 'region' does not appear as :region in sql"},
      {"name = n1\n", "demo.conf: name: key outside a section"},
      {"[node]\njust words\n", "demo.conf: line 2: not a [section], a key = value or a # comment"},
      // Boost's own message for such a line never returned: its what() substituted its
      // placeholder into itself forever (found by tests/fuzz, fuzz_config).
      {"[node]\n%invalid_line%\n",
       "demo.conf: line 2: not a [section], a key = value or a # comment"},
      {"[]\nkey = value\n", "demo.conf: line 1: empty section name"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(ErrorFor(c.text), HasSubstr(c.error)) << "file:\n" << c.text;
  }
}

TEST_F(ConfigTest, AnUnreadableFileIsNamedWithTheReason) {
  const std::string missing = (dir_ / "nope.conf").string();
  auto r = Parse({"--config", missing});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), missing + ": cannot read: No such file or directory");

  auto d = Parse({"--config", dir_.string()});  // a directory opens but does not read
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr(dir_.string() + ": cannot read: Is a directory"));
}

TEST_F(ConfigTest, CommandLineErrorsAreClear) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bogus"}, "unrecognised option '--bogus'"},
      {{"--log"}, "unrecognised option '--log'"},  // no abbreviations
      {{"--linger", "fast"}, "--linger: 'fast' is not a duration (use 500ms, 2s or 1m)"},
      {{"--log-level", "loud"}, "--log-level: 'loud' is not a level"},
      {{"--linger"}, "the required argument for option '--linger' is missing"},
      {{"--name", "a", "--name", "b"}, "'--name' cannot be specified more than once"},
      {{"extra"}, "unexpected argument 'extra'"},
      {{"--demo-db", "x.db"}, "--demo-db: only with --demo"},
      // Boost's what() never returned for an argument holding one of its placeholders.
      {{"--x%canonical_option%"}, "unrecognised option '--x%canonical_option%'"},
      {{"--name", "a", "--name", "%canonical_option%"},
       "'--name' cannot be specified more than once"},
      {{"--demo=%value%"}, "option '--demo' does not take any arguments"},
  };
  for (const auto& [args, error] : cases) {
    auto r = Parse(args);
    ASSERT_FALSE(r.ok()) << args[0];
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(error)) << args[0];
  }
}

TEST_F(ConfigTest, HelpListsEveryOptionAndReadsNoFile) {
  auto r = Parse({"--config", "/nonexistent/x.conf", "--help"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->action, DaemonArgs::Action::kHelp);
  for (const char* opt : {"--config", "--name", "--client-bind", "--admin-bind", "--plugin-dir",
                          "--linger", "--client-timeout", "--backoff-max", "--log-level",
                          "--log-format", "--demo ", "--demo-db", "-h [ --help ]", "--version"}) {
    EXPECT_THAT(r->help, HasSubstr(opt));
  }
  EXPECT_THAT(r->help, HasSubstr("Usage: livepolld [OPTIONS]"));
  auto h = Parse({"-h"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->action, DaemonArgs::Action::kHelp);
}

TEST_F(ConfigTest, VersionAndDemo) {
  auto v = Parse({"--version"});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->action, DaemonArgs::Action::kVersion);

  auto d = Parse({"--demo", "--demo-db", "/tmp/x.db"});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->action, DaemonArgs::Action::kRun);
  EXPECT_TRUE(d->demo);
  EXPECT_EQ(d->demo_db, "/tmp/x.db");
}

TEST(ParseDuration, AcceptsUnitsAndFractions) {
  const std::vector<std::pair<std::string, long>> ok = {
      {"500ms", 500}, {"2s", 2000}, {"1m", 60000}, {"1.5s", 1500}, {"0ms", 0}, {"0.25m", 15000}};
  for (const auto& [text, ms] : ok) {
    auto d = ParseDuration(text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.status().ToString();
    EXPECT_EQ(d->count(), ms) << text;
  }
}

TEST(HumanDuration, ATenthBelowTenSecondsThenTwoUnits) {
  using std::chrono::milliseconds;
  const std::vector<std::pair<long, std::string>> cases = {
      {-5, "0.0s"},        {0, "0.0s"},          {412, "0.4s"},        {9'999, "9.9s"},
      {10'000, "10s"},     {59'999, "59s"},      {192'000, "3m12s"},   {3'600'000, "1h0m"},
      {7'500'000, "2h5m"}, {86'400'000, "1d0h"}, {273'600'000, "3d4h"}};
  for (const auto& [ms, text] : cases) EXPECT_EQ(HumanDuration(milliseconds(ms)), text) << ms;
  EXPECT_EQ(HumanDuration(std::chrono::seconds(12)), "12s");
}

TEST(ParseDuration, RefusesNumbersWithoutUnitsAndNonsense) {
  for (const char* text : {"5", "fast", "-1s", "", "s", "ms", "2 s", "2S", "1e3ms", "1.2.3s", "inf",
                           "nans", "1h", "0.5ms", "999999999999m"}) {
    auto d = ParseDuration(text);
    EXPECT_FALSE(d.ok()) << "'" << text << "' parsed as " << (d.ok() ? d->count() : 0);
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
      EXPECT_THAT(d.status().message(), HasSubstr("'" + std::string(text) + "'"));
    }
  }
  EXPECT_EQ(ParseDuration("fast").status().message(),
            "'fast' is not a duration (use 500ms, 2s or 1m)");
}

// Issue 12: gossip_interval, backoff_max and client_timeout accepted 0 (busy loops). Every [node]
// duration but linger (0: a poller stops at once, a one-shot timer) refuses it, naming the key.
TEST_F(ConfigTest, ZeroDurationsAreRefusedNamingTheKey) {
  for (const char* key : {"client_timeout", "backoff_max", "gossip_interval", "suspect_after",
                          "dead_after", "permdown", "takeover_timeout"}) {
    EXPECT_THAT(ErrorFor(std::string("[node]\n") + key + " = 0ms\n"),
                HasSubstr(std::string("[node] ") + key + ": '0ms' must be longer than 0"))
        << key;
  }
  EXPECT_THAT(ErrorFor("[node]\nbackoff_max = -1s\n"), HasSubstr("backoff_max"));
  EXPECT_EQ(ErrorFor("[node]\nlinger = 0ms\n"), "");
  auto r = Parse({"--client-timeout", "0s"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("--client-timeout: '0s' must be longer than 0"));
}

TEST_F(ConfigTest, LimitsHaveSafeDefaultsAndParseSizes) {
  Result<Config> d = ParseConfigText("l.conf", "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->node.max_message_size, 16u << 20);
  EXPECT_EQ(d->node.max_param_bytes, 4096u);
  EXPECT_EQ(d->node.max_subscriptions_per_client, 1000u);
  EXPECT_EQ(d->node.max_clients, 10000u);
  EXPECT_EQ(d->node.max_result_rows, 1000000u);
  EXPECT_EQ(d->node.max_result_bytes, 8u << 20);
  EXPECT_EQ(d->node.client_queue_bytes, 8u << 20);
  Result<Config> c = ParseConfigText(
      "l.conf",
      "[node]\nmax_message_size = 1MiB\nmax_param_bytes = 100\nmax_subscriptions_per_client = 5\n"
      "max_clients = 7\nmax_result_rows = 10\nmax_result_bytes = 2K\n"
      "client_queue_bytes = 64KiB\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->node.max_message_size, 1u << 20);
  EXPECT_EQ(c->node.max_param_bytes, 100u);
  EXPECT_EQ(c->node.max_subscriptions_per_client, 5u);
  EXPECT_EQ(c->node.max_clients, 7u);
  EXPECT_EQ(c->node.max_result_rows, 10u);
  EXPECT_EQ(c->node.max_result_bytes, 2048u);
  EXPECT_EQ(c->node.client_queue_bytes, 64u << 10);
  EXPECT_THAT(ErrorFor("[node]\nmax_clients = 0\n"), HasSubstr("[node] max_clients: '0'"));
  EXPECT_THAT(ErrorFor("[node]\nmax_message_size = 2GiB\n"), HasSubstr("is not a size"));
  EXPECT_THAT(ErrorFor("[node]\nmax_param_bytes = 4 KiB\n"), HasSubstr("is not a size"));
  EXPECT_THAT(ErrorFor("[node]\nmax_param_bytes = 99999999999999999999\n"),
              HasSubstr("is not a size"));
  EXPECT_THAT(ErrorFor("[node]\nmax_message_size = 8MiB\n"),
              HasSubstr("max_result_bytes must be at least 64KiB below max_message_size"));
}

}  // namespace
}  // namespace livepoll::config

namespace livepoll::config {
namespace {

class ClusterConfigTest : public ConfigTest {};

TEST_F(ClusterConfigTest, ClusterKeysParseAndSeedsGetASchema) {
  auto r =
      Parse({"--config",
             Write("c.conf",
                   "[node]\ncluster = prod\ngossip_bind = tcp://127.0.0.1:7472\n"
                   "rpc_bind = tcp://127.0.0.1:7473\njoin = 10.0.0.1:7473, tcp://10.0.0.2:7473\n"
                   "suspect_after = 300ms\ndead_after = 2s\npermdown = 1m\n"),
             "--gossip-interval", "50ms"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const NodeConfig& n = r->config.node;
  EXPECT_EQ(n.cluster, "prod");
  EXPECT_EQ(n.join, (std::vector<std::string>{"tcp://10.0.0.1:7473", "tcp://10.0.0.2:7473"}));
  EXPECT_EQ(n.gossip_interval, std::chrono::milliseconds(50));
  EXPECT_EQ(n.suspect_after, std::chrono::milliseconds(300));
  EXPECT_EQ(n.dead_after, std::chrono::milliseconds(2000));
  EXPECT_EQ(n.permdown, std::chrono::milliseconds(60000));
}

TEST_F(ClusterConfigTest, InconsistentClusterKeysAreRefused) {
  EXPECT_THAT(ErrorFor("[node]\ngossip_bind = tcp://127.0.0.1:7472\n"), HasSubstr("give both"));
  EXPECT_THAT(ErrorFor("[node]\njoin = 10.0.0.1:7473\n"), HasSubstr("join: needs"));
  EXPECT_THAT(ErrorFor("[node]\nsuspect_after = 2s\ndead_after = 1s\n"),
              HasSubstr("shorter than dead_after"));
  EXPECT_THAT(ErrorFor("[node]\ngossip_interval = 1s\n"), HasSubstr("shorter than suspect_after"));
}

}  // namespace
}  // namespace livepoll::config

namespace livepoll::config {
namespace {

// An Env whose files are the test's own, in memory: proof that the file comes through the Env.
class FilesEnv : public FakeEnv {
 public:
  std::map<std::string, std::string> files;
  Result<std::string> ReadFile(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return Status::NotFound(path + ": not in this test's files");
    return it->second;
  }
};

Result<DaemonArgs> ParseWith(Env& env, std::vector<const char*> args) {
  args.insert(args.begin(), "livepolld");
  return ParseDaemonArgs(env, static_cast<int>(args.size()), args.data());
}

TEST(ConfigEnv, TheFileIsReadThroughTheEnv) {
  FilesEnv env;
  env.files["/virtual/n.conf"] = "[node]\nname = from-env\n";
  Result<DaemonArgs> r = ParseWith(env, {"--config", "/virtual/n.conf"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.node.name, "from-env");

  Result<DaemonArgs> missing = ParseWith(env, {"--config", "/virtual/none.conf"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "/virtual/none.conf: cannot read: not in this test's files");
}

TEST(ConfigPolicies, ParseIntoTheCoreEnumsWithTheirDefaults) {
  Result<Config> defaults = ParseConfigText("p.conf", "");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->node.placement, core::Placement::kHashed);
  EXPECT_EQ(defaults->node.clash_policy, core::ClashPolicy::kOldest);
  EXPECT_EQ(defaults->node.partition, core::PartitionMode::kAvailable);

  Result<Config> set = ParseConfigText(
      "p.conf", "[node]\nplacement = local\nclash_policy = manual\npartition = majority\n");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->node.placement, core::Placement::kLocal);
  EXPECT_EQ(set->node.clash_policy, core::ClashPolicy::kManual);
  EXPECT_EQ(set->node.partition, core::PartitionMode::kMajority);

  FilesEnv env;
  env.files["p.conf"] = "[node]\nclash_policy = manual\n";
  Result<DaemonArgs> cli =
      ParseWith(env, {"--config", "p.conf", "--clash-policy", "hashed", "--placement", "local"});
  ASSERT_TRUE(cli.ok()) << cli.status().ToString();
  EXPECT_EQ(cli->config.node.clash_policy, core::ClashPolicy::kHashed);  // the command line wins
  EXPECT_EQ(cli->config.node.placement, core::Placement::kLocal);
}

TEST(ConfigPolicies, AnUnknownNameListsTheKnownOnes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"placement = random", "p.conf: [node] placement: 'random' is not one of hashed, local"},
      {"clash_policy = newest",
       "p.conf: [node] clash_policy: 'newest' is not one of oldest, hashed, manual"},
      {"partition = Majority",
       "p.conf: [node] partition: 'Majority' is not one of available, majority"},
  };
  for (const auto& [line, error] : cases) {
    Result<Config> r = ParseConfigText("p.conf", "[node]\n" + line + "\n");
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.status().message(), error);
  }
  FilesEnv env;
  Result<DaemonArgs> cli = ParseWith(env, {"--placement", "everywhere"});
  ASSERT_FALSE(cli.ok());
  EXPECT_EQ(cli.status().message(), "--placement: 'everywhere' is not one of hashed, local");
}

// What the Boost-based reader did with a dotted key, kept (config_file.cpp, KeyOf).
TEST(ConfigFile, DottedKeysReadAsTheyDidWithBoost) {
  Result<Config> before_any = ParseConfigText("d.conf", "node.name = n1\n[node]\nlinger = 2s\n");
  ASSERT_TRUE(before_any.ok()) << before_any.status().ToString();
  EXPECT_EQ(before_any->node.name, "n1");

  Result<Config> in_section = ParseConfigText("d.conf", "[node]\nlog.level = debug\n");
  ASSERT_FALSE(in_section.ok());
  EXPECT_EQ(in_section.status().message(), "d.conf: [node.log]: malformed section header");
}

TEST(ConfigFile, CrlfFilesReadLikeLfFiles) {
  const std::string lf =
      std::string(kSource) + "[query.q]\nsource = main\nsql = SELECT a FROM t WHERE b = '#' # c\n";
  std::string crlf;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  Result<Config> a = ParseConfigText("a.conf", lf);
  Result<Config> b = ParseConfigText("b.conf", crlf);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->sources.at("main").dsn, "sqlite3://db=demo.db");
  EXPECT_EQ(b->queries.at("q").sql, a->queries.at("q").sql);
  EXPECT_EQ(b->queries.at("q").sql, "SELECT a FROM t WHERE b = '#'");
}

TEST(ConfigFile, ANulByteIsRefusedWithItsLine) {
  Result<Config> r = ParseConfigText("z.conf", std::string("[node]\nname = a\0b\n", 17));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "z.conf: line 2: control character in the file");
}

// ---- client tokens: [node] token_secret, and each query's auth, bind.PARAM and allow ----

constexpr const char* kMine =
    "[query.mine]\nsource = main\nsql = SELECT * FROM orders WHERE user_id = :user_id AND "
    "status = :status\nparams = user_id, status\n";

TEST_F(ConfigTest, TokenSecretIsReadWholeAndMustBeLongEnough) {
  const std::string key = Write("key", std::string(31, 'k') + "\n");  // 32 bytes, newline kept
  auto r = Parse({"--config",
                  Write("t.conf", std::string(kSource) + kMine +
                                      "bind.user_id = sub\nallow = role=admin, "
                                      "group = ops\n"),
                  "--token-secret", key});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.node.token_secret, key);
  EXPECT_EQ(r->config.node.token_key, std::string(31, 'k') + "\n");
  const QueryConfig& q = r->config.queries.at("mine");
  EXPECT_EQ(q.auth, QueryAuth::kDefault);
  EXPECT_TRUE(NeedsToken(q, r->config.node));
  EXPECT_EQ(q.bind, (std::vector<std::pair<std::string, std::string>>{{"user_id", "sub"}}));
  EXPECT_EQ(q.allow, (std::vector<std::pair<std::string, std::string>>{{"role", "admin"},
                                                                       {"group", "ops"}}));

  auto short_key = Parse({"--token-secret", Write("short", "0123456789")});
  ASSERT_FALSE(short_key.ok());
  EXPECT_THAT(short_key.status().message(),
              HasSubstr("holds 10 bytes; a token secret needs at least 32"));
  auto empty = Parse({"--token-secret", Write("empty", "")});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("holds 0 bytes"));
  auto missing = Parse({"--token-secret", (dir_ / "nope").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("token_secret: " + (dir_ / "nope").string() + ": cannot read"));
  auto in_file = Parse({"--config", Write("f.conf", "[node]\ntoken_secret = " + key + "\n")});
  ASSERT_TRUE(in_file.ok()) << in_file.status().ToString();
  EXPECT_EQ(in_file->config.node.token_key.size(), 32u);
}

TEST(ConfigFile, QueryAuthDefaultsToTokenOnlyWithASecret) {
  Result<Config> none = ParseConfigText("a.conf", std::string(kSource) + kMine);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(NeedsToken(none->queries.at("mine"), none->node));
  Result<Config> secret =
      ParseConfigText("a.conf", "[node]\ntoken_secret = /k\n" + std::string(kSource) + kMine);
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_TRUE(NeedsToken(secret->queries.at("mine"), secret->node));
  Result<Config> open = ParseConfigText(
      "a.conf", "[node]\ntoken_secret = /k\n" + std::string(kSource) + kMine + "auth = none\n");
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_FALSE(NeedsToken(open->queries.at("mine"), open->node));
}

TEST(ConfigFile, AccessKeysAreChecked) {
  auto error = [](const std::string& node, const std::string& keys) {
    Result<Config> r = ParseConfigText("a.conf", node + kSource + kMine + keys);
    return r.ok() ? std::string() : r.status().message();
  };
  const std::string secret = "[node]\ntoken_secret = /k\n";
  EXPECT_EQ(error("", "auth = token\n"),
            "[query.mine] auth: token needs [node] token_secret (--token-secret), the key tokens "
            "are signed with");
  EXPECT_THAT(error("", "bind.user_id = sub\n"),
              HasSubstr("[query.mine] bind.user_id: needs [node] token_secret"));
  EXPECT_THAT(error("", "allow = role=admin\n"), HasSubstr("[query.mine] allow: needs [node]"));
  EXPECT_EQ(error(secret, "auth = none\nbind.user_id = sub\n"),
            "[query.mine] bind.user_id: a parameter bound to a claim needs auth = token");
  EXPECT_EQ(error(secret, "auth = none\nallow = role=admin\n"),
            "[query.mine] allow: needs auth = token");
  EXPECT_EQ(error(secret, "auth = maybe\n"),
            "a.conf: [query.mine] auth: 'maybe' is not none or token");
  EXPECT_EQ(error(secret, "bind.region = sub\n"),
            "a.conf: [query.mine] bind.region: 'region' is not one of the query's params");
  EXPECT_EQ(error(secret, "bind.user_id =\n"),
            "a.conf: [query.mine] bind.user_id: names no claim (bind.PARAM = CLAIM)");
  EXPECT_EQ(error(secret, "allow = role\n"),
            "a.conf: [query.mine] allow: 'role' is not CLAIM=VALUE");
  EXPECT_EQ(error(secret, "allow = role=a,,b=c\n"),
            "a.conf: [query.mine] allow: '' is not CLAIM=VALUE");
  EXPECT_EQ(error(secret, "bind.user_id = sub\nbind.user_id = uid\n"),
            "a.conf: [query.mine] bind.user_id: key appears twice");
  EXPECT_EQ(error(secret, "bind.user_id = sub\nbind.status = st\nallow = role=x\n"), "");
}

}  // namespace
}  // namespace livepoll::config

namespace livepoll::config {
namespace {

// ---- security (PROTOCOL.md, "Security") ----

TEST_F(ConfigTest, KeysComeInPairsAndNeedNamedSeeds) {
  const std::vector<std::string> cluster = {"--gossip-bind", "tcp://127.0.0.1:1", "--rpc-bind",
                                            "tcp://127.0.0.1:2"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = cluster;
    args.insert(args.end(), extra.begin(), extra.end());
    return Parse(args);
  };
  Result<DaemonArgs> half = with({"--secret-key", "n1.secret"});
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.status().message(), ::testing::HasSubstr("give both"));
  Result<DaemonArgs> plain_seed =
      with({"--secret-key", "n1.secret", "--trusted-keys", "t", "--join", "127.0.0.1:3"});
  ASSERT_FALSE(plain_seed.ok());
  EXPECT_THAT(plain_seed.status().message(),
              ::testing::HasSubstr("each seed must be NAME@tcp://127.0.0.1:3"));
  Result<DaemonArgs> named = with(
      {"--secret-key", "n1.secret", "--trusted-keys", "t", "--join", "n2@127.0.0.1:3, n3@h:4"});
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->config.node.join, (std::vector<std::string>{"tcp://127.0.0.1:3", "tcp://h:4"}));
  EXPECT_EQ(named->config.node.join_names.at("tcp://h:4"), "n3");
  // Without keys the plain form stays valid, and a named one too.
  EXPECT_TRUE(with({"--join", "127.0.0.1:3,n2@127.0.0.1:4"}).ok());
  EXPECT_FALSE(with({"--admin-keys", "a"}).ok());  // needs secret_key
  EXPECT_FALSE(with({"--join", "@127.0.0.1:3"}).ok());
}

TEST_F(ConfigTest, InsecureIsAFlagOrABoolean) {
  EXPECT_TRUE(Parse({"--insecure"})->config.node.insecure);
  EXPECT_FALSE(Parse({"--insecure=false"})->config.node.insecure);
  EXPECT_TRUE(
      Parse({"--config", Write("i.conf", "[node]\ninsecure = true\n")})->config.node.insecure);
}

TEST(Exposure, NonLoopbackBindsNeedKeysOrInsecure) {
  EXPECT_TRUE(IsLoopbackEndpoint("tcp://127.0.0.1:1"));
  EXPECT_TRUE(IsLoopbackEndpoint("tcp://127.3.2.1:1"));
  EXPECT_TRUE(IsLoopbackEndpoint("tcp://localhost:1"));
  EXPECT_TRUE(IsLoopbackEndpoint("tcp://[::1]:1"));
  EXPECT_TRUE(IsLoopbackEndpoint("ipc:///tmp/x"));
  EXPECT_FALSE(IsLoopbackEndpoint("tcp://*:1"));
  EXPECT_FALSE(IsLoopbackEndpoint("tcp://0.0.0.0:1"));
  EXPECT_FALSE(IsLoopbackEndpoint("tcp://[::]:1"));
  EXPECT_FALSE(IsLoopbackEndpoint("tcp://10.0.0.1:1"));
  EXPECT_FALSE(IsLoopbackEndpoint("tcp://127.example.com:1"));
  EXPECT_FALSE(IsLoopbackEndpoint("tcp://eth0:1"));

  NodeConfig n;  // defaults: loopback client and admin
  EXPECT_TRUE(CheckExposure(n).ok());
  n.gossip_bind = "tcp://0.0.0.0:7472";
  n.rpc_bind = "tcp://127.0.0.1:7473";
  Status s = CheckExposure(n);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), ::testing::HasSubstr("gossip_bind = tcp://0.0.0.0:7472"));
  n.insecure = true;
  EXPECT_TRUE(CheckExposure(n).ok());
  n.insecure = false;
  n.secret_key = "k";
  n.trusted_keys = "t";
  EXPECT_TRUE(CheckExposure(n).ok());
  n.admin_bind = "tcp://10.0.0.1:7471";  // the admin endpoint needs admin_keys as well
  EXPECT_THAT(CheckExposure(n).message(), ::testing::HasSubstr("admin_bind"));
  n.admin_keys = "a";
  EXPECT_TRUE(CheckExposure(n).ok());
  n.admin_bind = "ipc:///run/livepoll/admin";
  n.admin_keys.clear();
  EXPECT_TRUE(CheckExposure(n).ok());
}

TEST(Config, WsBindOffLoopbackNeedsTokensOnEveryQuery) {
  const std::string catalog =
      "[source.s]\nplugin = soci\ndsn = sqlite3://db=x\n"
      "[query.open]\nsource = s\nsql = SELECT 1\nauth = none\n"
      "[query.mine]\nsource = s\nsql = SELECT 1\n";
  auto parse = [&](const std::string& node) {
    Result<Config> c = ParseConfigText("t.conf", "[node]\n" + node + catalog);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Config{};
  };
  Config c = parse("ws_bind = 127.0.0.1:4480\nws_idle_timeout = 5s\n");
  EXPECT_EQ(c.node.ws_bind, "127.0.0.1:4480");
  EXPECT_EQ(c.node.ws_idle_timeout, std::chrono::seconds(5));
  EXPECT_TRUE(CheckWsExposure(c).ok());
  c = parse("ws_bind = 0.0.0.0:4480\ntoken_secret = /k\n");
  Status s = CheckWsExposure(c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), ::testing::HasSubstr("query 'open' does not"));
  c.queries.erase("open");  // every query left needs a token (token_secret set, auth unset)
  EXPECT_TRUE(CheckWsExposure(c).ok());
  c = parse("ws_bind = [::]:4480\ninsecure = true\n");
  EXPECT_TRUE(CheckWsExposure(c).ok());
  c = parse("ws_bind = off\n");
  EXPECT_TRUE(CheckWsExposure(c).ok());
  for (const char* bad :
       {"ws_bind = 4480\n", "ws_bind = host:\n", "ws_bind = h:80x\n", "ws_idle_timeout = 0s\n"}) {
    Result<Config> r = ParseConfigText("t.conf", std::string("[node]\n") + bad + catalog);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

}  // namespace
}  // namespace livepoll::config
