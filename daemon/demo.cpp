#include "daemon/demo.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <random>

namespace livepoll::daemon {
namespace {

constexpr const char* kRegions[] = {"eu", "us", "apac"};
constexpr const char* kProducts[] = {"widget", "gadget", "gizmo", "doohickey", "sprocket"};
constexpr const char* kStatuses[] = {"paid", "shipped", "delivered"};
constexpr int kSeedOrders = 30;

}  // namespace

Status AddDemoCatalog(const std::string& plugin, const std::string& dsn, config::Config& cfg) {
  if (cfg.sources.count(kDemoSource))
    return Status::InvalidArgument("--demo: the config already has a source named 'demo'");
  cfg.sources[kDemoSource] = {kDemoSource, plugin, dsn, 4};
  using std::chrono::milliseconds;
  // ROUND(CAST(... AS NUMERIC), 2): PostgreSQL rounds only numerics; SQLite accepts the same.
  for (config::QueryConfig q : {
           config::QueryConfig{"revenue_by_region",
                               kDemoSource,
                               "SELECT region, COUNT(*) AS orders, "
                               "ROUND(CAST(SUM(total) AS NUMERIC), 2) AS revenue "
                               "FROM orders GROUP BY region ORDER BY region",
                               {},
                               {"region"},
                               milliseconds(1000),
                               0.1},
           config::QueryConfig{"region_revenue",
                               kDemoSource,
                               "SELECT region, COUNT(*) AS orders, "
                               "ROUND(CAST(SUM(total) AS NUMERIC), 2) AS revenue "
                               "FROM orders WHERE region = :region GROUP BY region",
                               {"region"},
                               {"region"},
                               milliseconds(1000),
                               0.1},
           config::QueryConfig{"recent_orders",
                               kDemoSource,
                               "SELECT id, product, quantity, total, status FROM orders "
                               "WHERE region = :region ORDER BY id DESC LIMIT 10",
                               {"region"},
                               {"id"},
                               milliseconds(500),
                               0.1},
           config::QueryConfig{"top_products",
                               kDemoSource,
                               "SELECT product, SUM(quantity) AS units FROM orders "
                               "GROUP BY product ORDER BY units DESC, product LIMIT 3",
                               {},
                               {},
                               milliseconds(1000),
                               0.1},
       }) {
    if (cfg.queries.count(q.name))
      return Status::InvalidArgument("--demo: the config already has a query named '" + q.name +
                                     "'");
    cfg.queries[q.name] = std::move(q);
  }
  return Status::Ok();
}

// The orders table, written through one plugin connection with prepared, parameterised DML.
class DemoWriter::Orders {
 public:
  static Result<std::unique_ptr<Orders>> Open(source::Plugin& plugin, const std::string& dsn) {
    Result<std::unique_ptr<source::Connection>> conn = plugin.Open(dsn);
    if (!conn.ok()) return Status::Unavailable("demo database: " + conn.status().message());
    auto o = std::unique_ptr<Orders>(new Orders(std::move(*conn)));
    for (const char* ddl :
         {"DROP TABLE IF EXISTS orders",
          "CREATE TABLE orders(id BIGINT PRIMARY KEY, region TEXT NOT NULL, product TEXT NOT NULL,"
          " quantity BIGINT NOT NULL, total DOUBLE PRECISION NOT NULL, status TEXT NOT NULL)"}) {
      if (Status s = o->Run(ddl, {}, {}); !s.ok()) return s;
    }
    return o;
  }

  Status Insert(std::mt19937& rng) {
    std::uniform_int_distribution<int> region(0, 2), product(0, 4), qty(1, 5), cents(500, 9999);
    const int q = qty(rng);
    const int64_t id = next_id_++;
    Status s =
        Run("INSERT INTO orders(id, region, product, quantity, total, status) "
            "VALUES (:id, :region, :product, :quantity, :total, :status)",
            {"id", "region", "product", "quantity", "total", "status"},
            {std::to_string(id), kRegions[region(rng)], kProducts[product(rng)], std::to_string(q),
             std::to_string(q * cents(rng) / 100.0), "new"});
    if (s.ok()) ids_.push_back(id);
    return s;
  }
  Status UpdateOne(std::mt19937& rng) {
    if (ids_.empty()) return Status::Ok();
    return Run("UPDATE orders SET status = :status WHERE id = :id", {"status", "id"},
               {kStatuses[rng() % 3], std::to_string(ids_[rng() % ids_.size()])});
  }
  Status RemoveOldest() {
    if (ids_.size() < 2) return Status::Ok();
    Status s = Run("DELETE FROM orders WHERE id = :id", {"id"}, {std::to_string(ids_.front())});
    if (s.ok()) ids_.pop_front();
    return s;
  }

 private:
  explicit Orders(std::unique_ptr<source::Connection> conn) : conn_(std::move(conn)) {}

  Status Run(const std::string& sql, const std::vector<std::string>& names,
             const std::vector<std::string>& values) {
    auto& st = statements_[sql];
    if (!st) {
      Result<std::unique_ptr<source::Statement>> p = conn_->Prepare(sql, names);
      if (!p.ok()) return Status::Unavailable("demo database: " + p.status().message());
      st = std::move(*p);
    }
    std::vector<Value> params(values.begin(), values.end());
    Result<ResultSet> r = st->Query(params);
    return r.ok() ? Status::Ok() : Status::Unavailable("demo database: " + r.status().message());
  }

  std::unique_ptr<source::Connection> conn_;
  std::map<std::string, std::unique_ptr<source::Statement>> statements_;  // before conn_ dies
  std::deque<int64_t> ids_;
  int64_t next_id_ = 1;
};

Result<std::unique_ptr<DemoWriter>> DemoWriter::Start(Env& env,
                                                      std::shared_ptr<source::Plugin> plugin,
                                                      const std::string& dsn, Duration period) {
  Result<std::unique_ptr<Orders>> orders = Orders::Open(*plugin, dsn);
  if (!orders.ok()) return orders.status();
  std::mt19937 rng(42);  // the same seed data every time
  for (int i = 0; i < kSeedOrders; ++i) {
    if (Status s = (*orders)->Insert(rng); !s.ok()) return s;
  }
  return std::unique_ptr<DemoWriter>(new DemoWriter(env, std::move(*orders), period));
}

DemoWriter::DemoWriter(Env& env, std::unique_ptr<Orders> orders, Duration period)
    : env_(env), orders_(std::move(orders)), period_(period) {
  thread_ = env_.StartThread("demo-writer", [this] { Loop(); });
}

DemoWriter::~DemoWriter() {
  stop_ = true;
  thread_.join();
}

void DemoWriter::Loop() {
  std::mt19937 rng(static_cast<unsigned>(env_.RandomSeed()));
  while (!stop_) {
    // Sleep in slices so that shutdown does not wait a whole period.
    for (Duration slept{}; slept < period_ && !stop_; slept += std::chrono::milliseconds(50))
      env_.SleepFor(std::chrono::milliseconds(50));
    if (stop_) break;
    Status s = orders_->Insert(rng);
    if (s.ok()) s = orders_->UpdateOne(rng);
    if (s.ok() && rng() % 4 == 0) s = orders_->RemoveOldest();
    if (!s.ok()) spdlog::warn("{}", s.message());
  }
}

}  // namespace livepoll::daemon
