// The node's event loop in-process, over real ZeroMQ sockets, with the real plugin loader and the
// "memory" fixture plugin: bad frames, de-duplication, heartbeats and client timeouts.
#include "net/server.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "auth/token.h"
#include "proto/codec.h"

namespace livepoll::net {
namespace {

using namespace std::chrono_literals;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lp-server-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (stop_fd_ >= 0) {
      uint64_t one = 1;
      ASSERT_EQ(write(stop_fd_, &one, sizeof one), 8);
    }
    if (loop_.joinable()) loop_.join();
    server_.reset();
    node_.reset();
    runner_.reset();
    if (stop_fd_ >= 0) close(stop_fd_);
    std::filesystem::remove_all(dir_);
  }

  // Starts a node serving `queries` (name -> memory-plugin SQL) at `interval`.
  void Start(std::map<std::string, std::string> queries, Duration interval = 100ms,
             Duration client_timeout = 10s) {
    Result<std::shared_ptr<source::Plugin>> plugin =
        source::Plugin::Load(Env::Real(), std::string(LIVEPOLL_FIXTURE_PLUGIN_DIR) + "/memory.so");
    ASSERT_TRUE(plugin.ok()) << plugin.status().ToString();
    core::Catalog catalog;
    std::vector<source::QuerySpec> specs;
    for (const auto& [name, sql] : queries) {
      std::vector<std::string> params;
      if (sql == "echo") params = {"p"};
      catalog.queries[name] = {name, "mem", params, keys_[name], interval, 0.0};
      if (access_.count(name)) catalog.queries[name].access = access_[name];
      specs.push_back({name, "mem", sql, params});
    }
    catalog.source_caps["mem"] = 2;
    runner_ = std::make_unique<source::PollRunner>(
        Env::Real(), std::vector<source::SourceSpec>{{"mem", *plugin, "test", 2}}, specs,
        result_limits_);
    ASSERT_TRUE(runner_->Check().errors.empty());
    ASSERT_TRUE(runner_->Start().ok());
    core::NodeOptions o;
    o.subscriptions.node = "t1";
    o.subscriptions.linger = 200ms;
    o.subscriptions.client_timeout = client_timeout;
    o.subscriptions.max_param_bytes = max_param_bytes_;
    node_ = std::make_unique<core::Node>(catalog, o);
    ServerOptions so = server_options_;
    so.client_bind = "ipc://" + dir_ + "/client";
    so.admin_bind = "ipc://" + dir_ + "/admin";
    so.token_secret = token_secret_;
    server_ = std::make_unique<Server>(Env::Real(), so, *node_, *runner_);
    ASSERT_TRUE(server_->Bind().ok());
    stop_fd_ = eventfd(0, EFD_NONBLOCK);
    loop_ = std::thread([this] { ASSERT_TRUE(server_->Run(stop_fd_).ok()); });
  }

  // Stops the event loop (HttpGet runs on its thread: the test calls it once the loop is done).
  void StopLoop() {
    uint64_t one = 1;
    ASSERT_EQ(write(stop_fd_, &one, sizeof one), 8);
    loop_.join();
  }

  zmq::socket_t Dealer(const std::string& endpoint) {
    zmq::socket_t s(ctx_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(endpoint);
    return s;
  }
  zmq::socket_t Client() { return Dealer(server_->client_endpoint()); }

  static void Send(zmq::socket_t& s, const proto::Message& m) {
    std::string b = proto::Encode(m);
    s.send(zmq::buffer(b));
  }
  // The next message within `timeout`, or nullopt.
  static std::optional<proto::Message> Receive(zmq::socket_t& s, Duration timeout = 5s) {
    zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
    if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
    zmq::message_t msg;
    if (!s.recv(msg)) return std::nullopt;
    Result<proto::Message> m = proto::Decode(msg.to_string_view());
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::optional(*m) : std::nullopt;
  }
  template <typename T>
  static T ReceiveAs(zmq::socket_t& s) {
    std::optional<proto::Message> m = Receive(s);
    EXPECT_TRUE(m.has_value()) << "no message";
    if (!m) return T{};
    EXPECT_TRUE(std::holds_alternative<T>(*m)) << "got " << proto::MessageTypeName(*m);
    return std::holds_alternative<T>(*m) ? std::get<T>(*m) : T{};
  }

  proto::AdminReply Admin(const std::string& command) {
    zmq::socket_t s = Dealer(server_->admin_endpoint());
    Send(s, proto::AdminRequest{1, command, {}});
    return ReceiveAs<proto::AdminReply>(s);
  }
  // A cell of an admin table by row index and column name.
  static Value Cell(const proto::AdminReply& r, size_t row, const std::string& column) {
    auto it = std::find(r.columns.begin(), r.columns.end(), column);
    EXPECT_NE(it, r.columns.end()) << column;
    if (it == r.columns.end() || row >= r.rows.size()) return Null{};
    return r.rows[row][static_cast<size_t>(it - r.columns.begin())];
  }
  int64_t Stat(const std::string& name) {
    proto::AdminReply r = Admin("stats");
    for (size_t i = 0; i < r.rows.size(); ++i)
      if (std::get<std::string>(Cell(r, i, "name")) == name)
        return std::get<int64_t>(Cell(r, i, "value"));
    ADD_FAILURE() << "no counter " << name;
    return -1;
  }

  // Set before Start: the limits under test, and key columns per query.
  ServerOptions server_options_;
  source::ResultLimits result_limits_;
  size_t max_param_bytes_ = 4096;
  std::map<std::string, std::vector<std::string>> keys_;

  std::string dir_;
  std::string token_secret_;                         // set before Start
  std::map<std::string, core::QueryAccess> access_;  // by query, set before Start
  zmq::context_t ctx_;
  std::unique_ptr<source::PollRunner> runner_;
  std::unique_ptr<core::Node> node_;
  std::unique_ptr<Server> server_;
  int stop_fd_ = -1;
  std::thread loop_;
};

TEST_F(ServerTest, BadFramesGetAnErrorAndACounterAndTheNodeKeepsServing) {
  Start({{"three", "rows 3"}});
  zmq::socket_t c = Client();

  c.send(zmq::str_buffer("definitely not msgpack"));
  proto::Error e = ReceiveAs<proto::Error>(c);
  EXPECT_EQ(e.code, "malformed");

  c.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);  // two frames
  c.send(zmq::str_buffer("b"));
  EXPECT_EQ(ReceiveAs<proto::Error>(c).code, "malformed");

  std::string unknown = "\x82\xa1v\x01\xa4type\xa8teleport";  // {v: 1, type: "teleport"}
  c.send(zmq::buffer(unknown));
  e = ReceiveAs<proto::Error>(c);
  EXPECT_EQ(e.code, "invalid-argument");
  EXPECT_NE(e.message.find("teleport"), std::string::npos);

  std::string future = "\x82\xa1v\x07\xa4type\xa9heartbeat";  // {v: 7, type: "heartbeat"}
  c.send(zmq::buffer(future));
  EXPECT_EQ(ReceiveAs<proto::Error>(c).code, "incompatible");

  Send(c, proto::Update{});  // a daemon-to-client message, sent by a client
  EXPECT_EQ(ReceiveAs<proto::Error>(c).code, "invalid-argument");

  EXPECT_EQ(Stat("frames_malformed"), 2);
  EXPECT_EQ(Stat("frames_unknown"), 2);
  EXPECT_EQ(Stat("frames_incompatible"), 1);

  // The same connection still works.
  Send(c, proto::Join{7, "three", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(c).topic, "three");
  proto::Update u = ReceiveAs<proto::Update>(c);
  EXPECT_EQ(u.kind, proto::UpdateKind::kSnapshot);
  EXPECT_EQ(u.rows.size(), 3u);
  EXPECT_EQ(u.owner, "t1");
}

TEST_F(ServerTest, ABadJoinIsAnErrorForThatClientAlone) {
  Start({{"counter", "counter"}, {"echo", "echo"}});
  zmq::socket_t good = Client(), bad = Client();
  Send(good, proto::Join{1, "counter", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(good).id, 1u);
  Send(bad, proto::Join{2, "nope", {}});
  proto::Error e = ReceiveAs<proto::Error>(bad);
  EXPECT_EQ(e.id, 2u);
  EXPECT_EQ(e.code, "not-found");
  Send(bad, proto::Join{3, "echo", {}});  // missing parameter
  EXPECT_EQ(ReceiveAs<proto::Error>(bad).code, "invalid-argument");
  Send(bad, proto::Join{4, "echo", {{"p", "x"}, {"extra", "y"}}});
  EXPECT_EQ(ReceiveAs<proto::Error>(bad).code, "invalid-argument");
  // The good client's stream goes on: snapshot, then a change at every poll.
  uint64_t last_seq = 0;
  for (int i = 0; i < 3; ++i) {
    proto::Update u = ReceiveAs<proto::Update>(good);
    EXPECT_GT(u.seq, last_seq);
    last_seq = u.seq;
  }
}

TEST_F(ServerTest, ParametersAreBoundPerTopic) {
  Start({{"echo", "echo"}});
  zmq::socket_t a = Client(), b = Client();
  Send(a, proto::Join{1, "echo", {{"p", "it's"}}});
  Send(b, proto::Join{1, "echo", {{"p", "x&y=z"}}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(a).topic, "echo?p=it's");
  EXPECT_EQ(ReceiveAs<proto::Joined>(b).topic, "echo?p=x%26y%3Dz");
  EXPECT_EQ(ReceiveAs<proto::Update>(a).rows, (std::vector<Row>{{Value(std::string("it's"))}}));
  EXPECT_EQ(ReceiveAs<proto::Update>(b).rows, (std::vector<Row>{{Value(std::string("x&y=z"))}}));
}

TEST_F(ServerTest, ManyClientsOfOneTopicShareOnePoll) {
  Start({{"counter", "counter"}}, 100ms);
  std::vector<zmq::socket_t> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(Client());
    Send(clients.back(), proto::Join{1, "counter", {}});
  }
  for (auto& c : clients) ASSERT_EQ(ReceiveAs<proto::Joined>(c).topic, "counter");
  auto start = std::chrono::steady_clock::now();
  // Every client sees the same stream: the counter's values in order, from one poller.
  std::vector<std::vector<int64_t>> seen(clients.size());
  for (int round = 0; round < 5; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      proto::Update u = ReceiveAs<proto::Update>(clients[i]);
      ASSERT_EQ(u.rows.size(), 1u);
      seen[i].push_back(std::get<int64_t>(u.rows[0][0]));
    }
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i], seen[0]);
  proto::AdminReply subs = Admin("subs");
  ASSERT_EQ(subs.rows.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(Cell(subs, 0, "subscribers")), 20);
  // One poll per interval for all 20, not 20: generous bounds for a loaded machine.
  int64_t polls = std::get<int64_t>(Cell(subs, 0, "polls"));
  int64_t intervals = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() / 100;
  EXPECT_LE(polls, intervals + 10);
  EXPECT_GE(polls, 5);
}

TEST_F(ServerTest, HeartbeatsAreAnsweredAndASilentClientIsDropped) {
  Start({{"three", "rows 3"}}, 100ms, 400ms);
  zmq::socket_t alive = Client(), silent = Client();
  Send(silent, proto::Join{1, "three", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(silent).topic, "three");
  Send(alive, proto::Join{1, "three", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(alive).topic, "three");
  for (int i = 0; i < 12; ++i) {  // 1.2 s: three timeouts' worth
    Send(alive, proto::Heartbeat{});
    std::this_thread::sleep_for(100ms);
  }
  proto::AdminReply subs = Admin("subs");
  ASSERT_EQ(subs.rows.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(Cell(subs, 0, "subscribers")), 1);
  EXPECT_EQ(Stat("clients_dropped"), 1);
  // The live client got heartbeat answers among its updates.
  int heartbeats = 0;
  while (auto m = Receive(alive, 100ms)) heartbeats += std::holds_alternative<proto::Heartbeat>(*m);
  EXPECT_GE(heartbeats, 10);
}

// PROTOCOL.md, "Sessions and resume": a client learns the daemon's session from `joined` and
// heartbeats; naming another session, or its own after being dropped, gets an error to join again.
TEST_F(ServerTest, AClientWhoseSubscriptionsAreNotHereIsToldToJoinAgain) {
  Start({{"three", "rows 3"}}, 100ms, 400ms);
  zmq::socket_t c = Client();
  Send(c, proto::Join{1, "three", {}});
  const proto::Joined joined = ReceiveAs<proto::Joined>(c);
  ASSERT_NE(joined.session, 0u);
  EXPECT_EQ(joined.session, server_->session());
  EXPECT_FALSE(joined.resumed);
  // Heartbeats naming this session are answered, and nothing else is said.
  Send(c, proto::Heartbeat{joined.session});
  std::optional<proto::Error> error;
  uint64_t answered = 0;
  while (auto m = Receive(c, 300ms)) {
    if (auto* hb = std::get_if<proto::Heartbeat>(&*m)) answered = hb->session;
    if (auto* e = std::get_if<proto::Error>(&*m)) error = *e;
  }
  EXPECT_EQ(answered, joined.session);
  EXPECT_FALSE(error.has_value()) << error->message;

  // Another process's session: the subscriptions it means died with that process.
  zmq::socket_t other = Client();
  Send(other, proto::Heartbeat{joined.session + 1});
  EXPECT_EQ(ReceiveAs<proto::Heartbeat>(other).session, joined.session);
  proto::Error e = ReceiveAs<proto::Error>(other);
  EXPECT_EQ(e.code, "not-found");
  EXPECT_NE(e.message.find("join again"), std::string::npos) << e.message;

  // This session, but the client was silent past client_timeout and dropped meanwhile.
  std::this_thread::sleep_for(1200ms);
  while (Receive(c, 10ms)) {
  }
  Send(c, proto::Heartbeat{joined.session});
  EXPECT_EQ(ReceiveAs<proto::Heartbeat>(c).session, joined.session);
  EXPECT_EQ(ReceiveAs<proto::Error>(c).code, "not-found");
  EXPECT_EQ(Stat("sessions_lost"), 2);
}

TEST_F(ServerTest, AFailingSourceSendsAnErrorUpdate) {
  Start({{"broken", "error"}});
  zmq::socket_t c = Client();
  Send(c, proto::Join{1, "broken", {}});
  ReceiveAs<proto::Joined>(c);
  proto::Update u = ReceiveAs<proto::Update>(c);
  EXPECT_EQ(u.kind, proto::UpdateKind::kError);
  EXPECT_NE(u.error.find("query failed as asked"), std::string::npos);
  proto::AdminReply subs = Admin("subs");
  EXPECT_EQ(std::get<std::string>(Cell(subs, 0, "state")), "error");
  StopLoop();
  HttpResponse h = server_->HttpGet("/healthz");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.body, "source failing: mem\n");
}

// /metrics read by Prometheus's own parser (python3-prometheus-client), and /healthz, of a node
// that served a client.
TEST_F(ServerTest, MetricsParseWithPrometheusParserAndHealthSaysOk) {
  Start({{"counter", "counter"}}, 50ms);
  zmq::socket_t c = Client();
  Send(c, proto::Join{1, "counter", {}});
  ReceiveAs<proto::Joined>(c);
  for (int i = 0; i < 3; ++i) ReceiveAs<proto::Update>(c);
  StopLoop();
  HttpResponse health = server_->HttpGet("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(server_->HttpGet("/nothing").status, 404);
  HttpResponse m = server_->HttpGet("/metrics?x=1", 3);
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_GE(server_->histograms().poll_duration.count(), 3u);
  EXPECT_GE(server_->histograms().poll_to_delivery.count(), 3u);

  const std::string file = dir_ + "/metrics.txt";
  { std::ofstream(file) << m.body; }
  const std::string command =
      std::string("/usr/bin/python3 ") + LIVEPOLL_PARSE_METRICS + " " + file + " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string parsed;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) parsed.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << parsed;
  auto has = [&](const std::string& line) { return parsed.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("livepoll_joins counter livepoll_joins_total {node=t1} 1.0")) << parsed;
  EXPECT_TRUE(has("livepoll_clients gauge livepoll_clients {node=t1,protocol=ws} 3.0")) << parsed;
  EXPECT_TRUE(has("livepoll_clients gauge livepoll_clients {node=t1,protocol=zmq} 1.0")) << parsed;
  EXPECT_TRUE(has("livepoll_subscriptions gauge livepoll_subscriptions {node=t1} 1.0")) << parsed;
  EXPECT_TRUE(has("livepoll_pollers gauge livepoll_pollers {node=t1} 1.0")) << parsed;
  EXPECT_NE(parsed.find("livepoll_poll_duration_seconds histogram "
                        "livepoll_poll_duration_seconds_bucket {le=+Inf,node=t1} "),
            std::string::npos)
      << parsed;
  EXPECT_NE(parsed.find("livepoll_poll_to_delivery_seconds histogram "
                        "livepoll_poll_to_delivery_seconds_count {node=t1} "),
            std::string::npos)
      << parsed;
  // Every counter of `livepoll stats` is there (a standalone node: not the cluster's).
  for (const core::CounterName& counter : core::kCounters) {
    if (counter.cluster_only) continue;
    EXPECT_NE(parsed.find(std::string(" livepoll_") + counter.name + "_total {node=t1} "),
              std::string::npos)
        << counter.name;
  }
}

TEST_F(ServerTest, AnUnknownAdminCommandIsRefused) {
  Start({{"three", "rows 3"}});
  proto::AdminReply r = Admin("launch-missiles");
  EXPECT_EQ(r.code, "invalid-argument");
  EXPECT_NE(r.message.find("launch-missiles"), std::string::npos);
}

// ---- client tokens (PROTOCOL.md, "Tokens") ----

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_F(ServerTest, TokensAreVerifiedPerConnectionAndJoinsJudgedByThem) {
  token_secret_ = std::string(32, 's');
  access_["echo"] = {true, {{"p", "sub"}}, {{"role", "user"}, {"role", "admin"}}};
  Start({{"echo", "echo"}, {"three", "rows 3"}});
  auto mint = [&](auth::Claims claims, int64_t ttl = 60, const std::string& secret = "") {
    return auth::MintToken(secret.empty() ? token_secret_ : secret,
                           {std::move(claims), UnixNow(), UnixNow() + ttl, std::nullopt});
  };

  // No token: an open query is fine, a token query is refused.
  zmq::socket_t anon = Client();
  Send(anon, proto::Join{1, "three", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(anon).topic, "three");
  ReceiveAs<proto::Update>(anon);
  Send(anon, proto::Join{2, "echo", {}});
  proto::Error e = ReceiveAs<proto::Error>(anon);
  EXPECT_EQ(e.id, 2u);
  EXPECT_EQ(e.code, "permission-denied");
  EXPECT_EQ(e.message, "token required: query 'echo' needs a token (send auth before join)");

  // A good token: authed with its claims; the bound parameter comes from `sub`.
  zmq::socket_t alice = Client();
  Send(alice, proto::Auth{1, mint({{"sub", "alice"}, {"role", "user"}})});
  proto::Authed authed = ReceiveAs<proto::Authed>(alice);
  EXPECT_EQ(authed.id, 1u);
  EXPECT_GT(authed.expires, 0u);
  EXPECT_NE(std::find(authed.claims.begin(), authed.claims.end(),
                      std::pair<std::string, std::string>{"sub", "alice"}),
            authed.claims.end());
  Send(alice, proto::Join{2, "echo", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(alice).topic, "echo?p=alice");
  EXPECT_EQ(ReceiveAs<proto::Update>(alice).rows,
            (std::vector<Row>{{Value(std::string("alice"))}}));
  // Someone else's rows: refused, and the subscription made stays.
  Send(alice, proto::Join{3, "echo", {{"p", "bob"}}});
  e = ReceiveAs<proto::Error>(alice);
  EXPECT_EQ(e.id, 3u);
  EXPECT_EQ(e.message, "parameter p is bound to the token's claim sub: the join's value differs");

  // The token belongs to its connection: another socket has none.
  zmq::socket_t other = Client();
  Send(other, proto::Join{1, "echo", {{"p", "alice"}}});
  EXPECT_EQ(ReceiveAs<proto::Error>(other).message.substr(0, 14), "token required");

  // Refused tokens, each with why; a later join says why too.
  zmq::socket_t mallory = Client();
  const std::pair<std::string, std::string> refused[] = {
      {mint({{"sub", "m"}}, 60, std::string(32, 'x')), "bad token signature"},
      {mint({{"sub", "m"}}, -1), "token expired"},
      {"not a token", "malformed token: not three parts header.payload.signature"},
      {auth::Base64UrlEncode(R"({"alg":"none"})") + "." + auth::Base64UrlEncode(R"({"sub":"m"})") +
           ".",
       "token algorithm 'none' refused: only HS256 is accepted"},
  };
  uint64_t id = 0;
  for (const auto& [token, why] : refused) {
    Send(mallory, proto::Auth{++id, token});
    e = ReceiveAs<proto::Error>(mallory);
    EXPECT_EQ(e.id, id);
    EXPECT_EQ(e.code, "permission-denied");
    EXPECT_EQ(e.message, why);
    Send(mallory, proto::Join{++id, "echo", {}});
    EXPECT_EQ(ReceiveAs<proto::Error>(mallory).message, why);
  }
  // A valid token without an allowed role.
  Send(mallory, proto::Auth{++id, mint({{"sub", "m"}, {"role", "guest"}})});
  ReceiveAs<proto::Authed>(mallory);
  Send(mallory, proto::Join{++id, "echo", {}});
  EXPECT_EQ(ReceiveAs<proto::Error>(mallory).message,
            "one of the claims role=user, role=admin required");

  EXPECT_EQ(Stat("tokens_accepted"), 2);
  EXPECT_EQ(Stat("tokens_refused"), 4);
  EXPECT_EQ(Stat("joins_unauthorized"), 8);  // anon, alice's bob, other, 4 x mallory, role
}

TEST_F(ServerTest, WithoutASecretTokensAreRefused) {
  Start({{"three", "rows 3"}});
  zmq::socket_t c = Client();
  Send(c,
       proto::Auth{1, auth::MintToken(std::string(32, 's'), {{{"sub", "a"}}, UnixNow(), {}, {}})});
  proto::Error e = ReceiveAs<proto::Error>(c);
  EXPECT_EQ(e.code, "failed-precondition");
  EXPECT_EQ(e.message, "this livepolld takes no tokens: it has no token_secret");
  Send(c, proto::Join{2, "three", {}});  // an open query still joins
  EXPECT_EQ(ReceiveAs<proto::Joined>(c).topic, "three");
  EXPECT_EQ(Stat("tokens_refused"), 1);
}

}  // namespace
}  // namespace livepoll::net

namespace livepoll::net {
namespace {

// Issue 12: no ZMQ_MAXMSGSIZE, so a 64 MiB frame was read whole before any check. Now ZeroMQ drops
// the connection that sends one; the server and its other clients carry on.
TEST_F(ServerTest, AFrameOverMaxMessageSizeDropsItsConnectionAndTheNodeServesOn) {
  server_options_.max_message_size = 1 << 20;
  Start({{"three", "rows 3"}});
  zmq::socket_t big = Client();
  big.set(zmq::sockopt::reconnect_ivl, -1);  // dropped stays dropped
  const std::string frame(64 << 20, 'x');
  big.send(zmq::buffer(frame));
  std::this_thread::sleep_for(300ms);
  zmq::socket_t c = Client();
  Send(c, proto::Join{1, "three", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(c).topic, "three");
  EXPECT_EQ(ReceiveAs<proto::Update>(c).rows.size(), 3u);
  EXPECT_EQ(Stat("frames_malformed"), 0);  // never read: ZeroMQ dropped it
  // The admin endpoint has the same limit.
  zmq::socket_t a = Dealer(server_->admin_endpoint());
  a.send(zmq::buffer(frame));
  EXPECT_EQ(Admin("stats").code, "");
}

TEST_F(ServerTest, ALongParameterIsRefusedAndCounted) {
  max_param_bytes_ = 100;
  Start({{"echo", "echo"}});
  zmq::socket_t c = Client();
  Send(c, proto::Join{7, "echo", {{"p", std::string(101, 'x')}}});
  proto::Error e = ReceiveAs<proto::Error>(c);
  EXPECT_EQ(e.id, 7u);
  EXPECT_NE(e.message.find("max_param_bytes"), std::string::npos) << e.message;
  EXPECT_EQ(Stat("joins_refused"), 1);
  EXPECT_EQ(Stat("joins"), 0);
}

// A result over max_result_rows is an error update; the poller goes on polling.
TEST_F(ServerTest, AResultOverMaxResultRowsIsAnErrorUpdateAndPollingGoesOn) {
  result_limits_.max_rows = 5;
  Start({{"six", "rows 6"}, {"five", "rows 5"}}, 50ms);
  zmq::socket_t c = Client();
  Send(c, proto::Join{1, "six", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(c).topic, "six");
  proto::Update u = ReceiveAs<proto::Update>(c);
  EXPECT_EQ(u.kind, proto::UpdateKind::kError);
  EXPECT_EQ(u.error, "result too large (6 rows > max_result_rows 5)");
  std::this_thread::sleep_for(500ms);
  EXPECT_GE(Stat("results_too_large"), 2);  // it polled again (backing off), and again too large
  Send(c, proto::Join{2, "five", {}});
  EXPECT_EQ(ReceiveAs<proto::Joined>(c).topic, "five");
  EXPECT_EQ(ReceiveAs<proto::Update>(c).rows.size(), 5u);
}

// Issue 12: the client ROUTER held 100,000 messages per client, so a client that never read
// pinned 100,000 updates. Now its queue is bounded in bytes; over it, the client loses its
// pending updates and gets a fresh snapshot once it reads again: never a diff after a hole.
TEST_F(ServerTest, ASlowClientLosesItsPendingUpdatesAndGetsASnapshotNeverAHole) {
  server_options_.client_queue_bytes = 64 << 10;
  keys_["ticking"] = {"id"};
  Start({{"ticking", "ticking 500"}}, 10ms, 60s);  // the client sends no heartbeat
  zmq::socket_t c = Client();
  c.set(zmq::sockopt::rcvhwm, 1);
  c.set(zmq::sockopt::rcvbuf, 4096);
  Send(c, proto::Join{1, "ticking", {}});
  std::this_thread::sleep_for(3s);  // not reading: ~300 diffs of ~5 KB each
  EXPECT_GE(Stat("slow_consumer_resets"), 1);
  EXPECT_GE(Stat("updates_dropped_slow_client"), 1);
  // Reading again: every diff continues the update before it, and a jump is a snapshot.
  std::optional<uint64_t> last;
  int snapshots = 0, diffs = 0;
  for (int i = 0; i < 200; ++i) {
    std::optional<proto::Message> m = Receive(c, 2s);
    ASSERT_TRUE(m.has_value()) << "after " << i;
    auto* u = std::get_if<proto::Update>(&*m);
    if (u == nullptr) continue;
    if (u->kind == proto::UpdateKind::kSnapshot) {
      snapshots++;
    } else {
      ASSERT_EQ(u->kind, proto::UpdateKind::kDiff);
      ASSERT_TRUE(last.has_value()) << "a diff before any snapshot";
      ASSERT_EQ(u->seq, *last + 1) << "a diff after a hole, at message " << i;
      diffs++;
    }
    last = u->seq;
  }
  EXPECT_GE(snapshots, 2);  // the first, and the one after the reset
  EXPECT_GT(diffs, 0);
}

}  // namespace
}  // namespace livepoll::net
