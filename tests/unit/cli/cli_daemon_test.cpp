// The CLI against a fake livepolld: a thread with a real admin ROUTER and client ROUTER on
// loopback TCP, speaking the real codec. Run() creates its own ZeroMQ context, so inproc:// would
// not reach it; tcp://127.0.0.1:0 picks a free port.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "cli.h"
#include "proto/codec.h"

namespace livepoll::cli {
namespace {

using proto::AdminReply;

class FakeDaemon {
 public:
  // `client_endpoint_override`: what `info` reports instead of the real client endpoint.
  explicit FakeDaemon(std::string client_endpoint_override = "")
      : admin_(context_, zmq::socket_type::router), client_(context_, zmq::socket_type::router) {
    for (zmq::socket_t* s : {&admin_, &client_}) {
      s->set(zmq::sockopt::linger, 0);
      s->bind("tcp://127.0.0.1:0");
    }
    admin_endpoint_ = admin_.get(zmq::sockopt::last_endpoint);
    client_endpoint_ = client_endpoint_override.empty() ? client_.get(zmq::sockopt::last_endpoint)
                                                        : client_endpoint_override;
    replies_["info"] =
        AdminReply{0,
                   "",
                   "",
                   {"node", "version", "client_endpoint", "admin_endpoint", "pid", "uptime_ms",
                    "topics", "subscribers"},
                   {{std::string("n1"), std::string("0.1.0"), client_endpoint_, admin_endpoint_,
                     int64_t{42}, int64_t{1500}, int64_t{1}, int64_t{2}}}};
    replies_["queries"] = AdminReply{0,
                                     "",
                                     "",
                                     {"name", "params", "source", "interval_ms", "key"},
                                     {{std::string("top_products"), std::string("limit"),
                                       std::string("main"), int64_t{500}, std::string("name")},
                                      {std::string("revenue"), std::string(""), std::string("main"),
                                       int64_t{1000}, std::string("")}}};
    replies_["subs"] =
        AdminReply{0,
                   "",
                   "",
                   {"topic", "owner", "epoch", "seq", "subscribers", "polls", "errors",
                    "last_poll_ms", "state"},
                   {{std::string("top_products?limit=2"), std::string("n1"), int64_t{1}, int64_t{5},
                     int64_t{2}, int64_t{9}, int64_t{0}, int64_t{412}, std::string("polling")},
                    {std::string("revenue"), std::string("n2"), int64_t{3}, int64_t{0}, int64_t{1},
                     int64_t{0}, int64_t{0}, Null{}, std::string("starting")}}};
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeDaemon() {
    stop_ = true;
    thread_.join();
  }

  const std::string& admin_endpoint() const { return admin_endpoint_; }
  bool left() const { return left_; }
  proto::Join last_join() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_join_;
  }
  size_t joins() {
    std::lock_guard<std::mutex> lock(mu_);
    return joins_;
  }
  // A new process behind the same endpoints: another session in heartbeats and joins.
  void Restart() { session_++; }
  // Replaces an admin command's reply (before the CLI runs).
  void SetReply(const std::string& command, AdminReply r) { replies_[command] = std::move(r); }

 private:
  static void SendTo(zmq::socket_t& s, const zmq::message_t& peer, const proto::Message& m) {
    const std::string frame = proto::Encode(m);
    s.send(zmq::buffer(peer.data(), peer.size()), zmq::send_flags::sndmore);
    s.send(zmq::buffer(frame), zmq::send_flags::none);
  }

  void Loop() {
    while (!stop_) {
      zmq::pollitem_t items[] = {{admin_.handle(), 0, ZMQ_POLLIN, 0},
                                 {client_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(20));
      if (items[0].revents & ZMQ_POLLIN) OnAdmin();
      if (items[1].revents & ZMQ_POLLIN) OnClient();
    }
  }

  void OnAdmin() {
    zmq::message_t peer, frame;
    (void)admin_.recv(peer);
    (void)admin_.recv(frame);
    Result<proto::Message> m = proto::Decode(frame.to_string_view());
    auto* req = m.ok() ? std::get_if<proto::AdminRequest>(&*m) : nullptr;
    if (req == nullptr) return;
    auto it = replies_.find(req->command);
    AdminReply reply =
        it != replies_.end()
            ? it->second
            : AdminReply{
                  0, "invalid-argument", "unknown admin command '" + req->command + "'", {}, {}};
    reply.id = req->id;
    SendTo(admin_, peer, reply);
  }

  void OnClient() {
    zmq::message_t peer, frame;
    (void)client_.recv(peer);
    (void)client_.recv(frame);
    Result<proto::Message> m = proto::Decode(frame.to_string_view());
    if (!m.ok()) return;
    if (auto* join = std::get_if<proto::Join>(&*m)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_join_ = *join;
        joins_++;
      }
      if (join->query != "top_products") {
        SendTo(client_, peer,
               proto::Error{join->id, "not-found", "unknown query '" + join->query + "'"});
        return;
      }
      const std::string topic = "top_products?limit=2";
      proto::Update next{topic, proto::UpdateKind::kDiff,
                         "n1",  4,
                         3,     {"name", "qty"},
                         {},    {{proto::Change::Op::kUpdate, {std::string("pen"), int64_t{5}}}},
                         ""};
      if (join->resume_owner == "n1" && join->resume_epoch == 4 && join->resume_seq == 2) {
        // It holds the stream's history: exactly what came after seq 2.
        SendTo(client_, peer, proto::Joined{join->id, topic, session_, true});
        SendTo(client_, peer, next);
        return;
      }
      SendTo(client_, peer, proto::Joined{join->id, topic, session_, false});
      proto::Update snap{topic,
                         proto::UpdateKind::kSnapshot,
                         "n1",
                         4,
                         1,
                         {"name", "qty"},
                         {{std::string("pen"), int64_t{3}}, {std::string("ink"), 2.5}},
                         {},
                         ""};
      SendTo(client_, peer, snap);
      proto::Update diff{topic, proto::UpdateKind::kDiff,
                         "n1",  4,
                         2,     {"name", "qty"},
                         {},    {{proto::Change::Op::kUpdate, {std::string("pen"), int64_t{4}}}},
                         ""};
      SendTo(client_, peer, diff);
    } else if (std::holds_alternative<proto::Heartbeat>(*m)) {
      SendTo(client_, peer, proto::Heartbeat{session_});
    } else if (auto* leave = std::get_if<proto::Leave>(&*m)) {
      left_ = true;
      SendTo(client_, peer, proto::Left{leave->id, leave->topic});
    }
  }

  zmq::context_t context_;
  zmq::socket_t admin_, client_;  // used by the loop thread only, after construction
  std::string admin_endpoint_, client_endpoint_;
  std::map<std::string, AdminReply> replies_;
  std::atomic<bool> stop_{false}, left_{false};
  std::atomic<uint64_t> session_{1};
  std::mutex mu_;
  proto::Join last_join_;
  size_t joins_ = 0;
  std::thread thread_;
};

struct Outcome {
  int code;
  std::string out, err;
};

Outcome RunCli(std::vector<std::string> args, bool terminal = false,
               const std::atomic<bool>* stop = nullptr, std::ostream* out_override = nullptr) {
  args.insert(args.begin(), "livepoll");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::istringstream in;
  std::ostringstream out, err;
  CliEnv env;
  env.stdout_is_terminal = terminal;
  env.stop = stop;
  int code = Run(static_cast<int>(argv.size()), argv.data(), in, out_override ? *out_override : out,
                 err, env);
  return {code, out.str(), err.str()};
}

TEST(CliDaemon, QueriesAsTsv) {
  FakeDaemon d;
  Outcome o = RunCli({"-c", d.admin_endpoint(), "queries"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "top_products\tlimit\tmain\t500\tname\nrevenue\t\tmain\t1000\t\n");
}

TEST(CliDaemon, SubsOnATerminalIsATableWithHumanTimes) {
  FakeDaemon d;
  Outcome o = RunCli({"-c", d.admin_endpoint(), "subs"}, /*terminal=*/true);
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(
      o.out,
      "TOPIC                 OWNER  EPOCH  SEQ  SUBSCRIBERS  POLLS  ERRORS  LAST POLL  STATE\n"
      "top_products?limit=2  n1         1    5            2      9       0  0.4s ago   polling\n"
      "revenue               n2         3    0            1      0       0  never      starting\n");
}

TEST(CliDaemon, SubsPipedStaysRawWithOptionalHeader) {
  FakeDaemon d;
  Outcome o = RunCli({"-c", d.admin_endpoint(), "--header", "subs"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "topic\towner\tepoch\tseq\tsubscribers\tpolls\terrors\tlast_poll_ms\tstate\n"
            "top_products?limit=2\tn1\t1\t5\t2\t9\t0\t412\tpolling\n"
            "revenue\tn2\t3\t0\t1\t0\t0\t\tstarting\n");
}

TEST(CliDaemon, SubsAsJson) {
  FakeDaemon d;
  Outcome o = RunCli({"-c", d.admin_endpoint(), "subs", "--json"}, /*terminal=*/true);
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(
      o.out,
      R"({"topic": "top_products?limit=2", "owner": "n1", "epoch": 1, "seq": 5, )"
      R"("subscribers": 2, "polls": 9, "errors": 0, "last_poll_ms": 412, "state": "polling"})"
      "\n"
      R"({"topic": "revenue", "owner": "n2", "epoch": 3, "seq": 0, )"
      R"("subscribers": 1, "polls": 0, "errors": 0, "last_poll_ms": null, "state": "starting"})"
      "\n");
}

TEST(CliDaemon, StatusIsARowPerNode) {
  FakeDaemon d;
  Outcome o = RunCli({"-c", d.admin_endpoint(), "status"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "n1\t0.1.0\t" + std::string("") + o.out.substr(9, o.out.find('\t', 9) - 9) +
                       "\t" + d.admin_endpoint() + "\t42\t1500\t1\t2\n");
  Outcome table = RunCli({"-c", d.admin_endpoint(), "status"}, /*terminal=*/true);
  EXPECT_EQ(table.out.rfind("NODE  VERSION  CLIENT ENDPOINT", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("   42  1.5s         1            2\n"), std::string::npos) << table.out;
  Outcome json = RunCli({"-c", d.admin_endpoint(), "--json", "status"});
  EXPECT_EQ(json.out.rfind("{\"node\": \"n1\", \"version\": \"0.1.0\"", 0), 0u) << json.out;
  EXPECT_EQ(std::count(json.out.begin(), json.out.end(), '\n'), 1);
}

TEST(CliDaemon, AnErrorReplyExitsOne) {
  FakeDaemon d;
  d.SetReply("subs", AdminReply{0, "internal", "registry unavailable", {}, {}});
  Outcome o = RunCli({"-c", d.admin_endpoint(), "subs"});
  EXPECT_EQ(o.code, kExitFailure);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "livepoll: subs: registry unavailable (internal)\n");
}

TEST(CliDaemon, WatchCountTwoPrintsSnapshotThenDiffAndLeaves) {
  FakeDaemon d;
  Outcome o =
      RunCli({"-c", d.admin_endpoint(), "watch", "top_products", "limit=2", "--count", "2"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(o.out,
            R"({"topic": "top_products?limit=2", "kind": "snapshot", "owner": "n1", "epoch": 4, )"
            R"("seq": 1, "columns": ["name", "qty"], "rows": [{"name": "pen", "qty": 3}, )"
            R"({"name": "ink", "qty": 2.5}]})"
            "\n"
            R"({"topic": "top_products?limit=2", "kind": "diff", "owner": "n1", "epoch": 4, )"
            R"("seq": 2, "changes": [{"op": "update", "row": {"name": "pen", "qty": 4}}]})"
            "\n");
  EXPECT_TRUE(d.left());
  proto::Join join = d.last_join();
  EXPECT_EQ(join.query, "top_products");
  EXPECT_EQ(join.params, (proto::Params{{"limit", "2"}}));
}

TEST(CliDaemon, WatchUnknownQueryExitsOne) {
  FakeDaemon d;
  Outcome o = RunCli({"-c", d.admin_endpoint(), "watch", "nope", "--count", "1"});
  EXPECT_EQ(o.code, kExitFailure);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "livepoll: watch nope: unknown query 'nope' (not-found)\n");
}

TEST(CliDaemon, WatchStopsPolitelyWhenAsked) {
  FakeDaemon d;
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    while (d.last_join().query.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  // Without --count only the stop request can end it; a hang fails by the test's timeout.
  Outcome o = RunCli({"-c", d.admin_endpoint(), "watch", "top_products"}, false, &stop);
  stopper.join();
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_TRUE(o.out.empty() || o.out.back() == '\n') << "a line cut in half";
  EXPECT_TRUE(d.left());
}

// A stream whose writes all fail, like stdout after `| head -1` closed the pipe.
class ClosedPipe : public std::streambuf {
 protected:
  int_type overflow(int_type) override { return traits_type::eof(); }
  std::streamsize xsputn(const char*, std::streamsize) override { return 0; }
};

TEST(CliDaemon, WatchEndsQuietlyWhenStdoutIsClosed) {
  FakeDaemon d;
  ClosedPipe pipe;
  std::ostream closed(&pipe);
  Outcome o = RunCli({"-c", d.admin_endpoint(), "watch", "top_products"}, false, nullptr, &closed);
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(o.err, "");
  EXPECT_TRUE(d.left());
}

TEST(CliDaemon, WatchExitsThreeWhenTheClientEndpointIsSilent) {
  // A client endpoint nobody serves: the admin side answers, the client side never does.
  zmq::context_t ctx;
  zmq::socket_t hole(ctx, zmq::socket_type::router);
  hole.set(zmq::sockopt::linger, 0);
  hole.bind("tcp://127.0.0.1:0");
  const std::string silent = hole.get(zmq::sockopt::last_endpoint);
  FakeDaemon d(silent);
  const auto start = std::chrono::steady_clock::now();
  Outcome o = RunCli({"-c", d.admin_endpoint(), "--timeout", "300ms", "watch", "top_products"});
  EXPECT_EQ(o.code, kExitUnreachable);
  EXPECT_EQ(o.err,
            "livepoll: cannot reach livepolld at " + silent +
                " (no answer within 900ms; a node that uses keys answers only a client given "
                "its --server-key)\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

// ---- joining again (PROTOCOL.md, "Sessions and resume") ----

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(CliDaemon, WatchJoinsAgainAndResumesWhenItsDaemonRestarts) {
  FakeDaemon d;
  std::thread restarter([&] {
    while (d.joins() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // seq 1 and 2 printed
    d.Restart();  // the next heartbeat answer names another session
  });
  Outcome o =
      RunCli({"-c", d.admin_endpoint(), "watch", "top_products", "limit=2", "--count", "3"});
  restarter.join();
  EXPECT_EQ(o.code, kExitOk) << o.err;
  std::vector<std::string> lines = Lines(o.out);
  ASSERT_EQ(lines.size(), 3u) << o.out;
  EXPECT_NE(lines[2].find(R"("seq": 3, "changes": [{"op": "update", "row": {"name": "pen", )"
                          R"("qty": 5}}])"),
            std::string::npos)
      << lines[2];
  EXPECT_EQ(d.joins(), 2u);
  proto::Join again = d.last_join();
  EXPECT_EQ(again.resume_owner, "n1");
  EXPECT_EQ(again.resume_epoch, 4u);
  EXPECT_EQ(again.resume_seq, 2u);
  EXPECT_NE(o.err.find("restarted: session 1, now 2"), std::string::npos) << o.err;
  EXPECT_NE(
      o.err.find("resumed through livepolld at " + d.admin_endpoint() + " after n1 epoch 4 seq 2"),
      std::string::npos)
      << o.err;
}

TEST(CliDaemon, WatchMovesToTheNextEndpointWhenItsNodeCloses) {
  auto first = std::make_unique<FakeDaemon>();
  FakeDaemon second;
  const std::string first_endpoint = first->admin_endpoint();
  std::thread killer([&] {
    while (first->joins() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    first.reset();  // its sockets close: a TCP close, seen at once, not after the silence limit
  });
  const auto start = std::chrono::steady_clock::now();
  Outcome o = RunCli({"-c", first_endpoint + "," + second.admin_endpoint(), "--timeout", "10s",
                      "watch", "top_products", "limit=2", "--count", "3"});
  killer.join();
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));  // not 30 s
  ASSERT_EQ(Lines(o.out).size(), 3u) << o.out;
  EXPECT_EQ(second.joins(), 1u);
  EXPECT_EQ(second.last_join().resume_seq, 2u);
  EXPECT_NE(o.err.find("lost livepolld at " + first_endpoint + " (it closed the connection)"),
            std::string::npos)
      << o.err;
}

TEST(CliDaemon, ACommandAsksTheNextEndpointWhenOneIsSilent) {
  zmq::context_t ctx;
  zmq::socket_t hole(ctx, zmq::socket_type::router);
  hole.set(zmq::sockopt::linger, 0);
  hole.bind("tcp://127.0.0.1:0");
  const std::string silent = hole.get(zmq::sockopt::last_endpoint);
  FakeDaemon d;
  Outcome o = RunCli({"-c", silent + ", " + d.admin_endpoint(), "--timeout", "300ms", "queries"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("top_products"), std::string::npos);
  Outcome none = RunCli({"-c", silent + "," + silent, "--timeout", "200ms", "queries"});
  EXPECT_EQ(none.code, kExitUnreachable);
  EXPECT_EQ(none.err, "livepoll: cannot reach livepolld at " + silent + ", " + silent +
                          " (no answer within 200ms; a node that uses keys answers only a client "
                          "given its --server-key)\n");
  Outcome empty = RunCli({"-c", d.admin_endpoint() + ",,", "queries"});
  EXPECT_EQ(empty.code, kExitUsage);
  EXPECT_NE(empty.err.find("--connect: an empty endpoint"), std::string::npos) << empty.err;
}

}  // namespace
}  // namespace livepoll::cli
