#include "daemon/demo.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <memory>
#include <random>

namespace livepoll::daemon {
namespace {

constexpr const char* kRegions[] = {"eu", "us", "apac"};
constexpr const char* kProducts[] = {"widget", "gadget", "gizmo", "doohickey", "sprocket"};

using Db = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;

Result<Db> OpenDb(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open(path.c_str(), &raw);
  Db db(raw, &sqlite3_close);
  if (rc != SQLITE_OK)
    return Status::Unavailable("cannot open demo database " + path + ": " + sqlite3_errmsg(raw));
  // The pollers read while this writes: WAL lets them, and a busy wait beats an error.
  sqlite3_busy_timeout(raw, 2000);
  sqlite3_exec(raw, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  return db;
}

Status Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Unavailable("demo database: " + why);
  }
  return Status::Ok();
}

std::string InsertOrder(std::mt19937& rng) {
  std::uniform_int_distribution<int> region(0, 2), product(0, 4), qty(1, 5), cents(500, 9999);
  int q = qty(rng);
  return "INSERT INTO orders(region, product, quantity, total, status) VALUES('" +
         std::string(kRegions[region(rng)]) + "','" + kProducts[product(rng)] + "'," +
         std::to_string(q) + "," + std::to_string(q * cents(rng) / 100.0) + ",'new');";
}

}  // namespace

Status AddDemoCatalog(const std::string& db_path, config::Config& cfg) {
  if (cfg.sources.count("demo"))
    return Status::InvalidArgument("--demo: the config already has a source named 'demo'");
  cfg.sources["demo"] = {"demo", "soci", "sqlite3://db=" + db_path, 4};
  auto add = [&](config::QueryConfig q) -> Status {
    if (cfg.queries.count(q.name))
      return Status::InvalidArgument("--demo: the config already has a query named '" + q.name + "'");
    q.source = "demo";
    cfg.queries[q.name] = std::move(q);
    return Status::Ok();
  };
  using std::chrono::milliseconds;
  for (config::QueryConfig q : {
           config::QueryConfig{"revenue_by_region", "",
                               "SELECT region, COUNT(*) AS orders, ROUND(SUM(total), 2) AS revenue "
                               "FROM orders GROUP BY region ORDER BY region",
                               {}, {"region"}, milliseconds(1000), 0.1},
           config::QueryConfig{"region_revenue", "",
                               "SELECT region, COUNT(*) AS orders, ROUND(SUM(total), 2) AS revenue "
                               "FROM orders WHERE region = :region GROUP BY region",
                               {"region"}, {"region"}, milliseconds(1000), 0.1},
           config::QueryConfig{"recent_orders", "",
                               "SELECT id, product, quantity, total, status FROM orders "
                               "WHERE region = :region ORDER BY id DESC LIMIT 10",
                               {"region"}, {"id"}, milliseconds(500), 0.1},
           config::QueryConfig{"top_products", "",
                               "SELECT product, SUM(quantity) AS units FROM orders "
                               "GROUP BY product ORDER BY units DESC, product LIMIT 3",
                               {}, {}, milliseconds(1000), 0.1},
       }) {
    if (Status s = add(std::move(q)); !s.ok()) return s;
  }
  return Status::Ok();
}

Status CreateDemoDatabase(const std::string& db_path) {
  Result<Db> db = OpenDb(db_path);
  if (!db.ok()) return db.status();
  std::string sql =
      "DROP TABLE IF EXISTS orders;"
      "CREATE TABLE orders(id INTEGER PRIMARY KEY, region TEXT NOT NULL, product TEXT NOT NULL,"
      " quantity INTEGER NOT NULL, total REAL NOT NULL, status TEXT NOT NULL);"
      "BEGIN;";
  std::mt19937 rng(42);
  for (int i = 0; i < 30; ++i) sql += InsertOrder(rng);
  sql += "COMMIT;";
  return Exec(db->get(), sql);
}

DemoWriter::DemoWriter(Env& env, std::string db_path, Duration period)
    : env_(env), db_path_(std::move(db_path)), period_(period) {
  thread_ = env_.StartThread("demo-writer", [this] { Loop(); });
}

DemoWriter::~DemoWriter() {
  stop_ = true;
  thread_.join();
}

void DemoWriter::Loop() {
  Result<Db> db = OpenDb(db_path_);
  if (!db.ok()) {
    spdlog::error("{}", db.status().message());
    return;
  }
  std::mt19937 rng(static_cast<unsigned>(env_.RandomSeed()));
  const char* statuses[] = {"paid", "shipped", "delivered"};
  while (!stop_) {
    // Sleep in slices so that shutdown does not wait a whole period.
    for (Duration slept{}; slept < period_ && !stop_; slept += std::chrono::milliseconds(50))
      env_.SleepFor(std::chrono::milliseconds(50));
    if (stop_) break;
    std::string sql = "BEGIN;" + InsertOrder(rng);
    sql += "UPDATE orders SET status = '" + std::string(statuses[rng() % 3]) +
           "' WHERE id = (SELECT id FROM orders ORDER BY random() LIMIT 1);";
    if (rng() % 4 == 0) sql += "DELETE FROM orders WHERE id = (SELECT MIN(id) FROM orders);";
    sql += "COMMIT;";
    if (Status s = Exec(db->get(), sql); !s.ok()) {
      spdlog::warn("{}", s.message());
      Exec(db->get(), "ROLLBACK;");
    }
  }
}

}  // namespace livepoll::daemon
