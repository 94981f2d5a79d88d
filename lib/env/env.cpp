#include "env/env.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "env/fake_env.h"

namespace livepoll {
namespace {

class DlLibrary : public SharedLibrary {
 public:
  DlLibrary(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  ~DlLibrary() override { dlclose(handle_); }
  void* Symbol(const char* name) override { return dlsym(handle_, name); }
  const std::string& path() const override { return path_; }

 private:
  void* handle_;
  std::string path_;
};

std::thread StartNamedThread(std::string name, std::function<void()> fn) {
  return std::thread([name = std::move(name), fn = std::move(fn)] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    fn();
  });
}

Result<std::unique_ptr<SharedLibrary>> DlOpen(const std::string& path) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status::Unavailable("cannot load plugin " + path + ": " + (why ? why : "unknown error"));
  }
  return std::unique_ptr<SharedLibrary>(new DlLibrary(handle, path));
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    const std::string why = path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(why) : Status::Unavailable(why);
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return Status::Unavailable(path + ": " + std::strerror(err));
  return text;
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string AddressText(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = "";
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
  return text;
}

Result<Route> Routing(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int err = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); err != 0)
    return Status::NotFound("cannot resolve '" + host + "': " + gai_strerror(err));
  Route route{AddressText(found->ai_addr), ""};
  // A connected UDP socket has the local address the kernel's routing picked for the
  // destination; connect() on UDP sends nothing.
  int fd = socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int err = 0;
  if (fd < 0 || connect(fd, found->ai_addr, found->ai_addrlen) != 0) err = errno;
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (err == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) err = errno;
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  if (err != 0)
    return Status::Unavailable("no route to '" + host + "' (" + route.remote +
                               "): " + std::strerror(err));
  route.local = AddressText(reinterpret_cast<const sockaddr*>(&local));
  return route;
}

class RealEnv : public Env {
 public:
  Time Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
  std::thread StartThread(std::string name, std::function<void()> fn) override {
    return StartNamedThread(std::move(name), std::move(fn));
  }
  Result<std::unique_ptr<SharedLibrary>> OpenLibrary(const std::string& path) override {
    return DlOpen(path);
  }
  uint64_t RandomSeed() override { return std::random_device{}(); }
  Result<std::string> ReadFile(const std::string& path) override { return ReadWholeFile(path); }
  std::optional<std::string> GetEnv(const std::string& name) const override {
    return ProcessEnv(name);
  }
  Result<Route> RouteTo(const std::string& host, uint16_t port) override {
    return Routing(host, port);
  }
};

}  // namespace

Env& Env::Real() {
  static RealEnv env;
  return env;
}

Time FakeEnv::Now() const { return Time(std::chrono::nanoseconds(now_ns_.load())); }
WallTime FakeEnv::WallNow() const {
  return WallTime(
      std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(now_ns_.load())));
}
std::thread FakeEnv::StartThread(std::string name, std::function<void()> fn) {
  return StartNamedThread(std::move(name), std::move(fn));
}
Result<std::unique_ptr<SharedLibrary>> FakeEnv::OpenLibrary(const std::string& path) {
  return DlOpen(path);
}
Result<std::string> FakeEnv::ReadFile(const std::string& path) { return ReadWholeFile(path); }
std::optional<std::string> FakeEnv::GetEnv(const std::string& name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}
void FakeEnv::SetEnv(const std::string& name, std::optional<std::string> value) {
  if (value)
    vars_[name] = *value;
  else
    vars_.erase(name);
}
Result<Route> FakeEnv::RouteTo(const std::string& host, uint16_t /*port*/) {
  auto it = routes_.find(host);
  if (it == routes_.end()) return Status::NotFound("cannot resolve '" + host + "': unknown host");
  return it->second;
}
void FakeEnv::SetRoute(const std::string& host, Result<Route> route) {
  routes_.insert_or_assign(host, std::move(route));
}
void FakeEnv::Advance(Duration d) { now_ns_ += d.count(); }

}  // namespace livepoll
