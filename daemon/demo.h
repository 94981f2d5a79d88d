// `livepolld --demo`: a self-contained showcase. It creates an orders table with seed data in the
// demo's database (a temporary SQLite file by default, or any database a plugin reaches, e.g.
// PostgreSQL with --demo-plugin postgres --demo-dsn ...), serves a built-in catalog of analytics
// queries over it, and changes the data every second so that `livepoll watch` shows live updates.
//
// The demo writes through the same plugin ABI the pollers read through, so it needs no database
// library of its own and runs unchanged on every backend whose SQL it uses (portable SQL only).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "env/env.h"
#include "livepoll/status.h"
#include "source/plugin.h"

namespace livepoll::daemon {

inline constexpr const char* kDemoSource = "demo";
// With --demo and no ws_bind: the WebSocket gateway and the web page listen here.
inline constexpr const char* kDemoWsBind = "127.0.0.1:4480";

// Adds the demo's source (`plugin` on `dsn`) and queries to `config`. Refuses when the config
// already has a source or query of the same name.
Status AddDemoCatalog(const std::string& plugin, const std::string& dsn, config::Config& config);

// Changes the demo data every `period` until destroyed: new orders, status changes, and now and
// then a removal, so keyed queries see inserts, updates and deletes.
class DemoWriter {
 public:
  // (Re)creates the orders table with seed data through `plugin` on `dsn`, then starts writing.
  static Result<std::unique_ptr<DemoWriter>> Start(Env& env, std::shared_ptr<source::Plugin> plugin,
                                                   const std::string& dsn, Duration period);
  ~DemoWriter();
  DemoWriter(const DemoWriter&) = delete;
  DemoWriter& operator=(const DemoWriter&) = delete;

 private:
  class Orders;
  DemoWriter(Env& env, std::unique_ptr<Orders> orders, Duration period);
  void Loop();

  Env& env_;
  std::unique_ptr<Orders> orders_;
  Duration period_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace livepoll::daemon
