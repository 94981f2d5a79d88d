// The Env: livepoll's one door to time, threads and dynamic libraries (cf. leveldb's env.h).
// Production code takes an Env& and never calls a clock, std::thread or dlopen itself, so tests can
// substitute FakeEnv (fake_env.h) and drive time by hand.
//
// Thread safety: every Env method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "livepoll/status.h"
#include "livepoll/time.h"

namespace livepoll {

// A dlopen'ed library; dlclose on destruction.
class SharedLibrary {
 public:
  virtual ~SharedLibrary() = default;
  // The address of `name`, or nullptr when the library does not export it.
  virtual void* Symbol(const char* name) = 0;
  virtual const std::string& path() const = 0;
};

// How this host reaches another (Env::RouteTo).
struct Route {
  std::string remote;  // the address the host name resolved to (first), as text
  std::string local;   // the local address the system sends from to reach it, as text
};

class Env {
 public:
  virtual ~Env() = default;

  virtual Time Now() const = 0;
  virtual WallTime WallNow() const = 0;
  virtual void SleepFor(Duration d) = 0;
  // Starts a named thread (the name shows in `top -H`, truncated to 15 characters).
  virtual std::thread StartThread(std::string name, std::function<void()> fn) = 0;
  // dlopen(path, RTLD_NOW | RTLD_LOCAL); the error names the path and dlerror()'s reason.
  virtual Result<std::unique_ptr<SharedLibrary>> OpenLibrary(const std::string& path) = 0;
  // A seed for jitter and other randomness; fixed in tests.
  virtual uint64_t RandomSeed() = 0;
  // The whole content of the file at `path`; NotFound / Unavailable naming the path and the
  // system's reason.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // The environment variable `name`, or nullopt when it is not set.
  virtual std::optional<std::string> GetEnv(const std::string& name) const = 0;
  // How this host reaches `host` (a name or a literal address, IPv6 without brackets) at `port`:
  // the first address it resolves to, and the local address of the route there (a UDP socket
  // connected to it, then getsockname: nothing is sent). NotFound when the name does not resolve,
  // Unavailable when there is no route; the message names the host and the system's reason.
  virtual Result<Route> RouteTo(const std::string& host, uint16_t port) = 0;

  // The process-wide real Env.
  static Env& Real();
};

}  // namespace livepoll
