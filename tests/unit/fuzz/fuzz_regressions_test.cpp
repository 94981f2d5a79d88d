// Replays the fuzz targets' seed corpus (tests/fuzz/corpus) and every input that once crashed one
// (tests/fuzz/regressions) through the same checks as the libFuzzer targets (tests/fuzz/checks.h),
// in the ordinary g++ build: no clang needed for a fixed crash to stay fixed. Under the sanitizers
// only in the fuzz build; here a crash fails the run and a broken contract fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "checks.h"

namespace livepoll::fuzz {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Checks every file of `dir` (none when it does not exist); returns how many there were.
int Replay(const Target& t, const fs::path& dir) {
  if (!fs::is_directory(dir)) return 0;
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    ++n;
    EXPECT_EQ(t.check(ReadAll(e.path())), "") << e.path();
  }
  return n;
}

class FuzzInputs : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzInputs, EverySeedIsHandled) {
  const Target& t = GetParam();
  EXPECT_GT(Replay(t, fs::path(LIVEPOLL_FUZZ_DIR) / "corpus" / t.name), 0)
      << "no seed corpus for " << t.name;
}

TEST_P(FuzzInputs, EveryRegressionInputIsHandled) {
  const Target& t = GetParam();
  Replay(t, fs::path(LIVEPOLL_FUZZ_DIR) / "regressions" / t.name);
}

INSTANTIATE_TEST_SUITE_P(Fuzz, FuzzInputs, ::testing::ValuesIn(kTargets),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace livepoll::fuzz
