// ws_bench: a load client for livepolld's WebSocket gateway (Phoenix Channels V2 JSON), written
// for the benchmarks of ws_run.sh. One thread, one Asio io_context, any number of connections
// (each costs one file descriptor: raise `ulimit -n` for thousands).
//
//   ws_bench idle    --url URL --connections N [--seconds S]
//       opens N WebSocket connections that join nothing and only send Phoenix's heartbeat (every
//       30 s, as phoenix.js): what an idle browser tab costs the daemon. Prints, once all are
//       open (or failed) and each has had its first heartbeat answered, a line
//       `open N FAILED MS`, then holds them until SIGTERM or S seconds.
//   ws_bench fanout  --url URL --connections N --topics T --query Q [--param NAME=VALUE]...
//                    [--distinct-topics D] [--seconds S]
//       N connections each join T topics (`live:Q?NAME=VALUE&...`; `{t}` in a value is the topic's
//       number, taken round-robin over D distinct topics, default T) and count what is pushed:
//       updates (diff and snapshot pushes), errors, seq gaps (a diff that does not continue its
//       topic's (epoch, seq) on that connection), and join -> reply latency. Runs S seconds or
//       until SIGTERM; prints the counts then.
//   ws_bench joins   --url URL --query Q [--param NAME=VALUE]... --count J
//       one connection joins J topics one after another (each waits for the previous reply):
//       phx_join sent -> phx_reply (the snapshot) received, p50/p99, without a burst's queueing.
//   ws_bench latency --url URL --db FILE --trials N [--query lat] [--gap-ms G]
//       one connection joins `live:Q?id=1` (Q's SQL must be "SELECT id, v FROM lat WHERE id =
//       :id"), and per trial commits UPDATE lat SET v=<stamp> to the SQLite file and waits for the
//       push carrying <stamp>: commit -> browser-side push, p50/p90/p99.
// Every mode prints one JSON object with --json (else a line for people). A frame is read with a
// cheap scan for its event and seq (the gateway writes them in a fixed shape), so that the client
// spends its CPU on the socket rather than on parsing; a reply is parsed in full.
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>  // before Boost 1.74's Asio: its awaitable.hpp uses std::exchange unincluded
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ws = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string mode;
  std::map<std::string, std::vector<std::string>> opts;
  bool has(const std::string& k) const { return opts.count(k) != 0; }
  std::string get(const std::string& k, const std::string& dflt = "") const {
    auto it = opts.find(k);
    return it == opts.end() || it->second.empty() ? dflt : it->second.back();
  }
  long num(const std::string& k, long dflt) const {
    return has(k) ? std::strtol(get(k).c_str(), nullptr, 10) : dflt;
  }
};

[[noreturn]] void Usage(const std::string& why) {
  std::cerr
      << "ws_bench: " << why << "\n"
      << "usage: ws_bench idle --url URL --connections N [--seconds S] [--json]\n"
      << "       ws_bench fanout --url URL --connections N --topics T --query Q\n"
      << "                [--param NAME=VALUE]... [--distinct-topics D] [--seconds S] [--json]\n"
      << "       ws_bench joins --url URL --query Q [--param NAME=VALUE]... --count J [--json]\n"
      << "       ws_bench latency --url URL --db FILE --trials N [--query Q] [--gap-ms G]"
         " [--json]\n";
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  if (argc < 2) Usage("no mode");
  Args a;
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) Usage("unexpected '" + k + "'");
    k = k.substr(2);
    if (k == "json") {
      a.opts[k].push_back("1");
      continue;
    }
    if (i + 1 >= argc) Usage("--" + k + " needs a value");
    a.opts[k].push_back(argv[++i]);
  }
  return a;
}

// ws://HOST:PORT/PATH -> its parts.
struct Url {
  std::string host, port, target;
};
Url ParseUrl(const std::string& url) {
  const std::string scheme = "ws://";
  if (url.rfind(scheme, 0) != 0) Usage("--url must start with ws://");
  std::string rest = url.substr(scheme.size());
  const size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) Usage("--url needs a port");
  u.host = hostport.substr(0, colon);
  u.port = hostport.substr(colon + 1);
  return u;
}

// Percent-encodes a query-string value.
std::string Encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The value of `"key":NUMBER` in `s`, or nullopt.
std::optional<uint64_t> NumberAfter(std::string_view s, std::string_view key) {
  const size_t at = s.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = at + key.size();
  while (i < s.size() && s[i] == ' ') ++i;  // the gateway writes `"key": value`
  if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  uint64_t v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    v = v * 10 + (s[i++] - '0');
  return v;
}

// The event of a Phoenix V2 frame `[join_ref, ref, "topic", "event", payload]`: the 4th element,
// found by skipping the first three (null, a number-string or a string without quotes inside:
// what the gateway and this client write).
std::string_view EventOf(std::string_view f, std::string_view* topic = nullptr) {
  size_t i = 0;
  int element = 0;
  std::string_view cur;
  while (i < f.size() && element < 4) {
    const char c = f[i];
    if (c == '"') {
      const size_t end = f.find('"', i + 1);
      if (end == std::string_view::npos) return {};
      cur = f.substr(i + 1, end - i - 1);
      i = end + 1;
      continue;
    }
    if (c == ',') {
      ++element;
      if (element == 3 && topic) *topic = cur;
      if (element == 4) return cur;
      cur = {};
    }
    ++i;
  }
  return {};
}

struct Stats {
  uint64_t open = 0, failed = 0, closed = 0;
  uint64_t beats_answered = 0;  // heartbeat replies
  uint64_t joins_ok = 0, joins_error = 0;
  uint64_t updates = 0, diffs = 0, snapshots = 0, errors = 0, gaps = 0, presence = 0;
  std::vector<double> join_ms;
};

struct Conn {
  Conn(asio::io_context& io, Stats& st) : ws(io), stats(st) {}
  ws::stream<beast::tcp_stream> ws;
  beast::flat_buffer buf;
  std::deque<std::string> out;
  bool writing = false;
  bool up = false;
  Stats& stats;
  std::vector<std::string> joins;                      // topics to join once open
  std::map<std::string, Clock::time_point> join_sent;  // ref -> when
  struct Pos {
    uint64_t epoch = 0, seq = 0;
  };
  std::map<std::string, Pos> pos;  // topic -> last applied
  uint64_t next_ref = 1;
  std::function<void(std::string_view)> on_push;  // latency mode

  void Send(std::string frame) {
    out.push_back(std::move(frame));
    if (!writing) WriteNext();
  }
  void WriteNext() {
    if (out.empty()) {
      writing = false;
      return;
    }
    writing = true;
    ws.async_write(asio::buffer(out.front()), [this](beast::error_code ec, size_t) {
      out.pop_front();
      if (ec) {
        Fail();
        return;
      }
      WriteNext();
    });
  }
  void Fail() {
    if (up) {
      up = false;
      stats.closed++;
    }
  }
  void Join(const std::string& topic) {
    const std::string ref = std::to_string(next_ref++);
    join_sent[ref] = Clock::now();
    Send("[\"" + ref + "\",\"" + ref + "\",\"" + topic + "\",\"phx_join\",{}]");
  }
  void Heartbeat() {
    if (!up) return;
    Send("[null,\"" + std::to_string(next_ref++) + "\",\"phoenix\",\"heartbeat\",{}]");
  }
  void Start(const tcp::endpoint& ep, const Url& u) {
    ws.next_layer().async_connect(ep, [this, u](beast::error_code ec) {
      if (ec) {
        stats.failed++;
        return;
      }
      ws.async_handshake(u.host + ":" + u.port, u.target, [this](beast::error_code ec2) {
        if (ec2) {
          stats.failed++;
          return;
        }
        up = true;
        stats.open++;
        ws.text(true);
        beast::get_lowest_layer(ws).expires_never();
        for (const std::string& t : joins) Join(t);
        Read();
      });
    });
  }
  void Read() {
    ws.async_read(buf, [this](beast::error_code ec, size_t n) {
      if (ec) {
        Fail();
        return;
      }
      std::string_view f(static_cast<const char*>(buf.data().data()), n);
      OnFrame(f);
      buf.consume(n);
      Read();
    });
  }
  void OnFrame(std::string_view f) {
    std::string_view topic;
    const std::string_view event = EventOf(f, &topic);
    if (event == "phx_reply") {
      // [join_ref, ref, ...]: the ref is the 2nd element.
      const size_t q1 = f.find('"');
      const size_t q2 = q1 == std::string_view::npos ? q1 : f.find('"', q1 + 1);
      std::string ref =
          q2 == std::string_view::npos ? "" : std::string(f.substr(q1 + 1, q2 - q1 - 1));
      auto it = join_sent.find(ref);
      if (it == join_sent.end()) {  // a heartbeat's reply
        if (topic == "phoenix") stats.beats_answered++;
        return;
      }
      stats.join_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
      join_sent.erase(it);
      if (f.find("\"status\":\"ok\"") != std::string_view::npos) {
        stats.joins_ok++;
        Pos& p = pos[std::string(topic)];
        p.epoch = NumberAfter(f, "\"epoch\":").value_or(0);
        p.seq = NumberAfter(f, "\"seq\":").value_or(0);
      } else {
        stats.joins_error++;
      }
      return;
    }
    if (event == "diff" || event == "snapshot") {
      stats.updates++;
      const uint64_t epoch = NumberAfter(f, "\"epoch\":").value_or(0);
      const uint64_t seq = NumberAfter(f, "\"seq\":").value_or(0);
      Pos& p = pos[std::string(topic)];
      if (event == "diff") {
        stats.diffs++;
        if (epoch != p.epoch || seq != p.seq + 1) stats.gaps++;
      } else {
        stats.snapshots++;
      }
      p.epoch = epoch;
      p.seq = seq;
      if (on_push) on_push(f);
    } else if (event == "error") {
      stats.errors++;
    } else if (event == "presence_state" || event == "presence_diff") {
      stats.presence++;
    }
  }
};

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size()));
  if (k >= v.size()) k = v.size() - 1;
  return v[k];
}

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

// Runs `io` until `done()`, SIGTERM/SIGINT, or `seconds` (<= 0: no limit); heartbeats every 30 s.
void RunFor(
    asio::io_context& io, std::vector<std::unique_ptr<Conn>>& conns, double seconds,
    const std::function<bool()>& done = [] { return false; }) {
  const auto start = Clock::now();
  // Across calls: a mode that runs the loop in short calls (latency's trials) still beats every
  // 30 s, or the gateway closes its silent socket after ws_idle_timeout.
  static Clock::time_point next_beat = start + std::chrono::seconds(30);
  while (!g_stop && !done()) {
    io.run_one_for(
        std::chrono::milliseconds(50));  // back at once after a handler: done() is checked
    if (io.stopped()) io.restart();
    const auto now = Clock::now();
    if (now >= next_beat) {
      for (auto& c : conns) c->Heartbeat();
      next_beat = now + std::chrono::seconds(30);
    }
    if (seconds > 0 && now - start >= std::chrono::duration<double>(seconds)) break;
  }
}

tcp::endpoint Resolve(asio::io_context& io, const Url& u) {
  tcp::resolver r(io);
  auto res = r.resolve(u.host, u.port);
  if (res.empty()) Usage("cannot resolve " + u.host);
  return *res.begin();
}

std::vector<std::unique_ptr<Conn>> Open(asio::io_context& io, Stats& st, const Url& u, long n,
                                        const std::function<void(Conn&, long)>& setup) {
  const tcp::endpoint ep = Resolve(io, u);
  std::vector<std::unique_ptr<Conn>> conns;
  conns.reserve(static_cast<size_t>(n));
  // At most 256 handshakes in flight: a burst of thousands overflows the listen backlog.
  long started = 0;
  while (started < n && !g_stop) {
    while (started < n && started - static_cast<long>(st.open + st.failed) < 256) {
      conns.push_back(std::make_unique<Conn>(io, st));
      setup(*conns.back(), started);
      conns.back()->Start(ep, u);
      ++started;
    }
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  while (!g_stop && static_cast<long>(st.open + st.failed) < n) {
    io.run_for(std::chrono::milliseconds(10));
    if (io.stopped()) io.restart();
  }
  return conns;
}

int Idle(const Args& a) {
  asio::io_context io;
  Stats st;
  const Url u = ParseUrl(a.get("url"));
  const long n = a.num("connections", 1000);
  const auto t0 = Clock::now();
  auto conns = Open(io, st, u, n, [](Conn&, long) {});
  const double open_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  // One heartbeat each, answered, before the line: the gateway then holds every socket as it does
  // between a tab's heartbeats (a frame read and a reply written), not only as just upgraded.
  for (auto& c : conns) c->Heartbeat();
  RunFor(io, conns, 60, [&] { return st.beats_answered + st.closed >= st.open; });
  std::printf("open %lu %lu %.0f\n", static_cast<unsigned long>(st.open),
              static_cast<unsigned long>(st.failed), open_ms);
  std::fflush(stdout);
  RunFor(io, conns, static_cast<double>(a.num("seconds", 0)));
  if (a.has("json"))
    std::printf(
        "{\"mode\":\"idle\",\"connections\":%ld,\"open\":%lu,\"failed\":%lu,\"closed\":%lu,"
        "\"open_ms\":%.0f}\n",
        n, static_cast<unsigned long>(st.open), static_cast<unsigned long>(st.failed),
        static_cast<unsigned long>(st.closed), open_ms);
  return st.open == static_cast<uint64_t>(n) ? 0 : 1;
}

// The channel topic of --query with the --param values, `{t}` in a value replaced by `t`.
std::string TopicOf(const Args& a, long t) {
  const std::string query = a.get("query");
  if (query.empty()) Usage(a.mode + " needs --query");
  std::string s = "live:" + query;
  const std::vector<std::string> none;
  const std::vector<std::string>& params = a.has("param") ? a.opts.at("param") : none;
  for (size_t i = 0; i < params.size(); ++i) {
    const size_t eq = params[i].find('=');
    if (eq == std::string::npos) Usage("--param takes NAME=VALUE");
    std::string name = params[i].substr(0, eq), value = params[i].substr(eq + 1);
    const size_t at = value.find("{t}");
    if (at != std::string::npos) value.replace(at, 3, std::to_string(t));
    s += (i == 0 ? "?" : "&") + Encode(name) + "=" + Encode(value);
  }
  return s;
}

int Fanout(const Args& a) {
  asio::io_context io;
  Stats st;
  const Url u = ParseUrl(a.get("url"));
  const long n = a.num("connections", 100);
  const long topics = a.num("topics", 1);
  const long distinct = a.num("distinct-topics", topics);
  auto topic_of = [&](long t) { return TopicOf(a, t); };
  long next = 0;
  const auto t0 = Clock::now();
  auto conns = Open(io, st, u, n, [&](Conn& c, long) {
    for (long t = 0; t < topics; ++t) c.joins.push_back(topic_of((next++) % distinct));
  });
  const uint64_t want = static_cast<uint64_t>(n) * static_cast<uint64_t>(topics);
  RunFor(io, conns, 60, [&] { return st.joins_ok + st.joins_error >= want; });
  const double joined_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::fprintf(stderr, "ws_bench: %lu joined (%lu refused) in %.0f ms\n",
               static_cast<unsigned long>(st.joins_ok), static_cast<unsigned long>(st.joins_error),
               joined_ms);
  const uint64_t before = st.updates;
  const auto w0 = Clock::now();
  RunFor(io, conns, static_cast<double>(a.num("seconds", 10)));
  const double secs = std::chrono::duration<double>(Clock::now() - w0).count();
  const double rate = static_cast<double>(st.updates - before) / secs;
  if (a.has("json")) {
    std::printf(
        "{\"mode\":\"fanout\",\"connections\":%ld,\"open\":%lu,\"failed\":%lu,\"closed\":%lu,"
        "\"subscriptions\":%lu,\"join_errors\":%lu,\"all_joined_ms\":%.0f,\"join_p50_ms\":%.2f,"
        "\"join_p99_ms\":%.2f,\"updates\":%lu,\"diffs\":%lu,\"snapshots\":%lu,\"errors\":%lu,"
        "\"seq_gaps\":%lu,\"presence\":%lu,\"window_s\":%.2f,\"updates_per_s\":%.0f}\n",
        n, static_cast<unsigned long>(st.open), static_cast<unsigned long>(st.failed),
        static_cast<unsigned long>(st.closed), static_cast<unsigned long>(st.joins_ok),
        static_cast<unsigned long>(st.joins_error), joined_ms, Pct(st.join_ms, 0.5),
        Pct(st.join_ms, 0.99), static_cast<unsigned long>(st.updates),
        static_cast<unsigned long>(st.diffs), static_cast<unsigned long>(st.snapshots),
        static_cast<unsigned long>(st.errors), static_cast<unsigned long>(st.gaps),
        static_cast<unsigned long>(st.presence), secs, rate);
  } else {
    std::printf(
        "fanout: %lu subscriptions, %.0f updates/s over %.1f s, %lu seq gaps, join p50 "
        "%.2f ms p99 %.2f ms\n",
        static_cast<unsigned long>(st.joins_ok), rate, secs, static_cast<unsigned long>(st.gaps),
        Pct(st.join_ms, 0.5), Pct(st.join_ms, 0.99));
  }
  return st.joins_ok == want ? 0 : 1;
}

int Joins(const Args& a) {
  asio::io_context io;
  Stats st;
  const Url u = ParseUrl(a.get("url"));
  const long count = a.num("count", 100);
  auto conns = Open(io, st, u, 1, [](Conn&, long) {});
  if (st.open != 1) {
    std::cerr << "ws_bench: joins: cannot connect\n";
    return 1;
  }
  Conn& c = *conns.front();
  for (long t = 0; t < count && !g_stop; ++t) {
    const uint64_t before = st.joins_ok + st.joins_error;
    c.Join(TopicOf(a, t));
    RunFor(io, conns, 10, [&] { return st.joins_ok + st.joins_error > before; });
  }
  if (a.has("json"))
    std::printf(
        "{\"mode\":\"joins\",\"count\":%ld,\"ok\":%lu,\"refused\":%lu,"
        "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
        count, static_cast<unsigned long>(st.joins_ok), static_cast<unsigned long>(st.joins_error),
        Pct(st.join_ms, 0.5), Pct(st.join_ms, 0.99), Pct(st.join_ms, 1.0));
  else
    std::printf("joins: %lu ok, %lu refused: p50 %.3f ms, p99 %.3f ms\n",
                static_cast<unsigned long>(st.joins_ok), static_cast<unsigned long>(st.joins_error),
                Pct(st.join_ms, 0.5), Pct(st.join_ms, 0.99));
  return st.joins_ok == static_cast<uint64_t>(count) ? 0 : 1;
}

int Latency(const Args& a) {
  asio::io_context io;
  Stats st;
  const Url u = ParseUrl(a.get("url"));
  const long trials = a.num("trials", 100);
  const long gap_ms = a.num("gap-ms", 200);
  const std::string query = a.get("query", "lat");
  sqlite3* db = nullptr;
  if (sqlite3_open(a.get("db").c_str(), &db) != SQLITE_OK) Usage("cannot open --db");
  sqlite3_busy_timeout(db, 5000);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  sqlite3_exec(db,
               "CREATE TABLE IF NOT EXISTS lat(id INTEGER PRIMARY KEY, v INTEGER);"
               "INSERT OR IGNORE INTO lat VALUES(1, 0);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* upd = nullptr;
  sqlite3_prepare_v2(db, "UPDATE lat SET v = ? WHERE id = 1", -1, &upd, nullptr);
  std::string want;  // the stamp awaited, as text
  bool got = false;
  auto conns = Open(io, st, u, 1, [&](Conn& c, long) {
    c.joins.push_back("live:" + query + "?id=1");
    c.on_push = [&](std::string_view f) {
      if (!want.empty() && NumberAfter(f, "\"v\":") == std::strtoull(want.c_str(), nullptr, 10))
        got = true;
    };
  });
  RunFor(io, conns, 10, [&] { return st.joins_ok + st.joins_error >= 1; });
  if (st.joins_ok != 1) {
    std::cerr << "ws_bench: latency: could not join " << query << "\n";
    return 1;
  }
  std::vector<double> ms;
  uint64_t stamp = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
          .count());
  for (long i = 0; i < trials && !g_stop; ++i) {
    RunFor(io, conns, static_cast<double>(std::rand() % (gap_ms + 1)) / 1000.0);
    want = std::to_string(++stamp);
    got = false;
    sqlite3_reset(upd);
    sqlite3_bind_int64(upd, 1, static_cast<sqlite3_int64>(stamp));
    const auto t = Clock::now();
    if (sqlite3_step(upd) != SQLITE_DONE) {
      std::cerr << "ws_bench: UPDATE failed: " << sqlite3_errmsg(db) << "\n";
      return 1;
    }
    RunFor(io, conns, 5, [&] { return got; });
    if (got) ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  sqlite3_finalize(upd);
  sqlite3_close(db);
  const size_t lost = static_cast<size_t>(trials) - ms.size();
  if (a.has("json"))
    std::printf(
        "{\"mode\":\"latency\",\"trials\":%ld,\"received\":%zu,\"lost\":%zu,"
        "\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f}\n",
        trials, ms.size(), lost, Pct(ms, 0.5), Pct(ms, 0.9), Pct(ms, 0.99), Pct(ms, 1.0));
  else
    std::printf("latency: %zu/%ld received: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms\n", ms.size(),
                trials, Pct(ms, 0.5), Pct(ms, 0.9), Pct(ms, 0.99));
  return ms.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = Parse(argc, argv);
  if (!a.has("url")) Usage("--url is required");
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  signal(SIGPIPE, SIG_IGN);
  try {
    if (a.mode == "idle") return Idle(a);
    if (a.mode == "fanout") return Fanout(a);
    if (a.mode == "joins") return Joins(a);
    if (a.mode == "latency") return Latency(a);
  } catch (const std::exception& e) {
    std::cerr << "ws_bench: " << e.what() << "\n";
    return 1;
  }
  Usage("unknown mode '" + a.mode + "'");
}
