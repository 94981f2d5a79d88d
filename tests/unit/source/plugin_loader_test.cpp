// Plugin::Load refuses every kind of bad plugin with a message naming the file (and, for version
// problems, both versions); the "memory" fixture loads and queries. (Finding plugins:
// plugin_path_test.cpp; a plugin breaking the ABI: plugin_boundary_test.cpp.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "env/env.h"
#include "source/plugin.h"

namespace livepoll::source {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return std::string(LIVEPOLL_FIXTURE_PLUGIN_DIR) + "/" + name + ".so";
}

Status LoadError(const std::string& fixture) {
  auto plugin = Plugin::Load(Env::Real(), Fixture(fixture));
  EXPECT_FALSE(plugin.ok()) << fixture << " loaded but must be refused";
  return plugin.status();
}

TEST(PluginLoader, RefusesLibraryWithoutEntryPoint) {
  Status s = LoadError("no_entry");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(Fixture("no_entry")), HasSubstr("not a livepoll data-source plugin"),
                    HasSubstr("livepoll_source_entry")));
}

TEST(PluginLoader, RefusesEntryPointReturningNull) {
  Status s = LoadError("null_entry");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(Fixture("null_entry")), HasSubstr("NULL")));
}

TEST(PluginLoader, RefusesOtherAbiMajorNamingBothVersions) {
  Status s = LoadError("abi_major_2");
  EXPECT_EQ(s.code(), Status::Code::kIncompatible);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(Fixture("abi_major_2")), HasSubstr("plugin ABI 2.x"),
                                 HasSubstr("supports 1.x")));
}

TEST(PluginLoader, RefusesStructTooSmallForAVersion) {
  Status s = LoadError("tiny_struct");
  EXPECT_EQ(s.code(), Status::Code::kIncompatible);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(Fixture("tiny_struct")), HasSubstr("4 bytes")));
}

TEST(PluginLoader, RefusesStructShorterThanAbi10NamingSizesAndVersions) {
  Status s = LoadError("short_struct");
  EXPECT_EQ(s.code(), Status::Code::kIncompatible);
  const size_t short_size = offsetof(lp_source_plugin, finalize);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(Fixture("short_struct")), HasSubstr(std::to_string(short_size)),
                    HasSubstr(std::to_string(LIVEPOLL_SOURCE_V1_0_SIZE)), HasSubstr("ABI 1.x"),
                    HasSubstr("ABI 1.0")));
}

TEST(PluginLoader, RefusesMissingRequiredCallback) {
  Status s = LoadError("missing_callback");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(Fixture("missing_callback")), HasSubstr("'query'")));
}

TEST(PluginLoader, RefusesFileThatIsNotALibrary) {
  std::string path = ::testing::TempDir() + "/not_a_library.so";
  std::ofstream(path) << "plain text";
  auto plugin = Plugin::Load(Env::Real(), path);
  ASSERT_FALSE(plugin.ok());
  EXPECT_EQ(plugin.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(plugin.status().message(), HasSubstr(path));
  std::filesystem::remove(path);
}

class MemoryPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    auto plugin = Plugin::Load(Env::Real(), Fixture("memory"));
    ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
    plugin_ = *plugin;
    auto conn = plugin_->Open("test");
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
  }

  Result<ResultSet> Run(const std::string& sql, const std::vector<std::string>& names = {},
                        const std::vector<Value>& params = {}) {
    auto stmt = conn_->Prepare(sql, names);
    if (!stmt.ok()) return stmt.status();
    return (*stmt)->Query(params);
  }

  std::shared_ptr<Plugin> plugin_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(MemoryPlugin, ReportsIdentity) {
  EXPECT_EQ(plugin_->name(), "memory");
  EXPECT_EQ(plugin_->version(), "1.0");
  EXPECT_EQ(plugin_->abi_major(), 1u);
  EXPECT_EQ(plugin_->abi_minor(), 1u);
  EXPECT_EQ(plugin_->path(), Fixture("memory"));
  auto st = conn_->Prepare("echo", {"x"});
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE((*st)->multiplexed());  // ABI 1.1's query_batch
}

// Within major version 1 the struct grows at its end: a plugin built against ABI 1.0 (its
// struct_size stops at `finalize`) still loads, and its missing query_batch is never read.
TEST(PluginLoader, LoadsAnAbi10PluginWithoutTheMultiplexedEntry) {
  auto plugin = Plugin::Load(Env::Real(), Fixture("memory_v1_0"));
  ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
  EXPECT_EQ((*plugin)->abi_minor(), 0u);
  auto conn = (*plugin)->Open("test");
  ASSERT_TRUE(conn.ok());
  auto st = (*conn)->Prepare("echo", {"x"});
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE((*st)->multiplexed());
  auto rs = (*st)->Query({Value(int64_t{4})});
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->rows, (std::vector<Row>{{int64_t{4}}}));
}

TEST_F(MemoryPlugin, StreamsRowsIntoAResultSet) {
  auto rs = Run("rows 3");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_THAT(rs->columns, ElementsAre("id", "name", "score", "flag"));
  ASSERT_EQ(rs->rows.size(), 3u);
  EXPECT_EQ(rs->rows[2], (Row{int64_t{3}, std::string("row-3"), 4.5, true}));
  EXPECT_EQ(rs->rows[1][3], Value(false));
}

TEST_F(MemoryPlugin, NoRowsStillHasColumns) {
  auto rs = Run("rows 0");
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->columns.size(), 4u);
  EXPECT_TRUE(rs->rows.empty());
}

TEST_F(MemoryPlugin, ConvertsEveryValueType) {
  auto rs = Run("types");
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ASSERT_EQ(rs->rows.size(), 1u);
  EXPECT_EQ(rs->rows[0], (Row{Null{}, int64_t{-7}, 2.5, std::string("text"),
                              Blob{std::string("\0\1\2", 3)}, true}));
}

TEST_F(MemoryPlugin, PassesParametersOfEveryType) {
  Row params{Null{}, int64_t{42}, 0.25, std::string("x' OR '1'='1"), Blob{std::string("\0z", 2)},
             false};
  auto rs = Run("echo", {"a", "b", "c", "d", "e", "f"}, params);
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_THAT(rs->columns, ElementsAre("a", "b", "c", "d", "e", "f"));
  ASSERT_EQ(rs->rows.size(), 1u);
  EXPECT_EQ(rs->rows[0], params);
}

TEST_F(MemoryPlugin, WrongParameterCountIsRefusedBeforeThePlugin) {
  auto stmt = conn_->Prepare("echo", {"a"});
  ASSERT_TRUE(stmt.ok());
  auto rs = (*stmt)->Query({});
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(MemoryPlugin, PluginErrorsBecomeStatuses) {
  auto failed = Run("error");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("query failed as asked"));

  auto unknown = Run("no such thing");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown SQL"));

  auto open = plugin_->Open("fail");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(open.status().message(), HasSubstr("as asked"));
}

TEST_F(MemoryPlugin, RowOfTheWrongWidthIsAnErrorNotACrash) {
  auto rs = Run("bad row");
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kMalformed);
  EXPECT_THAT(rs.status().message(), HasSubstr("1 values for 2 columns"));
}

TEST_F(MemoryPlugin, ConnectionStateLivesAcrossQueries) {
  auto stmt = conn_->Prepare("counter", {});
  ASSERT_TRUE(stmt.ok());
  auto first = (*stmt)->Query({});
  auto second = (*stmt)->Query({});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->rows[0][0], Value(int64_t{1}));
  EXPECT_EQ(second->rows[0][0], Value(int64_t{2}));
}

TEST_F(MemoryPlugin, StatementKeepsPluginAndConnectionAlive) {
  auto stmt = conn_->Prepare("rows 2", {});
  ASSERT_TRUE(stmt.ok());
  conn_.reset();
  plugin_.reset();  // the library would be unloaded here if the statement did not hold it
  auto rs = (*stmt)->Query({});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->rows.size(), 2u);
}

std::vector<std::string> g_logged;
void CaptureLog(int level, const std::string& plugin, const std::string& message) {
  g_logged.push_back(std::to_string(level) + " " + plugin + " " + message);
}

TEST_F(MemoryPlugin, PluginLogGoesToTheHostHook) {
  g_logged.clear();
  SetPluginLog(&CaptureLog);
  auto conn = plugin_->Open("logged-dsn");
  SetPluginLog(nullptr);
  ASSERT_TRUE(conn.ok());
  EXPECT_THAT(g_logged, ElementsAre(std::to_string(LP_LOG_INFO) + " memory opened logged-dsn"));
}

void ThrowingLog(int, const std::string&, const std::string&) { throw std::runtime_error("full"); }

// The hook runs inside the plugin's C frames: its exception must not unwind through them.
TEST_F(MemoryPlugin, HookThatThrowsDropsTheLine) {
  SetPluginLog(&ThrowingLog);
  auto conn = plugin_->Open("logged-dsn");
  SetPluginLog(nullptr);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
}

}  // namespace
}  // namespace livepoll::source
