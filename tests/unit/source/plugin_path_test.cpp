// Plugins are found on disk: --plugin-dir, else LIVEPOLL_PLUGIN_PATH (read through the Env), else
// the install folder next to the executable and the build folder.
#include "source/plugin_path.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "env/fake_env.h"

namespace livepoll::source {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;

TEST(PluginSearchPath, ExplicitDirWinsOverEnvironment) {
  FakeEnv env;
  env.SetEnv("LIVEPOLL_PLUGIN_PATH", "/from/env");
  EXPECT_THAT(PluginSearchPath(env, "/explicit"), ElementsAre("/explicit"));
}

TEST(PluginSearchPath, EnvironmentListsFoldersInOrderSkippingEmptyOnes) {
  FakeEnv env;
  env.SetEnv("LIVEPOLL_PLUGIN_PATH", "/a::/b:");
  EXPECT_THAT(PluginSearchPath(env, ""), ElementsAre("/a", "/b"));
}

TEST(PluginSearchPath, DefaultIsInstallFolderNextToExeThenBuildFolder) {
  FakeEnv env;  // no LIVEPOLL_PLUGIN_PATH, whatever the process's environment holds
  auto dirs = PluginSearchPath(env, "");
  ASSERT_EQ(dirs.size(), 2u);
  std::string exe_parent =
      std::filesystem::canonical("/proc/self/exe").parent_path().parent_path().string();
  EXPECT_EQ(dirs[0].rfind(exe_parent + "/", 0), 0u) << dirs[0];
  EXPECT_THAT(dirs[0], EndsWith("/livepoll/plugins"));
  EXPECT_EQ(dirs[1], LIVEPOLL_BUILD_PLUGIN_DIR);
}

TEST(PluginSearchPath, EmptyEnvironmentVariableMeansTheDefault) {
  FakeEnv env;
  env.SetEnv("LIVEPOLL_PLUGIN_PATH", "");
  auto dirs = PluginSearchPath(env, "");
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(dirs[1], LIVEPOLL_BUILD_PLUGIN_DIR);
}

TEST(FindPlugin, TakesTheFirstFolderThatHasIt) {
  auto found = FindPlugin("memory", {"/nonexistent", LIVEPOLL_FIXTURE_PLUGIN_DIR});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, std::string(LIVEPOLL_FIXTURE_PLUGIN_DIR) + "/memory.so");
}

TEST(FindPlugin, FindsTheBuiltSociPluginByDefault) {
  FakeEnv env;
  auto found = FindPlugin("soci", PluginSearchPath(env, ""));
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_THAT(*found, EndsWith("/soci.so"));
}

TEST(FindPlugin, PathWithSlashIsTakenAsIs) {
  auto found = FindPlugin("./somewhere/x.so", {LIVEPOLL_FIXTURE_PLUGIN_DIR});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, "./somewhere/x.so");
}

TEST(FindPlugin, NotFoundListsTheFoldersSearched) {
  auto found = FindPlugin("nope", {"/first", "/second"});
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(found.status().message(),
              AllOf(HasSubstr("'nope'"), HasSubstr("/first"), HasSubstr("/second")));
}

}  // namespace
}  // namespace livepoll::source
