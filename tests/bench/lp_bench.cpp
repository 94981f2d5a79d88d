// lp_bench: a load client for livepolld benchmarks (tests/bench/run.sh drives it).
//
//   lp_bench watchers --connect EP --clients C --topics-per-client K --query Q
//                     [--param name=fmt]... [--distinct-topics T] [--seconds S] [--json]
//       C DEALER connections (one ZeroMQ context, one thread, zmq_poll over all of them), each
//       joining K topics. Subscription j of client c uses topic index t = (c*K + j) % T (T defaults
//       to C*K); in a --param format "{t}" becomes t and "{c}" becomes c. Every connection
//       heartbeats every --heartbeat-ms (1000). Counts joins, updates, errors, seq gaps, streams
//       moved to a new epoch (and those that did not start it with a snapshot). Runs
//       --seconds S (default 10) or until SIGTERM/SIGINT, then prints its summary.
//   lp_bench latency --connect EP --db FILE --trials N [--query lat] [--gap-ms G] [--json]
//       Creates table lat(id, v) in the SQLite FILE, watches query Q with id=1 (the daemon's
//       catalog must have Q as "SELECT id, v FROM lat WHERE id = :id", any key/interval), and per
//       trial commits UPDATE lat SET v=<stamp>, waits for the update carrying <stamp> and records
//       receipt - commit. Between trials it sleeps a uniform random 0..G ms (default 200) so that
//       writes fall at uniformly random phases of the poll schedule: G must be a whole multiple of
//       the query's interval (e.g. 2 x 100 ms), else phases just after a poll are over-sampled and
//       the latency is biased upwards. Prints p50/p90/p99/max in ms.
//       With --pg-dsn DSN instead of --db, the same against PostgreSQL (through libpq, loaded at
//       run time with dlopen, so lp_bench needs no libpq at build time): creates
//       lat(id int PRIMARY KEY, v bigint) in that database if missing and commits each
//       UPDATE lat SET v = $1 WHERE id = 1 in autocommit (PQexecParams returns after the commit).
//   lp_bench initdb --db FILE [--rows N]
//       Creates tables items(id, v) with N rows (default 1000) and lat(id, v) with one row.
//   lp_bench writer --db FILE [--sql SQL] [--period-ms MS] [--seconds S]
//       Runs SQL (default: UPDATE items SET v = v + 1 WHERE id = 1) every MS ms (default 250), each
//       its own commit, for S seconds (default 3600) or until SIGTERM; prints the commit count.
//   lp_bench connect-rate --connect EP [--seconds S] [--window W] [--json]
//       Opens connections as fast as the daemon accepts them, W at a time (default 16): each
//       connects, sends a heartbeat, waits for the answer and closes. Prints connections/s.
//   lp_bench ping --connect EP [--count N] [--json]
//       N heartbeats (default 1000) one at a time on one connection, each answered before the
//       next: the round trip through the client endpoint alone (no poll, no database), p50/p99.
//   lp_bench admin --connect ADMIN_EP COMMAND [--json]
//       Sends an admin command (info, queries, subs, stats) and prints the reply as TSV with a
//       header (or one JSON object), e.g. for `stats`, which the livepoll CLI does not expose.
//
// Every mode takes --server-key KEY|FILE (the daemon's CURVE public key, Z85 text or a .pub file):
// its connections are then CURVE clients with a fresh key of their own, as `livepoll watch
// --server-key` is (tests/bench/curve_run.sh compares the two).
//
// Benchmarks measure; the exit status is non-zero only for usage errors or when nothing could be
// measured (no connection, no subscription), never for a timing bound.
#include <dlfcn.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>
#include <zmq.hpp>

#include "proto/codec.h"
#include "proto/messages.h"

namespace {

using namespace livepoll;
using Clock = std::chrono::steady_clock;
using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

[[noreturn]] void Usage(const std::string& why) {
  std::cerr
      << "lp_bench: " << why << "\n"
      << "usage: lp_bench watchers --connect EP --clients C --topics-per-client K --query Q\n"
      << "                         [--param name=fmt]... [--distinct-topics T] [--seconds S]\n"
      << "                         [--heartbeat-ms MS] [--json]\n"
      << "       lp_bench latency --connect EP (--db FILE | --pg-dsn DSN) --trials N [--query Q]\n"
      << "                         [--gap-ms G] [--timeout-ms MS] [--json]\n"
      << "       lp_bench initdb --db FILE [--rows N]\n"
      << "       lp_bench writer --db FILE [--sql SQL] [--period-ms MS] [--seconds S]\n"
      << "       lp_bench connect-rate --connect EP [--seconds S] [--window W] [--json]\n"
      << "       lp_bench ping --connect EP [--count N] [--json]\n"
      << "       lp_bench admin --connect EP COMMAND [--json]\n"
      << "every mode: [--server-key KEY|FILE] for CURVE\n";
  std::exit(2);
}

// --name value options (repeatable ones keep every value), plus positional words.
struct Args {
  std::multimap<std::string, std::string> opts;
  std::vector<std::string> positional;
  bool json = false;

  bool has(const std::string& k) const { return opts.count(k) > 0; }
  std::string str(const std::string& k, std::optional<std::string> def = std::nullopt) const {
    auto it = opts.find(k);
    if (it != opts.end()) return it->second;
    if (!def) Usage("missing --" + k);
    return *def;
  }
  long num(const std::string& k, std::optional<long> def = std::nullopt) const {
    auto it = opts.find(k);
    if (it == opts.end()) {
      if (!def) Usage("missing --" + k);
      return *def;
    }
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < 0)
      Usage("--" + k + ": not a number: " + it->second);
    return v;
  }
};

Args Parse(int argc, char** argv, int first) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--json") {
      a.json = true;
    } else if (s.rfind("--", 0) == 0) {
      std::string k = s.substr(2), v;
      if (auto eq = k.find('='); eq != std::string::npos) {
        v = k.substr(eq + 1);
        k = k.substr(0, eq);
      } else {
        if (i + 1 >= argc) Usage("--" + k + " needs a value");
        v = argv[++i];
      }
      a.opts.emplace(k, v);
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::string JsonEscape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        o += "\\\"";
        break;
      case '\\':
        o += "\\\\";
        break;
      case '\n':
        o += "\\n";
        break;
      case '\t':
        o += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

// SIGTERM/SIGINT end a watchers run early; it still prints its summary.
volatile sig_atomic_t g_stop = 0;
extern "C" void OnSignal(int) { g_stop = 1; }

double Ms(Clock::duration d) { return duration<double, std::milli>(d).count(); }

// ---------------------------------------------------------------------------------------------
// watchers

struct Conn {
  zmq::socket_t sock;
  int index = 0;
  Clock::time_point next_heartbeat;
  std::map<std::string, std::pair<uint64_t, uint64_t>> last;  // topic -> (epoch, seq)
};

struct WatchStats {
  uint64_t joins_sent = 0, joined = 0, join_errors = 0, errors = 0, updates = 0, snapshots = 0,
           diffs = 0, update_errors = 0, seq_gaps = 0, heartbeats_sent = 0, heartbeats_received = 0,
           decode_failures = 0, send_failures = 0, other = 0;
  // A topic's stream moved to a higher epoch (a failover, a reload), and of those, how many did
  // not begin with a snapshot (a broken stream).
  uint64_t new_epochs = 0, epochs_without_snapshot = 0;
  std::map<std::string, uint64_t> error_codes;
  std::optional<double> all_joined_ms;
};

// --server-key: the socket becomes a CURVE client of that key, with a keypair of its own (made
// once per run: the handshake, not key generation, is what a connection costs).
void Secure(zmq::socket_t& s, const Args& a) {
  if (!a.has("server-key")) return;
  static const std::pair<std::string, std::string> mine = [] {
    char pub[41] = {}, sec[41] = {};
    if (zmq_curve_keypair(pub, sec) != 0) Usage("--server-key: this libzmq has no CURVE");
    return std::pair<std::string, std::string>(pub, sec);
  }();
  std::string key = a.str("server-key");
  if (key.size() != 40) {
    std::ifstream in(key);
    if (!(in >> key) || key.size() != 40) Usage("--server-key: not a Z85 key or a key file");
  }
  s.set(zmq::sockopt::curve_serverkey, key);
  s.set(zmq::sockopt::curve_publickey, mine.first);
  s.set(zmq::sockopt::curve_secretkey, mine.second);
}

int Watchers(const Args& a) {
  const std::string endpoint = a.str("connect");
  const long clients = a.num("clients");
  const long per_client = a.num("topics-per-client", 1);
  const std::string query = a.str("query");
  const long distinct = a.num("distinct-topics", clients * per_client);
  const long seconds = a.num("seconds", 10);
  const milliseconds hb_every(a.num("heartbeat-ms", 1000));
  if (clients < 1 || per_client < 0 || distinct < 1) Usage("watchers: bad counts");
  std::vector<std::pair<std::string, std::string>> param_fmts;
  for (auto [it, end] = a.opts.equal_range("param"); it != end; ++it) {
    auto eq = it->second.find('=');
    if (eq == std::string::npos) Usage("--param wants name=fmt, got " + it->second);
    param_fmts.emplace_back(it->second.substr(0, eq), it->second.substr(eq + 1));
  }

  zmq::context_t ctx(1);
  ctx.set(zmq::ctxopt::max_sockets, static_cast<int>(clients) + 64);
  std::vector<Conn> conns;
  conns.reserve(static_cast<size_t>(clients));
  WatchStats st;
  const Clock::time_point start = Clock::now();
  for (long c = 0; c < clients; ++c) {
    Conn conn{zmq::socket_t(ctx, zmq::socket_type::dealer), static_cast<int>(c), {}, {}};
    conn.sock.set(zmq::sockopt::linger, 0);
    conn.sock.set(zmq::sockopt::rcvhwm, 100000);
    conn.sock.set(zmq::sockopt::sndhwm, 100000);
    Secure(conn.sock, a);
    conn.sock.connect(endpoint);
    // Spread the heartbeats over the period rather than sending C of them at once.
    conn.next_heartbeat = start + hb_every * c / clients;
    conns.push_back(std::move(conn));
  }
  auto send = [&](Conn& c, const proto::Message& m) {
    const std::string frame = proto::Encode(m);
    try {
      if (!c.sock.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
        st.send_failures++;
        return false;
      }
    } catch (const zmq::error_t&) {
      st.send_failures++;
      return false;
    }
    return true;
  };
  uint64_t next_id = 1;
  for (Conn& c : conns) {
    for (long j = 0; j < per_client; ++j) {
      const long t = (c.index * per_client + j) % distinct;
      proto::Join join{next_id++, query, {}};
      for (const auto& [name, fmt] : param_fmts)
        join.params.emplace_back(
            name, Replace(Replace(fmt, "{t}", std::to_string(t)), "{c}", std::to_string(c.index)));
      if (send(c, join)) st.joins_sent++;
    }
  }

  std::vector<zmq::pollitem_t> items;
  for (Conn& c : conns) items.push_back({c.sock.handle(), 0, ZMQ_POLLIN, 0});
  const Clock::time_point stop = start + std::chrono::seconds(seconds);
  const uint64_t want = static_cast<uint64_t>(clients * per_client);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  for (Clock::time_point now = Clock::now(); now < stop && !g_stop; now = Clock::now()) {
    for (Conn& c : conns) {
      if (now >= c.next_heartbeat) {
        if (send(c, proto::Heartbeat{})) st.heartbeats_sent++;
        c.next_heartbeat += hb_every;
      }
    }
    try {
      zmq::poll(items.data(), items.size(), milliseconds(20));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    for (size_t i = 0; i < items.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      Conn& c = conns[i];
      for (int n = 0; n < 10000; ++n) {
        zmq::message_t frame;
        if (!c.sock.recv(frame, zmq::recv_flags::dontwait)) break;
        Result<proto::Message> m = proto::Decode(frame.to_string_view());
        if (!m.ok()) {
          st.decode_failures++;
          continue;
        }
        if (auto* u = std::get_if<proto::Update>(&*m)) {
          st.updates++;
          switch (u->kind) {
            case proto::UpdateKind::kSnapshot:
              st.snapshots++;
              break;
            case proto::UpdateKind::kDiff:
              st.diffs++;
              break;
            case proto::UpdateKind::kError:
              st.update_errors++;
              break;
          }
          auto [it, fresh] = c.last.try_emplace(u->topic, u->epoch, u->seq);
          if (!fresh) {
            if (it->second.first == u->epoch && u->seq > it->second.second + 1) st.seq_gaps++;
            if (u->epoch > it->second.first) {
              st.new_epochs++;
              if (u->kind != proto::UpdateKind::kSnapshot) st.epochs_without_snapshot++;
            }
            it->second = {u->epoch, u->seq};
          }
        } else if (std::holds_alternative<proto::Joined>(*m)) {
          if (++st.joined == want) st.all_joined_ms = Ms(Clock::now() - start);
        } else if (auto* e = std::get_if<proto::Error>(&*m)) {
          st.errors++;
          st.error_codes[e->code]++;
          if (e->id != 0) st.join_errors++;
        } else if (std::holds_alternative<proto::Heartbeat>(*m)) {
          st.heartbeats_received++;
        } else {
          st.other++;
        }
      }
    }
  }
  const double elapsed = Ms(Clock::now() - start) / 1000.0;
  std::string codes;
  for (const auto& [code, n] : st.error_codes)
    codes += (codes.empty() ? "" : ",") + std::string("\"") + JsonEscape(code) +
             "\":" + std::to_string(n);
  if (a.json) {
    std::printf(
        "{\"mode\":\"watchers\",\"clients\":%ld,\"topics_per_client\":%ld,\"distinct_topics\":%ld,"
        "\"seconds\":%.3f,\"joins_sent\":%" PRIu64 ",\"subscriptions\":%" PRIu64
        ",\"all_joined_ms\":%s,\"updates\":%" PRIu64 ",\"snapshots\":%" PRIu64 ",\"diffs\":%" PRIu64
        ",\"update_errors\":%" PRIu64 ",\"seq_gaps\":%" PRIu64 ",\"errors\":%" PRIu64
        ",\"join_errors\":%" PRIu64 ",\"error_codes\":{%s},\"heartbeats_sent\":%" PRIu64
        ",\"heartbeats_received\":%" PRIu64 ",\"decode_failures\":%" PRIu64
        ",\"send_failures\":%" PRIu64 ",\"new_epochs\":%" PRIu64
        ",\"epochs_without_snapshot\":%" PRIu64 "}\n",
        clients, per_client, distinct, elapsed, st.joins_sent, st.joined,
        st.all_joined_ms ? std::to_string(*st.all_joined_ms).c_str() : "null", st.updates,
        st.snapshots, st.diffs, st.update_errors, st.seq_gaps, st.errors, st.join_errors,
        codes.c_str(), st.heartbeats_sent, st.heartbeats_received, st.decode_failures,
        st.send_failures, st.new_epochs, st.epochs_without_snapshot);
  } else {
    std::printf(
        "watchers: %ld clients x %ld topics (%ld distinct) for %.1fs: %" PRIu64 "/%" PRIu64
        " subscriptions%s, %" PRIu64 " updates (%" PRIu64 " snapshots, %" PRIu64 " diffs, %" PRIu64
        " error), %" PRIu64 " seq gaps, %" PRIu64 " errors, heartbeats %" PRIu64 "/%" PRIu64
        ", %" PRIu64 " undecodable\n",
        clients, per_client, distinct, elapsed, st.joined, st.joins_sent,
        st.all_joined_ms
            ? (" (all in " + std::to_string(static_cast<long>(*st.all_joined_ms)) + " ms)").c_str()
            : "",
        st.updates, st.snapshots, st.diffs, st.update_errors, st.seq_gaps, st.errors,
        st.heartbeats_received, st.heartbeats_sent, st.decode_failures);
  }
  return st.joined > 0 || want == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// SQLite helpers

using Db = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;

Db OpenDb(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open(path.c_str(), &raw);
  Db db(raw, &sqlite3_close);
  if (rc != SQLITE_OK) {
    std::cerr << "lp_bench: cannot open " << path << ": " << sqlite3_errmsg(raw) << "\n";
    std::exit(1);
  }
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::cerr << "lp_bench: sqlite: " << (err ? err : "?") << " in: " << sql << "\n";
    sqlite3_free(err);
    std::exit(1);
  }
}

void CreateTables(sqlite3* db, long rows) {
  Exec(db, "PRAGMA journal_mode=WAL");
  Exec(db,
       "CREATE TABLE IF NOT EXISTS lat(id INTEGER PRIMARY KEY, v INTEGER NOT NULL);"
       "INSERT OR IGNORE INTO lat VALUES(1, 0);"
       "CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, v INTEGER NOT NULL);");
  if (rows > 0) {
    Exec(db, "BEGIN");
    for (long i = 0; i < rows; ++i)
      Exec(db, "INSERT OR IGNORE INTO items VALUES(" + std::to_string(i) + ", " +
                   std::to_string(i) + ")");
    Exec(db, "COMMIT");
  }
}

int InitDb(const Args& a) {
  Db db = OpenDb(a.str("db"));
  CreateTables(db.get(), a.num("rows", 1000));
  std::printf("initdb: %s ready\n", a.str("db").c_str());
  return 0;
}

int Writer(const Args& a) {
  Db db = OpenDb(a.str("db"));
  const std::string sql = a.str("sql", std::string("UPDATE items SET v = v + 1 WHERE id = 1"));
  const milliseconds period(std::max(1L, a.num("period-ms", 250)));
  const Clock::time_point stop = Clock::now() + std::chrono::seconds(a.num("seconds", 3600));
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  uint64_t commits = 0;
  for (Clock::time_point next = Clock::now(); !g_stop && Clock::now() < stop; next += period) {
    Exec(db.get(), sql);
    commits++;
    std::this_thread::sleep_until(next + period);  // a signal ends the sleep early enough
  }
  if (a.json) {
    std::printf("{\"mode\":\"writer\",\"commits\":%" PRIu64 "}\n", commits);
  } else {
    std::printf("writer: %" PRIu64 " commits\n", commits);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL through libpq, resolved at run time (dlopen) so that the build needs no libpq.

class PgConn {
 public:
  // Exits with a message when libpq cannot be loaded or the connection fails.
  explicit PgConn(const std::string& dsn) {
    lib_ = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (lib_ == nullptr) lib_ = dlopen("libpq.so", RTLD_NOW | RTLD_LOCAL);
    if (lib_ == nullptr) Die(std::string("cannot load libpq: ") + dlerror());
    Sym(connectdb_, "PQconnectdb");
    Sym(status_, "PQstatus");
    Sym(error_message_, "PQerrorMessage");
    Sym(exec_, "PQexec");
    Sym(exec_params_, "PQexecParams");
    Sym(result_status_, "PQresultStatus");
    Sym(result_error_, "PQresultErrorMessage");
    Sym(clear_, "PQclear");
    Sym(finish_, "PQfinish");
    conn_ = connectdb_(dsn.c_str());
    if (conn_ == nullptr || status_(conn_) != 0 /* CONNECTION_OK */)
      Die("cannot connect (" + dsn +
          "): " + (conn_ ? OneLine(error_message_(conn_)) : "out of memory"));
  }
  ~PgConn() {
    if (conn_ != nullptr) finish_(conn_);
    // libpq stays loaded: unloading it at exit buys nothing.
  }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs SQL (one or more statements, no parameters); exits on failure.
  void Exec(const std::string& sql) { Check(exec_(conn_, sql.c_str()), sql); }
  // Runs SQL with text parameters $1..$n; returns false (message on stderr) on failure.
  bool ExecParams(const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    void* r = exec_params_(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0);
    const int st = r ? result_status_(r) : -1;
    if (st == 1 /* PGRES_COMMAND_OK */ || st == 2 /* PGRES_TUPLES_OK */) {
      clear_(r);
      return true;
    }
    std::cerr << "lp_bench: postgres: " << OneLine(r ? result_error_(r) : error_message_(conn_))
              << " in: " << sql << "\n";
    if (r) clear_(r);
    return false;
  }

 private:
  template <typename F>
  void Sym(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(lib_, name));
    if (f == nullptr) Die(std::string("libpq has no ") + name);
  }
  void Check(void* r, const std::string& sql) {
    const int st = r ? result_status_(r) : -1;
    if (st != 1 && st != 2) {
      std::string why = OneLine(r ? result_error_(r) : error_message_(conn_));
      if (r) clear_(r);
      Die(why + " in: " + sql);
    }
    clear_(r);
  }
  static std::string OneLine(const char* s) {
    std::string o = s ? s : "";
    while (!o.empty() && (o.back() == '\n' || o.back() == ' ')) o.pop_back();
    return Replace(o, "\n", " ");
  }
  [[noreturn]] static void Die(const std::string& why) {
    std::cerr << "lp_bench: postgres: " << why << "\n";
    std::exit(1);
  }

  void* lib_ = nullptr;
  void* conn_ = nullptr;  // PGconn*
  void* (*connectdb_)(const char*) = nullptr;
  int (*status_)(const void*) = nullptr;
  char* (*error_message_)(const void*) = nullptr;
  void* (*exec_)(void*, const char*) = nullptr;
  void* (*exec_params_)(void*, const char*, int, const unsigned int*, const char* const*,
                        const int*, const int*, int) = nullptr;
  int (*result_status_)(const void*) = nullptr;
  char* (*result_error_)(const void*) = nullptr;
  void (*clear_)(void*) = nullptr;
  void (*finish_)(void*) = nullptr;
};

// ---------------------------------------------------------------------------------------------
// latency

// Whether `u` carries column `v` == stamp (a snapshot row or a diff's insert/update row).
bool Carries(const proto::Update& u, int64_t stamp) {
  size_t col = 0;
  while (col < u.columns.size() && u.columns[col] != "v") ++col;
  if (col == u.columns.size()) col = 1;
  auto has = [&](const Row& r) {
    if (col >= r.size()) return false;
    if (auto* i = std::get_if<int64_t>(&r[col])) return *i == stamp;
    if (auto* d = std::get_if<double>(&r[col])) return *d == static_cast<double>(stamp);
    if (auto* s = std::get_if<std::string>(&r[col])) return *s == std::to_string(stamp);
    return false;
  };
  if (u.kind == proto::UpdateKind::kSnapshot) return std::any_of(u.rows.begin(), u.rows.end(), has);
  if (u.kind == proto::UpdateKind::kDiff)
    return std::any_of(u.changes.begin(), u.changes.end(), [&](const proto::Change& c) {
      return c.op != proto::Change::Op::kDelete && has(c.row);
    });
  return false;
}

double Percentile(std::vector<double> v, double p) {  // nearest-rank
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

int Latency(const Args& a) {
  const std::string endpoint = a.str("connect");
  const std::string query = a.str("query", std::string("lat"));
  const long trials = a.num("trials", 100);
  const long gap_ms = a.num("gap-ms", 200);
  const milliseconds timeout(a.num("timeout-ms", 5000));
  // The write side: SQLite (--db) or PostgreSQL (--pg-dsn).
  const bool pg = a.has("pg-dsn");
  if (pg == a.has("db")) Usage("latency: give exactly one of --db and --pg-dsn");
  Db db(nullptr, &sqlite3_close);
  std::unique_ptr<PgConn> pgc;
  if (pg) {
    pgc = std::make_unique<PgConn>(a.str("pg-dsn"));
    pgc->Exec(
        "SET client_min_messages = warning;"
        "CREATE TABLE IF NOT EXISTS lat(id int PRIMARY KEY, v bigint NOT NULL);"
        "INSERT INTO lat VALUES (1, 0) ON CONFLICT (id) DO NOTHING");
  } else {
    db = OpenDb(a.str("db"));
    CreateTables(db.get(), 0);
  }

  zmq::context_t ctx(1);
  zmq::socket_t sock(ctx, zmq::socket_type::dealer);
  sock.set(zmq::sockopt::linger, 0);
  Secure(sock, a);
  sock.connect(endpoint);
  Clock::time_point next_hb = Clock::now();
  uint64_t errors = 0, decode_failures = 0, updates = 0;
  auto send = [&](const proto::Message& m) {
    const std::string frame = proto::Encode(m);
    (void)sock.send(zmq::buffer(frame), zmq::send_flags::dontwait);
  };
  // Waits until `pred` accepts a message or `deadline`; heartbeats meanwhile.
  auto wait_for = [&](Clock::time_point deadline, auto pred) -> std::optional<Clock::time_point> {
    for (;;) {
      Clock::time_point now = Clock::now();
      if (now >= next_hb) {
        send(proto::Heartbeat{});
        next_hb = now + std::chrono::seconds(1);
      }
      if (now >= deadline) return std::nullopt;
      auto left = std::min(duration_cast<milliseconds>(deadline - now) + milliseconds(1),
                           duration_cast<milliseconds>(next_hb - now) + milliseconds(1));
      zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, left) == 0) continue;
      zmq::message_t frame;
      while (sock.recv(frame, zmq::recv_flags::dontwait)) {
        Clock::time_point got = Clock::now();
        Result<proto::Message> m = proto::Decode(frame.to_string_view());
        if (!m.ok()) {
          decode_failures++;
          continue;
        }
        if (auto* e = std::get_if<proto::Error>(&*m)) {
          errors++;
          std::cerr << "lp_bench: error from daemon: " << e->code << ": " << e->message << "\n";
        }
        if (std::holds_alternative<proto::Update>(*m)) updates++;
        if (pred(*m)) return got;
      }
    }
  };

  send(proto::Join{1, query, {{"id", "1"}}});
  bool joined = false;
  auto first = wait_for(Clock::now() + std::chrono::seconds(10), [&](const proto::Message& m) {
    if (std::holds_alternative<proto::Joined>(m)) joined = true;
    if (auto* e = std::get_if<proto::Error>(&m); e && e->id == 1) return true;
    auto* u = std::get_if<proto::Update>(&m);
    return joined && u && u->kind == proto::UpdateKind::kSnapshot;
  });
  if (!first || !joined) {
    std::cerr << "lp_bench: latency: could not join " << query << " (no snapshot within 10s)\n";
    return 1;
  }

  sqlite3_stmt* raw = nullptr;
  if (!pg && sqlite3_prepare_v2(db.get(), "UPDATE lat SET v = ? WHERE id = 1", -1, &raw, nullptr) !=
                 SQLITE_OK) {
    std::cerr << "lp_bench: prepare: " << sqlite3_errmsg(db.get()) << "\n";
    return 1;
  }
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<long> gap(0, std::max(0L, gap_ms));
  std::vector<double> lat;
  long lost = 0;
  const int64_t base = static_cast<int64_t>(duration_cast<milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count()) *
                       1000;
  const Clock::time_point start = Clock::now();
  for (long i = 0; i < trials; ++i) {
    // A random pause (still heartbeating and draining) puts the write at a random poll phase.
    wait_for(Clock::now() + milliseconds(gap(rng)), [](const proto::Message&) { return false; });
    const int64_t stamp = base + i + 1;
    if (pg) {
      if (!pgc->ExecParams("UPDATE lat SET v = $1 WHERE id = 1", {std::to_string(stamp)})) return 1;
    } else {
      sqlite3_reset(stmt.get());
      sqlite3_bind_int64(stmt.get(), 1, stamp);
      if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
        std::cerr << "lp_bench: update: " << sqlite3_errmsg(db.get()) << "\n";
        return 1;
      }
    }
    const Clock::time_point committed = Clock::now();  // autocommit: the commit is done
    auto got = wait_for(committed + timeout, [&](const proto::Message& m) {
      auto* u = std::get_if<proto::Update>(&m);
      return u && Carries(*u, stamp);
    });
    if (got) {
      lat.push_back(Ms(*got - committed));
    } else {
      lost++;
    }
  }
  const double wall = Ms(Clock::now() - start) / 1000.0;
  send(proto::Leave{2, query + "?id=1"});
  const double p50 = Percentile(lat, 50), p90 = Percentile(lat, 90), p99 = Percentile(lat, 99),
               mx = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()),
               mn = lat.empty() ? 0 : *std::min_element(lat.begin(), lat.end());
  double mean = 0;
  for (double x : lat) mean += x;
  if (!lat.empty()) mean /= static_cast<double>(lat.size());
  if (a.json) {
    std::printf(
        "{\"mode\":\"latency\",\"backend\":\"%s\",\"query\":\"%s\",\"trials\":%ld,\"received\":%zu,"
        "\"lost\":%ld,"
        "\"min_ms\":%.2f,\"mean_ms\":%.2f,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,"
        "\"max_ms\":%.2f,\"updates\":%" PRIu64 ",\"errors\":%" PRIu64
        ",\"decode_failures\":%" PRIu64 ",\"seconds\":%.3f}\n",
        pg ? "postgres" : "sqlite", JsonEscape(query).c_str(), trials, lat.size(), lost, mn, mean,
        p50, p90, p99, mx, updates, errors, decode_failures, wall);
  } else {
    std::printf(
        "latency: %s, %zu/%ld trials received (%ld lost): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, "
        "max %.1f ms (min %.1f, mean %.1f), %" PRIu64 " errors\n",
        query.c_str(), lat.size(), trials, lost, p50, p90, p99, mx, mn, mean, errors);
  }
  return lat.empty() ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// admin

std::string Text(const Value& v) {
  struct V {
    std::string operator()(const Null&) const { return ""; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      std::ostringstream o;
      o << d;
      return o.str();
    }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const Blob& b) const { return b.bytes; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
  };
  return std::visit(V{}, v);
}

int ConnectRate(const Args& a) {
  const std::string endpoint = a.str("connect");
  const Clock::duration run = std::chrono::seconds(a.num("seconds", 5));
  const size_t window = static_cast<size_t>(std::max(1L, a.num("window", 16)));
  const milliseconds give_up(a.num("timeout-ms", 5000));
  zmq::context_t ctx(1);
  const std::string heartbeat = proto::Encode(proto::Heartbeat{});
  struct Pending {
    zmq::socket_t sock;
    Clock::time_point opened;
  };
  std::vector<Pending> open;
  uint64_t done = 0, failed = 0;
  std::vector<double> handshake_ms;
  const Clock::time_point start = Clock::now();
  while (Clock::now() - start < run) {
    while (open.size() < window) {
      Pending p{zmq::socket_t(ctx, zmq::socket_type::dealer), Clock::now()};
      p.sock.set(zmq::sockopt::linger, 0);
      Secure(p.sock, a);
      p.sock.connect(endpoint);
      (void)p.sock.send(zmq::buffer(heartbeat), zmq::send_flags::dontwait);
      open.push_back(std::move(p));
    }
    std::vector<zmq::pollitem_t> items;
    for (Pending& p : open) items.push_back({p.sock.handle(), 0, ZMQ_POLLIN, 0});
    zmq::poll(items.data(), items.size(), milliseconds(50));
    const Clock::time_point now = Clock::now();
    for (size_t i = open.size(); i-- > 0;) {
      zmq::message_t m;
      const bool answered = (items[i].revents & ZMQ_POLLIN) &&
                            open[i].sock.recv(m, zmq::recv_flags::dontwait).has_value();
      if (answered) {
        done++;
        handshake_ms.push_back(Ms(now - open[i].opened));
      } else if (now - open[i].opened > give_up) {
        failed++;
      } else {
        continue;
      }
      open.erase(open.begin() + static_cast<long>(i));
    }
  }
  const double secs = Ms(Clock::now() - start) / 1000.0;
  if (done == 0) {
    std::cerr << "lp_bench: connect-rate: no connection was answered by " << endpoint << "\n";
    return 1;
  }
  const double p50 = Percentile(handshake_ms, 50), p99 = Percentile(handshake_ms, 99);
  if (a.json) {
    std::printf("{\"mode\":\"connect-rate\",\"connections\":%" PRIu64 ",\"failed\":%" PRIu64
                ",\"seconds\":%.3f,\"per_second\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
                done, failed, secs, static_cast<double>(done) / secs, p50, p99);
  } else {
    std::printf("%" PRIu64
                " connections in %.1f s: %.0f/s (connect to first answer p50 %.2f ms, "
                "p99 %.2f ms), %" PRIu64 " unanswered\n",
                done, secs, static_cast<double>(done) / secs, p50, p99, failed);
  }
  return 0;
}

int Ping(const Args& a) {
  const long count = std::max(1L, a.num("count", 1000));
  zmq::context_t ctx(1);
  zmq::socket_t sock(ctx, zmq::socket_type::dealer);
  sock.set(zmq::sockopt::linger, 0);
  Secure(sock, a);
  sock.connect(a.str("connect"));
  const std::string heartbeat = proto::Encode(proto::Heartbeat{});
  std::vector<double> rtt;
  for (long i = -10; i < count; ++i) {  // the first ten warm the connection (and the handshake)
    const Clock::time_point sent = Clock::now();
    (void)sock.send(zmq::buffer(heartbeat), zmq::send_flags::none);
    zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, milliseconds(5000)) == 0) {
      std::cerr << "lp_bench: ping: no answer from " << a.str("connect") << "\n";
      return 1;
    }
    zmq::message_t m;
    (void)sock.recv(m);
    if (i >= 0) rtt.push_back(Ms(Clock::now() - sent));
  }
  const double p50 = Percentile(rtt, 50), p99 = Percentile(rtt, 99);
  if (a.json) {
    std::printf("{\"mode\":\"ping\",\"count\":%ld,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n", count, p50,
                p99);
  } else {
    std::printf("%ld round trips: p50 %.3f ms, p99 %.3f ms\n", count, p50, p99);
  }
  return 0;
}

int Admin(const Args& a) {
  if (a.positional.size() != 1) Usage("admin: want exactly one COMMAND");
  zmq::context_t ctx(1);
  zmq::socket_t sock(ctx, zmq::socket_type::dealer);
  sock.set(zmq::sockopt::linger, 0);
  Secure(sock, a);
  sock.connect(a.str("connect"));
  const std::string frame = proto::Encode(proto::AdminRequest{1, a.positional[0], {}});
  sock.send(zmq::buffer(frame), zmq::send_flags::dontwait);
  zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, milliseconds(a.num("timeout-ms", 5000))) == 0) {
    std::cerr << "lp_bench: admin: no answer from " << a.str("connect") << "\n";
    return 1;
  }
  zmq::message_t msg;
  (void)sock.recv(msg);
  Result<proto::Message> m = proto::Decode(msg.to_string_view());
  if (!m.ok()) {
    std::cerr << "lp_bench: admin: " << m.status().ToString() << "\n";
    return 1;
  }
  auto* r = std::get_if<proto::AdminReply>(&*m);
  if (!r || !r->code.empty()) {
    std::cerr << "lp_bench: admin: " << (r ? r->code + ": " + r->message : "unexpected reply")
              << "\n";
    return 1;
  }
  if (a.json) {
    std::string out = "{";
    for (const Row& row : r->rows) {
      if (row.size() < 2) continue;
      if (out.size() > 1) out += ",";
      out += "\"" + JsonEscape(Text(row[0])) + "\":";
      out += std::holds_alternative<int64_t>(row[1]) ? Text(row[1])
                                                     : "\"" + JsonEscape(Text(row[1])) + "\"";
    }
    std::printf("%s}\n", out.c_str());
    return 0;
  }
  for (size_t i = 0; i < r->columns.size(); ++i)
    std::printf("%s%s", i ? "\t" : "", r->columns[i].c_str());
  std::printf("\n");
  for (const Row& row : r->rows) {
    for (size_t i = 0; i < row.size(); ++i)
      std::printf("%s%s", i ? "\t" : "", Text(row[i]).c_str());
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Usage("missing mode");
  const std::string mode = argv[1];
  const Args a = Parse(argc, argv, 2);
  try {
    if (mode == "watchers") return Watchers(a);
    if (mode == "latency") return Latency(a);
    if (mode == "initdb") return InitDb(a);
    if (mode == "admin") return Admin(a);
    if (mode == "connect-rate") return ConnectRate(a);
    if (mode == "ping") return Ping(a);
    if (mode == "writer") return Writer(a);
  } catch (const zmq::error_t& e) {
    std::cerr << "lp_bench: zmq: " << e.what() << "\n";
    return 1;
  }
  Usage("unknown mode " + mode);
}
