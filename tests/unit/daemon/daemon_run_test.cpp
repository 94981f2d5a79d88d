// livepolld's Run() in process (daemon/run.h): a whole node from a configuration file to a clean
// stop, with the real soci plugin on a SQLite file, ipc:// endpoints in a temporary folder and an
// eventfd for the stop signals. And the stop signals themselves (daemon/stop_signals.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <zmq.hpp>

#include "daemon/run.h"
#include "daemon/stop_signals.h"
#include "proto/codec.h"

namespace livepoll::daemon {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class DaemonRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lp-daemon-run-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(stop_fd_, 0);
  }
  void TearDown() override {
    if (running_.valid()) {  // a failed test: stop the node before its folder goes
      Stop();
      running_.wait();
    }
    close(stop_fd_);
    fs::remove_all(dir_);
  }

  // The arguments of `livepolld --config FILE`, FILE holding `node` and `catalog` after a [node]
  // section that binds ipc:// endpoints in the test's folder and finds the build's plugins.
  config::DaemonArgs Args(const std::string& catalog, const std::string& node = "") {
    const std::string path = dir_ + "/livepolld.conf";
    std::ofstream(path) << "[node]\nname = run-test\nclient_bind = " << ClientEndpoint()
                        << "\nadmin_bind = " << AdminEndpoint()
                        << "\nplugin_dir = " LIVEPOLL_BUILD_PLUGIN_DIR "\n"
                        << node << catalog;
    const char* argv[] = {"livepolld", "--config", path.c_str()};
    Result<config::DaemonArgs> args = config::ParseDaemonArgs(Env::Real(), 3, argv);
    EXPECT_TRUE(args.ok()) << args.status().ToString();
    return args.ok() ? *args : config::DaemonArgs{};
  }
  std::string SqliteCatalog() const {
    return "[source.main]\nplugin = soci\ndsn = sqlite3://db=" + dir_ +
           "/test.db\n"
           "[query.answer]\nsource = main\nsql = SELECT 42 AS answer\ninterval = 100ms\n";
  }
  std::string ClientEndpoint() const { return "ipc://" + dir_ + "/client"; }
  std::string AdminEndpoint() const { return "ipc://" + dir_ + "/admin"; }
  std::string AdminSocketFile() const { return dir_ + "/admin"; }

  void Start(config::DaemonArgs args) {
    running_ = std::async(std::launch::async, [this, args = std::move(args)] {
      return daemon::Run(args, Env::Real(), stop_fd_);
    });
  }
  void Stop() {
    const uint64_t one = 1;
    ASSERT_EQ(write(stop_fd_, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  }
  // Run's exit status, once it returned within `timeout`; -1 if it did not.
  int ExitStatus(Duration timeout = 10s) {
    if (running_.wait_for(timeout) != std::future_status::ready) return -1;
    return running_.get();
  }
  // Whether the admin socket file appears within `timeout` (or Run returned first).
  bool AdminSocketAppears(Duration timeout = 10s) {
    for (auto deadline = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < deadline;) {
      if (fs::exists(AdminSocketFile())) return true;
      if (running_.wait_for(20ms) == std::future_status::ready) return false;
    }
    return false;
  }

  std::optional<proto::AdminReply> Admin(const std::string& command) {
    zmq::socket_t s(ctx_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(AdminEndpoint());
    const std::string frame = proto::Encode(proto::AdminRequest{7, command, {}});
    s.send(zmq::buffer(frame));
    zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(5000));
    zmq::message_t reply;
    if (!(item.revents & ZMQ_POLLIN) || !s.recv(reply)) return std::nullopt;
    Result<proto::Message> m = proto::Decode(reply.to_string_view());
    if (!m.ok() || !std::holds_alternative<proto::AdminReply>(*m)) return std::nullopt;
    return std::get<proto::AdminReply>(*m);
  }
  // The value of `column` in the reply's first row.
  static std::optional<Value> Cell(const proto::AdminReply& r, const std::string& column) {
    auto it = std::find(r.columns.begin(), r.columns.end(), column);
    if (it == r.columns.end() || r.rows.empty()) return std::nullopt;
    return r.rows[0][static_cast<size_t>(it - r.columns.begin())];
  }

  std::string dir_;
  int stop_fd_ = -1;
  zmq::context_t ctx_;
  std::future<int> running_;
};

TEST_F(DaemonRunTest, ServesItsCatalogUntilTheStopFdIsWrittenThenReturnsZero) {
  Start(Args(SqliteCatalog()));
  ASSERT_TRUE(AdminSocketAppears()) << "Run returned " << ExitStatus(0s);

  std::optional<proto::AdminReply> info = Admin("info");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->id, 7u);
  EXPECT_EQ(info->code, "") << info->message;
  EXPECT_EQ(Cell(*info, "node"), std::optional<Value>(std::string("run-test")));
  EXPECT_EQ(Cell(*info, "client_endpoint"), std::optional<Value>(ClientEndpoint()));
  std::optional<proto::AdminReply> queries = Admin("queries");
  ASSERT_TRUE(queries.has_value());
  EXPECT_EQ(Cell(*queries, "name"), std::optional<Value>(std::string("answer")));
  EXPECT_EQ(running_.wait_for(0s), std::future_status::timeout) << "returned before the stop";

  Stop();
  EXPECT_EQ(ExitStatus(), kExitOk);
}

TEST_F(DaemonRunTest, APluginThatCannotBeFoundIsAUsageErrorAndNothingIsBound) {
  Start(Args("[source.main]\nplugin = no-such-plugin\ndsn = x\n"));
  EXPECT_EQ(ExitStatus(), kExitUsage);
  EXPECT_FALSE(fs::exists(AdminSocketFile()));
}

TEST_F(DaemonRunTest, AQueryItsSourceRefusesIsAUsageError) {
  Start(Args("[source.main]\nplugin = soci\ndsn = sqlite3://db=" + dir_ +
             "/test.db\n[query.bad]\nsource = main\nsql = SELECT :unbound AS x\n"));
  EXPECT_EQ(ExitStatus(), kExitUsage);
  EXPECT_FALSE(fs::exists(AdminSocketFile()));
}

TEST_F(DaemonRunTest, AnEndpointThatCannotBeBoundIsAFailure) {
  config::DaemonArgs args = Args(SqliteCatalog());
  args.config.node.admin_bind = "ipc://" + dir_ + "/no/such/folder/admin";
  Start(std::move(args));
  EXPECT_EQ(ExitStatus(), kExitFailure);
}

// The children of the StopSignals tests: each in a process of its own, as they block signals and
// lower the process's limits. They exit 0 when the fd did what it should.
[[noreturn]] void SigtermMakesTheFdReadable() {
  Result<int> fd = OpenStopSignals();
  if (!fd.ok()) {
    fprintf(stderr, "%s\n", fd.status().ToString().c_str());
    _exit(2);
  }
  raise(SIGTERM);  // blocked, so pending: no death by signal
  pollfd p{*fd, POLLIN, 0};
  _exit(poll(&p, 1, 5000) == 1 ? 0 : 3);
}

// Exits 1 with OpenStopSignals' message when it fails, 0 when it does not.
[[noreturn]] void OpenWithNoDescriptorLeft() {
  // Every descriptor below the limit is taken, so signalfd gets EMFILE.
  const int lowest_free = dup(0);
  close(lowest_free);
  rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = static_cast<rlim_t>(lowest_free);
  setrlimit(RLIMIT_NOFILE, &limit);
  Result<int> fd = OpenStopSignals();
  fprintf(stderr, "%s\n", fd.ok() ? "opened" : fd.status().message().c_str());
  _exit(fd.ok() ? 0 : 1);
}

class StopSignalsTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(StopSignalsTest, SigtermMakesTheFdReadable) {
  EXPECT_EXIT(SigtermMakesTheFdReadable(), ::testing::ExitedWithCode(0), "");
}

// A failed signalfd was once ignored: the daemon then ran with SIGTERM blocked and nothing
// watching for it, so only SIGKILL stopped it.
TEST_F(StopSignalsTest, ASignalfdThatCannotBeMadeIsAnErrorSayingWhy) {
  EXPECT_EXIT(OpenWithNoDescriptorLeft(), ::testing::ExitedWithCode(1),
              "cannot make the signalfd for SIGTERM and SIGINT: Too many open files");
}

}  // namespace
}  // namespace livepoll::daemon
