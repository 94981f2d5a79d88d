// zombies, reap, resolve and the cluster-wide table commands in-process, against a fake daemon
// (an admin ROUTER on loopback TCP speaking the real codec): on a terminal, piped, as JSON, with
// partial answers, filters, stdin and bad input.
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

Value S(const char* s) { return Value(std::string(s)); }
Value I(int64_t i) { return Value(i); }

class FakeAdmin {
 public:
  FakeAdmin() : socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:0");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeAdmin() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  void SetReply(const std::string& command, AdminReply r) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_[command] = std::move(r);
  }
  proto::AdminRequest last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  void Loop() {
    while (!stop_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(20));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t peer, frame;
      (void)socket_.recv(peer);
      (void)socket_.recv(frame);
      Result<proto::Message> m = proto::Decode(frame.to_string_view());
      auto* req = m.ok() ? std::get_if<proto::AdminRequest>(&*m) : nullptr;
      if (req == nullptr) continue;
      AdminReply reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_ = *req;
        auto it = replies_.find(req->command);
        reply = it != replies_.end() ? it->second
                                     : AdminReply{0, "invalid-argument", "unknown", {}, {}, {}};
      }
      reply.id = req->id;
      const std::string bytes = proto::Encode(reply);
      socket_.send(zmq::buffer(peer.data(), peer.size()), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(bytes), zmq::send_flags::none);
    }
  }

  zmq::context_t context_;
  zmq::socket_t socket_;
  std::string endpoint_;
  std::mutex mu_;
  std::map<std::string, AdminReply> replies_;
  proto::AdminRequest last_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Outcome {
  int code;
  std::string out, err;
};

Outcome RunCli(std::vector<std::string> args, bool terminal = false,
               const std::string& input = "") {
  args.insert(args.begin(), "livepoll");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::istringstream in(input);
  std::ostringstream out, err;
  CliEnv env;
  env.stdout_is_terminal = terminal;
  int code = Run(static_cast<int>(argv.size()), argv.data(), in, out, err, env);
  return {code, out.str(), err.str()};
}

AdminReply Zombies() {
  return AdminReply{0,
                    "",
                    "",
                    {"node", "topic", "reason", "age_ms", "detail"},
                    {{S("n1"), S("t?g=1"), S("stalled"), I(12000), S("a poll in flight for 12.0s")},
                     {S("n3"), S("u"), S("dead-owner"), Value(Null{}), S("owner down")}},
                    {}};
}

TEST(CliZombies, PipedItIsTsvWithTheTopicInTheSecondField) {
  FakeAdmin d;
  d.SetReply("zombies", Zombies());
  Outcome o = RunCli({"-c", d.endpoint(), "zombies"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "n1\tt?g=1\tstalled\t12000\ta poll in flight for 12.0s\n"
            "n3\tu\tdead-owner\t\towner down\n");
  // The CLI asks for the per-node wait: half of --timeout by default.
  proto::AdminRequest req = d.last();
  EXPECT_EQ(req.command, "zombies");
  EXPECT_EQ(req.args, (proto::Params{{"node_timeout", "1000"}}));
}

TEST(CliZombies, OnATerminalItIsATableWithAges) {
  FakeAdmin d;
  d.SetReply("zombies", Zombies());
  Outcome o = RunCli({"-c", d.endpoint(), "zombies"}, /*terminal=*/true);
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "NODE  TOPIC  REASON      AGE  DETAIL\n"
            "n1    t?g=1  stalled     12s  a poll in flight for 12.0s\n"
            "n3    u      dead-owner  -    owner down\n");
}

TEST(CliZombies, ReasonAndQueryFilterAndExitStatusSaysWhetherAnyWasFound) {
  FakeAdmin d;
  d.SetReply("zombies", Zombies());
  Outcome stalled = RunCli({"-c", d.endpoint(), "zombies", "--reason", "stalled", "--exit-status"});
  EXPECT_EQ(stalled.code, kExitFailure);
  EXPECT_EQ(stalled.out, "n1\tt?g=1\tstalled\t12000\ta poll in flight for 12.0s\n");
  Outcome none = RunCli({"-c", d.endpoint(), "zombies", "--reason", "idle", "--exit-status"});
  EXPECT_EQ(none.code, kExitOk);
  EXPECT_EQ(none.out, "");
  Outcome by_query = RunCli({"-c", d.endpoint(), "zombies", "--query", "t", "--json"});
  EXPECT_EQ(by_query.out,
            R"({"node": "n1", "topic": "t?g=1", "reason": "stalled", "age_ms": 12000, )"
            R"("detail": "a poll in flight for 12.0s"})"
            "\n");
  Outcome bad = RunCli({"-c", d.endpoint(), "zombies", "--reason", "undead"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_NE(bad.err.find("unknown reason 'undead'"), std::string::npos) << bad.err;
}

TEST(CliZombies, APartialAnswerNamesTheSilentNodesAndExitsFour) {
  FakeAdmin d;
  AdminReply r = Zombies();
  r.rows.clear();
  r.missing = {"n2: no answer within 250ms"};
  d.SetReply("zombies", r);
  Outcome o = RunCli({"-c", d.endpoint(), "--timeout", "500ms", "zombies", "--exit-status",
                      "--node", "n1", "--node", "n2"});
  EXPECT_EQ(o.code, kExitPartial);
  EXPECT_EQ(o.err, "livepoll: n2: no answer within 250ms (the output lacks its part)\n");
  EXPECT_EQ(d.last().args, (proto::Params{{"node_timeout", "250"}, {"nodes", "n1,n2"}}));
}

TEST(CliReap, TopicsComeFromArgumentsOrFromZombiesOutputOnStdin) {
  FakeAdmin d;
  d.SetReply("reap", AdminReply{0,
                                "",
                                "",
                                {"node", "topic", "action", "detail"},
                                {{S("n1"), S("t?g=1"), S("reaped"), S("stalled: released")},
                                 {Value(Null{}), S("nope"), S("not-found"), S("no node knows")}},
                                {}});
  const std::string piped =
      "node\ttopic\treason\tage_ms\tdetail\n"  // a --header line is skipped
      "n1\tt?g=1\tstalled\t12000\tx\n"
      "plain-topic\n"
      "\n"
      R"({"node": "n3", "topic": "u?a=1", "reason": "idle"})"
      "\n";
  Outcome o = RunCli({"-c", d.endpoint(), "reap", "-", "--dry-run"}, false, piped);
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "n1\tt?g=1\treaped\tstalled: released\n\tnope\tnot-found\tno node knows\n");
  EXPECT_EQ(d.last().args, (proto::Params{{"topic", "t?g=1"},
                                          {"topic", "plain-topic"},
                                          {"topic", "u?a=1"},
                                          {"dry_run", "1"},
                                          {"node_timeout", "1000"}}));
  Outcome direct = RunCli({"-c", d.endpoint(), "reap", "a", "b", "--force"});
  EXPECT_EQ(
      d.last().args,
      (proto::Params{{"topic", "a"}, {"topic", "b"}, {"force", "1"}, {"node_timeout", "1000"}}));
}

TEST(CliReap, ARefusedHealthyPollerExitsOneAndNoTopicIsAUsageError) {
  FakeAdmin d;
  d.SetReply("reap", AdminReply{0,
                                "",
                                "",
                                {"node", "topic", "action", "detail"},
                                {{S("n1"), S("t"), S("refused"), S("a healthy poller")}},
                                {}});
  Outcome o = RunCli({"-c", d.endpoint(), "reap", "t"}, /*terminal=*/true);
  EXPECT_EQ(o.code, kExitFailure);
  EXPECT_EQ(o.out, "NODE  TOPIC  ACTION   DETAIL\nn1    t      refused  a healthy poller\n");
  Outcome none = RunCli({"-c", d.endpoint(), "reap"});
  EXPECT_EQ(none.code, kExitUsage);
  EXPECT_NE(none.err.find("give TOPIC... or -"), std::string::npos) << none.err;
  Outcome empty = RunCli({"-c", d.endpoint(), "reap", "-"}, false, "");
  EXPECT_EQ(empty.code, kExitOk);  // an empty pipe: nothing to do
}

TEST(CliResolve, PrintsWinnerAndLoserAndChecksItsOptions) {
  FakeAdmin d;
  d.SetReply("resolve", AdminReply{0,
                                   "",
                                   "",
                                   {"topic", "winner", "loser", "result"},
                                   {{S("t"), S("n1@1"), S("n2@2"), S("released")}},
                                   {}});
  Outcome o = RunCli({"-c", d.endpoint(), "resolve", "--all", "--keep", "n1"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "t\tn1@1\tn2@2\treleased\n");
  EXPECT_EQ(d.last().args,
            (proto::Params{
                {"all", "1"}, {"keep", "n1"}, {"policy", "oldest"}, {"node_timeout", "1000"}}));
  EXPECT_EQ(RunCli({"-c", d.endpoint(), "resolve"}).code, kExitUsage);
  EXPECT_EQ(RunCli({"-c", d.endpoint(), "resolve", "t", "--all"}).code, kExitUsage);
  EXPECT_EQ(RunCli({"-c", d.endpoint(), "resolve", "t", "--policy", "manual"}).code, kExitUsage);
  d.SetReply("resolve", AdminReply{0,
                                   "",
                                   "",
                                   {"topic", "winner", "loser", "result"},
                                   {{S("t"), S("n1@1"), S("n2@2"), S("no-answer")}},
                                   {}});
  EXPECT_EQ(RunCli({"-c", d.endpoint(), "resolve", "t"}).code, kExitFailure);
}

TEST(CliCluster, SubsFiltersByQueryAndStateAndStatsTakeNode) {
  FakeAdmin d;
  d.SetReply("subs", AdminReply{0,
                                "",
                                "",
                                {"topic", "owner", "state", "pollers"},
                                {{S("t?g=1"), S("n1"), S("polling"), S("n1")},
                                 {S("u"), S("n2"), S("relayed"), S("n2")},
                                 {S("t?g=2"), S("n2"), S("error"), S("n2")}},
                                {}});
  Outcome o = RunCli({"-c", d.endpoint(), "subs", "--query", "t", "--state", "error"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "t?g=2\tn2\terror\tn2\n");
  d.SetReply("stats",
             AdminReply{0, "", "", {"node", "name", "value"}, {{S("n2"), S("polls"), I(3)}}, {}});
  Outcome stats = RunCli({"-c", d.endpoint(), "stats", "--node", "n2", "--header"});
  EXPECT_EQ(stats.out, "node\tname\tvalue\nn2\tpolls\t3\n");
  EXPECT_EQ(d.last().args, (proto::Params{{"node_timeout", "1000"}, {"nodes", "n2"}}));
  Outcome bad = RunCli({"-c", d.endpoint(), "--timeout", "1s", "--node-timeout", "2s", "subs"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_EQ(RunCli({"-c", d.endpoint(), "subs", "--reason", "idle"}).code, kExitUsage);
}

}  // namespace
}  // namespace livepoll::cli
