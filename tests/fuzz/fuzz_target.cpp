// The libFuzzer entry point of one target: compiled once per target with LIVEPOLL_FUZZ_TARGET set
// to its name (CMakeLists.txt). The property it checks is in checks.cpp, shared with the unit
// test that replays the corpus; a violation aborts, which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "checks.h"

namespace {

livepoll::fuzz::Check TheCheck() {
  for (const auto& t : livepoll::fuzz::kTargets)
    if (std::string_view(t.name) == LIVEPOLL_FUZZ_TARGET) return t.check;
  std::abort();  // CMakeLists.txt names only targets of kTargets
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const livepoll::fuzz::Check check = TheCheck();
  const std::string problem = check(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_%s: %s\n", LIVEPOLL_FUZZ_TARGET, problem.c_str());
    std::abort();
  }
  return 0;
}
