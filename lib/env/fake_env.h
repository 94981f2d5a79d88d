// FakeEnv: a real Env whose clock only moves when a test says so, and whose environment variables
// and routes are the test's own (none until SetEnv / SetRoute). Threads, files and dlopen are real.
#pragma once

#include <atomic>
#include <map>

#include "env/env.h"

namespace livepoll {

class FakeEnv : public Env {
 public:
  explicit FakeEnv(uint64_t seed = 1) : seed_(seed) {}

  Time Now() const override;
  WallTime WallNow() const override;
  // Advances the fake clock instead of sleeping, so code that sleeps finishes at once.
  void SleepFor(Duration d) override { Advance(d); }
  std::thread StartThread(std::string name, std::function<void()> fn) override;
  Result<std::unique_ptr<SharedLibrary>> OpenLibrary(const std::string& path) override;
  uint64_t RandomSeed() override { return seed_; }
  Result<std::string> ReadFile(const std::string& path) override;
  std::optional<std::string> GetEnv(const std::string& name) const override;
  // What SetRoute said for `host` (the port is ignored); NotFound for a host it was not told of.
  Result<Route> RouteTo(const std::string& host, uint16_t port) override;

  void Advance(Duration d);
  // Sets (or, with nullopt, unsets) an environment variable GetEnv reports.
  // REQUIRES: no other thread reads the environment meanwhile.
  void SetEnv(const std::string& name, std::optional<std::string> value);
  // RouteTo(host) answers `route` from now on. REQUIRES: no other thread calls RouteTo meanwhile.
  void SetRoute(const std::string& host, Result<Route> route);

 private:
  uint64_t seed_;
  std::map<std::string, std::string> vars_;
  std::map<std::string, Result<Route>> routes_;
  std::atomic<int64_t> now_ns_{1'000'000'000};  // start at 1 s, not 0, so "never" (0) differs
};

}  // namespace livepoll
