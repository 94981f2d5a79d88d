// A plugin that breaks the ABI (tests/fixtures/hostile.c) fails its own query or open with a
// Status saying what it did, and nothing worse: the host's callbacks (the result sink, the log)
// let no exception into the plugin's C frames, and trust no length or return value further than
// the ABI promises. The connection goes on working after each.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "env/env.h"
#include "source/plugin.h"

// ASan aborts on an allocation larger than it supports instead of throwing std::bad_alloc.
#if defined(__SANITIZE_ADDRESS__)
#define LIVEPOLL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIVEPOLL_TEST_ASAN 1
#endif
#endif

namespace livepoll::source {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSizeMax = std::to_string(SIZE_MAX);

class PluginBoundary : public ::testing::Test {
 protected:
  void SetUp() override {
    auto plugin =
        Plugin::Load(Env::Real(), std::string(LIVEPOLL_FIXTURE_PLUGIN_DIR) + "/hostile.so");
    ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
    plugin_ = *plugin;
    auto conn = plugin_->Open("test");
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
  }

  void TearDown() override {
    if (!conn_) return;
    Result<ResultSet> ok = Run("ok");  // what went before did not break the connection
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_EQ(ok->rows, std::vector<Row>{Row{int64_t{1}}});
  }

  Result<ResultSet> Run(const std::string& sql) {
    auto stmt = conn_->Prepare(sql, {});
    if (!stmt.ok()) return stmt.status();
    return (*stmt)->Query({});
  }

  std::shared_ptr<Plugin> plugin_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(PluginBoundary, ColumnNameLongerThanAnyStringFailsTheQuery) {
  auto rs = Run("huge column name");
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kMalformed);
  EXPECT_EQ(rs.status().message(), "hostile: plugin sent a column name of " + kSizeMax +
                                       " bytes, more than a string can hold");
}

TEST_F(PluginBoundary, TextValueLongerThanAnyStringFailsTheQuery) {
  auto rs = Run("huge text");
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kMalformed);
  EXPECT_EQ(rs.status().message(), "hostile: plugin sent a text value of " + kSizeMax +
                                       " bytes, more than a string can hold");
}

TEST_F(PluginBoundary, ValueNoAllocationCanHoldFailsTheQueryAsOutOfMemory) {
#ifdef LIVEPOLL_TEST_ASAN
  GTEST_SKIP() << "ASan aborts on the 2^61-byte allocation instead of throwing bad_alloc";
#endif
  auto rs = Run("vast text");
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(rs.status().message(),
            "hostile: out of memory collecting the result (a text value of " +
                std::to_string(size_t{1} << 61) + " bytes)");
}

TEST_F(PluginBoundary, PluginThatIgnoresTheStopGetsRefusedAndTheFirstFailureIsReported) {
  auto rs = Run("goes on after stop");  // then a good row, columns again, a row too short
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), Status::Code::kMalformed);
  EXPECT_THAT(rs.status().message(), AllOf(HasSubstr("text value of " + kSizeMax + " bytes"),
                                           Not(HasSubstr("twice")), Not(HasSubstr("values for"))));
}

std::vector<std::string> g_logged;
void CaptureLog(int level, const std::string& plugin, const std::string& message) {
  g_logged.push_back(std::to_string(level) + " " + plugin + " " + message);
}

TEST_F(PluginBoundary, LogLineLongerThanAnyStringIsDropped) {
  g_logged.clear();
  SetPluginLog(&CaptureLog);
  auto conn = plugin_->Open("huge log");
  SetPluginLog(nullptr);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_TRUE(g_logged.empty());
}

// A plugin that quotes its DSN in an error or a log line: the password never gets out of the host.
TEST_F(PluginBoundary, PasswordsInAPluginsErrorsAndLogsAreHidden) {
  g_logged.clear();
  SetPluginLog(&CaptureLog);
  auto conn = plugin_->Open("leak host=db password=s3cret-pw");
  SetPluginLog(nullptr);
  ASSERT_FALSE(conn.ok());
  EXPECT_THAT(conn.status().message(), AllOf(HasSubstr("no server for 'leak host=db password=***'"),
                                             Not(HasSubstr("s3cret"))));
  ASSERT_EQ(g_logged.size(), 1u);
  EXPECT_THAT(g_logged[0], AllOf(HasSubstr("connecting with leak host=db password=***"),
                                 Not(HasSubstr("s3cret"))));
}

// What a C plugin can get wrong without any exception: each is an error naming it.
struct Garbage {
  std::string sql;
  Status::Code code;
  std::string message;
};
// Names the case in test names (ctest's "# GetParam() = ...") instead of dumping its bytes.
void PrintTo(const Garbage& g, std::ostream* os) { *os << g.sql; }

class PluginGarbage : public PluginBoundary, public ::testing::WithParamInterface<Garbage> {};

TEST_P(PluginGarbage, IsAnErrorNamingIt) {
  auto rs = Run(GetParam().sql);
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.status().code(), GetParam().code);
  EXPECT_EQ(rs.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    PluginBoundary, PluginGarbage,
    ::testing::Values(Garbage{"row before columns", Status::Code::kMalformed,
                              "hostile: plugin sent a row before its columns"},
                      Garbage{"unknown type", Status::Code::kMalformed,
                              "hostile: plugin sent a value of unknown type 99"},
                      Garbage{"no columns", Status::Code::kMalformed,
                              "hostile: plugin sent no columns"},
                      Garbage{"silent error", Status::Code::kUnavailable,
                              "hostile: query failed: failed (code 7) without a message"},
                      // Read up to the end of the buffer, not past it.
                      Garbage{"unterminated error", Status::Code::kUnavailable,
                              "hostile: query failed: " + std::string(1024, 'x')},
                      Garbage{"no statement", Status::Code::kInternal,
                              "hostile: prepare succeeded without a statement"}),
    [](const ::testing::TestParamInfo<Garbage>& info) {
      std::string name;
      for (char c : info.param.sql) name += c == ' ' ? '_' : c;
      return name;
    });

TEST(PluginBoundaryOpen, SuccessWithoutAConnectionIsAnError) {
  auto plugin = Plugin::Load(Env::Real(), std::string(LIVEPOLL_FIXTURE_PLUGIN_DIR) + "/hostile.so");
  ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
  auto conn = (*plugin)->Open("no connection");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Status::Code::kInternal);
  EXPECT_EQ(conn.status().message(), "hostile: open succeeded without a connection");
}

}  // namespace
}  // namespace livepoll::source
