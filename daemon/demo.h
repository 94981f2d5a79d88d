// `livepolld --demo`: a self-contained showcase. It creates an SQLite database with a small
// orders table, serves a built-in catalog of analytics queries over it, and changes the data
// every second so that `livepoll watch` shows live updates.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "config/config.h"
#include "env/env.h"
#include "livepoll/status.h"

namespace livepoll::daemon {

// Adds the demo's source ("demo", the soci plugin on `db_path`) and queries to `config`.
// Refuses when the config already has a source or query of the same name.
Status AddDemoCatalog(const std::string& db_path, config::Config& config);

// Creates (or resets) the demo database at `db_path` with seed data.
Status CreateDemoDatabase(const std::string& db_path);

// Changes the demo data every `period` until destroyed: new orders, status changes, and now and
// then a cancellation, so keyed queries see inserts, updates and deletes.
class DemoWriter {
 public:
  DemoWriter(Env& env, std::string db_path, Duration period);
  ~DemoWriter();
  DemoWriter(const DemoWriter&) = delete;
  DemoWriter& operator=(const DemoWriter&) = delete;

 private:
  void Loop();
  Env& env_;
  std::string db_path_;
  Duration period_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace livepoll::daemon
